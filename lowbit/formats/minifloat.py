"""Small floating-point codes (row ``float``): sign, ``exp_bits`` exponent bits, ``man_bits`` mantissa bits.

The code is the bit pattern (0 .. 2^bits - 1: sign bit on top, then exponent, then mantissa), so packing
stores the float itself. Exponent bias 2^(exp_bits-1) - 1; exponent field 0 holds the subnormals
(0.f * 2^(1-bias)), others 1.f * 2^(e-bias). Special values follow the OCP specs where one exists:

- E4M3 (OCP FP8): no infinities; only S.1111.111 is NaN, so the largest value is 448;
- E5M2 (OCP FP8): IEEE-like, exponent field all ones is inf/NaN, largest value 57344;
- every other split (OCP MX FP6 E3M2/E2M3, FP4 E2M1, and the rest): all patterns finite.

Options: ``exp_bits``, ``man_bits`` (defaults by bits: 2 E1M0, 3 E2M0, 4 E2M1, 5 E2M2, 6 E3M2, 7 E3M3,
8 E4M3; 1 + exp_bits + man_bits must equal bits), ``observer`` (as int.py; scale = absmax of the observed
range / largest finite value).
Rounding: round to nearest, ties to even mantissa, onto the grid of x / scale; beyond the largest finite
value saturates (never inf or NaN). -0 is never emitted.
Bound: inside [-scale * max, scale * max], |x - dequant(q)| <= scale * 2^(E(x) - man_bits - 1) with
E(x) = max(floor(log2|x / scale|), 1 - bias): half a unit in the last place.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import torch

from lowbit.errors import expect
from lowbit.formats.base import register
from lowbit.formats.table import TINY, absmax_scale, lookup, nearest_index

DEFAULT_SPLIT = {2: (1, 0), 3: (2, 0), 4: (2, 1), 5: (2, 2), 6: (3, 2), 7: (3, 3), 8: (4, 3)}


def split(bits: int, exp_bits: int | None = None, man_bits: int | None = None) -> tuple[int, int]:
    """(exp_bits, man_bits) for ``bits``: the defaults, or the options (one of them fixes the other)."""
    if exp_bits is None and man_bits is None:
        return DEFAULT_SPLIT[bits]
    for name, v in (("exp_bits", exp_bits), ("man_bits", man_bits)):
        expect(v is None or (isinstance(v, int) and not isinstance(v, bool)), name, "an int or None", v)
    e = bits - 1 - man_bits if exp_bits is None else exp_bits
    m = bits - 1 - exp_bits if man_bits is None else man_bits
    expect(e >= 1, "exp_bits", "an int >= 1", e)
    expect(m >= 0, "man_bits", "an int >= 0", m)
    expect(1 + e + m == bits, "exp_bits", f"1 + exp_bits + man_bits == bits ({bits})", f"E{e}M{m}")
    return e, m


def pattern_value(p: int, e: int, m: int) -> float:
    """Value of a magnitude pattern (no sign bit) of an EeMm float, with the specials described above."""
    ef, mf = p >> m, p & ((1 << m) - 1)
    bias = (1 << (e - 1)) - 1
    top = (1 << e) - 1
    if (e, m) == (4, 3) and ef == top and mf == (1 << m) - 1:
        return math.nan
    if (e, m) == (5, 2) and ef == top:
        return math.inf if mf == 0 else math.nan
    if ef == 0:
        return mf / (1 << m) * 2.0 ** (1 - bias)
    return (1 + mf / (1 << m)) * 2.0 ** (ef - bias)


@cache
def finite_magnitudes(e: int, m: int) -> torch.Tensor:
    """Finite non-negative values by pattern; the specials sit above them, so this is a prefix."""
    vals = [pattern_value(p, e, m) for p in range(1 << (e + m))]
    return torch.tensor([v for v in vals if math.isfinite(v)], dtype=torch.float64)


@cache
def float_table(e: int, m: int) -> torch.Tensor:
    mags = torch.tensor([pattern_value(p, e, m) for p in range(1 << (e + m))], dtype=torch.float64)
    return torch.cat([mags, -mags])


def max_finite(e: int, m: int) -> float:
    return float(finite_magnitudes(e, m)[-1])


def round_to_grid(a: torch.Tensor, e: int, m: int) -> torch.Tensor:
    """Round non-negative float64 a to the EeMm grid: nearest, ties to even mantissa, saturating."""
    emin = 2 - (1 << (e - 1))
    _, ex = torch.frexp(a)
    # frexp gives a = f * 2^ex with f in [0.5, 1): the binade is ex - 1; subnormals share emin's quantum.
    quantum = torch.ldexp(torch.ones_like(a), torch.clamp(ex - 1, min=emin) - m)
    return torch.clamp(torch.round(a / quantum) * quantum, max=max_finite(e, m))


class FloatFormat:
    name = "float"
    kind = "float"
    bits = (2, 3, 4, 5, 6, 7, 8)
    description = "minifloats EeMm with subnormals (FP8 E4M3/E5M2 per OCP, FP6, FP4 E2M1), code = bit pattern"

    def code_range(self, bits: int, exp_bits=None, man_bits=None, **_: Any) -> tuple[int, int]:
        split(bits, exp_bits, man_bits)
        return 0, (1 << bits) - 1

    def fit(self, blocks, bits, exp_bits=None, man_bits=None, observer="minmax", **_):
        e, m = split(bits, exp_bits, man_bits)
        return {"scale": torch.clamp(absmax_scale(blocks, observer, bits) / max_finite(e, m), min=TINY)}

    def encode(self, blocks, params, bits, exp_bits=None, man_bits=None, **_):
        e, m = split(bits, exp_bits, man_bits)
        y = blocks.to(torch.float64) / params["scale"].to(torch.float64)[:, None]
        r = round_to_grid(y.abs(), e, m)
        # r is on the grid, so the nearest finite magnitude is r itself: its index is the pattern.
        idx = nearest_index(r, finite_magnitudes(e, m))
        return idx | (((y < 0) & (idx > 0)).to(torch.int64) << (bits - 1))

    def decode(self, codes, params, bits, exp_bits=None, man_bits=None, **_):
        e, m = split(bits, exp_bits, man_bits)
        return lookup(codes, float_table(e, m), 0, params["scale"])


register(FloatFormat())
