import pytest

from lowbit import LowbitError
from lowbit.roofline import Cost, Limits, ceiling, gemm_cost

LIMITS = Limits(
    peak_gops={"int8": 460.0, "fp32": 230.0},
    bandwidth_gbps={"L1": 400.0, "L2": 200.0, "L3": 100.0, "DRAM": 30.0},
    cache_bytes={"L1": 32 * 1024, "L2": 1 << 20, "L3": 32 << 20},
)


def test_ceiling_picks_the_lowest_roof():
    # 1000 ops, 100 bytes from DRAM: intensity 10 ops/byte x 30 GB/s = 300 < 460 -> DRAM binds
    b = ceiling(Cost("x", 1000.0, "int8", {"L1": 10.0, "DRAM": 100.0}), LIMITS)
    assert b.binding == "DRAM" and b.gops == pytest.approx(300.0)
    # nothing moves from memory that could bind: compute
    b = ceiling(Cost("y", 1e6, "int8", {"L1": 10.0, "DRAM": 10.0}), LIMITS)
    assert b.binding == "compute" and b.gops == 460.0
    assert b.fraction(230.0) == pytest.approx(0.5)


def test_gemv_is_bandwidth_bound_and_large_gemm_compute_bound():
    # 1 x 4096 x 4096 int8: 33.5 M ops over 16 MiB of weights from L3 (fits 32 MiB) -> ~2 ops/byte
    gemv = gemm_cost(1, 4096, 4096, LIMITS)
    assert gemv.ops == 2 * 4096 * 4096
    assert gemv.bytes["DRAM"] == 0.0  # A + W fit the L3
    assert gemv.bytes["L3"] == 4096 * 4096 + 4096  # both operands fit: each read once from L3
    b = ceiling(gemv, LIMITS)
    assert b.binding in ("L2", "L3") and b.gops < 0.5 * 460
    # 1024^3: L1 bytes = m n k (1/64 + 1/6), intensity = 2 / (1/64 + 1/6) = 11.0 ops/byte -> 4400 > peak
    big = gemm_cost(1024, 1024, 1024, LIMITS)
    assert big.intensity("L1") == pytest.approx(2 / (1 / 64 + 1 / 6))
    assert ceiling(big, LIMITS).binding == "compute"


def test_fp32_gemm_with_small_tiles_is_l1_bound():
    # fp32, 4-byte operands, a 4 x 8 register tile: intensity 2 / (4/8 + 4/4) = 1.33 flop/byte
    # x 400 GB/s = 533 > 230, so compute binds; with L1 at 150 GB/s it is L1 that binds (the paper)
    slow_l1 = Limits(LIMITS.peak_gops, {**LIMITS.bandwidth_gbps, "L1": 150.0}, LIMITS.cache_bytes)
    cost = gemm_cost(512, 512, 512, slow_l1, a_bytes=4, w_bytes=4, kind="fp32", tile_m=4, tile_n=8)
    assert ceiling(cost, LIMITS).binding == "compute"
    b = ceiling(cost, slow_l1)
    assert b.binding == "L1" and b.gops == pytest.approx(150.0 * 2 / (4 / 8 + 4 / 4))


def test_bad_input():
    with pytest.raises(LowbitError, match="m"):
        gemm_cost(0, 4, 4, LIMITS)
    with pytest.raises(LowbitError, match="cost.kind"):
        ceiling(Cost("z", 1.0, "binary", {"L1": 1.0}), LIMITS)
