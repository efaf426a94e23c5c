"""Logarithmic number system (row ``lns``), as in LNS-Madam (Zhao et al., 2021): value = scale * sign *
2^(-e / gamma), gamma = 2^frac_bits, so the exponent has ``frac_bits`` fractional bits.

Codes are signed and monotone, as pot's (pot is lns with frac_bits = 0 and linear rounding): c in
[-M, M], M = 2^(bits-1) - 1; c = 0 is exact zero (the one exponent code reserved for it) and
|c| = M - e otherwise, e in 0..M-1. The largest magnitude is ``scale`` (the block's absmax).
Options: ``frac_bits`` (default 0 for bits <= 3, 1 for 4, 2 for 5-6, 3 for 7-8: the least NRMSE on
Gaussian data at each width; at 3 bits gamma = 2 leaves so little range that NRMSE doubles),
``observer`` (as int.py).
Rounding: nearest non-zero level in the log domain, e = round_half_even(-gamma * log2(|x| / scale))
clamped to 0..M-1 (|x| above scale saturates); but |x| <= half the smallest level becomes zero. Zero is
at -inf in the log domain, so the choice between it and the smallest level is made in the linear
domain, where the midpoint is the MSE-best threshold (FQ-ViT-style "round past the last level" zeroing
measured 10-40% worse NRMSE on Gaussian data at 3-5 bits).
Bound: for scale * 2^(-(M-1)/gamma) <= |x| <= scale, |x| / |dequant(q)| lies in
[2^(-1/(2 gamma)), 2^(1/(2 gamma))].
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from lowbit.errors import expect
from lowbit.formats.base import register
from lowbit.formats.pot import pot_max_code, signed_magnitude_codes
from lowbit.formats.table import absmax_scale, lookup


def default_frac_bits(bits: int) -> int:
    return 0 if bits <= 3 else (1 if bits == 4 else (2 if bits <= 6 else 3))


def frac_bits_of(bits: int, frac_bits: int | None) -> int:
    if frac_bits is None:
        return default_frac_bits(bits)
    expect(
        isinstance(frac_bits, int) and not isinstance(frac_bits, bool) and 0 <= frac_bits <= 8,
        "frac_bits",
        "an int in 0..8 or None",
        frac_bits,
    )
    return frac_bits


@cache
def lns_magnitudes(bits: int, frac_bits: int) -> torch.Tensor:
    """Ascending normalised magnitudes, index = |code|: 0, then 2^(-e/gamma) for e = M-1 .. 0."""
    m, gamma = pot_max_code(bits), 1 << frac_bits
    return torch.tensor([0.0] + [2.0 ** (-(m - i) / gamma) for i in range(1, m + 1)], dtype=torch.float64)


@cache
def lns_table(bits: int, frac_bits: int) -> torch.Tensor:
    mags = lns_magnitudes(bits, frac_bits)
    return torch.cat([-mags[1:].flip(0), mags])


class LnsFormat:
    name = "lns"
    kind = "log"
    bits = (2, 3, 4, 5, 6, 7, 8)
    description = "logarithmic number system scale*±2^(-e/2^frac_bits) plus zero, log-domain rounding"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        m = pot_max_code(bits)
        return -m, m

    def fit(self, blocks, bits, frac_bits=None, observer="minmax", **_):
        frac_bits_of(bits, frac_bits)
        return {"scale": absmax_scale(blocks, observer, bits)}

    def encode(self, blocks, params, bits, frac_bits=None, **_):
        gamma = 1 << frac_bits_of(bits, frac_bits)
        m = pot_max_code(bits)
        y = blocks.abs().to(torch.float64) / params["scale"].to(torch.float64)[:, None]
        e = torch.clamp(torch.round(-gamma * torch.log2(y)), min=0.0, max=m - 1)
        # Zero sits at -inf in the log domain, so the zero-or-smallest choice is made linearly (MSE-best).
        smallest = lns_magnitudes(bits, frac_bits_of(bits, frac_bits))[1]
        idx = torch.where(y <= smallest / 2, torch.zeros_like(e), m - e).to(torch.int64)
        return signed_magnitude_codes(blocks, idx)

    def decode(self, codes, params, bits, frac_bits=None, **_):
        f = frac_bits_of(bits, frac_bits)
        return lookup(codes, lns_table(bits, f), -pot_max_code(bits), params["scale"])


register(LnsFormat())
