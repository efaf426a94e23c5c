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


def _home(limits: Limits, total: float, home: str | None) -> str:
    """The level the operands sit in when the call starts: ``home`` if given ("DRAM" for weights that
    are cold), else the smallest cache level that holds them all (a kernel called again and again)."""
    if home is not None:
        expect(home in LEVELS, "home", f"one of {LEVELS}", home)
        return home
    for level in LEVELS[:-1]:
        if limits.cache_bytes.get(level, 0) >= total:
            return level
    return "DRAM"


def _streamed(limits: Limits, l1: float, operands: list[tuple[float, float]], out: float,
              home: str | None) -> dict[str, float]:  # fmt: skip
    """Bytes per level for a kernel whose operands (size, times it is re-read) start in ``home``.

    L1 gets ``l1`` (the register tile's loads, counted by the caller). A level L below L1 and not below
    home must supply each operand once, or every re-read of it when the operand does not fit the level
    above L (its re-reads miss there); output bytes are written once. Levels below home supply nothing.
    """
    total = sum(size for size, _ in operands) + out
    h = LEVELS.index(_home(limits, total, home))
    bytes_ = {"L1": max(l1, total)}
    for i, level in enumerate(LEVELS[1:], start=1):
        if i > h:
            bytes_[level] = 0.0
            continue
        above = limits.cache_bytes.get(LEVELS[i - 1], 0)
        bytes_[level] = out + sum(size * (reads if size > above else 1) for size, reads in operands)
    return bytes_


def gemv_cost(
    m: int, k: int, n: int, limits: Limits, w_bits: float = 8, a_bytes: float = 1, kind: str = "int8",
    rows_per_block: int = 64, out_bytes: float = 4, home: str | None = None, name: str | None = None,
) -> Cost:  # fmt: skip
    """y[m, n] = x[m, k] W[n, k]^T for small m (a GEMV when m = 1): 2 m k n operations of ``kind``.

    - Weights: n k w_bits / 8 bytes (int8 8, lowbit's 4/2/1-bit fields and planes 4/2/1, ternary 2, BCQ
      q planes q). A GEMV kernel reads every weight byte exactly once per call (it handles all m rows
      per weight load), so the weights are the compulsory traffic from every level down to ``home``,
      where they sit: weights bytes / bandwidth(home) is the time floor that binds every m = 1 kernel.
    - Activations: m k a_bytes, re-read from L1 once per block of ``rows_per_block`` output rows
      (broadcasts: lowbit's int8 tile 64 columns; the fields kernel 16 x 8 / bits rows; planes 64).
      They fit L1 at every shape we run, so they add nothing below L1.
    - Output: m n out_bytes written once. Per-row scales and row sums (4 bytes per row) are left out:
      under 1% of the weights for k >= 512.
    """
    for nm, v in (("m", m), ("k", k), ("n", n)):
        expect(isinstance(v, int) and v >= 1, nm, "a positive int", v)
    w_total, a_total = n * k * w_bits / 8, m * k * a_bytes
    l1 = w_total + a_total * math.ceil(n / rows_per_block) + m * n * out_bytes
    reads = math.ceil(n / rows_per_block)
    bytes_ = _streamed(limits, l1, [(w_total, 1), (a_total, reads)], m * n * out_bytes, home)
    return Cost(name or f"gemv {m}x{k}x{n} w{w_bits:g}", 2.0 * m * k * n, kind, bytes_)


