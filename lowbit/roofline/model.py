"""The roofline: how fast an operator can run on a machine, from its operation count, the bytes it must
move from each memory level, and the machine's measured limits (``Limits``, filled by ``lowbit probe``).

For every level L (L1, L2, L3, DRAM) the operator needs at least ``bytes[L]`` read from L; its time is at
least ops / peak and at least bytes[L] / bandwidth[L] for every L, so the ceiling on its rate is

    ceiling = min(peak, min_L intensity_L * bandwidth_L),   intensity_L = ops / bytes[L]

and the level (or "compute") reaching that minimum binds it. Each cost model below states which bytes
it counts and why; they are lower bounds for a good kernel, so a measured rate above the ceiling means
the model (or the limits) are wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lowbit.errors import expect

LEVELS = ("L1", "L2", "L3", "DRAM")


@dataclass(frozen=True)
class Limits:
    """Measured ceilings of one core (or of all cores together): G ops/s per kind of arithmetic, GB/s
    of read bandwidth per level, and the capacity in bytes of each cache level."""

    peak_gops: dict[str, float]  # e.g. {"fp32": 242, "int8": 460, "binary": 2570, "lookup": 490}
    bandwidth_gbps: dict[str, float]  # {"L1": ..., "L2": ..., "L3": ..., "DRAM": ...}
    cache_bytes: dict[str, int] = field(default_factory=dict)  # {"L1": 32768, "L2": ..., "L3": ...}


@dataclass(frozen=True)
class Cost:
    """An operator: ``ops`` operations of arithmetic ``kind`` and the bytes it must read per level."""

    name: str
    ops: float
    kind: str
    bytes: dict[str, float]

    def intensity(self, level: str) -> float:
        return self.ops / self.bytes[level] if self.bytes[level] > 0 else math.inf


@dataclass(frozen=True)
class Bound:
    gops: float  # the ceiling
    binding: str  # "compute" or a level name

    def fraction(self, achieved_gops: float) -> float:
        return achieved_gops / self.gops


def ceiling(cost: Cost, limits: Limits) -> Bound:
    """min(peak, intensity x bandwidth) over the levels, and what binds."""
    expect(cost.kind in limits.peak_gops, "cost.kind", f"one of {sorted(limits.peak_gops)}", cost.kind)
    best = Bound(limits.peak_gops[cost.kind], "compute")
    for level in LEVELS:
        if level in cost.bytes and level in limits.bandwidth_gbps:
            roof = cost.intensity(level) * limits.bandwidth_gbps[level]
            if roof < best.gops:
                best = Bound(roof, level)
    return best


def gemm_cost(
    m: int, k: int, n: int, limits: Limits, a_bytes: float = 1, w_bytes: float = 1, kind: str = "int8",
    tile_m: int = 6, tile_n: int = 64,
) -> Cost:  # fmt: skip
    """C[m, n] = A[m, k] W[n, k]^T, 2 m k n operations, counted for a register-tiled kernel.

    - L1 (registers <- L1): each tile_m x tile_n register tile reads its k x (tile_m + tile_n) operands
      once from L1, so L1 bytes = m n k (a_bytes / tile_n + w_bytes / tile_m). This is what makes the
      paper's fp32 GEMM L1-bound: the tile decides the ratio of loads to multiply-adds.
    - L2 and L3: the weight panel (k x tile_n) is reused by every row tile from the level that holds it;
      a level too small for one panel plus a row tile sees the L1 traffic again. When the level holds
      both whole operands, each is read once from it.
    - DRAM: every operand once (compulsory traffic), unless it fits the last level cache (then its reads
      come from L3 and DRAM traffic is the part that does not fit).
    Output writes are not counted: they are m n and small next to the reads for every shape we bench.
    """
    for name, v in (("m", m), ("k", k), ("n", n)):
        expect(isinstance(v, int) and v >= 1, name, "a positive int", v)
    ops = 2.0 * m * k * n
    a_total, w_total = m * k * a_bytes, n * k * w_bytes
    l1 = m * n * k * (a_bytes / tile_n + w_bytes / tile_m)
    bytes_ = {"L1": l1}
    for level in ("L2", "L3"):
        cap = limits.cache_bytes.get(level, 0)
        panel = k * tile_n * w_bytes + tile_m * k * a_bytes
        if cap >= a_total + w_total:
            bytes_[level] = a_total + w_total
        elif cap >= panel:
            # weights stream once; activations re-read once per weight panel
            bytes_[level] = w_total + a_total * math.ceil(n / tile_n)
        else:
            bytes_[level] = l1
    l3 = limits.cache_bytes.get("L3", 0)
    bytes_["DRAM"] = a_total + w_total if a_total + w_total > l3 else 0.0
    return Cost(f"gemm {m}x{k}x{n}", ops, kind, bytes_)
