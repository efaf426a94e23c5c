"""The I-BERT integer-op kernels (C++) against their numpy int64 references, bit for bit, on every ISA."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.ibert import ibert_gelu_ref, ibert_layernorm_ref, ibert_softmax_ref
from lowbit.ops.intops_kernels import ibert_gelu, ibert_layernorm, ibert_softmax

ISAS = available_isas()
DTYPES = [np.int16, np.int32]
# the references' documented scale range is (0, 2^20); log-uniform over it
SCALES = st.floats(-20.0, 19.99).map(lambda e: 2.0**e)
LENGTHS = st.one_of(st.integers(1, 300), st.just(4096))


def _codes(rng, dtype, rows, n, kind):
    info = np.iinfo(dtype)
    if kind == "random":
        return rng.integers(info.min, info.max, size=(rows, n), endpoint=True).astype(dtype)
    if kind == "small":  # the typical case: a few thousand codes around 0
        return rng.integers(-3000, 3001, size=(rows, n)).astype(dtype)
    value = {"max": info.max, "min": info.min, "equal": int(rng.integers(info.min, info.max))}[kind]
    return np.full((rows, n), value, dtype=dtype)


def _same(kernel, ref):
    """Both raise LowbitError (a scale the method cannot take), or both return equal codes and scales."""
    try:
        want = ref()
    except LowbitError:
        with pytest.raises(LowbitError):
            kernel()
        return
    got = kernel()
    assert got[0].dtype == want[0].dtype and got[1] == want[1]
    np.testing.assert_array_equal(got[0], want[0])


CASES = dict(
    rows=st.integers(1, 50),
    n=LENGTHS,
    dtype=st.sampled_from(DTYPES),
    kind=st.sampled_from(["random", "small", "max", "min", "equal"]),
    scale=SCALES,
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)


@settings(max_examples=150, deadline=None)
@given(**CASES)
def test_softmax_bit_exact(rows, n, dtype, kind, scale, isa, seed):
    q = _codes(np.random.default_rng(seed), dtype, rows if n < 4096 else min(rows, 3), n, kind)
    _same(lambda: ibert_softmax(q, scale, isa=isa), lambda: ibert_softmax_ref(q, scale))


@settings(max_examples=150, deadline=None)
@given(**CASES)
def test_gelu_bit_exact(rows, n, dtype, kind, scale, isa, seed):
    q = _codes(np.random.default_rng(seed), dtype, rows if n < 4096 else min(rows, 3), n, kind)
    _same(lambda: ibert_gelu(q, scale, isa=isa), lambda: ibert_gelu_ref(q, scale))
    if dtype == np.int16:  # int32 storage of the same values
        _same(
            lambda: (lambda r: (r[0].astype(np.int64), r[1]))(ibert_gelu(q, scale, isa, np.int32)),
            lambda: ibert_gelu_ref(q, scale),
        )


@settings(max_examples=60, deadline=None)  # the reference loops over channels in Python
@given(
    rows=st.integers(1, 50),
    n=st.one_of(st.integers(2, 300), st.just(4096)),
    dtype=st.sampled_from(DTYPES),
    kind=st.sampled_from(["random", "small", "max", "min", "equal"]),
    scale=SCALES,
    eps=st.sampled_from([0.0, 1e-12, 1e-5, 1.0]),
    out_scale=st.floats(1e-3, 1.0),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)
def test_layernorm_bit_exact(rows, n, dtype, kind, scale, eps, out_scale, isa, seed):
    rng = np.random.default_rng(seed)
    q = np.clip(_codes(rng, dtype, rows if n < 4096 else min(rows, 3), n, kind), -32767, 32767).astype(dtype)
    w = rng.uniform(-3, 3, n) * 2.0 ** rng.integers(-30, 2, n)  # includes tiny gammas (shift > 46)
    w[0] = 0.0
    b = rng.uniform(-4, 4, n)
    _same(
        lambda: ibert_layernorm(q, scale, w, b, out_scale, eps, isa=isa),
        lambda: ibert_layernorm_ref(q, scale, w, b, out_scale, eps),
    )


@pytest.mark.parametrize("isa", ISAS)
def test_softmax_alternating_extremes_and_nd(isa):
    """Rows mixing both int32 extremes (q - max spans 2^32), and a 4-d attention-shaped input."""
    q = np.tile(np.array([2**31 - 1, -(2**31)], dtype=np.int32), (3, 37))
    np.testing.assert_array_equal(ibert_softmax(q, 1e-3, isa=isa)[0], ibert_softmax_ref(q, 1e-3)[0])
    q4 = np.random.default_rng(0).integers(-5000, 5000, size=(2, 3, 17, 33)).astype(np.int16)
    np.testing.assert_array_equal(ibert_softmax(q4, 2e-3, isa=isa)[0], ibert_softmax_ref(q4, 2e-3)[0])
    np.testing.assert_array_equal(ibert_gelu(q4, 2e-3, isa=isa)[0], ibert_gelu_ref(q4, 2e-3)[0])


@pytest.mark.parametrize("op", [ibert_softmax, ibert_gelu])
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


def test_gelu_int32_output_needs_int16_codes():
    with pytest.raises(LowbitError, match="out_dtype"):
        ibert_gelu(np.zeros(4, np.int32), 0.1, out_dtype=np.int32)
    with pytest.raises(LowbitError, match="out_dtype"):
        ibert_gelu(np.zeros(4, np.int16), 0.1, out_dtype=np.int8)
    got, _ = ibert_gelu(np.array([-32768, 32767], np.int16), 1e-3, out_dtype=np.int32)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, ibert_gelu_ref(np.array([-32768, 32767]), 1e-3)[0])


def test_softmax_bad_axis_and_length():
    q = np.zeros((4, 8), dtype=np.int32)
    with pytest.raises(LowbitError, match="axis: expected the last axis"):
        ibert_softmax(q, 0.1, axis=0)
    with pytest.raises(LowbitError, match="axis"):
        ibert_softmax(q, 0.1, axis=2)
    np.testing.assert_array_equal(ibert_softmax(q, 0.1, axis=1)[0], ibert_softmax_ref(q, 0.1)[0])
    with pytest.raises(LowbitError, match="2\\^20"):
        ibert_softmax(np.zeros((1, 2**20 + 1), dtype=np.int16), 0.1)


def test_layernorm_bad_inputs():
    q = np.zeros((4, 8), dtype=np.int16)
    w, b = np.ones(8), np.zeros(8)
    with pytest.raises(LowbitError, match="q: expected int16 or int32"):
        ibert_layernorm(q.astype(np.float64), 0.1, w, b, 0.05)
    with pytest.raises(LowbitError, match="C-contiguous"):
        ibert_layernorm(np.zeros((8, 8), dtype=np.int16).T, 0.1, w, b, 0.05)
    with pytest.raises(LowbitError, match="codes in \\[-32767, 32767\\]"):
        ibert_layernorm(np.full((4, 8), -(2**15), dtype=np.int16), 0.1, w, b, 0.05)
    with pytest.raises(LowbitError, match="codes in"):
        ibert_layernorm(np.full((4, 8), 2**15, dtype=np.int32), 0.1, w, b, 0.05)
    with pytest.raises(LowbitError, match="axis: expected the last axis"):
        ibert_layernorm(np.zeros((8, 8), dtype=np.int16), 0.1, w, b, 0.05, axis=0)
    with pytest.raises(LowbitError, match="weight"):
        ibert_layernorm(q, 0.1, np.ones(7), b, 0.05)
    with pytest.raises(LowbitError, match="at least 2"):
        ibert_layernorm(np.zeros((4, 1), dtype=np.int16), 0.1, np.ones(1), np.zeros(1), 0.05)
    for bad in (0.0, float("nan"), 2.0**20):
        with pytest.raises(LowbitError, match="scale"):
            ibert_layernorm(q, bad, w, b, 0.05)
        with pytest.raises(LowbitError, match="out_scale"):
            ibert_layernorm(q, 0.1, w, b, bad)
    with pytest.raises(LowbitError, match="eps"):
        ibert_layernorm(q, 0.1, w, b, 0.05, eps=-1.0)


def test_kernel_rejects_bad_constants():
    """The C++ entry points check the integer constants themselves (they bound its 32-bit arithmetic)."""
    from lowbit import _C
    from lowbit.ops.intops_kernels import gelu_constants, softmax_constants

    q = np.zeros((2, 8), dtype=np.int32)
    dclip, m0, shift, qb, qc = softmax_constants(0.1)
    for args, name in [
        ((0, m0, shift, qb, qc), "dclip"),
        ((dclip, -1, shift, qb, qc), "m0"),
        ((dclip, m0, 63, qb, qc), "shift"),
        ((dclip, m0, shift, 2**16, qc), "qb"),
        ((dclip, m0, shift, qb, 2**31 - 1), "qb, qc"),
    ]:
        with pytest.raises(LowbitError, match=name):
            _C.ibert_softmax(q, *args, np.empty(q.shape, np.uint8))
    with pytest.raises(LowbitError, match="out: expected dtype uint8"):
        _C.ibert_softmax(q, dclip, m0, shift, qb, qc, np.empty(q.shape, np.int8))
    with pytest.raises(LowbitError, match="out: expected the shape of q"):
        _C.ibert_softmax(q, dclip, m0, shift, qb, qc, np.empty((4, 4), np.uint8))
    clip, m0, shift, qc, _ = gelu_constants(0.1)
    with pytest.raises(LowbitError, match="qc"):
        _C.ibert_gelu(q, clip, m0, shift, 2**31 - 1, np.empty(q.shape, np.int64))
    with pytest.raises(LowbitError, match="clip"):
        _C.ibert_gelu(q, 2**31 + 1, m0, shift, qc, np.empty(q.shape, np.int64))
    with pytest.raises(LowbitError, match="out: int32 output needs int16"):
        _C.ibert_gelu(q, clip, m0, shift, qc, np.empty(q.shape, np.int32))
    with pytest.raises(LowbitError, match="out: expected dtype int64"):
        _C.ibert_gelu(q, clip, m0, shift, qc, np.empty(q.shape, np.int8))
    ones = np.ones(8, np.int32)
    for args, name in [
        ((-1, ones, ones, ones.astype(np.int64)), "eps"),
        ((0, ones[:4], ones, ones.astype(np.int64)), "m0, shift, beta"),
        ((0, ones, ones * 63, ones.astype(np.int64)), "shift"),
        ((0, ones, ones, ones.astype(np.int64) << 62), "beta"),
        ((0, ones, ones, ones), "beta: expected dtype int64"),
    ]:
        with pytest.raises(LowbitError, match=name):
            _C.ibert_layernorm(q, *args, np.empty(q.shape, np.int8))


# scales on both sides of the SIMD kernels' 32-bit fast paths (dyadic shift in [16, 47], clamps <= 2^16 - 1)
EDGE_SCALES = [2.0**-20, 1e-5, 3e-5, 6.6e-4, 1e-3, 0.05, 1.0, 1.39, 2.0, 107.0, 300.0, 2.0**19]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("scale", EDGE_SCALES)
def test_every_int16_code(isa, scale):
    """Each of the 65536 int16 codes through GELU (int64 and int32 output), and softmax rows that hold
    every code (so q - max spans 0..65535), bit-exact on each ISA."""
    q = np.arange(-(2**15), 2**15, dtype=np.int16)
    _same(lambda: ibert_gelu(q, scale, isa=isa), lambda: ibert_gelu_ref(q, scale))
    got, _ = ibert_gelu(q, scale, isa, np.int32)
    np.testing.assert_array_equal(got, ibert_gelu_ref(q, scale)[0])
    rows = np.random.default_rng(0).permutation(q).reshape(64, 1024)
    rows[:, 0] = 2**15 - 1  # every row's max is the top code
    _same(lambda: ibert_softmax(rows, scale, isa=isa), lambda: ibert_softmax_ref(rows, scale))
    q32 = (q.astype(np.int32) << 16).reshape(64, 1024)  # 32-bit codes: spans beyond 2^16 - 1
    _same(lambda: ibert_softmax(q32, scale, isa=isa), lambda: ibert_softmax_ref(q32, scale))
    _same(lambda: ibert_gelu(q32, scale, isa=isa), lambda: ibert_gelu_ref(q32, scale))


@pytest.mark.parametrize("isa", ISAS)
def test_layernorm_edge_rows(isa):
    """Constant rows with eps = 0 (zero variance: sigma = 1), two values far apart, full-range rows."""
    rng = np.random.default_rng(3)
    n = 384
    w, b = rng.uniform(-2, 2, n), rng.uniform(-1, 1, n)
    q = np.zeros((6, n), dtype=np.int16)
    q[0] = 1234
    q[1] = -32767
    q[2, ::2], q[2, 1::2] = 32767, -32767
    q[3] = rng.integers(-32767, 32768, n)
    q[4, :5] = 1
    q[5] = np.arange(n) - n // 2
    for eps in (0.0, 1e-12, 1.0):
        for scale in (1e-5, 1e-3, 1.0, 300.0):
            got, _ = ibert_layernorm(q, scale, w, b, 0.02, eps, isa=isa)
            np.testing.assert_array_equal(got, ibert_layernorm_ref(q, scale, w, b, 0.02, eps)[0])


def test_layernorm_constant_cache_follows_values():
    """The wrapper caches per-channel constants by value: new weights, bias, eps or ndim never reuse them."""
    rng = np.random.default_rng(4)
    q = rng.integers(-3000, 3000, (4, 16)).astype(np.int16)
    w, b = rng.uniform(-2, 2, 16), rng.uniform(-1, 1, 16)
    first = ibert_layernorm(q, 1e-3, w, b, 0.05)[0]
    np.testing.assert_array_equal(first, ibert_layernorm_ref(q, 1e-3, w, b, 0.05)[0])
    w2 = w.copy()
    w2[3] = -w2[3]
    b2 = b + 0.5
    for args in [(w2, b, 0.05, 1e-12), (w, b2, 0.05, 1e-12), (w, b, 0.07, 1e-12), (w, b, 0.05, 10.0)]:
        np.testing.assert_array_equal(
            ibert_layernorm(q, 1e-3, *args)[0], ibert_layernorm_ref(q, 1e-3, *args)[0]
        )
    q3 = q.reshape(2, 2, 16)
    with pytest.raises(LowbitError, match="axis: expected the last axis"):
        ibert_layernorm(q3.transpose(0, 2, 1).copy(), 1e-3, w, b, 0.05, axis=1)
    np.testing.assert_array_equal(ibert_layernorm(q3, 1e-3, w, b, 0.05, axis=2)[0], first.reshape(2, 2, 16))


# the AVX-512 16-bit-lane GELU (int16 codes, int32 output) takes dyadic shifts 17..32 with 2^(32 - shift)
# times the clamp below 2^15: scales ~2^-12.5 .. 2^1; its ends and the scales just outside
GELU16_SCALES = [2.0**-13.5, 2.0**-12.5, 2.0**-12, 1e-3, 0.05, 1.0, 2.0, 2.0**1.5]
GELU16_LENGTHS = [1, 31, 32, 33, 127, 128, 129, 160, 255, 4096 + 97]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("scale", GELU16_SCALES)
def test_gelu_int32_blocks_and_tails(isa, scale):
    """Every int16 code (shuffled, so each sits in every lane position somewhere), the extreme codes alone,
    at lengths on both sides of the kernel's 128- and 32-code blocks."""
    q = np.random.default_rng(1).permutation(np.arange(-(2**15), 2**15, dtype=np.int16))
    for n in GELU16_LENGTHS:
        for part in (q[:n], q[-n:], np.full(n, -(2**15), np.int16), np.full(n, 2**15 - 1, np.int16)):
            got, _ = ibert_gelu(part, scale, isa, np.int32)
            np.testing.assert_array_equal(got, ibert_gelu_ref(part, scale)[0])


@pytest.mark.parametrize("isa", ISAS)
@settings(max_examples=60, deadline=None)
@given(
    e=st.floats(-14.0, 2.0),
    n=st.integers(1, 700),
    lo=st.integers(-(2**15), 2**15 - 1),
    width=st.integers(0, 2**16),
    seed=st.integers(0, 2**31),
)
def test_gelu_int32_16bit_range(isa, e, n, lo, width, seed):
    """Random int16 codes in a random window, any length, scales over the 16-bit path's range."""
    hi = min(lo + width, 2**15 - 1)
    q = np.random.default_rng(seed).integers(lo, hi, size=n, endpoint=True).astype(np.int16)
    got, _ = ibert_gelu(q, 2.0**e, isa, np.int32)
    np.testing.assert_array_equal(got, ibert_gelu_ref(q, 2.0**e)[0])
