"""``IntLinear``: a Linear layer of the integer-only path, integer codes in, integer codes out.

Weights: int8 codes with one scale per output feature (narrow range, or any ``bits`` <= 8 stored in int8
for the same kernel). Input: int8 codes (zero point 0) or uint8 codes with a zero point, at a static
scale s_in, optionally times 2^e[c] per input channel (power-of-two channel factors, exact in the GEMM).
The bias is folded into int32 at scale s_in * s_w[n]; lowbit's int8 GEMM accumulates in int32
and its epilogue requantizes each column with the dyadic multiplier s_in * s_w[n] / s_out[n] (the
project's rounding rule) to int8, uint8 or int16 codes. The output scale may differ per column (the
fused q/k/v projection). No float touches the data: the float scales only make integer constants.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import lowbit
from lowbit.errors import expect
from lowbit.ops.gemm import default_threads, pack_weight
from lowbit.ops.requant import quantize_multiplier

_OUT = {"int8": (np.int8, -127, 127), "uint8": (np.uint8, 0, 255), "int16": (np.int16, -32767, 32767)}
BIAS_LIMIT = 2**30 - 1
_NO_SCALE = np.empty(0, dtype=np.float32)  # integer outputs take no float scale


class IntLinear(nn.Module):
    """``weight_group``: the weights are stored as 4-bit codes with one scale per group of that many inputs
    (``w4_codes`` two per byte, ``w4_scale``) and re-expanded to per-row int8 codes for the int8 GEMM when
    packed: one more rounding, at most half an int8 step (~1/18 of the 4-bit step)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        out_dtype: str,
        threads: int | None = None,
        weight_group: int | None = None,
    ):
        super().__init__()
        expect(out_dtype in _OUT, "out_dtype", f"one of {sorted(_OUT)}", out_dtype)
        expect(
            weight_group is None or in_features % weight_group == 0,
            "weight_group",
            "a divisor of K",
            weight_group,
        )
        self.in_features, self.out_features, self.out_dtype = in_features, out_features, out_dtype
        self.threads, self.weight_group = threads, weight_group
        grouped = weight_group is not None
        self.register_buffer(
            "weight_codes", torch.zeros(out_features, in_features, dtype=torch.int8), persistent=not grouped
        )
        self.register_buffer(
            "weight_scale", torch.ones(out_features, dtype=torch.float64), persistent=not grouped
        )
        if grouped:
            self.register_buffer(
                "w4_codes", torch.zeros(out_features, (in_features + 1) // 2, dtype=torch.uint8)
            )
            self.register_buffer("w4_scale", torch.ones(out_features, in_features // weight_group))
        self.register_buffer("bias", torch.zeros(out_features, dtype=torch.float64))
        self.register_buffer("in_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("in_zero_point", torch.zeros((), dtype=torch.int32))
        self.register_buffer("out_scale", torch.ones(out_features, dtype=torch.float64))
        self.register_buffer("out_zero_point", torch.zeros((), dtype=torch.int32))
        self.register_buffer("in_exponent", torch.zeros(in_features, dtype=torch.int32))

    @classmethod
    def from_float(
        cls,
        linear: nn.Linear,
        in_scale: float,
        out_scale: float | np.ndarray,
        out_dtype: str,
        in_zero_point: int = 0,
        out_zero_point: int = 0,
        weight_bits: int = 8,
        weight_observer: str = "minmax",
        in_exponent: np.ndarray | None = None,
        weight_group: int | None = None,
    ) -> IntLinear:
        """``in_exponent``: input channel c has scale in_scale * 2^in_exponent[c] (power-of-two channel
        factors of the previous LayerNorm or GELU), applied exactly inside the GEMM's accumulation."""
        expect(isinstance(linear, nn.Linear), "linear", "a torch.nn.Linear", type(linear).__name__)
        expect(2 <= weight_bits <= 8, "weight_bits", "2..8 (codes stored in int8)", weight_bits)
        expect(weight_group is None or weight_bits == 4, "weight_bits", "4 with weight_group", weight_bits)
        gran = lowbit.per_channel(0) if weight_group is None else lowbit.per_group(weight_group)
        q = lowbit.quantize(
            linear.weight.detach(), "int", weight_bits, gran, narrow=True, observer=weight_observer
        )
        mod = cls(linear.in_features, linear.out_features, out_dtype, weight_group=weight_group)
        if weight_group is None:
            mod.weight_codes = q.codes.to(torch.int8)
            mod.weight_scale = q.params["scale"].reshape(-1).to(torch.float64)
        else:
            u = (q.codes.to(torch.int16) + 8).to(torch.uint8)  # -7..7 -> 1..15, two per byte
            u = torch.nn.functional.pad(u, (0, linear.in_features % 2))
            mod.w4_codes = u[:, 0::2] | (u[:, 1::2] << 4)
            mod.w4_scale = q.params["scale"].reshape(linear.out_features, -1).float().clone()
        if linear.bias is not None:
            mod.bias = linear.bias.detach().to(torch.float64).clone()
        mod.in_scale.fill_(float(in_scale))
        mod.in_zero_point.fill_(int(in_zero_point))
        mod.out_scale = torch.as_tensor(out_scale, dtype=torch.float64).expand(linear.out_features).clone()
        mod.out_zero_point.fill_(int(out_zero_point))
        if in_exponent is not None:
            mod.in_exponent = torch.as_tensor(np.asarray(in_exponent), dtype=torch.int32).clone()
        mod.repack()
        return mod

    def _expand_w4(self) -> None:
        u = torch.stack([self.w4_codes & 15, self.w4_codes >> 4], dim=-1).reshape(self.out_features, -1)
        group_scale = self.w4_scale.to(torch.float64).repeat_interleave(self.weight_group, dim=1)
        w = (u[:, : self.in_features].to(torch.float64) - 8) * group_scale
        self.weight_scale = (w.abs().amax(1).clamp(min=1e-12) / 127).to(torch.float64)
        self.weight_codes = torch.round(w / self.weight_scale[:, None]).clamp(-127, 127).to(torch.int8)

    def repack(self) -> None:
        """Integer constants from the stored codes and scales (after from_float or loading a state dict)."""
        if self.weight_group is not None:
            self._expand_w4()
        expect(self.weight_codes.dtype == torch.int8, "weight_codes", "int8 codes", self.weight_codes.dtype)
        e = self.in_exponent.numpy()
        self.packed = pack_weight(self.weight_codes.contiguous().numpy(), e if e.any() else None)
        acc_scale = float(self.in_scale) * self.weight_scale.numpy()
        # bias beyond 2^30 accumulator units only happens for a near-zero weight row; clipping it costs
        # that column's bias precision, never an overflow
        self._bias = np.clip(np.round(self.bias.numpy() / acc_scale), -BIAS_LIMIT, BIAS_LIMIT).astype(
            np.int32
        )
        self._m0, self._shift = quantize_multiplier(acc_scale / self.out_scale.numpy())
        self._dtype, self._qmin, self._qmax = _OUT[self.out_dtype]
        w = self.packed
        self._zp_in = int(self.in_zero_point)
        self._packed_args = (w.data, w.colsum, w.n, w.k, self._bias, self._m0, self._shift, _NO_SCALE,
                             int(self.out_zero_point), self._qmin, self._qmax, False)  # fmt: skip
        self._segment_args = (w.perm, w.seg_end, w.seg_shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Integer codes [..., in_features] (int8, or uint8 with in_zero_point) -> codes [..., out]."""
        from lowbit import _C

        expect(x.dtype in (torch.int8, torch.uint8), "x", "int8 or uint8 codes", x.dtype)
        shape = x.shape
        a = x.reshape(-1, self.in_features).numpy()
        out = np.empty((a.shape[0], self.out_features), dtype=self._dtype)
        # the kernel directly, with the arguments gemm() would build, prepared once in repack (and
        # validated again in C++): a model makes hundreds of these calls per forward
        _C.gemm(a, self._zp_in, *self._packed_args, out, "auto",
                default_threads() if self.threads is None else self.threads, *self._segment_args)  # fmt: skip
        return torch.from_numpy(out).view(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, int8 weights per channel -> {self.out_dtype}"
