"""The observer contract shared by every calibration method.

An observer sees data (``update``) and then says which range to quantize (``compute``). Data is cut in
*blocks* (``[n_blocks, block_len]``, see ``lowbit.formats.granularity``): one range per block. One-shot use
(weights) is one ``update`` and one ``compute``; activations are calibrated by calling ``update`` on every
calibration batch. ``compute`` takes the target code width, because the best clip depends on it.

The number of blocks is fixed by the first update; block_len may change between batches (e.g. per-channel
activations over batches with a different number of tokens).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lowbit.errors import LowbitError, expect
from lowbit.formats.granularity import Granularity, to_blocks

MAX_BITS = 16


def check_bits(bits: Any) -> int:
    ok = isinstance(bits, (int, np.integer)) and not isinstance(bits, bool) and 1 <= int(bits) <= MAX_BITS
    expect(ok, "bits", f"an int in [1, {MAX_BITS}]", bits)
    return int(bits)


def check_unit_interval(value: Any, name: str) -> float:
    """A float in (0, 1]."""
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    expect(ok and 0.0 < float(value) <= 1.0, name, "a number in (0, 1]", value)
    return float(value)


def as_blocks(x: Any, granularity: Granularity | None = None) -> torch.Tensor:
    """Float32 blocks from a tensor: cut by ``granularity``, or taken as blocks already (1-D = one block)."""
    from lowbit.formats.base import check_tensor

    x = check_tensor(x, "blocks")
    if granularity is not None:
        return to_blocks(x, granularity)[0]
    if x.ndim == 1:
        return x.reshape(1, -1)
    expect(x.ndim == 2, "blocks", "a 2-D [n_blocks, block_len] tensor (or pass granularity=)", tuple(x.shape))
    return x


def one_sided(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Blocks whose values all have one sign: an asymmetric grid then spends all its codes on one side."""
    return (lo >= 0) | (hi <= 0)


def signed_range(
    s: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, symmetric: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(lo, hi) for a magnitude clip ``s``: one-sided blocks keep their side when the grid is asymmetric."""
    if symmetric:
        return -s, s
    pos = lo >= 0
    neg = (hi <= 0) & ~pos
    return torch.where(pos, torch.zeros_like(s), -s), torch.where(neg, torch.zeros_like(s), s)


def running_extremes(
    lo: torch.Tensor | None, hi: torch.Tensor | None, blocks: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-block min and max so far, updated with ``blocks``."""
    b_lo, b_hi = blocks.amin(dim=1), blocks.amax(dim=1)
    if lo is None or hi is None:
        return b_lo, b_hi
    return torch.minimum(lo, b_lo), torch.maximum(hi, b_hi)


class Observer:
    """Base class: block-count bookkeeping, ``reset`` and one-shot ``__call__``.

    Subclasses implement ``_update(blocks)``, ``_compute(bits, signed, symmetric, narrow)`` and ``_reset()``.
    """

    name = "observer"

    def __init__(self) -> None:
        self.n_blocks: int | None = None
        self.batches = 0
        self._reset()

    @property
    def has_data(self) -> bool:
        return self.batches > 0

    def reset(self) -> Observer:
        self.n_blocks = None
        self.batches = 0
        self._reset()
        return self

    def update(self, x: Any, granularity: Granularity | None = None) -> Observer:
        """Observe one batch: blocks ``[n_blocks, block_len]``, or any tensor with ``granularity``."""
        blocks = as_blocks(x, granularity)
        if self.n_blocks is None:
            self.n_blocks = blocks.shape[0]
        elif blocks.shape[0] != self.n_blocks:
            raise LowbitError(
                f"blocks: expected {self.n_blocks} blocks as in earlier updates, got {blocks.shape[0]}"
            )
        self._update(blocks)
        self.batches += 1
        return self

    def compute(
        self, *, bits: int, signed: bool = True, symmetric: bool = True, narrow: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-block (lo, hi), float32 tensors of shape [n_blocks], with lo <= hi."""
        bits = check_bits(bits)
        if not self.has_data:
            raise LowbitError(f"observer: expected update() before compute() on a {self.name!r} observer")
        lo, hi = self._compute(bits, bool(signed), bool(symmetric), bool(narrow))
        return lo.to(torch.float32), hi.to(torch.float32)

    def __call__(
        self,
        blocks: torch.Tensor,
        *,
        bits: int,
        signed: bool = True,
        symmetric: bool = True,
        narrow: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One-shot: the range of ``blocks`` alone (this observer's own state is left untouched)."""
        fresh = self.__class__.__new__(self.__class__)
        fresh.__dict__.update({k: v for k, v in self.__dict__.items()})
        fresh.reset()
        return fresh.update(blocks).compute(bits=bits, signed=signed, symmetric=symmetric, narrow=narrow)

    # Subclass hooks.
    def _reset(self) -> None:
        raise NotImplementedError

    def _update(self, blocks: torch.Tensor) -> None:
        raise NotImplementedError

    def _compute(
        self, bits: int, signed: bool, symmetric: bool, narrow: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError
