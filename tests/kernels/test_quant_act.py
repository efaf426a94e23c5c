"""Dynamic activation quantization kernels (min/max, float32 -> uint8) against numpy, bit-exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import _C, LowbitError
from lowbit.ops import available_isas

ISAS = available_isas()


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 300), spread=st.floats(1e-3, 1e4), scale=st.floats(1e-4, 10.0), zp=st.integers(0, 255),
    isa=st.sampled_from(ISAS), seed=st.integers(0, 2**32 - 1), ties=st.booleans(),
)  # fmt: skip
def test_bit_exact(n, spread, scale, zp, isa, seed, ties):
    rng = np.random.default_rng(seed)
    s32 = np.float32(scale)
    if ties:  # exact halves of the step: round-half-to-even must match
        x = ((rng.integers(-600, 600, size=n) + 0.5) * s32).astype(np.float32)
    else:
        x = (rng.standard_normal(n) * spread).astype(np.float32)
    mn, mx = _C.minmax_f32(x, isa)
    assert (mn, mx) == (float(x.min()), float(x.max()))
    out = np.empty(n, dtype=np.uint8)
    _C.quantize_u8(x, float(s32), zp, out, isa)
    np.testing.assert_array_equal(out, np.clip(np.rint(x / s32) + zp, 0, 255).astype(np.uint8))


def test_bad_inputs():
    x = np.ones(8, dtype=np.float32)
    out = np.empty(8, dtype=np.uint8)
    with pytest.raises(LowbitError, match="x: expected dtype float32"):
        _C.quantize_u8(x.astype(np.float64), 0.1, 0, out)
    with pytest.raises(LowbitError, match="scale"):
        _C.quantize_u8(x, 0.0, 0, out)
    with pytest.raises(LowbitError, match="zero_point"):
        _C.quantize_u8(x, 0.1, 256, out)
    with pytest.raises(LowbitError, match="out"):
        _C.quantize_u8(x, 0.1, 0, np.empty(7, dtype=np.uint8))
    with pytest.raises(LowbitError, match="x: expected a non-empty"):
        _C.minmax_f32(np.empty(0, dtype=np.float32))
