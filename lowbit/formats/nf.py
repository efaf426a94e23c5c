"""NormalFloat codes: real = absmax * level[q], levels at normal quantiles (QLoRA NF4, Dettmers et al. 2023).

Levels for b bits (n = 2^b), the QLoRA construction: n/2 positive quantiles Phi^-1(p) for p evenly
spaced from ``offset`` down to 1/2 (1/2 excluded), n/2 - 1 negative ones mirrored the same way, and an
exact 0; divided by the largest so that they span [-1, 1]. The asymmetry (one more positive level) buys
an exact zero. offset = 1 - (1/(2(n-1)) + 1/(2n)) / 2 is QLoRA's value for 4 bits (1 - (1/30 + 1/32)/2
= 0.9677083); the other widths use the same formula (our generalisation; the reference code keeps
0.9677083 for all). As in the reference code, offset is rounded to 7 decimals, the probabilities are a
float32 grid and the normalisation is done in float32: for 4 bits the table then equals bitsandbytes'
NF4 constants bit for bit, so NF4 codes are interchangeable with theirs.

Scale: absmax of the block (a block of zeros gets the smallest normal float, and encodes exactly).
Rounding: the nearest of the block's levels absmax * level[k]; codes are k in [0, n-1] (levels ascending).
Bound: |x - dequant(q)| <= absmax * (largest gap between adjacent levels) / 2.
``sample_weight`` is ignored: the absmax scale has nothing to weight.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from lowbit.formats.base import register
from lowbit.formats.levels import nearest_level

TINY = torch.finfo(torch.float32).tiny


@cache
def _nf_levels(bits: int) -> tuple[float, ...]:
    n = 1 << bits
    offset = round(1 - (1 / (2 * (n - 1)) + 1 / (2 * n)) / 2, 7)
    pos = torch.special.ndtri(torch.linspace(offset, 0.5, n // 2 + 1).double()[:-1])
    neg = -torch.special.ndtri(torch.linspace(offset, 0.5, n // 2).double()[:-1])
    v = torch.cat([neg, torch.zeros(1, dtype=torch.float64), pos]).float().sort().values
    return tuple((v / v.max()).tolist())


def nf_levels(bits: int) -> torch.Tensor:
    """The 2^bits NormalFloat levels in [-1, 1], ascending, float32 (bits 2..8)."""
    return torch.tensor(_nf_levels(int(bits)), dtype=torch.float32)


class NFFormat:
    name = "nf"
    kind = "nonuniform"
    bits = (2, 3, 4, 5, 6, 7, 8)
    description = "NormalFloat levels (normal quantiles with an exact zero) times block absmax (QLoRA NF4)"

    def code_range(self, bits: int, **_: Any) -> tuple[int, int]:
        return 0, (1 << bits) - 1

    def fit(self, blocks, bits, **_):
        return {"scale": blocks.abs().amax(1).clamp(min=TINY)}

    def encode(self, blocks, params, bits, **_):
        # Search the scaled levels (not x / scale) so that the pick is exactly the nearest decoded value.
        return nearest_level(blocks, nf_levels(bits)[None, :] * params["scale"][:, None])

    def decode(self, codes, params, bits, **_):
        return nf_levels(bits)[codes] * params["scale"][:, None]


register(NFFormat())
