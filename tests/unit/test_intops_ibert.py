"""I-BERT integer ops: float64 agreement within the documented bounds, integer-only contract, extremes,
bad inputs. Inputs are codes over the documented range; the float reference sees scale * codes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf

from lowbit import LowbitError
from lowbit.ops.ibert import (
    ibert_exp_ref,
    ibert_gelu_ref,
    ibert_layernorm_ref,
    ibert_poly_ref,
    ibert_softmax_ref,
)
from lowbit.ops.intcore import bit_length_ref, div_round_ref, isqrt_ref

SCALES = st.sampled_from([1.0, 0.25, 0.1, 0.03, 0.01, 1e-3, 1e-4])
SETTINGS = settings(max_examples=25, deadline=None)


def softmax64(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def gelu64(x: np.ndarray) -> np.ndarray:
    return x * (1 + erf(x / math.sqrt(2))) / 2


def codes(seed: int, scale: float, span: float, shape: tuple[int, ...], lo: int = -(2**31)) -> np.ndarray:
    """Random int64 codes covering [-span, span] real units, within int32."""
    m = min(int(span / scale), 2**31 - 1)
    return np.random.default_rng(seed).integers(max(-m, lo), m + 1, size=shape, dtype=np.int64)


@given(st.lists(st.integers(0, 2**62), min_size=1, max_size=50))
@settings(max_examples=50, deadline=None)
def test_isqrt_and_bit_length_are_exact(values):
    n = np.array(values, dtype=np.int64)
    assert [int(v) for v in isqrt_ref(n)] == [math.isqrt(v) for v in values]
    assert [int(v) for v in bit_length_ref(n)] == [v.bit_length() for v in values]


def test_div_round_is_half_up():
    a = np.array([5, 7, -5, -7, 6, 1], dtype=np.int64)
    b = np.array([2, 2, 2, 2, 4, 3], dtype=np.int64)
    assert div_round_ref(a, b).tolist() == [3, 4, -2, -3, 2, 0]


def test_poly_matches_definition():
    q = np.arange(-100, 101, dtype=np.int64)
    out, s_out = ibert_poly_ref(q, 0.01, 0.5, 1.3, 0.2)
    assert np.issubdtype(out.dtype, np.integer)
    ref = 0.5 * (q * 0.01 + 1.3) ** 2 + 0.2
    assert np.abs(out * s_out - ref).max() <= 0.5 * 0.01**2 * (2 * 231 + 3)


@given(st.integers(0, 2**16), SCALES)
@SETTINGS
def test_exp_relative_error(seed, scale):
    q = codes(seed, scale, 12.0, (512,), lo=-(2**31))
    q = -np.abs(q)
    e, s = ibert_exp_ref(q, scale)
    assert np.issubdtype(e.dtype, np.integer) and e.min() >= 0 and e.max() < 2**31
    ref = np.exp(q * scale)
    assert np.abs(e * s - ref).max() <= 4e-3 * ref.max() + 2 * s


@given(st.integers(0, 2**16), SCALES, st.sampled_from([2, 7, 64, 300]))
@SETTINGS
def test_softmax_within_1e_2(seed, scale, n):
    q = codes(seed, scale, 10.0, (8, n))
    p, s = ibert_softmax_ref(q, scale)
    assert p.dtype == np.uint8 and s == 2.0**-8
    assert np.abs(p * s - softmax64(q * scale)).max() <= 1e-2


def test_softmax_axis_and_rows():
    q = codes(1, 0.05, 8.0, (3, 5, 6))
    p0, _ = ibert_softmax_ref(q, 0.05, axis=0)
    p1, _ = ibert_softmax_ref(np.moveaxis(q, 0, -1), 0.05)
    assert np.array_equal(p0, np.moveaxis(p1, -1, 0))


@given(st.integers(0, 2**16), SCALES)
@SETTINGS
def test_gelu_within_bound(seed, scale):
    q = codes(seed, scale, 8.0, (1024,), lo=-(2**15) + 1)
    q = np.clip(q, -(2**15) + 1, 2**15 - 1)
    g, s = ibert_gelu_ref(q, scale)
    assert np.issubdtype(g.dtype, np.integer) and np.abs(g).max() < 2**31  # int32 for 16-bit input
    assert np.abs(g * s - gelu64(q * scale)).max() <= 2.5e-2


def layernorm64(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


@given(st.integers(0, 2**16), st.sampled_from([8, 16]), st.sampled_from([2, 3, 384, 1536]))
@SETTINGS
def test_layernorm_within_one_code(seed, bits, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, n)) * rng.uniform(0.01, 50, size=(16, 1)) + rng.uniform(-5, 5, (16, 1))
    w, b = rng.uniform(-2, 2, n), rng.uniform(-1, 1, n)
    scale = np.abs(x).max() / (2 ** (bits - 1) - 1)
    q = np.round(x / scale).astype(np.int64)
    y = layernorm64(q * scale, w, b, 1e-12)
    out_scale = np.abs(y).max() / 127
    out, s = ibert_layernorm_ref(q, scale, w, b, out_scale)
    assert out.dtype == np.int8 and s == out_scale
    assert np.abs(out.astype(np.int64) - np.clip(np.round(y / out_scale), -128, 127)).max() <= 1


def test_extremes_do_not_overflow():
    big = np.full((2, 4096), 2**31 - 1, dtype=np.int64)
    big[1, ::2] = -(2**31)  # rows of 4096: all-max, and alternating extremes
    for scale in (1e-4, 1.0, 1000.0):
        p, _ = ibert_softmax_ref(big, scale)
        assert np.array_equal(p[0], np.full(4096, round(256 / 4096)))  # all-equal row: 1/4096 each
        assert p[1, ::2].max() == 0
        assert np.abs(p * 2.0**-8 - softmax64(big * scale)).max() <= 1e-2
        g, _ = ibert_gelu_ref(big, scale)
        ref = gelu64(big.astype(np.float64) * scale)
        assert np.allclose(g * _, ref, rtol=1e-3, atol=0.05)
    q16 = np.full((3, 4096), 2**15 - 1, dtype=np.int64)
    q16[1, ::2] = -(2**15) + 1
    out, _ = ibert_layernorm_ref(q16, 1.0, np.ones(4096), np.zeros(4096), 1 / 127)
    assert (out[0] == 0).all() and set(np.unique(out[1])) == {-127, 127}


def test_integer_only_contract():
    with pytest.raises(LowbitError, match="q: expected an integer array"):
        ibert_softmax_ref(np.zeros((2, 3)), 0.1)
    with pytest.raises(LowbitError, match="q: expected an integer array"):
        ibert_gelu_ref(np.array([True]), 0.1)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf"), "x", None])
def test_bad_scale(scale):
    with pytest.raises(LowbitError, match="scale"):
        ibert_softmax_ref(np.zeros((2, 3), dtype=np.int64), scale)


def test_bad_inputs():
    q = np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(LowbitError, match="axis"):
        ibert_softmax_ref(q, 0.1, axis=2)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        ibert_softmax_ref(np.array([2**40]), 0.1)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        ibert_exp_ref(np.array([1]), 0.1)
    with pytest.raises(LowbitError, match="q: expected a non-empty"):
        ibert_gelu_ref(np.zeros(0, dtype=np.int32), 0.1)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        ibert_layernorm_ref(np.array([[2**15, 0]]), 0.1, [1, 1], [0, 0], 0.1)
    with pytest.raises(LowbitError, match="weight"):
        ibert_layernorm_ref(q, 0.1, [1, 1], [0, 0, 0], 0.1)
    with pytest.raises(LowbitError, match="bias"):
        ibert_layernorm_ref(q, 0.1, [1, 1, 1], [0, 0], 0.1)
    with pytest.raises(LowbitError, match="out_scale"):
        ibert_layernorm_ref(q, 0.1, [1, 1, 1], [0, 0, 0], 0.0)
    with pytest.raises(LowbitError, match="q: expected at least 2"):
        ibert_layernorm_ref(np.zeros((2, 1), dtype=np.int64), 0.1, [1], [0], 0.1)
