"""Observers: which range (lo, hi) per block to quantize. See OBSERVERS.

Every observer works one-shot (``observe("mse", blocks, bits=4, ...)``, what the int format's ``fit`` does)
or stateful, for activations over calibration batches::

    obs = get_observer("kl")
    for batch in batches:
        obs.update(batch, granularity=lowbit.per_tensor())
    q = lowbit.quantize(x, "int", 8, observer=obs)   # uses obs's range, fitted on all batches

An observer object that already has data is not fed the tensor being quantized: reusing one object for
several tensors quantizes them all with the first one's range (call ``reset()`` or use a fresh one).
"""

from __future__ import annotations

from typing import Any

import torch

from lowbit.calibrate.base import Observer
from lowbit.calibrate.kl import KL
from lowbit.calibrate.mad import mad_fake_quant
from lowbit.calibrate.minmax import MinMax, MovingMinMax
from lowbit.calibrate.mse import MSE, mse_search
from lowbit.calibrate.octav import OCTAV, octav_brute_force, octav_clip, octav_objective
from lowbit.calibrate.percentile import Percentile
from lowbit.errors import LowbitError

OBSERVERS: dict[str, type[Observer]] = {
    "minmax": MinMax,
    "moving_minmax": MovingMinMax,
    "percentile": Percentile,
    "mse": MSE,
    "kl": KL,
    "octav": OCTAV,
}


def get_observer(name: str, **kw: Any) -> Observer:
    """A fresh observer by name, e.g. ``get_observer("percentile", percentile=99.9)``."""
    if not isinstance(name, str) or name not in OBSERVERS:
        raise LowbitError(f"observer: expected one of {sorted(OBSERVERS)}, got {name!r}")
    return OBSERVERS[name](**kw)


def observe(
    observer: Any, blocks: torch.Tensor, *, bits: int, signed: bool, symmetric: bool, narrow: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Range per block, from an observer name, an object with ``compute`` (fed ``blocks`` if it has seen no
    data yet), or a plain callable ``f(blocks, bits=, signed=, symmetric=)``."""
    if isinstance(observer, str):
        observer = get_observer(observer)
    if hasattr(observer, "compute"):
        if not getattr(observer, "has_data", False):
            observer.update(blocks)
        lo, hi = observer.compute(bits=bits, signed=signed, symmetric=symmetric, narrow=narrow)
    elif callable(observer):
        lo, hi = observer(blocks, bits=bits, signed=signed, symmetric=symmetric)
    else:
        raise LowbitError(
            f"observer: expected a name, an observer or a callable, got {type(observer).__name__}"
        )
    if tuple(lo.shape) != (blocks.shape[0],) or tuple(hi.shape) != (blocks.shape[0],):
        raise LowbitError(
            f"observer: expected ranges for {blocks.shape[0]} blocks (was it updated with another "
            f"granularity?), got shapes {tuple(lo.shape)} and {tuple(hi.shape)}"
        )
    return lo, hi


__all__ = [
    "KL",
    "MSE",
    "OBSERVERS",
    "OCTAV",
    "MinMax",
    "MovingMinMax",
    "Observer",
    "Percentile",
    "get_observer",
    "mad_fake_quant",
    "mse_search",
    "observe",
    "octav_brute_force",
    "octav_clip",
    "octav_objective",
]
