"""Integer ops on real MiniLM activations (32 real sentences): the issue's accuracy targets."""

import math

import numpy as np
import pytest
from scipy.special import erf

from lowbit.ops.activations import capture_minilm
from lowbit.ops.fqvit import ptf_calibrate, ptf_layernorm_ref, ptf_quantize
from lowbit.ops.ibert import ibert_gelu_ref, ibert_layernorm_ref, ibert_softmax_ref
from lowbit.ops.ivit import shiftgelu_ref
from lowbit.ops.lut_softmax import lut_softmax_lnexp_ref, lut_softmax_rexp_ref


@pytest.fixture(scope="module")
def acts():
    return capture_minilm(32)


def layernorm64(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


@pytest.mark.parametrize("bits", [8, 16])
def test_ibert_layernorm_within_one_lsb(acts, bits):
    assert len(acts.layernorm) == 12
    for x, w, b, eps in acts.layernorm:
        x = x.astype(np.float64)
        scale = np.abs(x).max() / (2 ** (bits - 1) - 1)
        q = np.round(x / scale).astype(np.int64)
        y = layernorm64(q * scale, w, b, eps)  # float LayerNorm of the same (dequantized) input
        out_scale = np.abs(y).max() / 127
        out, _ = ibert_layernorm_ref(q, scale, w, b, out_scale, eps)
        assert np.abs(out.astype(np.int64) - np.clip(np.round(y / out_scale), -128, 127)).max() <= 1


def test_ptf_layernorm_within_one_lsb(acts):
    for x, w, b, eps in acts.layernorm:
        p = ptf_calibrate(x)
        q = ptf_quantize(x, p)
        xd = (q.astype(np.float64) - p.zero_point) * p.scale * 2.0**p.alpha
        y = layernorm64(xd, w, b, eps)
        out_scale = np.abs(y).max() / 127
        out, _ = ptf_layernorm_ref(q, p, w, b, out_scale, eps)
        assert np.abs(out.astype(np.int64) - np.clip(np.round(y / out_scale), -128, 127)).max() <= 1


@pytest.mark.parametrize("f", [ibert_softmax_ref, lut_softmax_rexp_ref, lut_softmax_lnexp_ref])
def test_softmax_on_attention_scores(acts, f):
    worst = 0.0
    for s in acts.scores[::4]:
        s = s.astype(np.float64)
        scale = np.abs(s).max() / (2**15 - 1)  # int16 scores
        q = np.round(s / scale).astype(np.int64)
        x = q * scale
        ref = np.exp(x - x.max(-1, keepdims=True))
        ref /= ref.sum(-1, keepdims=True)
        p, ps = f(q, scale)
        worst = max(worst, np.abs(p * ps - ref).max())
    assert worst <= 1e-2


def test_gelu_on_intermediate(acts):
    x = np.concatenate([a.reshape(-1) for a in acts.gelu_in])[::7].astype(np.float64)
    scale = np.abs(x).max() / (2**15 - 1)
    q = np.round(x / scale).astype(np.int64)
    xd = q * scale
    ref = xd * (1 + erf(xd / math.sqrt(2))) / 2
    g, gs = ibert_gelu_ref(q, scale)
    assert np.abs(g * gs - ref).max() <= 2.5e-2
    g, gs = shiftgelu_ref(q, scale)
    assert np.abs(g * gs - ref).max() <= 5e-2