def lut_gemv_cost(
    m: int, k: int, n: int, bits: int, limits: Limits, home: str | None = None, name: str | None = None
) -> Cost:  # fmt: skip
    """lowbit's T-MAC-style table GEMV (layout "planes"), counted in byte-table lookups (kind "lookup").

    For every 8 activations the kernel builds one 64-byte table (the partial sums over the 4-subsets of
    two groups of 4, low and high nibbles); each output row looks up 4 entries of it per bit plane (one
    vpermb serves 16 rows). Lookups = m n bits k / 2, each replacing 4 multiply-adds (the equivalent int8
    rate is 4 x lookups x 2 / bits ops). The probe's lookup peak is vpshufb's (64 byte lanes per
    instruction); vpermb has the same width and, on the CPUs we know, the same throughput.

    Bytes: weights n k bits / 8 read once from ``home`` (as in ``gemv_cost``); the tables, m k / 8 x 64
    = 8 m k bytes, are built per call, stay in L1 and are re-read once per 64-row block.
    """
    for nm, v in (("m", m), ("k", k), ("n", n), ("bits", bits)):
        expect(isinstance(v, int) and v >= 1, nm, "a positive int", v)
    w_total, tables = n * k * bits / 8, 8.0 * m * k
    out = 4.0 * m * n
    l1 = w_total + tables * math.ceil(n / 64) + out
    bytes_ = _streamed(limits, l1, [(w_total, 1), (m * k, 1)], out, home)
    return Cost(name or f"lut-gemv {m}x{k}x{n} w{bits}", m * n * bits * k / 2, "lookup", bytes_)


def codebook_gemv_cost(
    m: int, k: int, n: int, bits: int, limits: Limits, home: str | None = None, name: str | None = None
) -> Cost:  # fmt: skip
    """lowbit's codebook GEMV (SqueezeLLM / NF4): per weight one float32 lookup (vpermps, 16 per
    instruction into a 16-entry table held in a register) and one fp32 FMA, counted as 2 m k n flops of
    kind "fp32" against the FMA peak. The lookups (and the shifts that extract the fields) run on other
    vector pipes than the FMAs, but not for free: on Zen 5 lookup + FMA alone take 0.70-0.80 cycles per
    16 weights (BENCHMARKS.md, "where the cycles go"), so about two thirds of this roof is the practical
    limit. Bytes: weights k bits / 8 per row (3 bits pack 10 to a 32-bit word: 3.2 bits) and float32
    activations, loaded once per tile of 4 rows (the kernel's register tile): 1 + bits / 8 L1 bytes per
    weight, i.e. per 2 flops, so L1 binds only where it reads under (1 + bits / 8) / 2 bytes per flop.
    """
    eff_bits = 3.2 if bits == 3 else float(bits)
    return gemv_cost(m, k, n, limits, eff_bits, 4, "fp32", 4, 4, home,
                     name or f"codebook-gemv {m}x{k}x{n} w{bits}")  # fmt: skip


