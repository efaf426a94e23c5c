"""Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU kernels (C++) against their numpy int64 references, bit
for bit, on every ISA."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.ivit import shiftgelu_ref, shiftmax_ref
from lowbit.ops.lut_softmax import lut_softmax_lnexp_ref, lut_softmax_rexp_ref
from lowbit.ops.nnlut import nnlut_gelu_ref
from lowbit.ops.shift_lut_kernels import lut_softmax, nnlut_gelu, shiftgelu, shiftmax

ISAS = available_isas()
DTYPES = [np.int16, np.int32]
LENGTHS = st.one_of(st.integers(1, 300), st.just(4096))
LUT_REFS = {"rexp": lut_softmax_rexp_ref, "lnexp": lut_softmax_lnexp_ref}


def _scales(top: int) -> st.SearchStrategy[float]:
    """Log-uniform over the reference's documented scale range (0, 2^top)."""
    return st.floats(-20.0, top - 0.01).map(lambda e: 2.0**e)


def _codes(rng, dtype, rows, n, kind, lo=None, hi=None):
    info = np.iinfo(dtype)
    lo = info.min if lo is None else lo
    hi = info.max if hi is None else hi
    if kind == "random":
        return rng.integers(lo, hi, size=(rows, n), endpoint=True).astype(dtype)
    if kind == "small":
        return rng.integers(-3000, 3001, size=(rows, n)).astype(dtype)
    if kind == "alternating":
        q = np.full((rows, n), lo, dtype=dtype)
        q[:, ::2] = hi
        return q
    value = {"max": hi, "min": lo, "equal": int(rng.integers(lo, hi))}[kind]
    return np.full((rows, n), value, dtype=dtype)


def _same(kernel, ref):
    """Both raise LowbitError, or both return equal codes (same dtype) and equal scales."""
    try:
        want = ref()
    except LowbitError:
        with pytest.raises(LowbitError):
            kernel()
        return
    got = kernel()
    assert got[0].dtype == want[0].dtype and got[0].shape == want[0].shape and got[1] == want[1]
    np.testing.assert_array_equal(got[0], want[0])


def _pair(kernel, ref, x, scale, isa, *extra):
    """_same for kernel(x, scale, *extra, isa=isa) against ref(x, scale) (binds its arguments now)."""
    _same(lambda: kernel(x, scale, *extra, isa=isa), lambda: ref(x, scale))


KINDS = st.sampled_from(["random", "small", "max", "min", "equal", "alternating"])


def _case(seed, dtype, rows, n, kind, **bounds):
    return _codes(np.random.default_rng(seed), dtype, rows if n < 4096 else min(rows, 3), n, kind, **bounds)


COMMON = dict(
    rows=st.integers(1, 40),
    n=LENGTHS,
    dtype=st.sampled_from(DTYPES),
    kind=KINDS,
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)


@settings(max_examples=150, deadline=None)
@given(scale=_scales(15), **COMMON)
def test_shiftmax_bit_exact(rows, n, dtype, kind, scale, isa, seed):
    q = _case(seed, dtype, rows, n, kind)
    _same(lambda: shiftmax(q, scale, isa=isa), lambda: shiftmax_ref(q, scale))


@settings(max_examples=150, deadline=None)
@given(scale=_scales(15), **COMMON)
def test_shiftgelu_bit_exact(rows, n, dtype, kind, scale, isa, seed):
    q = _case(seed, dtype, rows, n, kind, lo=-32767, hi=32767)
    _same(lambda: shiftgelu(q, scale, isa=isa), lambda: shiftgelu_ref(q, scale))
    got, s = shiftgelu(q, scale, isa=isa, out_dtype=np.int64)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, shiftgelu_ref(q, scale)[0])


@settings(max_examples=150, deadline=None)
@given(scale=_scales(20), method=st.sampled_from(["rexp", "lnexp"]), **COMMON)
def test_lut_softmax_bit_exact(rows, n, dtype, kind, scale, method, isa, seed):
    q = _case(seed, dtype, rows, n, kind)
    _same(lambda: lut_softmax(q, scale, method, isa=isa), lambda: LUT_REFS[method](q, scale))


