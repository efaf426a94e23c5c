"""The GEMV path for weights of 32 MiB and more (prefetched as a DRAM stream on AVX-512), bit-exactly."""

import numpy as np
import pytest

from lowbit.ops import available_isas
from lowbit.ops.gemm import gemm, gemm_ref, pack_weight


@pytest.mark.parametrize("isa", available_isas())
@pytest.mark.parametrize(("k", "n"), [(8192, 4100), (8190, 4097)])  # packed: 32.1 MiB, N and K tails
def test_gemv_with_weights_past_l3_bit_exact(isa, k, n):
    rng = np.random.default_rng(k + n)
    a = rng.integers(0, 256, size=(1, k), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    got = gemm(a, pack_weight(w), a_zero_point=7, isa=isa, threads=1)
    np.testing.assert_array_equal(got, gemm_ref(a, w, a_zero_point=7))
