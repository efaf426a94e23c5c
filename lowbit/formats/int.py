"""Uniform integer codes: real = scale * (q - zero_point).

Options: ``signed`` (default True), ``symmetric`` (default True: zero_point is 0 for signed codes and
2^(bits-1) for unsigned ones), ``narrow`` (drop the lowest code, e.g. int8 -127..127, so that the range
is symmetric), ``observer`` (which range to fit: a name from ``lowbit.calibrate.OBSERVERS`` or an
observer object; default "minmax").

Rounding: q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax), in float32.
Bound: inside the fitted range, |x - dequant(q)| <= scale / 2.
"""

from __future__ import annotations

from typing import Any

import torch

from lowbit.errors import LowbitError
from lowbit.formats.base import register

# The smallest scale we emit: a block of zeros gets it and then encodes exactly (all codes = zero_point).
TINY = torch.finfo(torch.float32).tiny


def int_range(bits: int, signed: bool = True, narrow: bool = False) -> tuple[int, int]:
    if signed:
        qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        qmin, qmax = 0, (1 << bits) - 1
    qmin += int(narrow)
    if qmax <= qmin or (signed and qmax < 1):
        raise LowbitError(
            f"bits: expected a width with room for the code range, got {bits} "
            f"(signed={signed}, narrow={narrow})"
        )
    return qmin, qmax


def params_from_range(
    lo: torch.Tensor,
    hi: torch.Tensor,
    bits: int,
    signed: bool = True,
    symmetric: bool = True,
    narrow: bool = False,
) -> dict[str, torch.Tensor]:
    """Scale and zero point that map [lo, hi] (per block) onto the code range; zero is always exact."""
    qmin, qmax = int_range(bits, signed, narrow)
    lo = torch.clamp(lo.to(torch.float32), max=0.0)
    hi = torch.clamp(hi.to(torch.float32), min=0.0)
    if symmetric:
        zp = 0 if signed else (1 << (bits - 1))
        absmax = torch.maximum(-lo, hi)
        half = min(qmax - zp, zp - qmin)
        if half < 1:
            raise LowbitError(f"bits: expected at least 2 bits for symmetric unsigned codes, got {bits}")
        scale = absmax / half
        zero_point = torch.full_like(scale, zp, dtype=torch.int64)
    else:
        scale = (hi - lo) / (qmax - qmin)
        safe = torch.clamp(scale, min=TINY)
        zero_point = torch.clamp(torch.round(qmin - lo / safe), qmin, qmax).to(torch.int64)
    return {"scale": torch.clamp(scale, min=TINY), "zero_point": zero_point}


def quant(
    x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, qmin: int, qmax: int
) -> torch.Tensor:
    """Codes of x (blocks [B, L]) for per-block scale/zero_point [B]."""
    q = torch.round(x / scale[:, None]) + zero_point[:, None].to(torch.float32)
    return torch.clamp(q, qmin, qmax).to(torch.int64)


def dequant(q: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor) -> torch.Tensor:
    return (q - zero_point[:, None]).to(torch.float32) * scale[:, None]


class IntFormat:
    name = "int"
    kind = "uniform"
    bits = (1, 2, 3, 4, 5, 6, 7, 8, 16)
    description = "affine or symmetric integers, signed or unsigned, optional narrow range (Jacob et al.)"

    def code_range(self, bits: int, signed: bool = True, narrow: bool = False, **_: Any) -> tuple[int, int]:
        return int_range(bits, signed, narrow)

    def fit(self, blocks, bits, signed=True, symmetric=True, narrow=False, observer="minmax", **_):
        from lowbit.calibrate import observe

        lo, hi = observe(observer, blocks, bits=bits, signed=signed, symmetric=symmetric, narrow=narrow)
        return params_from_range(lo, hi, bits, signed, symmetric, narrow)

    def encode(self, blocks, params, bits, signed=True, narrow=False, **_):
        qmin, qmax = int_range(bits, signed, narrow)
        return quant(blocks, params["scale"], params["zero_point"], qmin, qmax)

    def decode(self, codes, params, bits, **_):
        return dequant(codes, params["scale"], params["zero_point"])


register(IntFormat())
