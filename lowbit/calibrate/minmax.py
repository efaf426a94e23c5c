"""Min/max observers: the running extremes, or their exponential moving average.

``MovingMinMax`` follows PyTorch's MovingAverageMinMaxObserver (``averaging_constant``) and TF's
``moving_average`` quantization ranges (``decay = 1 - momentum``): the first batch sets the range, each
later batch moves it by ``momentum`` towards that batch's min/max. A small momentum (0.01) makes the range
robust to one odd batch, which the running extremes are not.
"""

from __future__ import annotations

import torch

from lowbit.calibrate.base import Observer, check_unit_interval, running_extremes


class MinMax(Observer):
    """The smallest and largest value seen, per block."""

    name = "minmax"

    def _reset(self) -> None:
        self.lo: torch.Tensor | None = None
        self.hi: torch.Tensor | None = None

    def _update(self, blocks: torch.Tensor) -> None:
        self.lo, self.hi = running_extremes(self.lo, self.hi, blocks)

    def _compute(self, bits, signed, symmetric, narrow):
        return self.lo.clone(), self.hi.clone()


class MovingMinMax(Observer):
    """Exponential moving average of each batch's min and max, per block."""

    name = "moving_minmax"

    def __init__(self, momentum: float = 0.01) -> None:
        self.momentum = check_unit_interval(momentum, "momentum")
        super().__init__()

    def _reset(self) -> None:
        self.lo: torch.Tensor | None = None
        self.hi: torch.Tensor | None = None

    def _update(self, blocks: torch.Tensor) -> None:
        lo, hi = blocks.amin(dim=1), blocks.amax(dim=1)
        if self.lo is None:
            self.lo, self.hi = lo, hi
            return
        self.lo = self.lo + self.momentum * (lo - self.lo)
        self.hi = self.hi + self.momentum * (hi - self.hi)

    def _compute(self, bits, signed, symmetric, narrow):
        return self.lo.clone(), self.hi.clone()
