"""ANT's flint type (Guo et al., "ANT: Exploiting Adaptive Numerical Data Type for Low-bit DNN
Quantization", MICRO 2022): int-like steps near zero, float-like (few mantissa bits, growing exponent)
toward the largest values.

An n-bit flint magnitude pattern p decodes as follows (first-one exponent encoding):

- top bit 0: the plain integer p (0 .. 2^(n-1) - 1), uniform steps;
- top bit 1: let k be the count of leading ones (1..n). For k < n, a 0 follows them and the remaining
  m = n - 1 - k bits are a mantissa f: value 2^(n-2+k) * (1 + f / 2^m). All ones (k = n): 2^(2n-2).

Patterns are monotone in value, so the code is the pattern. For n = 4 the 16 values are
0 1 2 3 4 5 6 7 | 8 10 12 14 | 16 24 | 32 | 64, i.e. divided by the largest (64, so that scale is the
block's absmax): 0, 1/64, ..., 7/64, 1/8, 5/32, 3/16, 7/32, 1/4, 3/8, 1/2, 1. This is the grid that
``Quantizer.flint_value`` builds in clevercool/ANT-Quantization (``ant_quantization/antquant/
quant_modules.py``) up to its arbitrary normalisation: 0, 1/8 .. 7/8 in steps of 1/8, 1, 1.25, 1.5,
1.75, 2, 3, 4, 8.

Options: ``signed`` (default True: a sign bit above an (bits-1)-bit magnitude, as ANT's signed flint;
the code with only the sign bit set, -0, is never emitted and decodes to 0), ``observer`` (as int.py;
the scale is the absmax of the observed range). Unsigned flint maps negative inputs to 0, their nearest
level. Rounding: nearest level in the linear domain, ties to the smaller magnitude; beyond ±scale
saturates. Bound: inside [-scale, scale], |x - dequant(q)| <= half the gap between the two levels
around |x|, which is scale * 2^-(2n-2) / 2 near zero and scale / 4 at the top (between 1/2 and 1).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from lowbit.formats.base import register
from lowbit.formats.table import absmax_scale, lookup, nearest_index


def magnitude_bits(bits: int, signed: bool) -> int:
    return bits - 1 if signed else bits


def flint_value(pattern: int, n: int) -> int:
    """Integer value of an n-bit flint magnitude pattern (before normalising by 2^(2n-2))."""
    if pattern < (1 << (n - 1)):
        return pattern
    k = 0
    while k < n and pattern & (1 << (n - 1 - k)):
        k += 1
    if k == n:
        return 1 << (2 * n - 2)
    m = n - 1 - k
    return (1 << (n - 2 + k)) + ((pattern & ((1 << m) - 1)) << (n - 2 + k - m))


@cache
def flint_magnitudes(n: int) -> torch.Tensor:
    """Normalised magnitudes by pattern 0..2^n - 1 (ascending; the last is 1)."""
    top = float(1 << (2 * n - 2))
    return torch.tensor([flint_value(p, n) / top for p in range(1 << n)], dtype=torch.float64)


@cache
def flint_table(bits: int, signed: bool) -> torch.Tensor:
    """Normalised value per code (= bit pattern)."""
    mags = flint_magnitudes(magnitude_bits(bits, signed))
    return torch.cat([mags, -mags]) if signed else mags


class FlintFormat:
    name = "flint"
    kind = "adaptive"
    bits = (3, 4, 5, 6, 7, 8)
    description = "ANT flint: int-like near zero, float-like at large values, first-one exponent encoding"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        return 0, (1 << bits) - 1

    def fit(self, blocks, bits, signed=True, observer="minmax", **_):
        return {"scale": absmax_scale(blocks, observer, bits, signed=signed)}

    def encode(self, blocks, params, bits, signed=True, **_):
        n = magnitude_bits(bits, signed)
        y = blocks / params["scale"][:, None]
        if not signed:
            return nearest_index(torch.clamp(y, min=0.0), flint_magnitudes(n))
        idx = nearest_index(y.abs(), flint_magnitudes(n))
        # Only a non-zero magnitude takes the sign bit, so zero has the one code 0.
        return idx | (((y < 0) & (idx > 0)).to(torch.int64) << n)

    def decode(self, codes, params, bits, signed=True, **_):
        return lookup(codes, flint_table(bits, signed), 0, params["scale"])


register(FlintFormat())
