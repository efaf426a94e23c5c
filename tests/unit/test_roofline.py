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


# --- the other families' cost models (hand-computed cases) ---

from lowbit.roofline.model import (  # noqa: E402
    INT_OPS_PER_ELEMENT,
    batched_gemm_cost,
    bitserial_cost,
    codebook_gemv_cost,
    elementwise_cost,
    gemv_cost,
    lut_gemv_cost,
)

FULL = Limits(
    peak_gops={"int8": 460.0, "fp32": 115.0, "binary": 1800.0, "lookup": 230.0, "int32": 115.0},
    bandwidth_gbps={"L1": 200.0, "L2": 110.0, "L3": 90.0, "DRAM": 20.0},
    cache_bytes={"L1": 32 << 10, "L2": 1 << 20, "L3": 32 << 20},
)


def test_gemv_bytes_are_the_weights_at_bits_over_8():
    k = n = 4096
    # int8: 16 MiB of weights fit the 32 MiB L3 (hot): L2 and L3 supply weights + x + y, DRAM nothing
    c = gemv_cost(1, k, n, FULL, 8)
    assert c.ops == 2 * k * n
    assert c.bytes["L3"] == k * n + k + 4 * n and c.bytes["L2"] == c.bytes["L3"] and c.bytes["DRAM"] == 0
    # L1: weights once, x re-broadcast per 64-row block (64 times), y once
    assert c.bytes["L1"] == k * n + k * 64 + 4 * n
    b = ceiling(c, FULL)  # 2 ops per weight byte x 90 GB/s ~ 180 GOP/s < 460: L3 binds
    assert b.binding == "L3" and b.gops == pytest.approx(2 * k * n / (k * n + k + 4 * n) * 90.0)
    # 4-bit weights: half a byte each, so twice the L3 roof; cold weights come from DRAM
    c4 = gemv_cost(1, k, n, FULL, 4, rows_per_block=32, home="DRAM")
    assert c4.bytes["DRAM"] == k * n / 2 + k + 4 * n
    assert ceiling(c4, FULL).binding == "DRAM"
    assert ceiling(c4, FULL).gops == pytest.approx(2 * k * n / (k * n / 2 + k + 4 * n) * 20.0)
    # fp32 1 x 4096 x 4096: 64 MiB of weights exceed the L3 -> DRAM without being told
    f = gemv_cost(1, k, n, FULL, 32, 4, "fp32")
    assert f.bytes["DRAM"] == 4 * k * n + 4 * k + 4 * n and ceiling(f, FULL).binding == "DRAM"


def test_lut_gemv_counts_lookups():
    # 4 byte lookups per 8 activations, per row and bit plane: 1 x 512 x 128 x 2 bits -> 128 * 2 * 256
    c = lut_gemv_cost(1, 512, 128, 2, FULL)
    assert c.kind == "lookup" and c.ops == 128 * 2 * 512 / 2
    w = 128 * 512 * 2 / 8
    # tables 8 * 512 bytes, re-read from L1 by each of the 2 blocks of 64 rows
    assert c.bytes["L1"] == w + 8 * 512 * 2 + 4 * 128
    assert c.bytes["L2"] == 0.0  # 16 KiB weights + x + y fit L1 (home L1): nothing below it
    big = lut_gemv_cost(1, 4096, 4096, 4, FULL)  # 8 MiB of weights in L3: 1 lookup per weight byte
    assert big.bytes["L3"] == 4096 * 4096 / 2 + 4096 + 4 * 4096
    assert ceiling(c, FULL).binding == "compute" and ceiling(c, FULL).gops == 230.0


def test_codebook_gemv_reads_activations_once_per_4_rows():
    # a 4-row tile: x (4 bytes per k) is re-read once per 4 rows, so L1 bytes ~ k n + k n bits / 8
    k = n = 1024
    c = codebook_gemv_cost(1, k, n, 4, FULL)
    assert c.kind == "fp32" and c.ops == 2 * k * n
    assert c.bytes["L1"] == k * n / 2 + 4 * k * n / 4 + 4 * n
    assert ceiling(c, FULL).binding == "compute"  # 2 / 1.5 flop per L1 byte x 200 GB/s = 267 > 115
    slow_l1 = Limits(FULL.peak_gops, {**FULL.bandwidth_gbps, "L1": 50.0}, FULL.cache_bytes)
    b = ceiling(c, slow_l1)  # 67 < 115: a core with slow L1 reads would be L1-bound
    assert b.binding == "L1" and b.gops == pytest.approx(2 * k * n / c.bytes["L1"] * 50.0)
    # 3 bits pack 10 to a 32-bit word: 3.2 bits per weight; 8 rows = two tiles
    c3 = codebook_gemv_cost(1, 1600, 8, 3, FULL)
    assert c3.bytes["L1"] == pytest.approx(8 * 1600 * 3.2 / 8 + 4 * 1600 * 2 + 32)


