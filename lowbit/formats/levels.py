"""Helpers shared by the formats whose codes index a per-block list of levels (codebook, nf, bcq, ...).

- ``nearest_level(x, levels)``: index of the nearest level, exactly (ties to the lower neighbour), in
  O(L log K) per block instead of an [B, L, K] distance table.
- ``block_weights(blocks, sample_weight)``: the per-element fitting weights, or None for uniform ones.
"""

from __future__ import annotations

import torch

from lowbit.errors import LowbitError, expect


def nearest_level(x: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Index (int64, shape of x) of the level nearest to each element of x.

    x is [B, L]; levels is [B, K] (or [K], shared), sorted ascending per row. The result is exact for
    the float32 distances |x - level|: the midpoint search can be off by one position where a midpoint
    rounds, so the two neighbours are checked too.
    """
    if levels.ndim == 1:
        levels = levels.expand(x.shape[0], -1)
    k = levels.shape[1]
    if k == 1:
        return torch.zeros(x.shape, dtype=torch.int64)
    mids = (levels[:, :-1] + levels[:, 1:]) / 2
    idx = torch.searchsorted(mids.contiguous(), x.contiguous())
    # Candidates idx-1, idx, idx+1 in ascending order; only a strictly nearer one replaces the best, so
    # ties keep the lower index. Pairwise [B, L] temporaries keep memory at a few copies of x.
    best = (idx - 1).clamp(0, k - 1)
    best_d = (x - levels.gather(1, best)).abs()
    for off in (0, 1):
        cand = (idx + off).clamp(0, k - 1)
        d = (x - levels.gather(1, cand)).abs()
        nearer = d < best_d
        best = torch.where(nearer, cand, best)
        best_d = torch.where(nearer, d, best_d)
    return best


def block_weights(blocks: torch.Tensor, sample_weight: torch.Tensor | None) -> torch.Tensor | None:
    """Fitting weights for ``blocks`` (float32, same shape), or None when fitting is unweighted.

    A block whose weights are all zero says nothing about which elements matter, so it falls back to
    uniform weights rather than to an undefined fit.
    """
    if sample_weight is None:
        return None
    w = sample_weight
    expect(isinstance(w, torch.Tensor), "sample_weight", "a torch.Tensor", type(w).__name__)
    expect(w.shape == blocks.shape, "sample_weight", f"shape {tuple(blocks.shape)}", tuple(w.shape))
    w = w.to(torch.float32)
    if not torch.isfinite(w).all():
        raise LowbitError("sample_weight: expected finite values, got NaN or Inf")
    expect(bool((w >= 0).all()), "sample_weight", "non-negative weights")
    empty = w.sum(1, keepdim=True) <= 0
    return torch.where(empty, torch.ones_like(w), w)


def weighted_mean(v: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """Per-block (row) mean of v [B, L], weighted by w when given."""
    if w is None:
        return v.mean(1)
    return (w * v).sum(1) / w.sum(1)
