"""A per-block histogram of |x| accumulated over batches, read out over [0, max|x|] with ``n_bins`` bins.

Stored: ``n_bins * oversample`` fine bins over [0, range]. The first batch sets ``range`` to its largest
|x|, as a one-shot histogram would. When a later batch goes past it, the range is doubled ``k`` times (the
least k that covers the batch) and every 2^k adjacent fine bins merge into one, which moves no count across
a bin edge. ``coarse()`` then re-bins onto ``n_bins`` bins over [0, max|x| seen] by interpolating the
cumulative counts linearly inside fine bins (PyTorch's HistogramObserver spreads counts the same way).

Error against a one-shot histogram of all the data: none after one batch (the edges coincide); after
growth, only counts inside the fine bins cut by a coarse edge are split evenly, and a fine bin is at most
``2 / oversample`` of a coarse one wide (the range stays below twice the max).

Exact zeros are counted apart (``zeros``): they quantize exactly on any symmetric grid, and after a ReLU
they would otherwise swamp the first bin.
"""

from __future__ import annotations

import math

import torch


class AbsHistogram:
    def __init__(self, n_bins: int = 2048, oversample: int = 16) -> None:
        self.n_bins, self.oversample = n_bins, oversample
        self.n_fine = n_bins * oversample
        if self.n_fine & (self.n_fine - 1):
            raise ValueError("n_bins * oversample must be a power of two")  # internal: callers validate
        self.counts: torch.Tensor | None = None  # [n_blocks, n_fine] float64
        self.range: torch.Tensor | None = None  # [n_blocks] float64, the upper edge of the last fine bin
        self.amax: torch.Tensor | None = None  # [n_blocks] float64, the largest |x| seen
        self.zeros: torch.Tensor | None = None

    def add(self, blocks: torch.Tensor) -> None:
        a = blocks.abs().to(torch.float64)
        amax = a.amax(dim=1)
        if self.counts is None:
            n = blocks.shape[0]
            self.counts = torch.zeros(n, self.n_fine, dtype=torch.float64, device=blocks.device)
            self.range = amax.clone()
            self.amax = amax.clone()
            self.zeros = torch.zeros(n, dtype=torch.float64, device=blocks.device)
        self._grow(amax)
        self.amax = torch.maximum(self.amax, amax)
        nonzero = a > 0
        self.zeros += (~nonzero).sum(dim=1).to(torch.float64)
        width = torch.where(self.range > 0, self.range / self.n_fine, torch.ones_like(self.range))
        idx = torch.clamp((a / width[:, None]).floor().to(torch.int64), max=self.n_fine - 1)
        flat = (idx + torch.arange(a.shape[0], device=a.device)[:, None] * self.n_fine)[nonzero]
        self.counts += torch.bincount(flat, minlength=self.counts.numel()).reshape(self.counts.shape)

    def _grow(self, amax: torch.Tensor) -> None:
        empty = self.range <= 0
        self.range = torch.where(empty, amax, self.range)
        over = (amax > self.range) & ~empty
        if not bool(over.any()):
            return
        ratio = (amax[over] / self.range[over]).tolist()
        rows = over.nonzero().flatten().tolist()
        for row, r in zip(rows, ratio, strict=True):
            k = max(1, math.ceil(math.log2(r)))
            while self.range[row] * 2**k < amax[row]:  # guard against log2 rounding down
                k += 1
            group = min(2**k, self.n_fine)
            merged = self.counts[row].reshape(-1, group).sum(dim=1)
            self.counts[row].zero_()
            self.counts[row, : merged.numel()] = merged
            self.range[row] = self.range[row] * 2**k

    def coarse(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(counts [n_blocks, n_bins], bin width [n_blocks]) over [0, max|x|]."""
        fine_w = torch.where(self.range > 0, self.range / self.n_fine, torch.ones_like(self.range))
        width = self.amax / self.n_bins
        cum = torch.nn.functional.pad(self.counts.cumsum(dim=1), (1, 0))
        k = torch.arange(self.n_bins + 1, dtype=torch.float64, device=self.counts.device)
        pos = (k[None, :] * width[:, None] / fine_w[:, None]).clamp(max=self.n_fine)
        # The last edge is max|x| itself: everything was counted below it.
        pos[:, -1] = self.n_fine
        j = pos.floor().to(torch.int64).clamp(max=self.n_fine - 1)
        frac = pos - j
        edge = cum.gather(1, j) + frac * self.counts.gather(1, j)
        return edge.diff(dim=1).clamp(min=0), width
