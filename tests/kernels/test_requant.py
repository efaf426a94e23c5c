"""The C++ requantization kernels against the reference, and the reference against exact arithmetic."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas, quantize_multiplier, requantize, requantize_ref, rshift_round_ref

ISAS = available_isas()
OUT = {np.int8: (-128, 127), np.uint8: (0, 255), np.int32: (-(2**31), 2**31 - 1)}
INT32 = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=2.0**-32, max_value=2.0**31 - 1, allow_subnormal=False))
def test_multiplier_relative_error(m):
    m0, shift = quantize_multiplier(m)
    assert 2**30 <= m0[0] < 2**31 and 0 <= shift[0] <= 62
    approx = Fraction(int(m0[0])) / 2 ** int(shift[0])
    assert abs(approx - Fraction(m)) / Fraction(m) <= Fraction(1, 2**30)


def test_multiplier_edges():
    m0, shift = quantize_multiplier(np.array([0.0, 1.0, 0.5, 2.0**31 - 1, 1e-15]))
    assert (m0[:3] == [0, 2**30, 2**30]).all() and (shift[:3] == [0, 30, 31]).all()
    assert shift[4] == 62 and m0[4] == round(1e-15 * 2**62)
    for bad in (-1.0, 2.0**31, float("nan"), float("inf")):
        with pytest.raises(LowbitError, match="multiplier"):
            quantize_multiplier(bad)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**62), 2**62), st.integers(0, 62))
def test_rounding_rule_is_round_half_up(x, n):
    exact = math.floor(Fraction(x, 2**n) + Fraction(1, 2)) if n else x
    assert int(rshift_round_ref(np.array([x]), n)[0]) == exact


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 9),
    cols=st.integers(1, 70),
    per_channel=st.booleans(),
    out=st.sampled_from(list(OUT)),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
    extreme=st.booleans(),
)
def test_kernel_bit_exact(rows, cols, per_channel, out, isa, seed, extreme):
    rng = np.random.default_rng(seed)
    if extreme:
        acc = rng.choice(np.array([-(2**31), 2**31 - 1, 0, -1, 1], dtype=np.int32), size=(rows, cols))
    else:
        acc = rng.integers(-(2**31), 2**31, size=(rows, cols), dtype=np.int64).astype(np.int32)
    n = cols if per_channel else 1
    m0 = rng.integers(2**30, 2**31, size=n, dtype=np.int64).astype(np.int32)
    shift = rng.integers(0, 63, size=n).astype(np.int32)
    if extreme:
        m0[:] = 2**31 - 1
        shift[: n // 2] = 0
    lo, hi = OUT[out]
    qmin, qmax = sorted(int(v) for v in rng.integers(lo, hi, size=2, endpoint=True))
    zp = int(rng.integers(qmin, qmax, endpoint=True))
    got = requantize(acc, m0, shift, zp, qmin, qmax, out_dtype=out, isa=isa)
    assert got.dtype == np.dtype(out)
    np.testing.assert_array_equal(got, requantize_ref(acc, m0, shift, zp, qmin, qmax))


@settings(max_examples=100, deadline=None)
@given(st.lists(INT32, min_size=1, max_size=40), st.floats(1e-6, 0.5), st.integers(-20, 20))
def test_matches_float_reference(acc, m, zp):
    """Integer requantization equals acc * (m0 * 2^-shift) rounded half up, and is within 1 of acc * m."""
    acc = np.array(acc, dtype=np.int32)
    m0, shift = quantize_multiplier(m)
    got = requantize(acc, m0, shift, zp, out_dtype=np.int32)
    exact = [
        math.floor(Fraction(int(a)) * int(m0[0]) / 2 ** int(shift[0]) + Fraction(1, 2)) + zp for a in acc
    ]
    np.testing.assert_array_equal(got, exact)
    assert np.abs(got - (acc.astype(np.float64) * m + zp)).max() <= 1.0


def test_bad_inputs():
    acc = np.zeros((4, 8), dtype=np.int32)
    m0, sh = quantize_multiplier(0.1)
    with pytest.raises(LowbitError, match="acc"):
        requantize(acc.astype(np.float32), m0, sh)
    with pytest.raises(LowbitError, match="acc: expected a C-contiguous"):
        requantize(np.zeros((8, 4), dtype=np.int32).T, m0, sh)
    misaligned = np.zeros(33, dtype=np.uint8)[1:].view(np.int32)
    with pytest.raises(LowbitError, match="acc: expected data aligned"):
        requantize(misaligned, m0, sh)
    with pytest.raises(LowbitError, match="m0"):
        requantize(acc, np.repeat(m0, 3), np.repeat(sh, 3))
    with pytest.raises(LowbitError, match="shift"):
        requantize(acc, m0, np.array([63], dtype=np.int32))
    with pytest.raises(LowbitError, match="isa"):
        requantize(acc, m0, sh, isa="sse9")
    with pytest.raises(LowbitError, match="qmin"):
        requantize(acc, m0, sh, qmin=10, qmax=5)
    with pytest.raises(LowbitError, match="zero_point"):
        requantize(acc, m0, sh, zero_point=200)
    with pytest.raises(LowbitError, match="out_dtype"):
        requantize(acc, m0, sh, out_dtype=np.float32)