def test_bitserial_binary_macs_and_the_tile():
    # 256 x 4096 x 4096, W2A2: binMACs = m k n p q; L1 bytes = m n p q k / 8 (1/8 + 1/3) for the 3 x 8 tile
    m, k, n = 256, 4096, 4096
    c = bitserial_cost(m, k, n, 2, 2, FULL)
    assert c.kind == "binary" and c.ops == m * k * n * 4
    assert c.bytes["L1"] == pytest.approx(m * n * 4 * k / 8 * 11 / 24)
    assert c.intensity("L1") == pytest.approx(192 / 11)  # 17.5 binMACs per L1 byte, any shape
    assert ceiling(c, FULL).binding == "compute"  # 17.5 x 200 = 3491 > 1800
    slow = Limits(FULL.peak_gops, {**FULL.bandwidth_gbps, "L1": 80.0}, FULL.cache_bytes)
    assert ceiling(c, slow).binding == "L1" and ceiling(c, slow).gops == pytest.approx(80.0 * 192 / 11)
    # the 2 x 4 tile of the paper's discussion: 10.7 binMACs per L1 byte, L1-bound at 150 GB/s (1600)
    small = bitserial_cost(m, k, n, 2, 2, FULL, tile_m=2, tile_n=4)
    assert small.intensity("L1") == pytest.approx(32 / 3)
    slow = Limits(FULL.peak_gops, {**FULL.bandwidth_gbps, "L1": 150.0}, FULL.cache_bytes)
    assert ceiling(small, slow).binding == "L1" and ceiling(small, slow).gops == pytest.approx(1600.0)
    # K pads to 512 bits: k = 100 counts as 512
    assert bitserial_cost(6, 100, 16, 1, 1, FULL).bytes["L1"] == pytest.approx(6 * 16 * 512 / 8 * 11 / 24)
    # below L1: a (256 x 2 planes x 512 B = 256 KiB) does not fit L1, so its reads repeat per 8 weight rows
    a_total, w_total = m * 2 * k / 8, n * 2 * k / 8
    assert c.bytes["L2"] == pytest.approx(w_total + a_total * n / 8 + 4 * m * n)


def test_elementwise_bytes_in_plus_out():
    # GELU on 1024 x 1536 int16 -> int32: 6 bytes per element; 9 MiB sits in L3
    e = 1024 * 1536
    c = elementwise_cost("gelu", e, 2, 4, INT_OPS_PER_ELEMENT["gelu"], FULL)
    assert c.ops == e * 17 and c.kind == "int32"
    assert c.bytes["L1"] == 6 * e and c.bytes["L3"] == 6 * e and c.bytes["DRAM"] == 0
    # 17 int ops per 6 bytes x 90 GB/s = 255 G > 115: compute binds
    assert ceiling(c, FULL).binding == "compute"
    # softmax: 3 passes over each row from L1, int32 in, uint8 out
    s = elementwise_cost("softmax", 12 * 128 * 128, 4, 1, 24, FULL, passes=3)
    assert s.bytes["L1"] == 12 * 128 * 128 * (3 * 4 + 1)
    assert s.bytes["L2"] == 12 * 128 * 128 * 5  # 960 KiB: in L2, each element in and out once


def test_batched_gemm_is_g_independent_members():
    c = batched_gemm_cost(12, 128, 32, 128, FULL)
    one = gemm_cost(128, 32, 128, FULL)
    assert c.ops == 12 * one.ops
    assert c.bytes["L1"] == pytest.approx(12 * one.bytes["L1"])
    # operands 12 x (128 x 32 x 2) = 96 KiB + int32 scores 768 KiB: in L2
    assert c.bytes["L2"] == 12 * (2 * 128 * 32 + 4 * 128 * 128) and c.bytes["L3"] == 0
    assert c.bytes["DRAM"] == 0


def test_home_level_is_checked():
    with pytest.raises(LowbitError, match="home"):
        gemv_cost(1, 64, 64, FULL, home="L4")
