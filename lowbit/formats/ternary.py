"""Ternary codes: real = alpha * t, t in {-1, 0, +1}, one alpha per block (TWN, Li & Liu 2016).

Fitting (TWN's approximate solution): threshold delta = threshold_ratio * mean|x| (default ratio 0.7),
alpha = mean |x| over the elements with |x| > delta. With ``sample_weight`` both means are weighted.
If no element (of non-zero weight) exceeds delta, alpha = 0 and the block decodes to zeros.

Rounding: t is the nearest of {-alpha, 0, +alpha} to x, i.e. t = sign(x) where |x| > alpha / 2, else 0.
This deviates from TWN, which reuses delta as the rounding threshold: codes then depend on params only
(alpha), and for the fitted alpha the nearest level never has a larger error than thresholding at delta.

Codes: -1, 0, +1 (code_range (-1, 1)), stored in 2 bits.
Bound: |x - dequant(q)| <= alpha / 2 for |x| <= 3 alpha / 2.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lowbit.errors import expect
from lowbit.formats.base import register
from lowbit.formats.levels import block_weights

DEFAULT_THRESHOLD_RATIO = 0.7


def ternary_alpha(
    blocks: torch.Tensor,
    threshold_ratio: float = DEFAULT_THRESHOLD_RATIO,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """TWN's scale per block, [B] float32."""
    expect(
        isinstance(threshold_ratio, (int, float))
        and not isinstance(threshold_ratio, bool)
        and math.isfinite(threshold_ratio)
        and threshold_ratio >= 0,
        "threshold_ratio",
        "a finite number >= 0",
        threshold_ratio,
    )
    w = block_weights(blocks, sample_weight)
    w = torch.ones_like(blocks) if w is None else w
    a = blocks.abs()
    delta = threshold_ratio * (w * a).sum(1, keepdim=True) / w.sum(1, keepdim=True)
    wm = w * (a > delta)
    den = wm.sum(1)
    return torch.where(den > 0, (wm * a).sum(1) / den.clamp(min=torch.finfo(torch.float32).tiny), 0.0)


class TernaryFormat:
    name = "ternary"
    kind = "ternary"
    bits = (2,)
    description = "{-1, 0, +1} * alpha per block, threshold 0.7 mean|x| (Ternary Weight Networks)"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        return -1, 1

    def fit(self, blocks, bits, threshold_ratio=DEFAULT_THRESHOLD_RATIO, sample_weight=None, **_):
        return {"alpha": ternary_alpha(blocks, threshold_ratio, sample_weight)}

    def encode(self, blocks, params, bits, **_):
        half = params["alpha"][:, None] / 2
        return torch.where(blocks.abs() > half, torch.sign(blocks), 0.0).to(torch.int64)

    def decode(self, codes, params, bits, **_):
        return codes.to(torch.float32) * params["alpha"][:, None]


register(TernaryFormat())
