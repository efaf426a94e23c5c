"""FAKE-QUANT (float simulation) for QAT with OCTAV clipping and magnitude-aware differentiation (MAD).

This is *not* the integer path: it returns floats on the int grid so that training sees the rounding and
clipping noise. Forward: symmetric B-bit grid on [-s, s] (narrow range, codes -(2^(B-1)-1)..2^(B-1)-1,
step s / (2^(B-1)-1), round half to even, as lowbit's int format with ``narrow=True``); with
``signed=False`` the grid is [0, s] with codes 0..2^B-1.

Backward (MAD, Sakr et al. 2022, sec. 4): the straight-through estimator inside the clip range, and
``s / |x|`` for clipped values instead of PWL's 0 (which stops those weights from ever coming back) or
STE's 1 (which ignores clipping). With signed=False, values below 0 get gradient 0 (that edge is the
ReLU's, not a magnitude clip). No gradient flows to ``s``: OCTAV recomputes it from the data each step.
Checked: the s/|x| rule matches the paper's definition as summarised in public QAT surrogate tables
(1 in range, x_max/|x| in saturation); the paper's PDF itself was not reachable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lowbit.calibrate.base import check_bits
from lowbit.calibrate.octav import octav_clip
from lowbit.errors import expect


class MadFakeQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, s: torch.Tensor, bits: int, signed: bool) -> torch.Tensor:
        s = s.to(x.dtype)
        top = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
        step = torch.clamp(s / top, min=torch.finfo(x.dtype).tiny)
        q = torch.clamp(torch.round(x / step), -top if signed else 0, top) * step
        ctx.save_for_backward(x, s)
        ctx.signed = signed
        return q

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):
        x, s = ctx.saved_tensors
        mag = x.abs()
        scale = torch.where(mag > s, s / mag.clamp(min=torch.finfo(x.dtype).tiny), torch.ones_like(x))
        if not ctx.signed:
            scale = torch.where(x < 0, torch.zeros_like(x), scale)
        return grad * scale, None, None, None


def mad_fake_quant(
    x: torch.Tensor,
    bits: int,
    s: torch.Tensor | float | None = None,
    *,
    signed: bool = True,
    dim: int | Sequence[int] | None = None,
) -> torch.Tensor:
    """FAKE-QUANT (float simulation): x on a B-bit grid clipped at ``s`` (default: OCTAV's clip over ``dim``),
    differentiable with MAD. For QAT; the real integer path is ``lowbit.quantize``.

    Example:
        >>> w = torch.randn(8, 16, requires_grad=True)
        >>> mad_fake_quant(w, 4, dim=1).sum().backward()
        >>> bool((w.grad > 0).all() and (w.grad <= 1).all())
        True
    """
    bits = check_bits(bits)
    expect(bits >= 2 or not signed, "bits", "at least 2 for a signed grid", bits)
    if s is None:
        s, _ = octav_clip(x, bits, signed=signed, dim=dim)
    s = torch.as_tensor(s, device=x.device).detach()
    return MadFakeQuant.apply(x, s, bits, signed)
