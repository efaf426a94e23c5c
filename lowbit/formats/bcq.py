"""Binary-coding quantization: real = sum_j alpha_j * b_j, b_j in {-1, +1}, j < q = bits (nuQmm, Xu et al.).

Each block has q scales alpha (params["alpha"]: [B, q], all >= 0). The code of an element is a q-bit
unsigned integer whose bit j is 1 when b_j = +1 (code_range (0, 2^q - 1)), so plane j of the codes is the
j-th bit-plane a binary (xnor/popcount or lookup-table) kernel reads.

Fitting (optionally weighted by ``sample_weight``):
- greedy: residual r = x; for each plane, b_j = sign(r) (sign(0) = +1), alpha_j = mean|r|, r -= alpha_j b_j.
- alternating refinement (option ``iters``, default 10): signs = the best of the 2^q patterns for each
  element given the alphas (its nearest pattern value), then alphas = least squares given the signs (the
  q x q normal equations of all blocks solved as one batch). A block keeps new alphas only if their MSE is
  not larger, so refinement never increases the error; it stops early once no sign changes.
- last, alpha_j -> |alpha_j|: the set of pattern values is the same (plane j flips), in conventional form.

Rounding: the nearest pattern value sum_j alpha_j b_j (ties to the pattern with the lower value).
For q = 1 this is the binary format (alpha = mean|x|).
"""

from __future__ import annotations

from typing import Any

import torch

from lowbit.errors import expect
from lowbit.formats.base import register
from lowbit.formats.levels import block_weights, nearest_level, weighted_mean

DEFAULT_ITERS = 10


def _planes(q: int) -> torch.Tensor:
    """[2^q, q] float32: row p holds the signs (+-1) of pattern p (bit j set -> +1)."""
    p = torch.arange(1 << q)[:, None]
    return (((p >> torch.arange(q)) & 1) * 2 - 1).to(torch.float32)


def pattern_values(alpha: torch.Tensor) -> torch.Tensor:
    """[B, 2^q]: the value of every sign pattern per block, indexed by code."""
    return alpha @ _planes(alpha.shape[1]).T


def bcq_encode(blocks: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Codes of the nearest pattern value per element, [B, L] int64."""
    values, order = pattern_values(alpha).sort(dim=1, stable=True)
    return order.gather(1, nearest_level(blocks, values))


def bcq_decode(codes: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return pattern_values(alpha).gather(1, codes)


def _mse(
    blocks: torch.Tensor, w: torch.Tensor | None, alpha: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    codes = bcq_encode(blocks, alpha)
    err = blocks - bcq_decode(codes, alpha)
    return codes, weighted_mean((err * err).to(torch.float64), w)


def _least_squares(blocks: torch.Tensor, w: torch.Tensor | None, codes: torch.Tensor, q: int) -> torch.Tensor:
    # Per pair of planes rather than an [B, L, q] design matrix: memory stays a few copies of x. Products
    # with +-1 are exact in float32; the sums run in float64.
    signs = [((codes >> j) & 1).to(torch.float32) * 2 - 1 for j in range(q)]
    wx = blocks if w is None else w * blocks
    gram = torch.empty(blocks.shape[0], q, q, dtype=torch.float64)
    rhs = torch.empty(blocks.shape[0], q, 1, dtype=torch.float64)
    for i in range(q):
        rhs[:, i, 0] = (signs[i] * wx).sum(1, dtype=torch.float64)
        gram[:, i, i] = blocks.shape[1] if w is None else w.sum(1, dtype=torch.float64)
        for j in range(i + 1, q):
            sij = signs[i] * signs[j]
            gram[:, i, j] = gram[:, j, i] = (sij if w is None else w * sij).sum(1, dtype=torch.float64)
    # lstsq copes with identical planes (a singular Gram matrix); the MSE guard catches what it cannot.
    return torch.linalg.lstsq(gram, rhs).solution[..., 0].to(torch.float32)


def bcq_alpha(
    blocks: torch.Tensor, q: int, sample_weight: torch.Tensor | None = None, iters: int = DEFAULT_ITERS
) -> torch.Tensor:
    """Fitted scales [B, q] (>= 0) for q bit-planes."""
    expect(
        isinstance(iters, int) and not isinstance(iters, bool) and iters >= 0, "iters", "an int >= 0", iters
    )
    w = block_weights(blocks, sample_weight)
    r = blocks.clone()
    alpha = torch.empty(blocks.shape[0], q, dtype=torch.float32)
    for j in range(q):
        a = weighted_mean(r.abs(), w)
        alpha[:, j] = a
        r -= torch.where(r >= 0, a[:, None], -a[:, None])
    codes, mse = _mse(blocks, w, alpha)
    for _ in range(iters):
        new_alpha = _least_squares(blocks, w, codes, q)
        new_codes, new_mse = _mse(blocks, w, new_alpha)
        better = new_mse <= mse
        unchanged = bool((new_codes == codes).all())
        alpha = torch.where(better[:, None], new_alpha, alpha)
        codes = torch.where(better[:, None], new_codes, codes)
        mse = torch.where(better, new_mse, mse)
        if unchanged:
            break
    return alpha.abs()


class BCQFormat:
    name = "bcq"
    kind = "binary-coding"
    bits = (1, 2, 3, 4)
    description = "sum of bits scaled +-1 planes per block, greedy then alternating least squares (nuQmm BCQ)"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        return 0, (1 << bits) - 1

    def fit(self, blocks, bits, sample_weight=None, iters=DEFAULT_ITERS, **_):
        return {"alpha": bcq_alpha(blocks, bits, sample_weight, iters)}

    def encode(self, blocks, params, bits, **_):
        return bcq_encode(blocks, params["alpha"])

    def decode(self, codes, params, bits, **_):
        return bcq_decode(codes, params["alpha"])


register(BCQFormat())
