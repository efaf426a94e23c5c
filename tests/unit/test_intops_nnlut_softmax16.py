"""NN-LUT softmax in 16-bit steps: the exp rows on the Q.10 grid, the 16-bit exponent multiplier, the row
sum's extra bits g for long rows (a row whose n roundings all lean one way), the kernel's table bytes."""

import math

import numpy as np
import pytest

from lowbit.ops import nnlut
from lowbit.ops.nnlut import nnlut_softmax_ref, softmax_constants, softmax_exp_rows, softmax_g


def softmax64(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_exp_rows_are_the_table_at_the_grid_midpoints():
    rows = softmax_exp_rows()
    assert rows.starts[0] == 0 and np.all(np.diff(rows.starts) > 0) and rows.starts[-1] < 2**10
    assert rows.values.max() <= 2**16 - 2 and rows.slopes.min() >= 0 and rows.slopes.max() < 2**16
    v = np.arange(2**10)
    j = np.searchsorted(rows.starts, v, side="right") - 1
    y = rows.values[j] - ((v * rows.slopes[j]) >> 10)
    x = (v + 0.5) / 2**10
    # the Q.30 table at the midpoint, read by the reference's evaluation (Q.15 input 32 v + 16)
    t = nnlut.table("exp")
    y30 = nnlut.eval_table_ref(32 * v + 16, t)
    assert np.abs(y * 2.0**-16 - y30 * 2.0**-30).max() <= 2.0**-15
    assert np.abs(y * 2.0**-16 - 2.0**-x).max() <= t.bound + 2.0**-15
    assert rows.table_bytes == 6 * rows.starts.size <= 6 * (nnlut.UNITS + 1)


@pytest.mark.parametrize("scale", [2.0**-40, 1e-9, 1e-5, 1e-3, 2e-3, 0.05, 1.0, 3.0, 20.0])
def test_exponent_within_a_step(scale):
    c = softmax_constants(scale)
    assert not c.binary and 2**15 <= c.m < 2**16 and 1 <= c.s <= 62
    d = np.concatenate([np.arange(min(c.dcap, 5000)), np.linspace(0, c.dcap, 5000).astype(np.int64)])
    t = (d * c.m) >> c.s
    exact = d * scale * math.log2(math.e) * 2**10
    rel = exact * 2.0**-16 * 1.0001  # the 16-bit mantissa m: |m - mult 2^s| <= 1/2 <= 2^-16 m
    assert np.all(t <= exact + rel + 1e-9) and np.all(exact - t < 1 + rel)
    assert ((c.dcap * c.m) >> c.s) >= nnlut.SM_TMAX > (((c.dcap - 1) * c.m) >> c.s)


def test_binary_scales():
    assert softmax_constants(30.0).binary and softmax_constants(1e4).binary
    p, _ = nnlut_softmax_ref(np.array([[0, 1, 1, -5]]), 30.0)
    assert p.tolist() == [[0, 128, 128, 0]]


def test_g_per_row_length():
    lengths = (1, 2, 127, 128, 129, 256, 257, 4096, 2**20)
    assert [softmax_g(n) for n in lengths] == [0, 0, 0, 0, 1, 1, 2, 5, 13]


@pytest.mark.parametrize("n", [128, 4096, 2**16])
def test_rounding_leaning_one_way(n):
    """Every element but the max at an exp of ~0.75 Q.15 steps (each rounds up by 1/4 step): with g = 0 for
    every length the errors were 2.4e-2 (n = 4096) and 6.8e-2 (2^16); with softmax_g <= 2.5e-4 and 1.6e-3."""
    scale = 1e-3
    gap = round((16 * math.log(2) - math.log(1.5)) / scale)
    q = np.full((1, n), -gap, dtype=np.int32)
    q[0, 0] = 0
    p, s = nnlut_softmax_ref(q, scale)
    assert np.abs(p * s - softmax64(q * scale)).max() <= 4e-3
