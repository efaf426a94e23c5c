"""Attention's in-place integer products (lowbit/ops/attention.py) against their int64 oracles."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.attention import (
    attention_fq,
    attention_fq_ref,
    attention_ibert,
    attention_ibert_ref,
    attention_lut,
    attention_lut_ref,
    attention_pv,
    attention_pv_ref,
    attention_qk,
    attention_qk_ref,
    attention_shiftmax,
    attention_shiftmax_ref,
    residual_add,
    residual_add_ref,
)


@settings(max_examples=60, deadline=None)
@given(
    b=st.integers(1, 3),
    t=st.integers(1, 70),
    heads=st.integers(1, 4),
    d=st.integers(1, 40),
    isa=st.sampled_from(available_isas()),
    threads=st.integers(1, 3),
    extreme=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_attention_products_bit_exact(b, t, heads, d, isa, threads, extreme, seed):
    rng = np.random.default_rng(seed)
    shape = (b, t, 3 * heads * d)
    qkv = np.full(shape, -128, np.int8) if extreme else rng.integers(-128, 128, shape).astype(np.int8)
    bias = rng.integers(-(2**29), 2**29, (b, t)).astype(np.int32)
    np.testing.assert_array_equal(
        attention_qk(qkv, heads, bias, threads=threads, isa=isa), attention_qk_ref(qkv, heads, bias)
    )
    p = (
        np.full((b, heads, t, t), 255, np.uint8)
        if extreme
        else rng.integers(0, 256, (b, heads, t, t)).astype(np.uint8)
    )
    m0, shift = int(rng.integers(2**30, 2**31)), int(rng.integers(30, 45))
    np.testing.assert_array_equal(
        attention_pv(p, qkv, heads, m0, shift, threads=threads, isa=isa),
        attention_pv_ref(p, qkv, heads, m0, shift),
    )


def test_attention_bad_input():
    qkv = np.zeros((1, 4, 12), np.int8)
    with pytest.raises(LowbitError, match="heads"):
        attention_qk(qkv, 3)
    with pytest.raises(LowbitError, match="bias"):
        attention_qk(qkv, 2, np.zeros((1, 5), np.int32))
    with pytest.raises(LowbitError, match="qkv: expected dtype int8"):
        attention_qk(qkv.astype(np.int16), 2)
    with pytest.raises(LowbitError, match="p: expected"):
        attention_pv(np.zeros((1, 2, 4, 3), np.uint8), qkv, 2, 1, 1)
    with pytest.raises(LowbitError, match="shift"):
        attention_pv(np.zeros((1, 2, 4, 4), np.uint8), qkv, 2, 1, 70)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 40),
    c=st.integers(1, 70),
    isa=st.sampled_from(available_isas()),
    extreme=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_residual_add_bit_exact(rows, c, isa, extreme, seed):
    rng = np.random.default_rng(seed)
    x = np.full((rows, c), -128, np.int8) if extreme else rng.integers(-128, 128, (rows, c)).astype(np.int8)
    y = (
        np.full((rows, c), -32768, np.int16)
        if extreme
        else rng.integers(-32768, 32768, (rows, c)).astype(np.int16)
    )
    shift = rng.integers(0, 24, c).astype(np.int32)
    for threads in (1, 3):
        np.testing.assert_array_equal(residual_add(x, shift, y, threads, isa), residual_add_ref(x, shift, y))


def test_residual_add_bad_input():
    x, y = np.zeros((2, 4), np.int8), np.zeros((2, 4), np.int16)
    with pytest.raises(LowbitError, match="shift"):
        residual_add(x, np.full(4, 24, np.int32), y)
    with pytest.raises(LowbitError, match="shift"):
        residual_add(x, np.zeros(3, np.int32), y)
    with pytest.raises(LowbitError, match="y, out"):
        residual_add(x, np.zeros(4, np.int32), np.zeros((2, 5), np.int16))


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 2),
    t=st.integers(2, 60),
    heads=st.integers(1, 3),
    d=st.integers(1, 24),
    isa=st.sampled_from(available_isas()),
    threads=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_fused_ibert_attention_bit_exact(b, t, heads, d, isa, threads, seed):
    rng = np.random.default_rng(seed)
    qkv = rng.integers(-128, 128, (b, t, 3 * heads * d)).astype(np.int8)
    bias = np.where(rng.random((b, t)) < 0.2, -(2**29), 0).astype(np.int32)
    bias[:, 0] = 0  # at least one real key per sequence
    scale, m0, shift = (
        float(rng.uniform(1e-4, 1e-2)),
        int(rng.integers(2**30, 2**31)),
        int(rng.integers(36, 44)),
    )
    np.testing.assert_array_equal(
        attention_ibert(qkv, heads, bias, scale, m0, shift, threads=threads, isa=isa),
        attention_ibert_ref(qkv, heads, bias, scale, m0, shift),
    )
    np.testing.assert_array_equal(
        attention_fq(qkv, heads, bias, scale, m0, shift - 14, threads=threads, isa=isa),
        attention_fq_ref(qkv, heads, bias, scale, m0, shift - 14),
    )


FUSED = {
    "ibert": (attention_ibert, attention_ibert_ref),
    "shiftmax": (attention_shiftmax, attention_shiftmax_ref),
    "lut": (attention_lut, attention_lut_ref),
    "fq": (attention_fq, attention_fq_ref),  # its accumulators are 2^14 larger: shift - 14 below
}


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(sorted(FUSED)),
    b=st.integers(1, 2),
    t=st.integers(1, 150),
    heads=st.integers(1, 3),
    d=st.sampled_from([16, 32, 64]),  # 32, 64: the fused AVX-512 head kernel (attention_avx512.cpp)
    isa=st.sampled_from(available_isas()),
    threads=st.integers(1, 2),
    extreme=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_fused_attention_head_widths_bit_exact(method, b, t, heads, d, isa, threads, extreme, seed):
    rng = np.random.default_rng(seed)
    qkv = rng.integers(-128, 128, (b, t, 3 * heads * d)).astype(np.int8)
    if extreme:  # every q k product at its largest, every p v product at its largest
        qkv[...] = rng.choice(np.array([-128, 127], np.int8), qkv.shape)
    bias = np.where(rng.random((b, t)) < 0.2, -(2**29), 0).astype(np.int32)
    bias[:, 0] = 0
    scale = float(rng.uniform(1e-5, 1e-2))
    m0, shift = int(rng.integers(2**30, 2**31)), int(rng.integers(30, 44))
    kernel, ref = FUSED[method]
    shift -= 14 if method == "fq" else 0
    np.testing.assert_array_equal(
        kernel(qkv, heads, bias, scale, m0, shift, threads=threads, isa=isa),
        ref(qkv, heads, bias, scale, m0, shift),
    )


def test_fused_attention_bad_input():
    qkv = np.zeros((1, 4, 96), np.int8)
    with pytest.raises(LowbitError, match="scale"):
        attention_shiftmax(qkv, 2, None, 0.0, 2**30, 40)
    with pytest.raises(LowbitError, match="heads"):
        attention_lut(qkv, 5, None, 1e-3, 2**30, 40)
    with pytest.raises(LowbitError, match="m0, shift"):
        attention_lut(qkv, 2, None, 1e-3, -1, 40)
