"""ANT's adaptive type selection (row ``ant``; Guo et al., MICRO 2022): each block picks, among fixed
candidate types of the same width, the one whose MSE-best clipped scale quantizes it with the least MSE.

Candidates, in this order (``params["type"]`` indexes it): CANDIDATES = ("int", "pot", "flint", "float"),
each with its default options: int signed symmetric (scale = clip / (2^(bits-1) - 1), zero point 0),
pot, signed flint, float with the default exponent/mantissa split (see those modules).
For each candidate the clip is searched over RATIOS * absmax (0.5 .. 1.0 in steps of 1/40, as ANT's
search_mse sweeps a percentage of the absmax); ties keep the larger clip and the earlier candidate, so
data on the int grid stay int. ``sample_weight`` (optional) weights the MSE.

params: ``type`` (int64, index into CANDIDATES) and ``scale`` (float32, that type's scale), per block.
Codes: the chosen type's code minus that type's qmin, i.e. the unsigned ``bits``-wide field it packs to,
so code_range is (0, 2^bits - 1) for every choice (the union of the candidates' packed ranges; their
raw ranges together would need bits + 1). Rounding and bound: those of the chosen type at its scale.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lowbit.errors import expect
from lowbit.formats import flint as _flint  # noqa: F401  (candidates must be registered)
from lowbit.formats import int as _int  # noqa: F401
from lowbit.formats import minifloat as _minifloat
from lowbit.formats import pot as _pot  # noqa: F401
from lowbit.formats.base import check_tensor, get_format, register
from lowbit.formats.table import TINY

CANDIDATES = ("int", "pot", "flint", "float")
# Exact multiples of 1/40, largest first so that ties keep the unclipped scale.
RATIOS = tuple(i / 40 for i in range(40, 19, -1))


def _top_level(name: str, bits: int) -> float:
    """The largest normalised level of a candidate: absmax / top is its scale."""
    if name == "int":
        return float((1 << (bits - 1)) - 1)
    if name == "float":
        return _minifloat.max_finite(*_minifloat.split(bits))
    return 1.0


def _params(name: str, scale: torch.Tensor) -> dict[str, torch.Tensor]:
    if name == "int":
        return {"scale": scale, "zero_point": torch.zeros_like(scale, dtype=torch.int64)}
    return {"scale": scale}


def _roundtrip(name: str, blocks: torch.Tensor, scale: torch.Tensor, bits: int) -> torch.Tensor:
    fmt, p = get_format(name), _params(name, scale)
    return fmt.decode(fmt.encode(blocks, p, bits), p, bits)


def search(
    blocks: torch.Tensor, bits: int, sample_weight: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Per block: the candidate index and scale of least (weighted) MSE."""
    absmax = blocks.abs().amax(dim=1)
    # float64 errors: squares of float32 differences near the bottom of a log grid underflow in float32,
    # and a spurious zero MSE would let a type that flushes those values tie with an exact one.
    w = (torch.ones_like(blocks) if sample_weight is None else sample_weight).to(torch.float64)
    wsum = torch.clamp(w.sum(dim=1), min=TINY)
    best = torch.full(absmax.shape, math.inf, dtype=torch.float64)
    kind = torch.zeros(blocks.shape[0], dtype=torch.int64)
    scale = torch.ones_like(absmax)
    for t, name in enumerate(CANDIDATES):
        top = _top_level(name, bits)
        for r in RATIOS:
            s = torch.clamp(absmax * r / top, min=TINY)
            diff = (_roundtrip(name, blocks, s, bits) - blocks).to(torch.float64)
            err = (diff**2 * w).sum(dim=1) / wsum
            better = err < best
            best = torch.where(better, err, best)
            kind = torch.where(better, t, kind)
            scale = torch.where(better, s, scale)
    return {"type": kind, "scale": scale}


def select_type(x: torch.Tensor, bits: int) -> str:
    """The candidate ANT picks for the whole tensor ``x`` (one block) at ``bits``."""
    expect(isinstance(bits, int) and bits in AntFormat.bits, "bits", f"one of {list(AntFormat.bits)}", bits)
    x = check_tensor(x)
    return CANDIDATES[int(search(x.reshape(1, -1), bits)["type"][0])]


class AntFormat:
    name = "ant"
    kind = "adaptive"
    bits = (3, 4, 5, 6, 7, 8)
    description = "ANT: per block, the least-MSE type among int/pot/flint/float with a searched clip"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        return 0, (1 << bits) - 1

    def fit(self, blocks, bits, sample_weight=None, **_):
        return search(blocks, bits, sample_weight)

    def encode(self, blocks, params, bits, **_):
        codes = torch.zeros_like(blocks, dtype=torch.int64)
        for t, name in enumerate(CANDIDATES):
            rows = params["type"] == t
            if bool(rows.any()):
                fmt = get_format(name)
                qmin, _ = fmt.code_range(bits)
                codes[rows] = fmt.encode(blocks[rows], _params(name, params["scale"][rows]), bits) - qmin
        return codes

    def decode(self, codes, params, bits, **_):
        out = torch.zeros(codes.shape, dtype=torch.float32)
        for t, name in enumerate(CANDIDATES):
            rows = params["type"] == t
            if bool(rows.any()):
                fmt = get_format(name)
                qmin, _ = fmt.code_range(bits)
                out[rows] = fmt.decode(codes[rows] + qmin, _params(name, params["scale"][rows]), bits)
        return out


register(AntFormat())
