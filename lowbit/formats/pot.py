"""Power-of-two levels: ``pot`` (signed, ANT's pot type) and ``log2`` (FQ-ViT's unsigned attention codes).

``pot``: value = scale * sign * 2^-e, e in 0..M-1 with M = 2^(bits-1) - 1, plus exact zero. Codes are
signed and monotone, like int codes: c in [-M, M], c = 0 is zero (the one exponent code reserved for it)
and |c| = M - e otherwise, so the largest magnitude (code ±M) is ``scale`` itself. 2M + 1 = 2^bits - 1
codes, so they pack in ``bits``. This is the grid of ANT's ``pot_value`` (Guo et al., MICRO 2022,
clevercool/ANT-Quantization ``antquant/quant_modules.py``): zero and ±2^i, i in 0..2^(bits-1)-2.
Options: ``observer`` (as int.py; the scale is the absmax of the observed range).
Rounding: nearest level in the linear domain; ties go to the smaller magnitude; beyond ±scale saturates.
Bound: for scale * 2^-(M-1) <= |x| <= scale, |x - dequant(q)| <= |x| / 3 (worst at 0.75 * 2^-e);
below the smallest level the error is at most half of it.

``log2``: FQ-ViT's Log-Int-Softmax storage (Lin et al., arXiv 2111.13824): code k in 0..K-1 means
scale * 2^-k, K = 2^bits - 1, and the largest code K means exact zero. Rounding is in the log domain as
FQ-ViT does it: k = round_half_even(-log2(x / scale)), clamped below at 0 (x above scale saturates);
values whose k lands beyond K - 1 become zero. (FQ-ViT itself keeps 2^-(2^bits - 1) as a level and
zeroes only k >= 2^bits, which needs one state more than ``bits`` hold; here the last code is zero.)
Inputs must be non-negative (probabilities). Options: ``scale`` (default 1.0, right for probabilities;
None fits it per block from the absmax of the observed range), ``observer`` (used when scale is None).
Bound: for scale * 2^-(K-1) <= x <= scale, x / dequant(q) lies in [2^-1/2, 2^1/2].
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import torch

from lowbit.errors import LowbitError, expect
from lowbit.formats.base import register
from lowbit.formats.table import TINY, absmax_scale, lookup, nearest_index


def pot_max_code(bits: int) -> int:
    return (1 << (bits - 1)) - 1


@cache
def pot_magnitudes(bits: int) -> torch.Tensor:
    """Ascending normalised magnitudes, index = |code|: 0, 2^-(M-1), ..., 2^-1, 1."""
    m = pot_max_code(bits)
    return torch.tensor([0.0] + [2.0 ** -(m - i) for i in range(1, m + 1)], dtype=torch.float64)


@cache
def pot_table(bits: int) -> torch.Tensor:
    """Normalised value per code, index = code + M."""
    mags = pot_magnitudes(bits)
    return torch.cat([-mags[1:].flip(0), mags])


def signed_magnitude_codes(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.where(x < 0, -idx, idx)


class PotFormat:
    name = "pot"
    kind = "log"
    bits = (2, 3, 4, 5, 6, 7, 8)
    description = "signed powers of two scale*±2^-e plus zero, nearest in the linear domain (ANT pot)"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        m = pot_max_code(bits)
        return -m, m

    def fit(self, blocks, bits, observer="minmax", **_):
        return {"scale": absmax_scale(blocks, observer, bits)}

    def encode(self, blocks, params, bits, **_):
        y = blocks.abs() / params["scale"][:, None]
        return signed_magnitude_codes(blocks, nearest_index(y, pot_magnitudes(bits)))

    def decode(self, codes, params, bits, **_):
        return lookup(codes, pot_table(bits), -pot_max_code(bits), params["scale"])


def log2_zero_code(bits: int) -> int:
    return (1 << bits) - 1


@cache
def log2_table(bits: int) -> torch.Tensor:
    z = log2_zero_code(bits)
    return torch.tensor([2.0**-k for k in range(z)] + [0.0], dtype=torch.float64)


def _check_nonnegative(blocks: torch.Tensor) -> None:
    if bool((blocks < 0).any()):
        raise LowbitError(f"x: expected non-negative values for format 'log2', got min {float(blocks.min())}")


class Log2Format:
    name = "log2"
    kind = "log"
    bits = (1, 2, 3, 4, 5, 6, 7, 8)
    description = "unsigned scale*2^-k, last code = 0, log-domain rounding (FQ-ViT Log-Int-Softmax)"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        return 0, log2_zero_code(bits)

    def fit(self, blocks, bits, scale=1.0, observer="minmax", **_):
        _check_nonnegative(blocks)
        n = blocks.shape[0]
        if scale is None:
            return {"scale": absmax_scale(blocks, observer, bits, signed=False)}
        expect(
            isinstance(scale, (int, float))
            and not isinstance(scale, bool)
            and math.isfinite(scale)
            and scale > 0,
            "scale",
            "a positive finite number or None",
            scale,
        )
        return {"scale": torch.full((n,), float(scale), dtype=torch.float32).clamp(min=TINY)}

    def encode(self, blocks, params, bits, **_):
        _check_nonnegative(blocks)
        z = log2_zero_code(bits)
        y = blocks.to(torch.float64) / params["scale"].to(torch.float64)[:, None]
        # log2(0) = -inf gives k = +inf, which lands on the zero code with the other underflows.
        k = torch.clamp(torch.round(-torch.log2(y)), min=0.0)
        return torch.where(k > z - 1, torch.full_like(k, z), k).to(torch.int64)

    def decode(self, codes, params, bits, **_):
        return lookup(codes, log2_table(bits), 0, params["scale"])


register(PotFormat())
register(Log2Format())
