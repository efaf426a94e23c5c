"""Formats whose levels are a short explicit table (pot, log2, flint, float, lns): shared lookups.

Such a format keeps, for each code, its normalised value (the level for scale = 1) in a float64 table.
Decoding multiplies the float32 scale by the level in float64 and rounds once to float32. For the
dyadic levels (pot, log2, flint, float: at most 8 significant bits) the float64 product is exact, so the
result is the float32 nearest to scale * level at any magnitude (2^-254 included, where a float32 level
would have flushed to zero); lns levels are irrational and already rounded to float64.
"""

from __future__ import annotations

import torch

from lowbit.errors import LowbitError
from lowbit.formats.int import TINY  # noqa: F401  (re-exported for the table formats)


def nearest_index(y: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Index of the level nearest to each y (``levels`` ascending, float64); ties go to the lower level.

    Midpoints and comparisons are in float64, where the float32 inputs and the midpoints of these
    tables are exact, so the only rounding is the caller's y = x / scale.
    """
    mid = (levels[1:] + levels[:-1]) / 2
    return torch.searchsorted(mid, y.to(torch.float64).contiguous())


def lookup(codes: torch.Tensor, table: torch.Tensor, qmin: int, scale: torch.Tensor) -> torch.Tensor:
    """scale * table[code - qmin] per block, rounded once to float32."""
    return (table[codes - qmin] * scale.to(torch.float64)[:, None]).to(torch.float32)


def absmax_scale(blocks: torch.Tensor, observer, bits: int, signed: bool = True) -> torch.Tensor:
    """Per-block absmax of the observed range (as int.py fits symmetric ranges), floored at TINY."""
    from lowbit.calibrate import observe

    lo, hi = observe(observer, blocks, bits=bits, signed=signed, symmetric=True)
    amax = torch.maximum(
        -torch.clamp(lo.to(torch.float32), max=0.0), torch.clamp(hi.to(torch.float32), min=0.0)
    )
    return torch.clamp(amax, min=TINY)


def check_bits_range(bits: int, lo: int, hi: int, fmt: str) -> None:
    """For callers that reach a format's functions without the driver's check."""
    if not (isinstance(bits, int) and lo <= bits <= hi):
        raise LowbitError(f"bits: expected an int in {lo}..{hi} for format {fmt!r}, got {bits}")
