"""The softmax kernels' 16-bit word layouts (int16 codes at a model's scales: 32 codes per load, even and odd
codes in separate dword lanes, the row max one row ahead, rows pipelined), bit-exact with the references on
every ISA: row lengths around the 32-code blocks and their tails, rows of 4096, all-max codes, one-hot and
alternating rows, and random shapes and scales (hypothesis)."""

from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit.ops import available_isas
from lowbit.ops.fqvit import log_int_softmax_ref
from lowbit.ops.ibert import ibert_softmax_ref
from lowbit.ops.intops_extra_kernels import log_int_softmax, nnlut_softmax
from lowbit.ops.intops_kernels import ibert_softmax
from lowbit.ops.ivit import shiftmax_ref
from lowbit.ops.lut_softmax import lut_softmax_lnexp_ref, lut_softmax_rexp_ref
from lowbit.ops.nnlut import nnlut_softmax_ref
from lowbit.ops.shift_lut_kernels import lut_softmax, shiftmax

ISAS = available_isas()
OPS = {
    "ibert": (ibert_softmax, ibert_softmax_ref),
    "shiftmax": (shiftmax, shiftmax_ref),
    "log_int": (log_int_softmax, log_int_softmax_ref),
    "nnlut": (nnlut_softmax, nnlut_softmax_ref),
    "lut_rexp": (partial(lut_softmax, method="rexp"), lut_softmax_rexp_ref),
    "lut_lnexp": (partial(lut_softmax, method="lnexp"), lut_softmax_lnexp_ref),
}
# 1e-3 is `lowbit bench intops`'s scale; the others take the word layouts too (clamps within 2^15 - 1)
WORD_SCALES = [1e-3, 2e-3, 5e-3, 0.02, 0.1]
LENGTHS = [1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129, 197, 4096]


def _rows(kind: str, rows: int, n: int, rng) -> np.ndarray:
    if kind == "normal":  # attention-like scores at scale 1e-3
        return np.clip(np.round(rng.standard_normal((rows, n)) / 1e-3), -32768, 32767).astype(np.int16)
    if kind == "max":
        return np.full((rows, n), 32767, dtype=np.int16)
    if kind == "min":
        return np.full((rows, n), -32768, dtype=np.int16)
    if kind == "onehot":
        q = np.full((rows, n), -30000, dtype=np.int16)
        q[np.arange(rows), rng.integers(0, n, rows)] = 30000
        return q
    q = np.full((rows, n), -32768, dtype=np.int16)  # alternating extremes: max - q = 65535
    q[:, ::2] = 32767
    return q


def _check(name: str, q: np.ndarray, scale: float, isa: str) -> None:
    kernel, ref = OPS[name]
    want, want_scale = ref(q, scale)
    got, got_scale = kernel(q, scale, isa=isa)
    assert got.dtype == want.dtype and got_scale == want_scale
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("kind", ["normal", "max", "min", "onehot", "alternating"])
def test_word_layout_edges(name, kind, isa):
    rng = np.random.default_rng(len(name) * 7 + len(kind))
    for n in LENGTHS:
        q = _rows(kind, 3 if n < 4096 else 2, n, rng)
        for scale in (1e-3, 0.1):
            _check(name, q, scale, isa)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(list(OPS)),
    rows=st.integers(1, 12),
    n=st.one_of(st.integers(1, 300), st.just(4096)),
    scale=st.sampled_from(WORD_SCALES) | st.floats(-12.0, 3.0).map(lambda e: 2.0**e),
    spread=st.floats(0.0, 4.5),
    isa=st.sampled_from(ISAS),
    seed=st.integers(0, 2**32 - 1),
)
def test_word_layout_random(name, rows, n, scale, spread, isa, seed):
    rng = np.random.default_rng(seed)
    q = np.clip(np.round(rng.standard_normal((rows if n < 4096 else 2, n)) * 10.0**spread), -32768, 32767)
    _check(name, q.astype(np.int16), scale, isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", list(OPS))
def test_mixed_row_pairs(name, isa):
    """Rows of different kinds side by side (the LUT kernels take two rows per step), odd and even counts."""
    rng = np.random.default_rng(len(name))
    kinds = ["max", "normal", "min", "onehot", "alternating", "normal", "max"]
    for n in LENGTHS:
        q = np.concatenate([_rows(kind, 1, n, rng) for kind in kinds])
        for rows in (2, 5, 7) if n < 4096 else (3,):
            for scale in (1e-3, 0.1):
                _check(name, q[:rows], scale, isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", ["ibert", "log_int"])
def test_wide_row_sums(name, isa):
    """The exps' row sum (qword adds of the 16 pair sums less 2^32 - 1 times their high dwords, exact mod
    2^64): rows of equal codes (every pair sum near 2^32) short enough that the outputs still depend on the
    sum, attention-like rows of 2^14 and 2^17 codes, and 2^20 equal codes (the qword accumulators wrap)."""
    rng = np.random.default_rng(5)
    rows = [np.full((2, n), v, dtype=np.int16) for n, v in ((4096, -7), (8192, 32767), (12345, 100))]
    rows += [_rows("normal", 2, n, rng) for n in (2**14, 2**17)]
    rows.append(np.full((1, 2**20), 123, dtype=np.int16))
    for q in rows:
        for scale in (1e-3, 0.1):
            _check(name, q, scale, isa)
