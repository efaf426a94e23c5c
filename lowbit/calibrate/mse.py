"""MSE search: shrink the min/max range by the ratio whose int quantize-dequantize error is least.

Candidates are ``ratio * (lo, hi)`` for ``n_candidates`` ratios evenly spaced in (0, 1], evaluated with the
int format's own arithmetic (params_from_range / quant / dequant), all blocks at once. Ratio 1 (plain
min/max) is a candidate and wins ties, so the result is never worse than min/max on the observed values.
Cost: ``n_candidates`` quantize-dequantize passes over the kept values.
"""

from __future__ import annotations

import numpy as np
import torch

from lowbit.calibrate.base import Observer
from lowbit.calibrate.samples import DEFAULT_MAX_ELEMENTS, SampleObserverMixin
from lowbit.errors import expect
from lowbit.formats.int import dequant, int_range, params_from_range, quant


def int_mse(
    x: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    bits: int,
    signed: bool,
    symmetric: bool,
    narrow: bool,
) -> torch.Tensor:
    """Per-block mean squared error of the int format fitted to [lo, hi] on blocks ``x``."""
    p = params_from_range(lo, hi, bits, signed, symmetric, narrow)
    qmin, qmax = int_range(bits, signed, narrow)
    err = dequant(quant(x, p["scale"], p["zero_point"], qmin, qmax), p["scale"], p["zero_point"]) - x
    return err.square().mean(dim=1)


def mse_search(
    x: torch.Tensor,
    bits: int,
    signed: bool = True,
    symmetric: bool = True,
    narrow: bool = False,
    n_candidates: int = 100,
    lo: torch.Tensor | None = None,
    hi: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-block (lo, hi) among ``n_candidates`` shrunk min/max ranges with the least int MSE on ``x``."""
    lo = x.amin(dim=1) if lo is None else lo
    hi = x.amax(dim=1) if hi is None else hi
    best_lo, best_hi = lo.clone(), hi.clone()
    best = int_mse(x, lo, hi, bits, signed, symmetric, narrow)
    # Descending from ratio 1 with a strict '<' keeps the widest range among equals.
    for ratio in np.linspace(1.0, 0.0, n_candidates, endpoint=False)[1:]:
        c_lo, c_hi = lo * float(ratio), hi * float(ratio)
        err = int_mse(x, c_lo, c_hi, bits, signed, symmetric, narrow)
        better = err < best
        best = torch.where(better, err, best)
        best_lo = torch.where(better, c_lo, best_lo)
        best_hi = torch.where(better, c_hi, best_hi)
    return best_lo, best_hi


class MSE(SampleObserverMixin, Observer):
    """Grid search over clip ratios of the observed min/max, minimising the actual int quantization MSE."""

    name = "mse"

    def __init__(
        self, n_candidates: int = 100, max_elements: int = DEFAULT_MAX_ELEMENTS, seed: int = 0
    ) -> None:
        ok = isinstance(n_candidates, (int, np.integer)) and not isinstance(n_candidates, bool)
        expect(ok and int(n_candidates) >= 1, "n_candidates", "a positive int", n_candidates)
        self.n_candidates = int(n_candidates)
        self.max_elements, self.seed = max_elements, seed
        super().__init__()

    def _compute(self, bits, signed, symmetric, narrow):
        return mse_search(
            self.store.values(), bits, signed, symmetric, narrow, self.n_candidates, self.lo, self.hi
        )
