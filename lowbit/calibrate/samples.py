"""A bounded uniform sample of the values seen, for observers whose objective needs the data itself.

Percentile, MSE and OCTAV evaluate their objective on the values, so a stateful one must keep them. Up to
``max_elements`` values (all blocks together) are kept exactly; past that, a uniform random sample of
*columns* (one value per block each) is kept by reservoir sampling, so every block keeps the same count
and a one-shot observer on a tensor under the cap sees every value.

Reservoir step: the kept sample is uniform over the ``seen`` columns so far; for a new batch of ``L``
columns the number taken from it is hypergeometric (``cap`` draws from ``seen + L`` with ``L`` marked),
the rest is a uniform subset of the kept sample. The result is again a uniform sample over all columns.
"""

from __future__ import annotations

import numpy as np
import torch

from lowbit.calibrate.base import running_extremes

DEFAULT_MAX_ELEMENTS = 1 << 24


class SampleStore:
    def __init__(self, max_elements: int = DEFAULT_MAX_ELEMENTS, seed: int = 0) -> None:
        self.max_elements = int(max_elements)
        self.rng = np.random.default_rng(seed)
        self.chunks: list[torch.Tensor] = []
        self.seen = 0

    def add(self, blocks: torch.Tensor) -> None:
        n_blocks, n_new = blocks.shape
        cap = max(1, self.max_elements // n_blocks)
        if self.seen + n_new <= cap:
            self.chunks.append(blocks)
            self.seen += n_new
            return
        kept = self.values() if self.chunks else blocks[:, :0]
        take_new = int(self.rng.hypergeometric(n_new, self.seen, cap))
        take_old = cap - take_new
        new_idx = torch.from_numpy(self.rng.choice(n_new, take_new, replace=False)).to(blocks.device)
        old_idx = torch.from_numpy(self.rng.choice(kept.shape[1], take_old, replace=False)).to(kept.device)
        self.chunks = [torch.cat([kept[:, old_idx], blocks[:, new_idx]], dim=1)]
        self.seen += n_new

    def values(self) -> torch.Tensor:
        """The kept values, ``[n_blocks, n_kept]``."""
        if len(self.chunks) > 1:
            self.chunks = [torch.cat(self.chunks, dim=1)]
        return self.chunks[0]


class SampleObserverMixin:
    """State for observers that compute on the kept values: running extremes plus a SampleStore."""

    max_elements: int
    seed: int

    def _reset(self) -> None:
        self.store = SampleStore(self.max_elements, self.seed)
        self.lo: torch.Tensor | None = None
        self.hi: torch.Tensor | None = None

    def _update(self, blocks: torch.Tensor) -> None:
        self.lo, self.hi = running_extremes(self.lo, self.hi, blocks)
        self.store.add(blocks)