@settings(max_examples=150, deadline=None)
@given(scale=_scales(14), **COMMON)
def test_nnlut_gelu_bit_exact(rows, n, dtype, kind, scale, isa, seed):
    q = _case(seed, dtype, rows, n, kind)
    _same(lambda: nnlut_gelu(q, scale, isa=isa), lambda: nnlut_gelu_ref(q, scale))


# scales on both sides of the SIMD kernels' 32-bit fast paths (shift in [16, 47], clamps <= 2^16 - 1)
EDGE_SCALES = [2.0**-20, 1e-5, 3e-5, 2.6e-4, 6.6e-4, 1e-3, 0.05, 0.5, 1.0, 1.39, 2.0, 107.0, 300.0, 16000.0]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("scale", EDGE_SCALES)
def test_every_int16_code(isa, scale):
    """Every int16 code through both GELUs, and softmax rows that hold every code (max - q spans 0..65535),
    plus 32-bit codes spanning beyond 16 bits, bit-exact on each ISA."""
    q = np.arange(-(2**15), 2**15, dtype=np.int16)
    qg = q[1:]  # ShiftGELU takes [-32767, 32767]
    _same(lambda: shiftgelu(qg, scale, isa=isa), lambda: shiftgelu_ref(qg, scale))
    _same(lambda: nnlut_gelu(q, scale, isa=isa), lambda: nnlut_gelu_ref(q, scale))
    rows = np.random.default_rng(0).permutation(q).reshape(64, 1024)
    rows[:, 0] = 2**15 - 1
    q32 = (q.astype(np.int32) << 16).reshape(64, 1024)
    for x in (rows, q32):
        _pair(shiftmax, shiftmax_ref, x, scale, isa)
        for method, ref in LUT_REFS.items():
            _pair(lut_softmax, ref, x, scale, isa, method)
    _same(lambda: nnlut_gelu(q32, scale, isa=isa), lambda: nnlut_gelu_ref(q32, scale))


@pytest.mark.parametrize("isa", ISAS)
def test_extremes_and_nd(isa):
    """Rows mixing both int32 extremes, one-hot rows (one exp, the rest 0), long rows, 4-d inputs."""
    q = np.tile(np.array([2**31 - 1, -(2**31)], dtype=np.int32), (3, 37))
    hot = np.full((2, 4096), -30000, dtype=np.int16)
    hot[:, 5] = 30000
    q4 = np.random.default_rng(0).integers(-5000, 5000, size=(2, 3, 17, 33)).astype(np.int16)
    for x in (q, hot, q4):
        for scale in (1e-3, 0.5):
            _pair(shiftmax, shiftmax_ref, x, scale, isa)
            for method, ref in LUT_REFS.items():
                _pair(lut_softmax, ref, x, scale, isa, method)
            _pair(nnlut_gelu, nnlut_gelu_ref, x, scale, isa)
    _same(lambda: shiftgelu(q4, 2e-3, isa=isa), lambda: shiftgelu_ref(q4, 2e-3))
    big = np.full((1, 2**16), 7, dtype=np.int16)  # a long constant row: the sums' widest case
    _same(lambda: lut_softmax(big, 1e-3, isa=isa), lambda: lut_softmax_rexp_ref(big, 1e-3))
    _same(lambda: shiftmax(big, 1e-3, isa=isa), lambda: shiftmax_ref(big, 1e-3))


@pytest.mark.parametrize("op", [shiftmax, shiftgelu, lut_softmax, nnlut_gelu])
def test_bad_inputs(op):
    q = np.zeros((4, 8), dtype=np.int32)
    with pytest.raises(LowbitError, match="q: expected int16 or int32"):
        op(q.astype(np.float32), 0.1)
    with pytest.raises(LowbitError, match="q: expected int16 or int32"):
        op(q.astype(np.int64), 0.1)
    with pytest.raises(LowbitError, match="C-contiguous"):
        op(np.zeros((8, 4), dtype=np.int32).T, 0.1)
    with pytest.raises(LowbitError, match="q: expected a non-empty"):
        op(np.zeros((0, 8), dtype=np.int32), 0.1)
    for bad in (0.0, -1.0, float("nan"), float("inf"), 2.0**20, "x"):
        with pytest.raises(LowbitError, match="scale"):
            op(q, bad)
    with pytest.raises(LowbitError, match="isa"):
        op(q, 0.1, isa="sse9")


