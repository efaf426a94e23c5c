"""The integer nonlinear operators of the integer-only models, one row per method in ``NONLINEAR``.

Each method gives a softmax (int32 scores at a scale -> uint8 probabilities at ``out_scale``), a GELU
module (int16 codes -> uint8 codes with a zero point, ready for the next int8 GEMM) and the LayerNorm
(int16 codes -> int8 codes). ``ibert`` runs on lowbit's C++ kernels (csrc/intops*); the float scales only
make integer constants, computed once per module (``repack``), never per call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lowbit.ops.ibert import layernorm_constants
from lowbit.ops.intops_kernels import gelu_constants, softmax_constants
from lowbit.ops.requant import quantize_multiplier, requantize


class IBertSoftmax:
    """I-BERT integer softmax along the last axis (C++ kernel)."""

    out_scale = 2.0**-8

    def __call__(self, scores: np.ndarray, scale: float) -> np.ndarray:
        from lowbit import _C

        out = np.empty(scores.shape, dtype=np.uint8)
        _C.ibert_softmax(scores, *softmax_constants(scale), out)
        return out


MAX_EXPONENT = 3  # power-of-two channel factors up to 16: the widest MiniLM channels are ~16x the median


def ptf_exponents(channel_range: np.ndarray, max_exponent: int = MAX_EXPONENT) -> tuple[float, np.ndarray]:
    """Power-of-two channel factors (FQ-ViT's PTF, here on outputs): (base range, e) such that channel c's
    range fits base * 2^e[c], with base = max range / 2^max_exponent."""
    r = np.maximum(np.asarray(channel_range, dtype=np.float64), 1e-12)
    base = float(r.max()) / 2**max_exponent
    e = np.clip(np.ceil(np.log2(r / base) - 1e-9), 0, max_exponent).astype(np.int32)
    return base, e


def _exponent_buffer(features: int) -> torch.Tensor:
    return torch.zeros(features, dtype=torch.int32)


class IntGelu(nn.Module):
    """GELU of int16 codes at ``in_scale``, requantized to uint8 codes with one zero point and scale
    ``out_scale * 2^out_exponent[c]`` per channel (the next IntLinear folds the 2^e into its weights)."""

    def __init__(self, features: int):
        super().__init__()
        self.features = features
        self.register_buffer("in_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("out_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("out_zero_point", torch.zeros((), dtype=torch.int32))
        self.register_buffer("out_exponent", _exponent_buffer(features))

    def set(self, in_scale: float, lo: float, channel_hi: np.ndarray) -> tuple[float, int, np.ndarray]:
        """Scales from the calibrated minimum and per-channel maxima; returns (scale, zero point, e)."""
        base, e = ptf_exponents(channel_hi)
        lo = min(lo, 0.0)
        s = (base - lo) / 255
        self.in_scale.fill_(in_scale)
        self.out_scale.fill_(s)
        self.out_zero_point.fill_(int(round(-lo / s)))
        self.out_exponent = torch.as_tensor(e)
        self.repack()
        return s, int(self.out_zero_point), e

    def repack(self) -> None:
        *self._consts, raw_scale = gelu_constants(float(self.in_scale))
        channel_scale = float(self.out_scale) * np.exp2(self.out_exponent.numpy().astype(np.float64))
        self._m0, self._shift = quantize_multiplier(raw_scale / channel_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from lowbit import _C

        q = x.numpy()
        g = np.empty(q.shape, dtype=np.int32)
        _C.ibert_gelu(q, *self._consts, g)
        out = requantize(g.reshape(-1, self.features), self._m0, self._shift, int(self.out_zero_point),
                         out_dtype=np.uint8)  # fmt: skip
        return torch.from_numpy(out).view(x.shape)


class IntLayerNorm(nn.Module):
    """Integer LayerNorm: int16 codes at ``in_scale`` -> int8 codes at ``out_scale * 2^out_exponent[c]``
    per channel (integer sqrt; the per-channel factor is folded into the kernel's gamma multipliers)."""

    def __init__(self, features: int, eps: float, method: Method):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(features, dtype=torch.float64))
        self.register_buffer("bias", torch.zeros(features, dtype=torch.float64))
        self.register_buffer("in_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("out_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("out_exponent", _exponent_buffer(features))

    def set(self, norm: nn.LayerNorm, in_scale: float, channel_range: np.ndarray) -> tuple[float, np.ndarray]:
        """Integer constants from the float LayerNorm and its calibrated per-channel output ranges;
        returns (out_scale, out_exponent)."""
        base, e = ptf_exponents(channel_range)
        self.weight = norm.weight.detach().to(torch.float64).clone()
        self.bias = norm.bias.detach().to(torch.float64).clone()
        self.in_scale.fill_(in_scale)
        self.out_scale.fill_(base / 127)
        self.out_exponent = torch.as_tensor(e)
        self.repack()
        return base / 127, e

    def channel_scale(self) -> np.ndarray:
        return float(self.out_scale) * np.exp2(self.out_exponent.numpy().astype(np.float64))

    def repack(self) -> None:
        self._consts = layernorm_constants(
            float(self.in_scale), self.weight.numpy(), self.bias.numpy(), self.channel_scale(), self.eps
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from lowbit import _C

        out = np.empty(x.shape, dtype=np.int8)
        _C.ibert_layernorm(x.numpy(), *self._consts, out)
        return torch.from_numpy(out)


@dataclass(frozen=True)
class Method:
    softmax: Callable[[np.ndarray, float], np.ndarray]
    gelu: Callable[[int], nn.Module]
    kernels: str  # what executes it: "C++" or "numpy int64 reference"


NONLINEAR: dict[str, Method] = {
    "ibert": Method(IBertSoftmax(), IntGelu, "C++"),
}
