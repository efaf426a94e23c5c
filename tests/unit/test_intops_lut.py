"""LUT softmax (both methods): within 1e-2 of float64 with <= 700 bytes of tables; extremes; bad inputs.
Plus the INTOPS registry."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import lut_softmax
from lowbit.ops.intops import INTOPS
from lowbit.ops.lut_softmax import TABLE_BYTES, lut_softmax_lnexp_ref, lut_softmax_rexp_ref

METHODS = [lut_softmax_rexp_ref, lut_softmax_lnexp_ref]


def softmax64(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_tables_fit_700_bytes():
    assert TABLE_BYTES["rexp"] <= 700 and TABLE_BYTES["lnexp"] <= 700
    for t in (lut_softmax.EXP2, lut_softmax.RECIP, lut_softmax.LOG2):
        assert t.dtype in (np.uint8, np.uint16)  # integer tables, no float at run time


@pytest.mark.parametrize("f", METHODS)
@given(
    st.integers(0, 2**16),
    st.sampled_from([1.0, 0.25, 0.1, 0.03, 0.01, 1e-3, 1e-4]),
    st.sampled_from([2, 3, 17, 128, 1000]),
    st.floats(0.5, 20.0),
)
@settings(max_examples=25, deadline=None)
def test_within_1e_2(f, seed, scale, n, span):
    m = min(int(span / scale), 2**31 - 1)
    q = np.random.default_rng(seed).integers(-m, m + 1, size=(8, n))
    p, s = f(q, scale)
    assert p.dtype == np.uint8 and s == 2.0**-8
    assert np.abs(p * s - softmax64(q * scale)).max() <= 1e-2


@pytest.mark.parametrize("f", METHODS)
def test_extremes(f):
    big = np.full((3, 4096), 2**31 - 1, dtype=np.int64)
    big[1, ::2] = -(2**31)
    big[2, 0] = -(2**31)
    for scale in (1e-4, 1.0, 1000.0):
        p, _ = f(big, scale)
        assert np.abs(p * 2.0**-8 - softmax64(big * scale)).max() <= 1e-2
    one_hot = np.zeros((1, 5), dtype=np.int64)
    one_hot[0, 2] = 1000
    p, _ = f(one_hot, 0.1)
    assert p.tolist() == [[0, 0, 255, 0, 0]]  # p = 1 saturates at 255 / 256


@pytest.mark.parametrize("f", METHODS)
def test_bad_inputs(f):
    with pytest.raises(LowbitError, match="q: expected an integer array"):
        f(np.zeros((2, 2)), 0.1)
    with pytest.raises(LowbitError, match="scale"):
        f(np.zeros((2, 2), dtype=np.int64), -0.1)
    with pytest.raises(LowbitError, match="axis"):
        f(np.zeros((2, 2), dtype=np.int64), 0.1, axis=5)
    with pytest.raises(LowbitError, match="q: expected codes in"):
        f(np.array([2**31]), 0.1)


def test_registry_lists_every_reference():
    assert {op for op, _ in INTOPS} == {"softmax", "gelu", "layernorm", "sigmoid", "tanh"}
    for (op, method), entry in INTOPS.items():
        assert entry.op == op and entry.method == method and callable(entry.ref)
        assert entry.ref.__name__.endswith("_ref") and entry.table_bytes >= 0
    assert INTOPS["softmax", "lut_rexp"].table_bytes == TABLE_BYTES["rexp"]