def test_bad_inputs_specific():
    q = np.zeros((4, 8), dtype=np.int16)
    for op in (shiftmax, lut_softmax):
        with pytest.raises(LowbitError, match="axis: expected the last axis"):
            op(q, 0.1, axis=0)
        with pytest.raises(LowbitError, match="2\\^20"):
            op(np.zeros((1, 2**20 + 1), dtype=np.int16), 0.1)
    with pytest.raises(LowbitError, match="method"):
        lut_softmax(q, 0.1, "exp")
    with pytest.raises(LowbitError, match="q: expected codes in \\[-32767, 32767\\]"):
        shiftgelu(np.full(4, -(2**15), np.int16), 0.1)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        shiftgelu(np.full(4, 2**15, np.int32), 0.1)
    with pytest.raises(LowbitError, match="out_dtype"):
        shiftgelu(q, 0.1, out_dtype=np.int16)
    with pytest.raises(LowbitError, match="scale"):
        shiftmax(q, 2.0**15)
    with pytest.raises(LowbitError, match="scale"):
        nnlut_gelu(q, 2.0**14)


def test_kernel_rejects_bad_constants():
    """The C++ entry points check their integer constants and tables themselves."""
    from lowbit import _C
    from lowbit.ops.shift_lut_kernels import _LUT_TABLES, nnlut_gelu_args

    q = np.zeros((2, 8), dtype=np.int32)
    u8 = np.empty(q.shape, np.uint8)
    for args, name in [((0, 5, 20), "dclip"), ((2**31 + 1, 5, 20), "dclip"), ((9, -1, 20), "m0"),
                       ((9, 5, 0), "shift"), ((9, 5, 63), "shift")]:  # fmt: skip
        with pytest.raises(LowbitError, match=name):
            _C.shiftmax(q, *args, u8)
    with pytest.raises(LowbitError, match="out: expected dtype uint8"):
        _C.shiftmax(q, 9, 5, 20, np.empty(q.shape, np.int8))
    with pytest.raises(LowbitError, match="out: expected the shape of q"):
        _C.shiftmax(q, 9, 5, 20, np.empty((4, 4), np.uint8))
    with pytest.raises(LowbitError, match="out: expected dtype int64"):
        _C.shiftgelu(q, 2, 5, np.empty(q.shape, np.int16))
    for args, name in [((-1, 5), "l"), ((16, 5), "l"), ((2, -1), "m"), ((2, 2**16), "m")]:
        with pytest.raises(LowbitError, match=name):
            _C.shiftgelu(q, *args, np.empty(q.shape, np.int32))
    e2, rc, lg = _LUT_TABLES
    bad = rc.copy()
    bad[3] = 2**15 + 1
    with pytest.raises(LowbitError, match="recip"):
        _C.lut_softmax(q, 9, 5, 20, e2, bad, lg, False, u8)
    with pytest.raises(LowbitError, match="128 entries"):
        _C.lut_softmax(q, 9, 5, 20, e2[:64], rc, lg, False, u8)
    args = nnlut_gelu_args(0.01)
    c, (starts, anchors, shifts, slopes, values) = args[:6], args[6:]
    o32 = np.empty(q.shape, np.int32)
    _C.pwl_gelu(q, *args, o32)
    bad = starts.copy()
    bad[1:] = bad[1:][::-1]
    for rows, name in [
        ((bad, anchors, shifts, slopes, values), "starts: expected increasing"),
        ((starts + 1, anchors, shifts, slopes, values), r"starts: expected starts\[0\] = 0"),
        ((starts, anchors[:-1].copy(), shifts, slopes, values), "expected one per row"),
        ((starts, anchors, shifts + 1, slopes, values), "anchors: expected"),
        ((starts, anchors, np.full_like(shifts, 17), slopes, values), "shifts"),
        ((starts, anchors, shifts, slopes, values + 2**30), "values"),
        ((starts[:0], anchors[:0], shifts[:0], slopes[:0], values[:0]), "starts: expected 1..64 rows"),
    ]:
        with pytest.raises(LowbitError, match=name):
            _C.pwl_gelu(q, *c, *rows, o32)
    for i, v, name in [(0, 41, "r"), (1, 1, "base"), (2, 0, "w_max"), (2, 65536, "w_max"), (3, 0, "q8"),
                       (4, -1, "id_m0"), (5, 63, "id_shift")]:  # fmt: skip
        cc = list(c)
        cc[i] = v
        with pytest.raises(LowbitError, match=name):
            _C.pwl_gelu(q, *cc, starts, anchors, shifts, slopes, values, o32)


