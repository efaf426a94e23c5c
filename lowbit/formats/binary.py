"""Binary codes: real = alpha * (+1 or -1), one alpha per block (XNOR-Net, Rastegari et al. 2016).

Codes: 1 means +1, 0 means -1; an element equal to zero gets +1 (sign(0) is taken as +1, so every
element has a code and the rounding rule is one comparison, x >= 0).

Fitting: for fixed signs b = sign(x), the L2-optimal scale is alpha = <x, b> / <b, b> = mean |x|
(weighted by ``sample_weight`` when given: alpha = sum w|x| / sum w). Options: none besides
``sample_weight``.

Bound: |x - dequant(q)| = | |x| - alpha |, at most max(alpha, max|x| - alpha) in the block.
"""

from __future__ import annotations

from typing import Any

import torch

from lowbit.formats.base import register
from lowbit.formats.levels import block_weights, weighted_mean


def binary_alpha(blocks: torch.Tensor, sample_weight: torch.Tensor | None = None) -> torch.Tensor:
    """The least-squares scale of sign(blocks) per block, [B] float32."""
    return weighted_mean(blocks.abs(), block_weights(blocks, sample_weight)).to(torch.float32)


class BinaryFormat:
    name = "binary"
    kind = "binary"
    bits = (1,)
    description = "+-alpha per block, alpha = mean|x| (XNOR-Net binary weights)"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        return 0, 1

    def fit(self, blocks, bits, sample_weight=None, **_):
        return {"alpha": binary_alpha(blocks, sample_weight)}

    def encode(self, blocks, params, bits, **_):
        return (blocks >= 0).to(torch.int64)

    def decode(self, codes, params, bits, **_):
        return (2 * codes - 1).to(torch.float32) * params["alpha"][:, None]


register(BinaryFormat())
