"""Quantized Linear modules that run on lowbit's C++ int8 GEMM.

``DynamicInt8Linear`` is the "dynamic-int8" scheme that torch and ONNX Runtime ship: int8 weights, one
scale per output feature (narrow range -127..127), packed once for the kernel; each call quantizes its
input to uint8 with a zero point from that call's min/max (in C++: csrc/quant_act.h), runs the integer
matmul in lowbit's kernel (int32 accumulation) and returns float32 = acc * s_x * s_w[n] + bias.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

import lowbit
from lowbit import _C
from lowbit.errors import LowbitError, expect
from lowbit.ops.gemm import gemm, pack_weight


class DynamicInt8Linear(nn.Module):
    def __init__(self, in_features: int, out_features: int, threads: int | None = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.threads = threads
        self.packed = None
        self.register_buffer("weight_codes", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features))

    @classmethod
    def from_float(cls, linear: nn.Linear, threads: int | None = None) -> DynamicInt8Linear:
        expect(isinstance(linear, nn.Linear), "linear", "a torch.nn.Linear", type(linear).__name__)
        q = lowbit.quantize(linear.weight.detach(), "int", 8, lowbit.per_channel(0), narrow=True)
        mod = cls(linear.in_features, linear.out_features, threads)
        mod.weight_codes = q.codes.to(torch.int8)
        mod.weight_scale = q.params["scale"].clone()
        if linear.bias is not None:
            mod.bias = linear.bias.detach().clone()
        mod.repack()
        return mod

    def repack(self) -> None:
        """Pack weight_codes for the kernel (after from_float, or after loading a state dict)."""
        expect(self.weight_codes.dtype == torch.int8, "weight_codes", "int8 codes", self.weight_codes.dtype)
        self.packed = pack_weight(self.weight_codes.contiguous().numpy())
        self._w_scale = self.weight_scale.numpy().astype(np.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x2 = x.detach().reshape(-1, self.in_features).to(torch.float32)  # inference only: no autograd
        xs = x2.contiguous().numpy()
        mn, mx = _C.minmax_f32(xs)
        if not (math.isfinite(mn) and math.isfinite(mx)):  # NaN or Inf has no uint8 code
            raise LowbitError(f"x: expected finite activations, got min {mn}, max {mx}")
        lo, hi = min(mn, 0.0), max(mx, 0.0)
        s_x = (hi - lo) / 255 if hi > lo else 1.0
        zp = int(round(-lo / s_x))
        # q = clamp(rint(x / float32(s_x)) + zp, 0, 255): one C++ pass (csrc/quant_act.h)
        a = np.empty(xs.shape, dtype=np.uint8)
        _C.quantize_u8(xs, s_x, zp, a)
        scale = self._w_scale * np.float32(s_x)
        out = gemm(a, self.packed, a_zero_point=zp, out_dtype=np.float32, scale=scale, threads=self.threads)
        return torch.from_numpy(out).add_(self.bias).reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_features}, out={self.out_features}, int8 weights per channel, dynamic uint8 input"
        )


def quantize_dynamic(model: nn.Module, threads: int | None = None) -> nn.Module:
    """Replace every nn.Linear of ``model`` (in place) by a DynamicInt8Linear; returns the model."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear):
            setattr(model, name, DynamicInt8Linear.from_float(child, threads))
        else:
            quantize_dynamic(child, threads)
    return model