BLOCK_LENGTHS = [1, 31, 32, 33, 127, 128, 129, 160, 255, 256, 257, 4096 + 97]  # around blocks, groups


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("scale", [1e-4, 1e-3, 0.05, 2.0, 9.5])
def test_shiftgelu_int32_blocks_and_tails(isa, scale):
    """Every valid int16 code (shuffled), and the extreme codes alone, at lengths around the blocks."""
    q = np.random.default_rng(2).permutation(np.arange(-(2**15) + 1, 2**15, dtype=np.int16))
    for n in BLOCK_LENGTHS:
        for part in (q[:n], q[-n:], np.full(n, -(2**15) + 1, np.int16), np.full(n, 2**15 - 1, np.int16)):
            got, _ = shiftgelu(part, scale, isa)
            np.testing.assert_array_equal(got, shiftgelu_ref(part, scale)[0])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n", BLOCK_LENGTHS)
def test_shiftgelu_int16_min_code_anywhere(isa, n):
    """-2^15 is out of range wherever it sits: first, middle or last code, in a block or in the tail."""
    for pos in {0, n // 2, n - 1}:
        q = np.zeros(n, np.int16)
        q[pos] = -(2**15)
        with pytest.raises(LowbitError, match="q: expected codes in"):
            shiftgelu(q, 1e-3, isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("scale", [1e-6, 1e-4, 1e-3, 0.05, 2.0, 9.5])
def test_nnlut_gelu_int16_blocks_and_tails(isa, scale):
    """NN-LUT GELU on int16 codes at lengths around the interleaved groups of blocks: every code shuffled
    (blocks with a code on the identity, x >= 8, next to blocks without), small codes, the extremes."""
    q = np.random.default_rng(3).permutation(np.arange(-(2**15), 2**15, dtype=np.int16))
    small = np.random.default_rng(4).integers(-3000, 3001, size=5000).astype(np.int16)
    for n in BLOCK_LENGTHS:
        for part in (q[:n], small[:n], np.full(n, -(2**15), np.int16), np.full(n, 2**15 - 1, np.int16)):
            got, _ = nnlut_gelu(part, scale, isa)
            np.testing.assert_array_equal(got, nnlut_gelu_ref(part.astype(np.int32), scale)[0])


@pytest.mark.parametrize("span", ["bytes", "wide"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lut_softmax_custom_exp2_tables(span, dtype):
    """The kernel takes any exp2 table (entries <= 2^15, exp2[0] = 2^15): the lnexp pass 2 looks exp2 >> 6 up
    as bytes over its minimum when it spans <= 256 values (the shipped table: 257..512), by words otherwise.
    Both against the scalar kernel, on random decreasing tables of either kind, with row tails."""
    from lowbit import _C
    from lowbit.ops.shift_lut_kernels import lut_args

    rng = np.random.default_rng(7)
    dcap, m0, shift, _, rc, lg, _ = lut_args(1e-3, "lnexp")
    low = 2**14 + 64 * 40 if span == "bytes" else 2**12
    for trial in range(6):
        e2 = np.sort(rng.integers(low, 2**15, size=128, endpoint=True))[::-1].astype(np.uint16)
        e2[0] = 2**15
        if span == "bytes":
            assert (e2[0] >> 6) - (e2.min() >> 6) <= 255
        else:
            assert (e2[0] >> 6) - (e2.min() >> 6) > 255
        for n in (1, 31, 32, 33, 100, 128):
            q = _codes(rng, dtype, 3, n, "small" if trial % 2 else "random")
            outs = []
            for isa in ISAS:
                o = np.empty(q.shape, np.uint8)
                _C.lut_softmax(q, dcap, m0, shift, e2, rc, lg, True, o, isa)
                outs.append(o)
            for o in outs[1:]:
                np.testing.assert_array_equal(o, outs[0])
