"""NN-LUT: exact network -> PWL conversion; integer GELU / exp / 1/x / 1/sqrt within their documented
bounds; softmax within 1e-2 on random rows and real MiniLM attention scores; extremes; bad inputs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf

from lowbit import LowbitError
from lowbit.ops import nnlut
from lowbit.ops.activations import capture_minilm
from lowbit.ops.nnlut import (
    nnlut_exp_ref,
    nnlut_gelu_ref,
    nnlut_reciprocal_ref,
    nnlut_rsqrt_ref,
    nnlut_softmax_ref,
)


def softmax64(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def gelu64(x: np.ndarray) -> np.ndarray:
    return x * (1 + erf(x / math.sqrt(2))) / 2


@pytest.mark.parametrize("name", sorted(nnlut.SPECS))
def test_network_to_pwl_is_exact(name):
    net = nnlut.network(name)
    bp, slopes, icpts = nnlut.net_to_pwl(net)
    assert len(bp) <= nnlut.UNITS and np.all(np.diff(bp) > 0)
    lo, hi = nnlut.SPECS[name][2:4]
    x = np.random.default_rng(0).uniform(lo - 4, hi + 4, 20000)
    assert np.abs(nnlut.pwl_eval_float(bp, slopes, icpts, x) - net(x)).max() <= 1e-5


@pytest.mark.parametrize("name", sorted(nnlut.SPECS))
def test_tables_are_small_integer_tables(name):
    t = nnlut.table(name)
    assert t.starts.dtype == np.int16 and t.slopes.dtype == np.int32 and t.intercepts.dtype == np.int32
    assert len(t.starts) <= nnlut.UNITS + 1 and t.table_bytes == 10 * len(t.starts) <= 170
    assert np.all(np.diff(t.starts.astype(np.int64)) >= 0)


@given(st.integers(0, 2**16), st.sampled_from([1e-4, 1e-3, 8 / 127, 0.5]))
@settings(max_examples=15, deadline=None, derandomize=True)
def test_gelu_within_bound(seed, scale):
    m = min(int(10 / scale), 2**31 - 1)  # beyond [-8, 8] as well
    q = np.random.default_rng(seed).integers(-m, m + 1, size=4000).astype(np.int32)
    y, s = nnlut_gelu_ref(q, scale)
    assert y.dtype == np.int32 and s == 2.0**-16
    assert np.abs(y * s - gelu64(q.astype(np.float64) * scale)).max() <= nnlut.table("gelu").bound


@given(st.integers(0, 2**16), st.sampled_from([1e-6, 1e-3, 0.05, 1.0, 100.0]))
@settings(max_examples=15, deadline=None, derandomize=True)
def test_exp_within_bound(seed, scale):
    m = min(int(40 / scale), 2**31 - 1)
    q = -np.random.default_rng(seed).integers(0, m + 1, size=4000)
    y, s = nnlut_exp_ref(q, scale)
    ref = np.exp(q * scale)
    assert y.dtype == np.int64 and s == 2.0**-30 and y.min() >= 0 and y.max() <= 2**30 + 2**16
    assert np.all(np.abs(y * s - ref) <= 2 * nnlut.table("exp").bound * ref + 2.0**-30)


@pytest.mark.parametrize(
    "f, name, frac, power",
    [
        (nnlut_reciprocal_ref, "recip", 14, 1.0),
        (nnlut_rsqrt_ref, "rsqrt", 13, 0.5),
    ],
)
@given(seed=st.integers(0, 2**16), scale=st.sampled_from([1e-5, 0.3, 7.0]))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_reciprocal_and_rsqrt_relative_bound(f, name, frac, power, seed, scale):
    rng = np.random.default_rng(seed)
    q = np.concatenate([np.arange(1, 300), rng.integers(1, 2**31, 3000), [2**31 - 1, 2**30, 2**15 - 1]])
    y, s = f(q.astype(np.int32), scale)
    ref = (q * scale) ** -power
    assert y.dtype == np.int64 and y.max() <= 2**62
    rel = np.abs(y * s - ref) / ref
    assert rel.max() <= 2 * nnlut.table(name).bound + 2.0**-frac


@given(
    st.integers(0, 2**16),
    st.sampled_from([1.0, 0.1, 0.01, 1e-3, 1e-4]),
    st.sampled_from([2, 3, 17, 128, 1000]),
    st.floats(0.5, 20.0),
)
@settings(max_examples=20, deadline=None, derandomize=True)
def test_softmax_within_1e_2(seed, scale, n, span):
    m = min(int(span / scale), 2**31 - 1)
    q = np.random.default_rng(seed).integers(-m, m + 1, size=(8, n)).astype(np.int32)
    p, s = nnlut_softmax_ref(q, scale)
    assert p.dtype == np.uint8 and s == 2.0**-8
    assert np.abs(p * s - softmax64(q * scale)).max() <= 1e-2


def test_softmax_on_minilm_attention_scores():
    acts = capture_minilm(4)  # 4 real sentences x 6 layers, every head
    worst, total, count = 0.0, 0.0, 0
    for sc in acts.scores:
        x = sc.astype(np.float64)
        scale = np.abs(x).max() / (2**15 - 1)  # int16 scores
        q = np.round(x / scale).astype(np.int64)
        err = np.abs(nnlut_softmax_ref(q, scale)[0] * 2.0**-8 - softmax64(q * scale))
        worst, total, count = max(worst, err.max()), total + err.sum(), count + err.size
    assert worst <= 1e-2  # measured 3.9e-3, mean 9e-4


def test_softmax_extremes():
    big = np.full((4, 4096), 2**31 - 1, dtype=np.int64)
    big[1, ::2] = -(2**31)
    big[2, 0] = -(2**31)
    big[3, 1:] = 2**31 - 1 - 8 * 2**10  # one max and 4095 elements 8 below it (exp tail sums)
    for scale in (1e-4, 2.0**-10, 1.0, 1000.0, 2.0**19):
        p, _ = nnlut_softmax_ref(big, scale)
        assert np.abs(p * 2.0**-8 - softmax64(big * scale)).max() <= 1e-2
    one_hot = np.zeros((1, 5), dtype=np.int8)
    one_hot[0, 2] = 100
    assert nnlut_softmax_ref(one_hot, 0.1)[0].tolist() == [[0, 0, 255, 0, 0]]


def test_elementwise_extremes():
    q = np.array([-(2**31), -1, 0, 1, 2**31 - 1], dtype=np.int32)
    y, s = nnlut_gelu_ref(q, 2.0**13)
    bound = nnlut.table("gelu").bound
    assert np.abs(y[:3] * s - gelu64(q[:3] * 2.0**13)).max() <= bound  # the table's value near 0 / -8
    assert y[3:].tolist() == [2**29, 2**31 - 1]  # x = 2^13 exactly; x >= 2^15 saturates at int32
    y, s = nnlut_exp_ref(np.array([-(2**31), -1, 0], dtype=np.int32), 2.0**19)
    assert y[:2].tolist() == [0, 0] and abs(int(y[2]) - 2**30) <= 2**30 * 2e-4
    y, s = nnlut_reciprocal_ref(np.array([1, 2**31 - 1], dtype=np.int32), 1.0)
    assert abs(y[0] * s - 1) < 5e-4 and abs(y[1] * s * (2**31 - 1) - 1) < 5e-4


@pytest.mark.parametrize("f", [nnlut_gelu_ref, nnlut_softmax_ref])
def test_bad_inputs(f):
    with pytest.raises(LowbitError, match="q: expected an integer array"):
        f(np.zeros(3), 0.1)
    with pytest.raises(LowbitError, match="scale"):
        f(np.zeros(3, dtype=np.int32), 0.0)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        f(np.array([2**31]), 0.1)


def test_bad_inputs_domains():
    with pytest.raises(LowbitError, match="q: expected codes in \\[1"):
        nnlut_reciprocal_ref(np.array([0, 5]), 0.1)
    with pytest.raises(LowbitError, match="q: expected codes in \\[1"):
        nnlut_rsqrt_ref(np.array([-3]), 0.1)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        nnlut_exp_ref(np.array([1]), 0.1)
    with pytest.raises(LowbitError, match="axis"):
        nnlut_softmax_ref(np.zeros((2, 2), dtype=np.int32), 0.1, axis=2)
    with pytest.raises(LowbitError, match="scale"):
        nnlut_gelu_ref(np.zeros(2, dtype=np.int32), 2.0**15)  # identity path needs scale < 2^14