def bitserial_cost(
    m: int, k: int, n: int, w_bits: int, a_bits: int, limits: Limits, tile_m: int = 3, tile_n: int = 8,
    home: str | None = None, name: str | None = None,
) -> Cost:  # fmt: skip
    """Bit-serial GEMM (lowbit.ops.bitserial): m k n p q binary multiply-adds (kind "binary", the probe's
    AND+popcount rate: 512 per vpandq + vpopcntq pair), p = w_bits, q = a_bits.

    Planes pad K to a multiple of 512 bits (k'), so the operands are m q k' / 8 and n p k' / 8 bytes.
    - L1: the kernel's register tile is tile_m activation rows x tile_n weight rows (AVX-512: 3 x 8 in
      the planes layouts, 8 x 24 rows-interleaved); for every plane pair it loads its (tile_m + tile_n)
      rows of k' bits, so L1 bytes = m n p q k' / 8 (1 / tile_n + 1 / tile_m). This is the paper's point
      for bit-serial: the tile decides whether L1 or the popcount unit binds. 3 x 8 gives 192 / 11 = 17.5
      binary MACs per L1 byte, 8 x 24 gives 48 (a 2 x 4 tile: 10.7), so L1 binds only below popcount
      peak / 17.5 bytes/s.
    - Compute: the probe's AND+popcount rate leaves out the accumulate; AND+popcount+add alone reach about
      two thirds of it (BENCHMARKS.md), which is the practical roof of any kernel that sums its counts.
    - Below L1: the activation planes are re-read once per tile_n weight rows (the loop runs all m for
      one weight tile); the weight planes are read once.
    """
    for nm, v in (("m", m), ("k", k), ("n", n), ("w_bits", w_bits), ("a_bits", a_bits)):
        expect(isinstance(v, int) and v >= 1, nm, "a positive int", v)
    kp = -(-k // 512) * 512
    a_total, w_total = m * a_bits * kp / 8, n * w_bits * kp / 8
    l1 = m * n * w_bits * a_bits * kp / 8 * (1 / tile_n + 1 / tile_m)
    bytes_ = _streamed(limits, l1, [(w_total, 1), (a_total, math.ceil(n / tile_n))], 4.0 * m * n, home)
    return Cost(name or f"bitserial {m}x{k}x{n} w{w_bits}a{a_bits}", float(m) * n * k * w_bits * a_bits,
                "binary", bytes_)  # fmt: skip


def batched_gemm_cost(g: int, m: int, k: int, n: int, limits: Limits, a_bytes: float = 1,
                      w_bytes: float = 1, out_bytes: float = 4, name: str | None = None) -> Cost:  # fmt: skip
    """g independent GEMMs [m, k] x [n, k]^T (attention: q k^T and p v per head), lowbit's gemm_batched.

    Each batch member has its own operands (nothing is reused across members), so ops and bytes are g
    times one member's: L1 as ``gemm_cost`` (6 x 64 register tile), below L1 the whole batch's operands
    and outputs once from the level that holds them (m k + n k + m n out_bytes per member).
    """
    one = gemm_cost(m, k, n, limits, a_bytes, w_bytes)
    total = g * (m * k * a_bytes + n * k * w_bytes)
    out = g * m * n * out_bytes
    bytes_ = _streamed(limits, g * one.bytes["L1"], [(total, 1)], out, None)
    return Cost(name or f"gemm_batched {g}x{m}x{k}x{n}", g * one.ops, "int8", bytes_)


# Integer operations per element of the I-BERT kernels, counted on the algorithms of lowbit.ops.ibert
# (each add, shift, compare/clamp, multiply and rounding step of the data path; per-row work such as the
# division of the softmax and the LayerNorm's Newton sqrt is spread over the row and left out).
INT_OPS_PER_ELEMENT = {
    # max, subtract, clamp, dyadic rescale (mul, round, shift), clamp, range reduction (neg, shift, shift,
    # add), polynomial ((r + b)^2 + c: add, mul, add), shift by z with rounding (3), sum, times the
    # reciprocal, rounding shift (2), saturate, narrow
    "softmax": 24,
    # clip (2), dyadic rescale (3), abs, min, subtract, square, subtract, sign, rounding shift (2),
    # sign multiply, add one, multiply by x
    "gelu": 17,
    # shift in, sum, subtract mean, square, sum, times 1 / std, rounding shift (2), gamma (mul, add beta),
    # rounding shift (2), clip (2), narrow
    "layernorm": 15,
    # requantize: multiply-high, rounding shift (2), add zero point, clamp (2), narrow
    "requantize": 7,
}


def elementwise_cost(
    name: str, elements: int, in_bytes: float, out_bytes: float, ops_per_element: float, limits: Limits,
    kind: str = "int32", passes: int = 1, home: str | None = None,
) -> Cost:  # fmt: skip
    """An elementwise or row-wise operator (integer softmax, GELU, LayerNorm, requantize; float ones).

    Operations: elements x ops_per_element of ``kind`` (kind "int32": integer operations per SIMD lane,
    against the probe's int32 vector add rate, the fastest vector integer operation, so an upper bound;
    see INT_OPS_PER_ELEMENT). Bytes: every element read once and written once (in_bytes + out_bytes)
    from the level the tensors sit in; a row-wise op that makes ``passes`` sweeps over a row (softmax:
    max, exp-and-sum, normalise) re-reads it from L1, where a row fits.
    """
    expect(isinstance(elements, int) and elements >= 1, "elements", "a positive int", elements)
    ins, outs = elements * in_bytes, elements * out_bytes
    l1 = ins * passes + outs
    return Cost(name, float(elements) * ops_per_element, kind, _streamed(limits, l1, [(ins, 1)], outs, home))
