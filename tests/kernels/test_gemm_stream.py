"""The GEMV path (M = 1; on AVX-512 weights of 1 MiB and more are read as four streams, each over a
quarter of the panels, the 0-3 panels left over one by one), bit-exactly: weights past L3, quarters of
1-4 panels with 0-3 left over and N tails, every epilogue, K segments and threads."""

import numpy as np
import pytest

from lowbit.ops import available_isas, quantize_multiplier
from lowbit.ops.gemm import gemm, gemm_ref, pack_weight


@pytest.mark.parametrize("isa", available_isas())
@pytest.mark.parametrize(("k", "n"), [(8192, 4100), (8190, 4097)])  # packed: 32.1 MiB, N and K tails
def test_gemv_with_weights_past_l3_bit_exact(isa, k, n):
    rng = np.random.default_rng(k + n)
    a = rng.integers(0, 256, size=(1, k), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    got = gemm(a, pack_weight(w), a_zero_point=7, isa=isa, threads=1)
    np.testing.assert_array_equal(got, gemm_ref(a, w, a_zero_point=7))


# 1..16 panels of 256.25 KiB (K = 4100): one panel (under 1 MiB), quarters of 1..4 panels with 0..3 left
# over; with 2 threads 2048 columns are chunks of 4 panels (one quarter each)
@pytest.mark.parametrize("n", [64, 190, 256, 300, 448, 513, 576, 1000, 2048])
@pytest.mark.parametrize("out", ["int32", "float32", "int8", "uint8", "int16"])
@pytest.mark.parametrize("threads", [1, 2])
def test_gemv_panel_groups_bit_exact(n, out, threads):
    rng = np.random.default_rng(n * 7 + threads)
    k = 4100
    a = rng.integers(0, 256, size=(1, k), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    kw = {"a_zero_point": 131, "out_dtype": np.dtype(out), "relu": bool(n % 2)}
    kw["bias"] = rng.integers(-(2**29), 2**29, size=n).astype(np.int32)
    if out == "float32":
        kw["scale"] = rng.uniform(1e-6, 1e-2, size=n).astype(np.float32)
    if out in ("int8", "uint8", "int16"):
        kw["m0"], kw["shift"] = quantize_multiplier(rng.uniform(1e-7, 1e-3, size=n))
    for isa in available_isas():
        got = gemm(a, pack_weight(w), threads=threads, isa=isa, **kw)
        np.testing.assert_array_equal(got, gemm_ref(a, w, **kw), err_msg=isa)


@pytest.mark.parametrize("n", [64, 320, 512])
@pytest.mark.parametrize("out", ["int32", "int8"])
def test_gemv_panel_groups_with_input_exponents_bit_exact(n, out):
    """K segments (Horner shifts between them) over four streams of panels (5-8 panels of ~250 KiB)."""
    rng = np.random.default_rng(n)
    k = 4001
    a = rng.integers(-128, 128, size=(1, k), dtype=np.int8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    e = rng.integers(0, 4, size=k)
    kw = {
        "a_zero_point": -5,
        "out_dtype": np.dtype(out),
        "bias": rng.integers(-(2**20), 2**20, n).astype(np.int32),
    }
    if out != "int32":
        kw["m0"], kw["shift"] = quantize_multiplier(rng.uniform(1e-7, 1e-3, size=n))
    for isa in available_isas():
        for threads in (1, 2):
            got = gemm(a, pack_weight(w, e), threads=threads, isa=isa, **kw)
            np.testing.assert_array_equal(got, gemm_ref(a, w, in_exponent=e, **kw), err_msg=isa)


def test_packed_weights_are_cache_line_aligned():
    for shape in [(1, 1), (70, 33), (4096, 512)]:
        w = np.ones(shape, np.int8)
        assert pack_weight(w).data.ctypes.data % 64 == 0
        assert pack_weight(w, np.zeros(shape[1], int)).data.ctypes.data % 64 == 0
