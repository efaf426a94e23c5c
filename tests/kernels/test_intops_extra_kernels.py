"""Log-Int-Softmax and PWL sigmoid / tanh kernels (C++) against their numpy int64 references, bit for bit,
on every ISA."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.fqvit import log_int_softmax_ref
from lowbit.ops.intops_extra_kernels import log_int_softmax, nnlut_softmax, pwl_sigmoid, pwl_tanh
from lowbit.ops.nnlut import nnlut_softmax_ref
from lowbit.ops.pwl import fit_pwl, pwl_sigmoid_ref, pwl_tanh_ref

ISAS = available_isas()
DTYPES = [np.int16, np.int32]
PWL = {"sigmoid": (pwl_sigmoid, pwl_sigmoid_ref), "tanh": (pwl_tanh, pwl_tanh_ref)}


def _scales(lo: float, top: float) -> st.SearchStrategy[float]:
    return st.floats(lo, top - 0.01).map(lambda e: 2.0**e)


def _codes(seed, dtype, rows, n, kind):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    if kind == "random":
        return rng.integers(info.min, info.max, size=(rows, n), endpoint=True).astype(dtype)
    if kind == "small":
        return rng.integers(-3000, 3001, size=(rows, n)).astype(dtype)
    if kind == "alternating":
        q = np.full((rows, n), info.min, dtype=dtype)
        q[:, ::2] = info.max
        return q
    value = {"max": info.max, "min": info.min, "equal": int(rng.integers(info.min, info.max))}[kind]
    return np.full((rows, n), value, dtype=dtype)


def _same(kernel, ref):
    """Both raise LowbitError, or both return equal codes (same dtype, shape) and equal scales."""
    try:
        want = ref()
    except LowbitError:
        with pytest.raises(LowbitError):
            kernel()
        return
    got = kernel()
    assert got[0].dtype == want[0].dtype and got[0].shape == want[0].shape and got[1] == want[1]
    np.testing.assert_array_equal(got[0], want[0])


KINDS = st.sampled_from(["random", "small", "max", "min", "equal", "alternating"])
COMMON = dict(
    rows=st.integers(1, 40),
    n=st.one_of(st.integers(1, 300), st.just(4096)),
    dtype=st.sampled_from(DTYPES),
    kind=KINDS,
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)


@settings(max_examples=200, deadline=None)
@given(scale=_scales(-20, 20), **COMMON)
def test_log_int_softmax_bit_exact(rows, n, dtype, kind, scale, isa, seed):
    q = _codes(seed, dtype, rows if n < 4096 else min(rows, 3), n, kind)
    _same(lambda: log_int_softmax(q, scale, isa=isa), lambda: log_int_softmax_ref(q, scale))


@settings(max_examples=200, deadline=None)
@given(scale=_scales(-20, 20), **COMMON)
def test_nnlut_softmax_bit_exact(rows, n, dtype, kind, scale, isa, seed):
    q = _codes(seed, dtype, rows if n < 4096 else min(rows, 3), n, kind)
    _same(lambda: nnlut_softmax(q, scale, isa=isa), lambda: nnlut_softmax_ref(q, scale))


@settings(max_examples=200, deadline=None)
@given(scale=_scales(-20, 20), name=st.sampled_from(sorted(PWL)), **COMMON)
def test_pwl_default_table_bit_exact(rows, n, dtype, kind, scale, name, isa, seed):
    q = _codes(seed, dtype, rows if n < 4096 else min(rows, 3), n, kind)
    kernel, ref = PWL[name]
    _same(lambda: kernel(q, scale, isa=isa), lambda: ref(q, scale))


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(sorted(PWL)),
    lo=st.floats(-1000.0, 999.0),
    width=st.floats(0.01, 1000.0),
    segments=st.integers(1, 32),
    scale=_scales(-20, 10),
    dtype=st.sampled_from(DTYPES),
    kind=KINDS,
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)
def test_pwl_fitted_tables_bit_exact(name, lo, width, segments, scale, dtype, kind, isa, seed):
    """Tables over any domain inside +-2^10 (asymmetric, off-centre, narrow), 1..32 segments."""
    hi = min(lo + width, 1024.0)
    t = fit_pwl(name, lo, hi, segments)
    q = _codes(seed, dtype, 7, 129, kind)
    kernel, ref = PWL[name]
    _same(lambda: kernel(q, scale, t, isa=isa), lambda: ref(q, scale, t))


# scales on both sides of the SIMD kernels' 32-bit fast paths (shift in [16, 47], clamps <= 2^16 - 1)
EDGE_SCALES = [2.0**-20, 1e-5, 3e-5, 2.6e-4, 6.6e-4, 1e-3, 0.05, 0.5, 1.0, 1.39, 2.0, 107.0, 300.0, 16000.0]
EDGE_SCALES += [2.0**19]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("scale", EDGE_SCALES)
def test_every_int16_code(isa, scale):
    """Every int16 code through both PWL activations, and softmax rows that hold every code, plus 32-bit
    codes spanning beyond 16 bits, bit-exact on each ISA."""
    q = np.arange(-(2**15), 2**15, dtype=np.int16)
    q32 = (q.astype(np.int32) << 16).reshape(64, 1024)
    for kernel, ref in PWL.values():
        for x in (q, q32):
            _same(lambda x=x, kernel=kernel: kernel(x, scale, isa=isa), lambda x=x, ref=ref: ref(x, scale))
    rows = np.random.default_rng(0).permutation(q).reshape(64, 1024)
    rows[:, 0] = 2**15 - 1
    for x in (rows, q32):
        _same(lambda x=x: log_int_softmax(x, scale, isa=isa), lambda x=x: log_int_softmax_ref(x, scale))
        _same(lambda x=x: nnlut_softmax(x, scale, isa=isa), lambda x=x: nnlut_softmax_ref(x, scale))


@pytest.mark.parametrize("isa", ISAS)
def test_extremes_and_nd(isa):
    """Rows mixing both int32 extremes, one-hot rows (every other code 15), long rows, 4-d inputs."""
    q = np.tile(np.array([2**31 - 1, -(2**31)], dtype=np.int32), (3, 37))
    hot = np.full((2, 4096), -30000, dtype=np.int16)
    hot[:, 5] = 30000
    flat = np.full((1, 2**20), 7, dtype=np.int16)  # the longest row: the widest row sum
    q4 = np.random.default_rng(0).integers(-5000, 5000, size=(2, 3, 17, 33)).astype(np.int16)
    for x in (q, hot, flat, q4, flat[:, :8192]):  # 8192 equal codes: NN-LUT's row sum reaches 2^43
        for scale in (1e-3, 0.5):
            _same(
                lambda x=x, s=scale: log_int_softmax(x, s, isa=isa),
                lambda x=x, s=scale: log_int_softmax_ref(x, s),
            )
            _same(
                lambda x=x, s=scale: nnlut_softmax(x, s, isa=isa),
                lambda x=x, s=scale: nnlut_softmax_ref(x, s),
            )
    for x in (q, hot, q4):
        for kernel, ref in PWL.values():
            for s in (1e-3, 2.0**-12):  # 2^-12: r = 1, round(q / 2) of the int32 extremes
                _same(lambda x=x, k=kernel, s=s: k(x, s, isa=isa), lambda x=x, r=ref, s=s: r(x, s))


def test_bad_input_is_a_lowbit_error():
    q = np.zeros((2, 8), dtype=np.int16)
    for bad in (
        lambda: log_int_softmax(q.astype(np.int64), 1e-3),
        lambda: log_int_softmax(q, 1e-3, axis=0),
        lambda: log_int_softmax(q, -1.0),
        lambda: log_int_softmax(q[:, ::2], 1e-3),
        lambda: pwl_sigmoid(q.astype(np.float32), 1e-3),
        lambda: pwl_tanh(q, 1e-3, table=fit_pwl("sigmoid", -8.0, 8.0, 16)),  # a sigmoid table for tanh
        lambda: pwl_sigmoid(q, 1e-3, table=fit_pwl("sigmoid", -8.0, 8.0, 33)),  # beyond the kernel's 32
        lambda: pwl_sigmoid(q, float("nan")),
    ):
        with pytest.raises(LowbitError):
            bad()


def test_kernel_entry_points_validate():
    """The C++ entry points reject constants outside the bounds their arithmetic relies on."""
    from lowbit import _C

    q = np.zeros((2, 8), dtype=np.int16)
    u8 = np.empty((2, 8), dtype=np.uint8)
    i16 = np.empty((2, 8), dtype=np.int16)
    st_, va = np.array([0, 5], np.uint16), np.array([0, 9], np.int16)
    fr, sl_, sh = np.array([0, 7], np.uint16), np.array([1, 2], np.uint16), np.zeros(2, np.uint8)

    def pa(r=0, base=-5, w_max=100, starts=st_, values=va, fracs=fr, slopes=sl_, shifts=sh, **kw):
        y_hi, clipless, out = kw.get("y_hi", 100), kw.get("clipless", False), kw.get("out", i16)
        return _C.pwl_act(q, r, base, w_max, starts, values, fracs, slopes, shifts, 0, y_hi, clipless, out)

    pa()  # these pass
    pa(y_hi=9, clipless=True)
    from lowbit.ops.intops_extra_kernels import _nnlut_softmax_tables

    st, va_e, sl_e, rfrac0, *rt = _nnlut_softmax_tables()
    et = (st, va_e, sl_e)

    def nn(e=et, r=tuple(rt), m=48409, s=15, dcap=20102, rfrac=rfrac0, out=u8):
        return _C.nnlut_softmax(q, m, s, dcap, False, *e, rfrac, *r, out)

    nn()  # the real tables pass
    low = va_e.copy()
    low[-1] = 10  # a row's values fall below 0
    for bad in (
        lambda: nn(e=(st, low, sl_e)),
        lambda: nn(e=(st[::-1].copy(), va_e, sl_e)),  # unsorted starts
        lambda: nn(e=(st + 1, va_e, sl_e)),  # the first row not at 0
        lambda: nn(e=(st, va_e.astype(np.int16), sl_e)),  # dtype
        lambda: nn(e=(st, va_e[:3].copy(), sl_e)),  # lengths
        lambda: nn(r=(rt[0], rt[1][:3].copy(), *rt[2:])),  # lengths
        lambda: nn(r=(rt[0], rt[1] * 0, np.full_like(rt[2], 2**31 - 1), rt[3])),  # past 2^16 - 1 at Q.15
        lambda: nn(m=2**16),
        lambda: nn(m=2**15 - 1),
        lambda: nn(s=0),
        lambda: nn(dcap=0),
        lambda: nn(rfrac=15),
        lambda: nn(out=i16),
        lambda: _C.log_int_softmax(q, 100, 1 << 30, 20, 1 << 13, 0, u8),  # qb below 2^14
        lambda: _C.log_int_softmax(q, 0, 1 << 30, 20, 1 << 14, 1 << 30, u8),  # dclip 0
        lambda: _C.log_int_softmax(q, 100, 1 << 30, 20, 1 << 14, 1 << 30, i16),  # out dtype
        lambda: pa(r=32),
        lambda: pa(base=-(2**31) - 2),
        lambda: pa(w_max=65536),
        lambda: pa(starts=np.array([1, 5], np.uint16)),  # starts[0] != 0
        lambda: pa(starts=np.array([0, 0], np.uint16)),  # not increasing
        lambda: pa(starts=np.array([0, 200], np.uint16)),  # past w_max
        lambda: pa(values=va[:1].copy()),  # lengths
        lambda: pa(slopes=np.array([1, 2], np.int16)),  # dtype
        lambda: pa(fracs=fr[:1].copy()),  # lengths
        lambda: pa(shifts=np.array([17, 0], np.uint8)),
        lambda: pa(shifts=np.array([15, 0], np.uint8)),  # (4 << 15) past 2^16 - 1
        lambda: pa(y_hi=8, clipless=True),  # the last row starts past y_hi
        lambda: pa(starts=st_.astype(np.int16)),  # dtype
        lambda: pa(y_hi=40000),  # beyond int16
        lambda: pa(out=u8),  # out dtype
    ):
        with pytest.raises(LowbitError):
            bad()


@settings(max_examples=120, deadline=None)
@given(
    rows=st.integers(1, 30),
    n=st.one_of(st.integers(2, 200), st.sampled_from([384, 1536, 16384])),
    bits=st.integers(2, 8),
    kind=st.sampled_from(["random", "zero", "top", "zp"]),
    wide=st.booleans(),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)
def test_ptf_layernorm_bit_exact(rows, n, bits, kind, wide, isa, seed):
    """Random PTF codes, alphas, zero points and affine parameters (constant rows: zero variance)."""
    from lowbit.ops.fqvit import PTFParams, ptf_layernorm_ref
    from lowbit.ops.intops_extra_kernels import ptf_layernorm

    rng = np.random.default_rng(seed)
    rows = rows if n < 16384 else 1
    top = 2**bits - 1
    zp = int(rng.integers(0, top + 1))
    q = {
        "random": rng.integers(0, top + 1, size=(rows, n)),
        "zero": np.zeros((rows, n), dtype=np.int64),
        "top": np.full((rows, n), top),
        "zp": np.full((rows, n), zp),
    }[kind].astype(np.uint8)
    p = PTFParams(float(2.0 ** rng.uniform(-12, 4)), zp, rng.integers(0, 4, n), bits)
    w = rng.uniform(-4, 4, n) * (100.0 if wide else 1.0)
    b = rng.uniform(-2, 2, n)
    out_scale = float(2.0 ** rng.uniform(-8, 2))
    _same(
        lambda: ptf_layernorm(q, p, w, b, out_scale, isa=isa),
        lambda: ptf_layernorm_ref(q, p, w, b, out_scale),
    )


def test_ptf_layernorm_bad_input():
    from lowbit.ops.fqvit import PTFParams
    from lowbit.ops.intops_extra_kernels import ptf_layernorm

    n = 8
    q = np.full((2, n), 3, dtype=np.uint8)
    a0 = np.zeros(n, dtype=np.int64)
    p = PTFParams(0.1, 3, a0, 8)
    w, b = np.ones(n), np.zeros(n)
    for bad in (
        lambda: ptf_layernorm(q.astype(np.int32), p, w, b, 0.05),  # the kernel takes uint8 codes
        lambda: ptf_layernorm(q, PTFParams(0.1, 3, np.zeros(n + 1, dtype=np.int64), 8), w, b, 0.05),
        lambda: ptf_layernorm(q, PTFParams(0.1, 3, np.full(n, 4), 8), w, b, 0.05),  # alpha > 3
        lambda: ptf_layernorm(q, PTFParams(0.1, 3, np.full(n, -1), 8), w, b, 0.05),  # checked by the kernel
        lambda: ptf_layernorm(q, PTFParams(0.1, 3, np.full(n, 4, dtype=np.int32), 8), w, b, 0.05),
        lambda: ptf_layernorm(q, PTFParams(0.1, 3, np.full(2 * n, 4)[::2], 8), w, b, 0.05),  # strided int64
        lambda: ptf_layernorm(q + 2, PTFParams(0.1, 3, a0, 2), w, b, 0.05),  # codes >= 2^2
        lambda: ptf_layernorm(q, PTFParams(0.1, 300, a0, 8), w, b, 0.05),  # zero point
        lambda: ptf_layernorm(q, PTFParams(float("inf"), 3, a0, 8), w, b, 0.05),
        lambda: ptf_layernorm(q, p, w[:-1], b, 0.05),
        lambda: ptf_layernorm(q[:, :1], PTFParams(0.1, 3, a0[:1], 8), w[:1], b[:1], 0.05),  # one channel
        lambda: ptf_layernorm(q, p, w, b, -1.0),
    ):
        with pytest.raises(LowbitError):
            bad()


@pytest.mark.parametrize("isa", ISAS)
def test_ptf_layernorm_largest_squares(isa):
    """|x| = 255 * 2^3 on every channel of the longest row (2^14): the AVX-512 pass sums the squares in
    unsigned 32-bit lanes (a lane's sum < 2^32 only just), checked against the reference at the bound."""
    from lowbit.ops.fqvit import PTFParams, ptf_layernorm_ref
    from lowbit.ops.intops_extra_kernels import ptf_layernorm

    n = 2**14
    w, b = np.linspace(-2, 2, n), np.linspace(1, -1, n)
    alpha = np.full(n, 3)
    for code, zp in [(255, 0), (0, 255)]:
        q = np.full((2, n), code, dtype=np.uint8)
        q[1, ::3] = 255 - code  # a row with variance too
        p = PTFParams(0.01, zp, alpha, 8)
        _same(
            lambda q=q, p=p: ptf_layernorm(q, p, w, b, 0.05, isa=isa),
            lambda q=q, p=p: ptf_layernorm_ref(q, p, w, b, 0.05),
        )


def test_layernorm_constants_follow_parameters_changed_in_place():
    """The wrappers cache the per-channel constants by the bytes of weight and bias (the last call's first):
    a parameter changed in place between two calls gets new constants."""
    from lowbit.ops.fqvit import PTFParams, ptf_layernorm_ref
    from lowbit.ops.intops_extra_kernels import ptf_layernorm

    rng = np.random.default_rng(3)
    n = 96
    q = rng.integers(0, 256, size=(4, n)).astype(np.uint8)
    p = PTFParams(0.02, 120, rng.integers(0, 4, n), 8)
    w, b = rng.uniform(-2, 2, n), rng.uniform(-1, 1, n)
    for _ in range(3):
        _same(lambda: ptf_layernorm(q, p, w, b, 0.05), lambda: ptf_layernorm_ref(q, p, w, b, 0.05))
        w[5] *= -3.0
        b[7] += 0.5


@pytest.mark.parametrize("n", [2, 63, 64, 65, 100, 1000])
def test_ptf_code_range_checked_everywhere(n):
    """One code at 2^bits anywhere (vector body or tail) is refused, as by the reference."""
    from lowbit.ops.fqvit import PTFParams
    from lowbit.ops.intops_extra_kernels import ptf_layernorm

    p = PTFParams(0.1, 3, np.zeros(n, dtype=np.int64), 4)
    w, b = np.ones(n), np.zeros(n)
    for pos in sorted({0, n // 2, n - 1}):
        q = np.full((3, n), 15, dtype=np.uint8)
        ptf_layernorm(q, p, w, b, 0.05)  # 2^4 - 1 passes
        q[2, pos] = 16
        with pytest.raises(LowbitError, match="q: expected codes in"):
            ptf_layernorm(q, p, w, b, 0.05)


@pytest.mark.parametrize("n", [5, 9, 129, 257, 4096])
@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_nnlut_softmax_row_sums_at_powers_of_two(n, dtype):
    """Rows whose sums round up to the next power of two (the reciprocal step's carry) or sit at one: the
    AVX-512 kernel's branch-free reciprocal step against the reference's. Rows: a codes at the max, the
    other n - a at max - d."""
    from lowbit.ops import nnlut

    scale = 1e-3
    d = np.arange(0, 25000)
    y, k = nnlut._softmax_exps(d, nnlut.softmax_constants(scale))
    term = nnlut.rshift_round_ref(y << nnlut.softmax_g(n), k + 1)
    picked = []
    for a in sorted({1, 2, 3, n // 2, n - 1}):
        total = a * term[0] + (n - a) * term
        unrounded = nnlut.rshift_round_ref(total, np.maximum(nnlut.bit_length_ref(total) - 15, 0))
        near = (unrounded >= 2**15) | np.isin(total, 2 ** np.arange(10, 40))  # the carry, or a power of two
        picked += [(a, int(x)) for x in d[near][:50]]
    assert len(picked) >= 30
    q = np.zeros((len(picked), n), dtype=dtype)
    for i, (a, x) in enumerate(picked):
        q[i, a:] = -x
    for isa in ISAS:
        _same(lambda isa=isa: nnlut_softmax(q, scale, isa=isa), lambda: nnlut_softmax_ref(q, scale))
