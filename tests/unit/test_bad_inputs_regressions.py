"""Regression tests for what fuzzing the public entry points with bad input found (tests/unit/
test_bad_inputs.py is the fuzzing itself): each case crashed, returned garbage, or raised something other
than a LowbitError naming the argument."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lowbit import _C
from lowbit.errors import LowbitError
from lowbit.ops import codebook_gemv as cbg
from lowbit.ops import deepgemm as dg
from lowbit.ops import lowbit_gemv as lbg
from lowbit.ops.gemm import gemm, gemm_ref, pack_weight

RNG = np.random.default_rng(0)


def test_codebook_table_stride_overflow_is_refused():
    # (n - 1) * stride wrapped around int64 and passed the bounds check: the kernel then read far outside
    # the tables (SIGSEGV for 2^61, the wrong table for 2^62)
    u = RNG.integers(0, 16, (8, 64))
    w = cbg.pack_codebook(u, 4, RNG.standard_normal((8, 16)).astype(np.float32))
    a = RNG.standard_normal((2, 64)).astype(np.float32)
    for stride in (2**61, 2**62, 2**59 + 16, 16 * 9):
        with pytest.raises(LowbitError, match="codebook: expected one table per row.*strides past the tables"):
            cbg.codebook_gemv(a, dataclasses.replace(w, table_row_stride=stride))
    wg = cbg.pack_codebook(u, 4, RNG.standard_normal((8, 4, 16)), group=16)  # a table per (row, group)
    with pytest.raises(LowbitError, match="codebook: expected one table per row.*strides past the tables"):
        cbg.codebook_gemv(a, dataclasses.replace(wg, table_group_stride=2**62))


def test_deepgemm_nonzero_padding_codes_are_refused():
    # the AVX-512 kernel counts the codes past K in a row's last byte as code 0: set ones gave a wrong sum
    t = dg.product_table([-2, -1, 0, 1], [0, 1, 2, 3])
    ca, cw = RNG.integers(0, 4, (3, 10)), RNG.integers(0, 4, (5, 10))
    pa, pw = dg.pack_2bit(ca), dg.pack_2bit(cw)
    np.testing.assert_array_equal(dg.deepgemm_2x2(pa, pw, 10, t), dg.deepgemm_2x2_ref(ca, cw, t))
    bad_a, bad_w = pa.copy(), pw.copy()
    bad_a[1, -1] |= 0x40  # code 11 of a row with K = 10
    bad_w[4, -1] |= 0x80
    for isa in _C.available_isas():
        with pytest.raises(LowbitError, match="a: expected zero padding codes past K"):
            dg.deepgemm_2x2(bad_a, pw, 10, t, isa=isa)
        with pytest.raises(LowbitError, match="w: expected zero padding codes past K"):
            dg.deepgemm_2x2(pa, bad_w, 10, t, isa=isa)
    # K a multiple of 4 has no padding: every bit is a code
    ca, cw = RNG.integers(0, 4, (3, 8)), RNG.integers(0, 4, (5, 8))
    out = dg.deepgemm_2x2(dg.pack_2bit(ca), dg.pack_2bit(cw), 8, t)
    np.testing.assert_array_equal(out, dg.deepgemm_2x2_ref(ca, cw, t))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_gemv_nonfinite_act_scale_is_refused(bad):
    # a NaN / Inf activation scale silently made the whole output row NaN / Inf
    u = RNG.integers(0, 4, (40, 64))
    a = RNG.integers(0, 256, (3, 64)).astype(np.uint8)
    w = lbg.pack_lowbit(u, 2, scale=np.ones(40))
    with pytest.raises(LowbitError, match="act_scale: expected finite"):
        lbg.lowbit_gemv(a, w, out_dtype=np.float32, act_scale=np.array([1.0, bad, 1.0]))
    cw = cbg.pack_codebook(RNG.integers(0, 16, (8, 64)), 4, RNG.standard_normal((8, 16)))
    with pytest.raises(LowbitError, match="act_scale: expected finite"):
        cbg.codebook_gemv(a.astype(np.float32), cw, act_scale=bad)


def test_nan_activations_have_no_uint8_code():
    # quantize_u8 mapped NaN to code 0 and minmax_f32 skipped it: the dynamic int8 Linear returned numbers
    for isa in _C.available_isas():
        for n, at in ((40, 37), (40, 3), (5, 2), (1, 0)):
            x = np.linspace(-1, 1, n, dtype=np.float32)
            x[at] = np.nan
            mn, mx = _C.minmax_f32(x, isa)
            assert np.isnan(mn) and np.isnan(mx)
            with pytest.raises(LowbitError, match="x: expected no NaN"):
                _C.quantize_u8(x, 0.01, 128, np.empty(n, np.uint8), isa)
        x = np.linspace(-3, 3, 37, dtype=np.float32)
        assert _C.minmax_f32(x, isa) == [-3.0, 3.0]
        out = np.empty(37, np.uint8)
        _C.quantize_u8(x, 0.025, 128, out, isa)
        np.testing.assert_array_equal(out, np.clip(np.rint(x / np.float32(0.025)) + 128, 0, 255))
    from lowbit.nn import quantize_dynamic

    model = quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(8, 4)))
    for bad in (float("nan"), float("inf")):
        x = torch.zeros(2, 8)
        x[1, 3] = bad
        with pytest.raises(LowbitError, match="x: expected finite activations"):
            model(x)


def test_empty_arrays_are_checked_by_shape_not_by_strides():
    # numpy exports empty arrays with arbitrary strides: the C-contiguity check refused them with a wrong
    # message ("not C-contiguous"), and once past it, gemm with M = 0 divided by zero (SIGFPE)
    w8 = RNG.integers(-128, 128, (70, 40), dtype=np.int8)
    for w in (pack_weight(w8), pack_weight(w8, in_exponent=np.arange(40) % 3)):
        for kw in ({}, {"out_dtype": np.float32, "scale": 1.0, "threads": 2}):
            out = gemm(np.zeros((0, 40), np.uint8), w, **kw)
            assert out.shape == (0, 70)
    with pytest.raises(LowbitError, match="w: expected a non-empty"):
        pack_weight(np.zeros((0, 4), np.int8))
    from lowbit.ops.requant import requantize

    one = np.ones(1, np.int32)
    assert requantize(np.zeros((0, 25), np.int32), one, one).shape == (0, 25)
    a = RNG.integers(0, 256, (3, 40)).astype(np.uint8)
    np.testing.assert_array_equal(gemm(a, pack_weight(w8)), gemm_ref(a, w8))


def test_int_bert_plan_layers_bounded():
    with pytest.raises(LowbitError, match="layers: expected at most"):
        _C.int_bert_plan(8, 16, 2, 2**40)  # was std::bad_alloc (MemoryError)
