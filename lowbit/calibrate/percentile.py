"""Percentile clipping: drop the rarest ``100 - p`` percent of values from the range.

Symmetric grids clip the magnitude at the p-th percentile of |x|; asymmetric ones clip at the
(100 - p)-th and p-th percentiles of x. Percentiles interpolate linearly between order statistics (numpy's
default), so p = 100 gives exactly the min/max. A common choice is 99.99 (TensorRT, pytorch-quantization).
"""

from __future__ import annotations

import numpy as np
import torch

from lowbit.calibrate.base import Observer, signed_range
from lowbit.calibrate.samples import DEFAULT_MAX_ELEMENTS, SampleObserverMixin
from lowbit.errors import expect


def block_quantile(values: torch.Tensor, q: float) -> torch.Tensor:
    """Per-row quantile ``q`` in [0, 1] with linear interpolation (no size limit, unlike torch.quantile)."""
    n = values.shape[1]
    pos = q * (n - 1)
    below = int(np.floor(pos))
    above = min(below + 1, n - 1)
    frac = pos - below
    v_below = torch.kthvalue(values, below + 1, dim=1).values
    if frac == 0.0 or above == below:
        return v_below
    v_above = torch.kthvalue(values, above + 1, dim=1).values
    return v_below + frac * (v_above - v_below)


class Percentile(SampleObserverMixin, Observer):
    """Clip at the ``percentile``-th percentile (of |x| for symmetric grids, of x at both ends otherwise)."""

    name = "percentile"

    def __init__(
        self, percentile: float = 99.99, max_elements: int = DEFAULT_MAX_ELEMENTS, seed: int = 0
    ) -> None:
        ok = isinstance(percentile, (int, float, np.floating, np.integer)) and not isinstance(
            percentile, bool
        )
        expect(ok and 0.0 < float(percentile) <= 100.0, "percentile", "a number in (0, 100]", percentile)
        self.percentile = float(percentile)
        self.max_elements, self.seed = max_elements, seed
        super().__init__()

    def _compute(self, bits, signed, symmetric, narrow):
        x = self.store.values()
        q = self.percentile / 100.0
        if symmetric:
            t = block_quantile(x.abs(), q)
            return signed_range(t, self.lo, self.hi, True)
        return block_quantile(x, 1.0 - q), block_quantile(x, q)
