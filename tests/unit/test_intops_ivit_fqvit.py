"""I-ViT (Shiftmax, ShiftGELU, LayerNorm) and FQ-ViT (Log-Int-Softmax, PTF LayerNorm) references."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf

from lowbit import LowbitError
from lowbit.ops.fqvit import (
    LIS_ZERO,
    PTFParams,
    lis_dequant,
    lis_matmul_ref,
    log_int_softmax_ref,
    ptf_calibrate,
    ptf_layernorm_ref,
    ptf_quantize,
)
from lowbit.ops.ivit import ivit_layernorm_ref, shiftgelu_ref, shiftmax_ref

SCALES = st.sampled_from([1.0, 0.25, 0.1, 0.03, 0.01, 1e-3])
SETTINGS = settings(max_examples=25, deadline=None)


def softmax64(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def codes(seed: int, scale: float, span: float, shape: tuple[int, ...], bound: int = 2**31 - 1) -> np.ndarray:
    m = min(int(span / scale), bound)
    return np.random.default_rng(seed).integers(-m, m + 1, size=shape, dtype=np.int64)


@given(st.integers(0, 2**16), SCALES, st.sampled_from([2, 5, 64, 300]))
@SETTINGS
def test_shiftmax_within_documented_bound(seed, scale, n):
    q = codes(seed, scale, 10.0, (8, n))
    p, s = shiftmax_ref(q, scale)
    assert p.dtype == np.uint8 and s == 2.0**-8
    assert np.abs(p * s - softmax64(q * scale)).max() <= 2.5e-2  # the method misses 1e-2 (2^r ~ 1 + r/2)


@given(st.integers(0, 2**16), SCALES)
@SETTINGS
def test_shiftgelu_within_documented_bound(seed, scale):
    q = codes(seed, scale, 10.0, (1024,), bound=2**15 - 1)
    g, s = shiftgelu_ref(q, scale)
    assert g.dtype == np.int32
    x = q * scale
    assert np.abs(g * s - x * (1 + erf(x / math.sqrt(2))) / 2).max() <= 5e-2


def test_ivit_extremes():
    big = np.full((2, 4096), 2**31 - 1, dtype=np.int64)
    big[1, ::2] = -(2**31)
    for scale in (1e-3, 1.0, 100.0):
        p, _ = shiftmax_ref(big, scale)
        assert p.max() <= 255 and p[1, ::2].max() == 0
        assert np.abs(p * 2.0**-8 - softmax64(big * scale)).max() <= 2.5e-2
    q = np.array([-(2**15) + 1, 2**15 - 1, 0], dtype=np.int64)
    g, s = shiftgelu_ref(q, 1.0)
    assert g.tolist() == [0, (2**15 - 1) * 2**15, 0]  # saturated sigmoid, int32 holds it


def test_ivit_layernorm_is_the_integer_layernorm():
    q = codes(3, 0.01, 5.0, (4, 384), bound=2**15 - 1)
    out, s = ivit_layernorm_ref(q, 0.01, np.ones(384), np.zeros(384), 4 / 127)
    assert out.dtype == np.int8 and s == 4 / 127


def test_shift_bad_inputs():
    with pytest.raises(LowbitError, match="q: expected an integer array"):
        shiftmax_ref(np.zeros((2, 2)), 0.1)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        shiftgelu_ref(np.array([2**15]), 0.1)
    with pytest.raises(LowbitError, match="scale"):
        shiftgelu_ref(np.array([1]), float("nan"))
    with pytest.raises(LowbitError, match="axis"):
        shiftmax_ref(np.zeros((2, 2), dtype=np.int8), 0.1, axis=-3)


@given(st.integers(0, 2**16), SCALES, st.sampled_from([2, 5, 64, 300]))
@SETTINGS
def test_log_int_softmax_is_log_rounded_probability(seed, scale, n):
    q = codes(seed, scale, 10.0, (8, n))
    k, bits = log_int_softmax_ref(q, scale)
    assert k.dtype == np.uint8 and bits == 4 and k.max() <= LIS_ZERO
    p = softmax64(q * scale)
    p_hat = lis_dequant(k)
    # the reference's log_round of round(1/p): within a factor 2 either way, the row max always kept
    live = p > 2.0**-13
    assert (p_hat[live] <= 2 * p[live] + 1e-6).all() and (p_hat[live] >= p[live] / 2 - 1e-6).all()
    assert np.abs(p_hat - p).max() <= 0.34  # the method's documented bound


def test_log_int_softmax_known_values():
    # p = (12, 3, 1, 1) / 17 -> round(1/p) = 1, 6, 17, 17 -> log_round: 0, 3 (6 >= 1.5 * 4), 4, 4
    x = np.log(np.array([12.0, 3.0, 1.0, 1.0]))
    q = np.round(x / 1e-4).astype(np.int64)
    k, _ = log_int_softmax_ref(q, 1e-4)
    assert k.tolist() == [0, 3, 4, 4]


def test_lis_matmul_is_shifted_sum():
    rng = np.random.default_rng(0)
    k = rng.integers(0, 16, size=(2, 5, 7)).astype(np.uint8)
    v = rng.integers(-128, 128, size=(2, 7, 3))
    acc, s = lis_matmul_ref(k, v, 0.1)
    assert np.issubdtype(acc.dtype, np.integer)
    assert np.allclose(acc * s, lis_dequant(k) @ (v * 0.1))
    with pytest.raises(LowbitError, match="k, v"):
        lis_matmul_ref(k, v[:, :3], 0.1)
    with pytest.raises(LowbitError, match="k: expected codes in"):
        lis_matmul_ref(k + 16, v, 0.1)


def layernorm64(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


@given(st.integers(0, 2**16))
@settings(max_examples=15, deadline=None)
def test_ptf_layernorm_within_one_code(seed):
    rng = np.random.default_rng(seed)
    c = 64
    spread = 2.0 ** rng.integers(0, 4, size=c)  # channels whose ranges differ by powers of two
    x = rng.standard_normal((32, c)) * spread + rng.uniform(-1, 1, c)
    p = ptf_calibrate(x)
    assert p.alpha.min() >= 0 and p.alpha.max() <= 3 and 0 <= p.zero_point <= 255
    q = ptf_quantize(x, p)
    xd = (q.astype(np.float64) - p.zero_point) * p.scale * 2.0**p.alpha
    s8 = p.scale * 8  # plain layer-wise int8: PTF's per-channel choice is never worse in L2
    plain = (np.clip(np.round(x / s8) + p.zero_point, 0, 255) - p.zero_point) * s8
    assert (((xd - x) ** 2).sum(0) <= ((plain - x) ** 2).sum(0) + 1e-12).all()
    w, b = rng.uniform(-2, 2, c), rng.uniform(-1, 1, c)
    y = layernorm64(xd, w, b, 1e-6)
    out_scale = np.abs(y).max() / 127
    out, s = ptf_layernorm_ref(q, p, w, b, out_scale, eps=1e-6)
    assert out.dtype == np.int8
    assert np.abs(out.astype(np.int64) - np.clip(np.round(y / out_scale), -128, 127)).max() <= 1


def test_ptf_picks_small_factor_for_narrow_channels():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-0.1, 0.1, (256, 4)), rng.uniform(-8, 8, (256, 4))], axis=1)
    p = ptf_calibrate(x)
    assert (p.alpha[:4] == 0).all() and (p.alpha[4:] == 3).all()


def test_ptf_bad_inputs():
    p = PTFParams(scale=0.1, zero_point=128, alpha=np.zeros(3, dtype=np.int64))
    with pytest.raises(LowbitError, match="q: expected codes in"):
        ptf_layernorm_ref(np.full((2, 3), 256), p, np.ones(3), np.zeros(3), 0.1)
    with pytest.raises(LowbitError, match="q: expected last axis"):
        ptf_layernorm_ref(np.zeros((2, 4), dtype=np.uint8), p, np.ones(4), np.zeros(4), 0.1)
    bad = PTFParams(scale=0.1, zero_point=128, alpha=np.full(3, 4))
    with pytest.raises(LowbitError, match="alpha"):
        ptf_layernorm_ref(np.zeros((2, 3), dtype=np.uint8), bad, np.ones(3), np.zeros(3), 0.1)
    with pytest.raises(LowbitError, match="x: expected a non-empty finite"):
        ptf_calibrate(np.array([np.nan]))


@pytest.mark.parametrize("scale", [1e-5, 1e-3, 0.05, 1.0, 9.0, 300.0, 32767.0])
def test_shiftgelu_magnitude_cap_is_saturated(scale):
    """The rescale's cap min(|q|, 65535 >> l) changes nothing: every code at or past it saturates."""
    from lowbit.ops.ivit import shiftgelu_constants

    shift, _ = shiftgelu_constants(scale)
    cap = 65535 >> shift
    if cap > 2**15 - 1:
        return
    q = np.arange(cap, 2**15)
    g, _ = shiftgelu_ref(np.concatenate([q, -q]), scale)
    assert g[: q.size].tolist() == (q << 15).tolist() and not g[q.size :].any()
