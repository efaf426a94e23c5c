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

from lowbit.ops.fqvit import PTFParams
from lowbit.ops.gemm import default_threads
from lowbit.ops.ibert import layernorm_constants
from lowbit.ops.intops_kernels import gelu_constants, softmax_constants
from lowbit.ops.requant import quantize_multiplier, requantize

PROB_SCALE = 2.0**-8  # every softmax method's uint8 probabilities (Log-Int-Softmax: 4-bit log2 codes)


def _ibert_softmax(scores: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    from lowbit import _C

    out = np.empty(scores.shape, dtype=np.uint8)
    _C.ibert_softmax(scores, *softmax_constants(scale), out)
    return out, PROB_SCALE


def _ibert_gelu(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    from lowbit import _C

    *consts, out_scale = gelu_constants(scale)
    out = np.empty(q.shape, dtype=np.int32)
    _C.ibert_gelu(q, *consts, out)
    return out, out_scale


MAX_EXPONENT = 3  # power-of-two channel factors up to 16: the widest MiniLM channels are ~16x the median


def ptf_exponents(
    channel_range: np.ndarray, max_exponent: int = MAX_EXPONENT, align: int = 4
) -> tuple[float, np.ndarray]:
    """Power-of-two channel factors (FQ-ViT's PTF, here on outputs): (base range, e) such that channel c's
    range fits base * 2^e[c], with base = max range / 2^max_exponent.

    Every group of equal e except the lowest holds a multiple of ``align`` channels (the GEMM's K segments
    are whole k4 steps): a short group takes the widest channels of the next group (a coarser step for
    them, never a clipped range)."""
    r = np.maximum(np.asarray(channel_range, dtype=np.float64), 1e-12)
    base = float(r.max()) / 2**max_exponent
    e = np.clip(np.ceil(np.log2(r / base) - 1e-9), 0, max_exponent).astype(np.int32)
    order = np.lexsort((-r, -e))  # exponent descending, then range descending
    s = e[order]
    i = 0
    while i < len(s):
        j = i + int((s[i:] == s[i]).sum())  # s is non-increasing: the group is s[i:j]
        short = (i - j) % align
        if j < len(s) and short:
            s[j : j + short] = s[i]
            j = min(len(s), j + short)
        i = j
    e[order] = s
    return base, e


def segment_order(e: np.ndarray) -> np.ndarray:
    """The channel order that sorts exponents descending (stable): producing channels in this order lets
    the consuming GEMM read its input as contiguous K segments, with no gather."""
    return np.lexsort((np.arange(len(e)), -np.asarray(e)))


def _exponent_buffer(features: int) -> torch.Tensor:
    return torch.zeros(features, dtype=torch.int32)


class IntGelu(nn.Module):
    """GELU of int16 codes at ``in_scale``, requantized to uint8 codes with one zero point and scale
    ``out_scale * 2^out_exponent[c]`` per channel (the next IntLinear folds the 2^e into its weights)."""

    def __init__(self, features: int, method: Method):
        super().__init__()
        self.features, self.method = features, method
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
        self._in_scale = float(self.in_scale)
        _, raw_scale = self.method.gelu(np.zeros(1, np.int16), self._in_scale)  # the output scale
        channel_scale = float(self.out_scale) * np.exp2(self.out_exponent.numpy().astype(np.float64))
        self._m0, self._shift = quantize_multiplier(raw_scale / channel_scale)
        self._zp = int(self.out_zero_point)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.method.gelu is _ibert_gelu:  # fused: one pass, no int32 intermediate in memory
            from lowbit import _C

            out = np.empty(x.shape, dtype=np.uint8)
            clip, m0, shift, qc, _ = gelu_constants(self._in_scale)
            args = (clip, m0, shift, qc, self._m0, self._shift, self._zp)
            _C.ibert_gelu_requant(x.numpy(), *args, out, "auto", default_threads())
            return torch.from_numpy(out)
        g, _ = self.method.gelu(x.numpy(), self._in_scale)
        out = requantize(g.reshape(-1, self.features), self._m0, self._shift, self._zp,
                         out_dtype=np.uint8)  # fmt: skip
        return torch.from_numpy(out).view(x.shape)


class IntLayerNorm(nn.Module):
    """Integer LayerNorm: int16 codes at ``in_scale`` -> int8 codes at ``out_scale * 2^out_exponent[c]``
    per channel (integer sqrt; the per-channel factor is folded into the kernel's gamma multipliers)."""

    def __init__(self, features: int, eps: float):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(features, dtype=torch.float64))
        self.register_buffer("bias", torch.zeros(features, dtype=torch.float64))
        self.register_buffer("in_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("out_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("out_exponent", _exponent_buffer(features))
        # FQ-ViT's PTF input (when ptf_scale > 0): the int16 input is first requantized to uint8 codes at
        # ptf_scale * 2^ptf_alpha[c] with one zero point, and normalised from (q - zp) << alpha
        self.register_buffer("ptf_scale", torch.zeros((), dtype=torch.float64))
        self.register_buffer("ptf_zero_point", torch.zeros((), dtype=torch.int32))
        self.register_buffer("ptf_alpha", _exponent_buffer(features))

    def set(
        self, norm: nn.LayerNorm, in_scale: float, channel_range: np.ndarray, ptf: PTFParams | None = None
    ) -> tuple[float, np.ndarray]:
        """Integer constants from the float LayerNorm and its calibrated per-channel output ranges (and
        PTF parameters of its input, for FQ-ViT); returns (out_scale, out_exponent)."""
        base, e = ptf_exponents(channel_range)
        self.weight = norm.weight.detach().to(torch.float64).clone()
        self.bias = norm.bias.detach().to(torch.float64).clone()
        self.in_scale.fill_(in_scale)
        self.out_scale.fill_(base / 127)
        self.out_exponent = torch.as_tensor(e)
        if ptf is not None:
            self.ptf_scale.fill_(ptf.scale)
            self.ptf_zero_point.fill_(ptf.zero_point)
            self.ptf_alpha = torch.as_tensor(ptf.alpha, dtype=torch.int32)
        self.repack()
        return base / 127, e

    def channel_scale(self) -> np.ndarray:
        return float(self.out_scale) * np.exp2(self.out_exponent.numpy().astype(np.float64))

    def repack(self) -> None:
        self._ptf = float(self.ptf_scale) > 0
        norm_scale = float(self.ptf_scale) if self._ptf else float(self.in_scale)
        self._consts = layernorm_constants(
            norm_scale, self.weight.numpy(), self.bias.numpy(), self.channel_scale(), self.eps
        )
        if self._ptf:
            step = float(self.ptf_scale) * np.exp2(self.ptf_alpha.numpy().astype(np.float64))
            self._ptf_m0, self._ptf_shift = quantize_multiplier(float(self.in_scale) / step)
            self._ptf_zp = int(self.ptf_zero_point)
            self._ptf_alpha = self.ptf_alpha.numpy().astype(np.uint8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from lowbit import _C

        out = np.empty(x.shape, dtype=np.int8)
        if self._ptf:  # int16 -> uint8 PTF codes (dyadic per channel), then (q - zp) << alpha, normalised
            acc = x.numpy().reshape(-1, x.shape[-1]).astype(np.int32)
            q8 = requantize(acc, self._ptf_m0, self._ptf_shift, self._ptf_zp, out_dtype=np.uint8)
            _C.ptf_layernorm(q8, 8, self._ptf_zp, self._ptf_alpha, *self._consts, out.reshape(q8.shape))
            return torch.from_numpy(out)
        _C.ibert_layernorm(x.numpy(), *self._consts, out, "auto", default_threads())
        return torch.from_numpy(out)


@dataclass(frozen=True)
class Method:
    """One integer nonlinear method: softmax (int32 scores, scale) -> (uint8 codes at PROB_SCALE, scale) —
    or 4-bit log2 codes when ``log_softmax`` —, GELU (int16 codes, scale) -> (int32 codes, scale), and
    whether LayerNorm inputs are first requantized to 8 bits with power-of-two channel factors (PTF)."""

    softmax: Callable[[np.ndarray, float], tuple[np.ndarray, float]]
    gelu: Callable[[np.ndarray, float], tuple[np.ndarray, float]]
    kernels: str  # what executes the nonlinears: "C++" or "numpy int64 reference"
    log_softmax: bool = False
    ptf_norm_input: bool = False
    # the C++ pass per head that runs q k^T, this softmax and p v together (lowbit/ops/attention.py):
    # (qkv, heads, key bias, score scale, m0, shift, threads) -> int8 context
    attention: Callable[..., np.ndarray] | None = None


def _methods() -> dict[str, Method]:
    from lowbit.ops import attention as att
    from lowbit.ops import fqvit
    from lowbit.ops.shift_lut_kernels import lut_softmax, nnlut_gelu, shiftgelu, shiftmax

    return {
        "ibert": Method(_ibert_softmax, _ibert_gelu, "C++", attention=att.attention_ibert),
        "shift": Method(shiftmax, shiftgelu, "C++", attention=att.attention_shiftmax),
        "lut": Method(lut_softmax, nnlut_gelu, "C++", attention=att.attention_lut),
        "fq": Method(fqvit.log_int_softmax_ref, _ibert_gelu, "C++", log_softmax=True, ptf_norm_input=True,
                     attention=att.attention_fq),
    }  # fmt: skip


NONLINEAR: dict[str, Method] = _methods()
