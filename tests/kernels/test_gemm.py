"""The int8 GEMM kernels (every ISA variant this CPU runs) against the numpy int64 oracle, bit-exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas, quantize_multiplier
from lowbit.ops.gemm import MAX_K, PackedWeight, gemm, gemm_batched, gemm_batched_ref, gemm_ref, pack_weight

ISAS = available_isas()
DIM = st.one_of(st.integers(1, 300), st.sampled_from([1, 2, 3, 5, 7, 13, 31, 61, 63, 64, 65, 127, 251, 257]))


def draw_case(rng, m, k, n, a_dtype, extreme):
    info = np.iinfo(a_dtype)
    if extreme == "max":
        a = np.full((m, k), info.max, dtype=a_dtype)
        w = np.full((n, k), 127, dtype=np.int8)
    elif extreme == "min":
        a = np.full((m, k), info.min, dtype=a_dtype)
        w = np.full((n, k), -128, dtype=np.int8)
    else:
        a = rng.integers(info.min, info.max, size=(m, k), endpoint=True).astype(a_dtype)
        w = rng.integers(-128, 127, size=(n, k), endpoint=True).astype(np.int8)
    zp = int(rng.integers(info.min, info.max, endpoint=True))
    return a, w, zp


@settings(max_examples=120, deadline=None)
@given(
    m=DIM,
    k=DIM,
    n=DIM,
    a_dtype=st.sampled_from([np.uint8, np.int8]),
    isa=st.sampled_from(ISAS),
    out=st.sampled_from(["int32", "float32", "int8", "uint8", "int16"]),
    per_channel=st.booleans(),
    relu=st.booleans(),
    with_bias=st.booleans(),
    threads=st.integers(1, 3),
    extreme=st.sampled_from(["no", "no", "max", "min"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_gemm_bit_exact(m, k, n, a_dtype, isa, out, per_channel, relu, with_bias, threads, extreme, seed):
    rng = np.random.default_rng(seed)
    a, w, zp = draw_case(rng, m, k, n, a_dtype, extreme)
    kw = {"a_zero_point": zp, "out_dtype": np.dtype(out), "relu": relu}
    if with_bias:
        kw["bias"] = rng.integers(-(2**29), 2**29, size=n).astype(np.int32)
    c = n if per_channel else 1
    if out == "float32":
        kw["scale"] = rng.uniform(1e-6, 1e-2, size=c).astype(np.float32)
    if out in ("int8", "uint8", "int16"):
        kw["m0"], kw["shift"] = quantize_multiplier(rng.uniform(1e-7, 1e-3, size=c))
        lo, hi = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}[out]
        kw["zero_point"] = int(rng.integers(lo, hi, endpoint=True))
    got = gemm(a, pack_weight(w), threads=threads, isa=isa, **kw)
    want = gemm_ref(a, w, **kw)
    assert got.dtype == want.dtype and got.shape == (m, n)
    np.testing.assert_array_equal(got, want)


def test_thread_count_does_not_change_results():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, size=(37, 301), dtype=np.uint8)
    w = pack_weight(rng.integers(-128, 128, size=(333, 301), dtype=np.int8))
    runs = [gemm(a, w, a_zero_point=3, threads=t) for t in (1, 2, 3, 7)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r, runs[0])


def test_largest_k_cannot_overflow():
    """At K = MAX_K with all-extreme values the int32 accumulator still holds the exact sum."""
    a = np.full((2, MAX_K), 255, dtype=np.uint8)
    w = np.full((3, MAX_K), -128, dtype=np.int8)
    for isa in ISAS:
        got = gemm(a, pack_weight(w), isa=isa)
        assert int(got[0, 0]) == 255 * -128 * MAX_K


def test_bad_inputs():
    rng = np.random.default_rng(2)
    w8 = rng.integers(-128, 128, size=(10, 16), dtype=np.int8)
    w = pack_weight(w8)
    a = rng.integers(0, 256, size=(4, 16), dtype=np.uint8)
    with pytest.raises(LowbitError, match=r"a: expected a 2-D array \[M, 16\]"):
        gemm(a[:, :15].copy(), w)
    with pytest.raises(LowbitError, match="a: expected dtype"):
        gemm(a.astype(np.float32), w)
    with pytest.raises(LowbitError, match="a: expected a C-contiguous"):
        gemm(np.asfortranarray(a), w)
    with pytest.raises(LowbitError, match="bias: expected data aligned"):
        gemm(a, w, bias=np.zeros(41, dtype=np.uint8)[1:].view(np.int32))
    other = PackedWeight(
        pack_weight(rng.integers(-128, 128, size=(10, 32), dtype=np.int8)).data, w.colsum, 10, 16
    )
    with pytest.raises(LowbitError, match="packed: expected the k4n64 layout"):
        gemm(a, other)
    with pytest.raises(LowbitError, match="w: expected a PackedWeight"):
        gemm(a, w8)
    with pytest.raises(LowbitError, match="w: expected 1 <= K"):
        pack_weight(np.zeros((2, MAX_K + 1), dtype=np.int8))
    with pytest.raises(LowbitError, match="w: expected an int8"):
        pack_weight(w8.astype(np.int16))
    with pytest.raises(LowbitError, match="a_zero_point"):
        gemm(a, w, a_zero_point=300)
    with pytest.raises(LowbitError, match="bias"):
        gemm(a, w, bias=np.full(10, 2**30, dtype=np.int32))
    with pytest.raises(LowbitError, match="bias: expected length"):
        gemm(a, w, bias=np.zeros(9, dtype=np.int32))
    with pytest.raises(LowbitError, match="m0, shift"):
        gemm(a, w, out_dtype=np.int8)
    with pytest.raises(LowbitError, match="scale"):
        gemm(a, w, out_dtype=np.float32, scale=np.float32(-1.0))
    with pytest.raises(LowbitError, match="threads"):
        gemm(a, w, threads=0)
    with pytest.raises(LowbitError, match="isa"):
        gemm(a, w, isa="avx9000")


@settings(max_examples=60, deadline=None)
@given(
    g=st.integers(1, 6),
    m=st.integers(1, 70),
    k=st.integers(1, 70),
    n=st.integers(1, 70),
    a_dtype=st.sampled_from([np.uint8, np.int8]),
    isa=st.sampled_from(ISAS),
    out=st.sampled_from(["int32", "int8", "uint8", "int16"]),
    with_bias=st.booleans(),
    threads=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_gemm_batched_bit_exact(g, m, k, n, a_dtype, isa, out, with_bias, threads, seed):
    rng = np.random.default_rng(seed)
    info = np.iinfo(a_dtype)
    a = rng.integers(info.min, info.max, size=(2 * g, m, k), endpoint=True).astype(a_dtype)
    b = rng.integers(-128, 127, size=(2 * g, n, k), endpoint=True).astype(np.int8)
    kw = {"a_zero_point": int(rng.integers(info.min, info.max, endpoint=True)), "out_dtype": np.dtype(out)}
    if with_bias:  # one row per pair of batches, as a key mask shared by two heads
        kw["bias"], kw["bias_every"] = rng.integers(-(2**29), 2**29, size=(g, n)).astype(np.int32), 2
    if out != "int32":
        m0, shift = quantize_multiplier(rng.uniform(1e-7, 1e-3, size=1))
        kw["m0"], kw["shift"] = int(m0[0]), int(shift[0])
        kw["zero_point"] = 3 if out == "uint8" else -1
    got = gemm_batched(a, b, threads=threads, isa=isa, **kw)
    assert got.dtype == np.dtype(out)
    np.testing.assert_array_equal(got, gemm_batched_ref(a, b, **kw))


def test_gemm_batched_bad_input():
    a = np.zeros((2, 3, 4), np.int8)
    with pytest.raises(LowbitError, match="b: expected"):
        gemm_batched(a, np.zeros((2, 5, 3), np.int8))
    with pytest.raises(LowbitError, match="bias"):
        gemm_batched(a, np.zeros((2, 5, 4), np.int8), bias=np.zeros((3, 5), np.int32), bias_every=1)
    with pytest.raises(LowbitError, match="m0"):
        gemm_batched(a, np.zeros((2, 5, 4), np.int8), out_dtype=np.int8)
    with pytest.raises(LowbitError, match="b: expected dtype int8"):
        gemm_batched(a, np.zeros((2, 5, 4), np.uint8))


@settings(max_examples=80, deadline=None)
@given(
    m=st.integers(1, 40),
    k=st.integers(1, 700),  # the AVX-512 gather works in 128-byte windows of a row: several of them
    n=st.integers(1, 140),
    a_dtype=st.sampled_from([np.uint8, np.int8]),
    isa=st.sampled_from(ISAS),
    out=st.sampled_from(["int32", "int16", "int8"]),
    max_exp=st.integers(0, 5),
    threads=st.integers(1, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_gemm_with_input_exponents_bit_exact(m, k, n, a_dtype, isa, out, max_exp, threads, seed):
    """Power-of-two factors per input column (K segments with Horner shifts) equal the int64 oracle."""
    rng = np.random.default_rng(seed)
    a, w, zp = draw_case(rng, m, k, n, a_dtype, "no")
    e = rng.integers(0, max_exp, size=k, endpoint=True) + int(rng.integers(0, 2))
    kw = {
        "a_zero_point": zp,
        "out_dtype": np.dtype(out),
        "bias": rng.integers(-(2**20), 2**20, n).astype(np.int32),
    }
    if out != "int32":
        kw["m0"], kw["shift"] = quantize_multiplier(rng.uniform(1e-7, 1e-3, size=n))
    got = gemm(a, pack_weight(w, e), threads=threads, isa=isa, **kw)
    np.testing.assert_array_equal(got, gemm_ref(a, w, in_exponent=e, **kw))


def test_gemm_input_exponents_bad_input():
    w = np.ones((3, 8), np.int8)
    with pytest.raises(LowbitError, match="in_exponent"):
        pack_weight(w, np.full(8, -1))
    with pytest.raises(LowbitError, match="in_exponent"):
        pack_weight(w, np.zeros(7, np.int32))
    with pytest.raises(LowbitError, match="in_exponent"):
        pack_weight(np.ones((3, 4096), np.int8), np.full(4096, 4))  # sum 2^e beyond the int32 bound
    with pytest.raises(LowbitError, match="a: expected"):
        gemm(np.zeros((2, 7), np.uint8), pack_weight(w, np.arange(8) % 3))
