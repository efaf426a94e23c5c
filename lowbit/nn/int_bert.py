"""The integer-only BERT encoder: lowbit's I-BERT style W8A8 model, integer from the embedding output to
the last LayerNorm, executed by lowbit's C++ kernels.

Data path of one layer (codes and their scales; every arrow is an integer op):

    x  int8 @ s_x ──IntLinear (fused q|k|v, int8 GEMM)──> q, k, v int8 @ s_q, s_k, s_v
    q k^T (int32; padding keys get -2^29) ──integer softmax──> p uint8 @ 2^-8   (one C++ pass per head)
    p v (requantized) ──> ctx int8 @ s_ctx ──IntLinear──> a int16 @ s_r1
    r1 = (x << j1) + a   int16 @ s_r1 = s_x 2^-j1  (the residual: a shift, no multiplier)
    integer LayerNorm(r1) ──> x1 int8 @ s_ln1 ──IntLinear──> h int16 @ s_h ──integer GELU──> int32
    ──requantize──> g uint8 (zero point) ──IntLinear──> o int16 @ s_r2;  r2 = (x1 << j2) + o
    integer LayerNorm(r2) ──> x2 int8 @ s_ln2

The input quantization (float embedding lookup and sum, rounded to int16 codes) and the output
dequantization (int8 codes times the last scale) are the only float steps (``quantize_input``,
``dequantize``); ``integer_forward`` in between touches no float tensor. Static scales come from
calibration (lowbit.models.bert_calibrate). The nonlinear methods (softmax, GELU, LayerNorm) are
chosen by the recipe: see lowbit/nn/int_nonlinear.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from lowbit.errors import LowbitError, expect
from lowbit.models.bert import BertConfig, BertEncoder, mean_pool
from lowbit.nn.int_linear import IntLinear
from lowbit.nn.int_nonlinear import (
    NONLINEAR,
    PROB_SCALE,
    IntGelu,
    IntLayerNorm,
    ptf_exponents,
    segment_order,
)
from lowbit.ops.attention import attention_softmax_constants, residual_add
from lowbit.ops.fqvit import LIS_FRAC
from lowbit.ops.gemm import default_threads
from lowbit.ops.intops_kernels import gelu_constants
from lowbit.ops.requant import quantize_multiplier

MASKED = -(2**29)  # score bias of a padding key: its integer exp is 0
I16 = 32767


def residual_shift(s_x: float, wide_range: float) -> int:
    """j such that s_x 2^-j is the finest scale whose int16 codes still hold ``wide_range``."""
    return max(0, min(16, math.floor(math.log2(s_x * I16 / max(wide_range, 1e-30)))))


def _scalar(value: float = 1.0) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


class IntSelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig, nonlinear: str, weight_group: int | None = None):
        super().__init__()
        h = cfg.hidden_size
        self.heads, self.head_dim = cfg.num_attention_heads, h // cfg.num_attention_heads
        self.qkv = IntLinear(h, 3 * h, "int8", weight_group=weight_group)
        self.method = NONLINEAR[nonlinear]
        self.register_buffer("ctx_scale", _scalar())

    def repack(self) -> None:
        s = self.qkv.out_scale.numpy()
        h = s.size // 3
        s_q, s_k, s_v = float(s[0]), float(s[h]), float(s[2 * h])
        self._score_scale = s_q * s_k / math.sqrt(self.head_dim)
        # Log-Int-Softmax's P.V sums V << (14 - k): accumulators at s_v 2^-14
        p_scale = 2.0**-LIS_FRAC if self.method.log_softmax else PROB_SCALE
        m0, shift = quantize_multiplier(p_scale * s_v / float(self.ctx_scale))
        self._ctx_m0, self._ctx_shift = int(m0[0]), int(shift[0])

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv(x)  # [B, T, 3H]: the heads are read in place by the attention kernels
        # one C++ pass per head (q k^T, softmax, p v): scores and probabilities stay in cache
        args = (self._score_scale, self._ctx_m0, self._ctx_shift, default_threads())
        return torch.from_numpy(self.method.attention(qkv.numpy(), self.heads, mask_bias.numpy(), *args))


class IntLayer(nn.Module):
    def __init__(self, cfg: BertConfig, nonlinear: str, weight_group: int | None = None):
        super().__init__()
        h, f, g = cfg.hidden_size, cfg.intermediate_size, weight_group
        ops = NONLINEAR[nonlinear]
        self.attention = IntSelfAttention(cfg, nonlinear, g)
        self.attention_output = IntLinear(h, h, "int16", weight_group=g)
        self.attention_norm = IntLayerNorm(h, cfg.layer_norm_eps)
        self.intermediate = IntLinear(h, f, "int16", weight_group=g)
        self.gelu = IntGelu(f, ops)
        self.output = IntLinear(f, h, "int16", weight_group=g)
        self.output_norm = IntLayerNorm(h, cfg.layer_norm_eps)
        # per channel: the input's power-of-two channel exponent plus the residual shift j
        self.register_buffer("shift1", torch.zeros(h, dtype=torch.int32))
        self.register_buffer("shift2", torch.zeros(h, dtype=torch.int32))

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        a = self.attention_output(self.attention(x, mask_bias))
        x1 = self.attention_norm(_residual(x, self.shift1, a))
        o = self.output(self.gelu(self.intermediate(x1)))
        return self.output_norm(_residual(x1, self.shift2, o))


def _residual(x: torch.Tensor, shift: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(x << shift[c]) + y, saturated to int16 codes (x_c at scale s 2^e_c, y at s 2^-j, shift = e + j)."""
    return torch.from_numpy(residual_add(x.numpy(), shift.numpy(), y.numpy()))


def _permuted(linear: nn.Linear, order: torch.Tensor, rows: bool) -> nn.Linear:
    """A copy of ``linear`` with its output features (rows) or input features reordered."""
    out = nn.Linear(linear.in_features, linear.out_features, bias=linear.bias is not None)
    w = linear.weight.detach()
    out.weight.data = w[order].clone() if rows else w[:, order].clone()
    if linear.bias is not None:
        out.bias.data = linear.bias.detach()[order].clone() if rows else linear.bias.detach().clone()
    return out


_KNOWN = (
    nn.Linear,
    nn.LayerNorm,
    nn.GELU,
    nn.Softmax,
    nn.Embedding,
    nn.Dropout,
    nn.ModuleList,
    nn.Sequential,
)


def unsupported_layers(model: nn.Module) -> list[str]:
    """'name (Type)' of the leaf layers the integer-only BERT conversion has no integer version of."""
    return [
        f"{name} ({type(m).__name__})"
        for name, m in model.named_modules()
        if name and not list(m.children()) and not isinstance(m, _KNOWN)
    ]


class IntBertEncoder(nn.Module):
    """The integer model; build it with ``from_float`` (or empty from a config, to load a state dict)."""

    def __init__(self, cfg: BertConfig, nonlinear: str = "ibert", weight_group: int | None = None):
        super().__init__()
        expect(nonlinear in NONLINEAR, "nonlinear", f"one of {sorted(NONLINEAR)}", nonlinear)
        self.cfg, self.nonlinear = cfg, nonlinear
        h = cfg.hidden_size
        # the input quantization's tables: word rows as int8 codes with a scale per row (the largest
        # table), positions and the token type row in float
        self.register_buffer("word_codes", torch.zeros(cfg.vocab_size, h, dtype=torch.int8))
        self.register_buffer("word_scale", torch.ones(cfg.vocab_size, 1))
        self.register_buffer("position_embeddings", torch.zeros(cfg.max_position_embeddings, h))
        self.register_buffer("token_type", torch.zeros(h))
        self.register_buffer("input_scale", _scalar())
        self.embeddings_norm = IntLayerNorm(h, cfg.layer_norm_eps)
        self.layers = nn.ModuleList(
            IntLayer(cfg, nonlinear, weight_group) for _ in range(cfg.num_hidden_layers)
        )
        # the forward as one C++ call (csrc/int_bert_plan.h); False: module by module (what `lowbit
        # profile` times kernel by kernel). The same integers either way.
        self.use_plan = True
        self._plan = self._io = None

    @classmethod
    def from_float(
        cls,
        model: BertEncoder,
        ranges: dict[str, float],
        nonlinear: str = "ibert",
        weight_bits: int = 8,
        weight_observer: str = "minmax",
        weight_group: int | None = None,
    ) -> IntBertEncoder:
        """Quantize ``model`` with static scales from ``ranges`` (lowbit.models.bert_calibrate)."""
        expect(isinstance(model, BertEncoder), "model", "a lowbit BertEncoder", type(model).__name__)
        cfg = model.cfg
        out = cls(cfg, nonlinear, weight_group)
        s16 = {k: max(v, 1e-8) / I16 for k, v in ranges.items() if "@" not in k}
        w = model.word_embeddings.weight.detach()
        out.word_scale = (w.abs().amax(1, keepdim=True).clamp(min=1e-12) / 127).float()
        out.word_codes = torch.round(w / out.word_scale).clamp(-127, 127).to(torch.int8)
        out.position_embeddings = model.position_embeddings.weight.detach().clone()
        out.token_type = model.token_type_embeddings.weight.detach()[0].clone()
        out.input_scale.fill_(s16["emb"])
        s_x, e_x = out.embeddings_norm.set(
            model.embeddings_norm, s16["emb"], ranges["ln0@c"], ranges.get("emb@ptf")
        )
        lin = {"weight_bits": weight_bits, "weight_observer": weight_observer, "weight_group": weight_group}
        for i, (fl, il) in enumerate(zip(model.layers, out.layers, strict=True)):
            r = {k.split(".", 1)[1]: v for k, v in ranges.items() if k.startswith(f"{i}.")}
            att = fl.attention
            fused = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)
            fused.weight.data = torch.cat([att.query.weight, att.key.weight, att.value.weight]).detach()
            fused.bias.data = torch.cat([att.query.bias, att.key.bias, att.value.bias]).detach()
            qkv_scale = np.repeat([r["q"] / 127, r["k"] / 127, r["v"] / 127], cfg.hidden_size)
            il.attention.qkv = IntLinear.from_float(fused, s_x, qkv_scale, "int8", in_exponent=e_x, **lin)
            il.attention.ctx_scale.fill_(r["ctx"] / 127)
            il.attention.repack()
            j1 = residual_shift(s_x, r["res1"])
            il.shift1 = torch.as_tensor(e_x + j1, dtype=torch.int32)
            s_r1 = s_x * 2.0**-j1
            il.attention_output = IntLinear.from_float(
                fl.attention_output, r["ctx"] / 127, s_r1, "int16", **lin
            )
            s_ln1, e_ln1 = il.attention_norm.set(fl.attention_norm, s_r1, r["ln1@c"], r.get("res1@ptf"))
            # GELU channels in descending-exponent order: the output GEMM then reads them without a gather
            order = torch.from_numpy(segment_order(ptf_exponents(r["gelu@c"])[1]))
            inter, out_lin = (
                _permuted(fl.intermediate, order, rows=True),
                _permuted(fl.output, order, rows=False),
            )
            s_h = r["pre_gelu"] / I16
            il.intermediate = IntLinear.from_float(inter, s_ln1, s_h, "int16", in_exponent=e_ln1, **lin)
            s_g, z_g, e_g = il.gelu.set(s_h, r["gelu_min"], r["gelu@c"][order.numpy()])
            j2 = residual_shift(s_ln1, r["res2"])
            il.shift2 = torch.as_tensor(e_ln1 + j2, dtype=torch.int32)
            s_r2 = s_ln1 * 2.0**-j2
            il.output = IntLinear.from_float(
                out_lin, s_g, s_r2, "int16", in_zero_point=z_g, in_exponent=e_g, **lin
            )
            s_x, e_x = il.output_norm.set(fl.output_norm, s_r2, r["ln2@c"], r.get("res2@ptf"))
        return out

    def quantize_input(self, input_ids: torch.Tensor) -> torch.Tensor:
        """The input quantization (float): embedding lookup and sum -> int16 codes at input_scale."""
        t = input_ids.shape[1]
        if t > self.cfg.max_position_embeddings:
            raise LowbitError(
                f"input_ids: expected at most {self.cfg.max_position_embeddings} tokens, got {t}"
            )
        # numpy, not torch: torch's elementwise ops go parallel and their OpenMP threads then spin on the
        # core lowbit's kernels are about to use (2-thread latency 16 -> 11 ms without them)
        word_mult, position_codes, _ = self._io_tables()
        ids = input_ids.numpy()
        x = self.word_codes.numpy()[ids].astype(np.float32)
        x *= word_mult[ids]
        x += position_codes[:t]
        np.rint(x, out=x)
        return torch.from_numpy(np.clip(x, -I16, I16, out=x).astype(np.int16))

    def _io_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Float tables of the input quantization and output dequantization, in input_scale units: word
        row scales, position plus token type rows, and the last LayerNorm's channel scales."""
        if self._io is None:
            s = np.float32(float(self.input_scale))
            word_mult = self.word_scale.numpy() / s
            position_codes = (self.position_embeddings.numpy() + self.token_type.numpy()) / s
            out_scale = self.layers[-1].output_norm.channel_scale().astype(np.float32)
            self._io = (word_mult, position_codes.astype(np.float32), out_scale)
        return self._io

    def load_state_dict(self, *args, **kwargs):
        self._plan = self._io = None  # built from the constants being replaced
        return super().load_state_dict(*args, **kwargs)

    def plan(self):
        """The whole encoder as one C++ object (lowbit._C.IntBertPlan), or None for a nonlinear method
        without one: its kernels and integers are those of the modules, validated once here instead of on
        every call."""
        if self._plan is None and self.nonlinear in PLAN_METHODS:
            self._plan = build_plan(self)
        return self._plan

    def integer_forward(self, codes: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """int16 embedding codes [B, T, H] -> int8 codes of the last LayerNorm (integers only)."""
        # [B, T]: one key mask per sequence
        mask_bias = torch.from_numpy(np.where(attention_mask.numpy() == 0, MASKED, 0).astype(np.int32))
        plan = self.plan() if self.use_plan else None
        if plan is not None:
            from lowbit import _C

            out = np.empty(codes.shape, dtype=np.int8)
            _C.int_bert_plan_run(plan, codes.numpy(), mask_bias.numpy(), out, "auto", default_threads())
            return torch.from_numpy(out)
        x = self.embeddings_norm(codes)
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        out = codes.numpy().astype(np.float32)
        out *= self._io_tables()[2]
        return torch.from_numpy(out)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.dequantize(self.integer_forward(self.quantize_input(input_ids), attention_mask))

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return mean_pool(self(input_ids, attention_mask), attention_mask)


@contextmanager
def module_by_module(model: nn.Module) -> Iterator[None]:
    """Every IntBertEncoder inside ``model`` runs module by module (no plan) within this block: for what
    hooks on its modules must see (per-layer reports, the profiler)."""
    encoders = [m for m in model.modules() if isinstance(m, IntBertEncoder)]
    saved = [e.use_plan for e in encoders]
    for e in encoders:
        e.use_plan = False
    try:
        yield
    finally:
        for e, u in zip(encoders, saved, strict=True):
            e.use_plan = u


PLAN_METHODS = ("ibert", "shift", "lut", "fq")  # the nonlinear methods csrc/int_bert_plan.h runs


def build_plan(enc: IntBertEncoder):
    """lowbit._C.IntBertPlan of an IntBertEncoder: every constant its modules computed in repack."""
    from lowbit import _C
    from lowbit.ops.ivit import shiftgelu_constants
    from lowbit.ops.shift_lut_kernels import lut_args, nnlut_gelu_args, shift_constants

    expect(enc.nonlinear in PLAN_METHODS, "nonlinear", f"one of {PLAN_METHODS} for a plan", enc.nonlinear)
    cfg = enc.cfg
    plan = _C.int_bert_plan(cfg.hidden_size, cfg.intermediate_size, cfg.num_attention_heads, len(enc.layers))

    def set_norm(layer: int, slot: int, norm: IntLayerNorm) -> None:
        _C.int_bert_plan_norm(plan, layer, slot, *norm._consts)
        if norm._ptf:
            _C.int_bert_plan_norm_ptf(plan, layer, slot, norm._ptf_m0, norm._ptf_shift, norm._ptf_zp,
                                      norm._ptf_alpha)  # fmt: skip

    set_norm(-1, 0, enc.embeddings_norm)
    softmax = {
        "ibert": (_C.int_bert_plan_softmax, attention_softmax_constants),
        "shift": (_C.int_bert_plan_shiftmax, shift_constants),
        "lut": (_C.int_bert_plan_lut_softmax, lut_args),
        "fq": (_C.int_bert_plan_log_int_softmax, attention_softmax_constants),
    }[enc.nonlinear]
    for i, layer in enumerate(enc.layers):
        att = layer.attention
        linears = (("qkv", att.qkv), ("attention_output", layer.attention_output),
                   ("intermediate", layer.intermediate), ("output", layer.output))  # fmt: skip
        for name, lin in linears:
            data, colsum, n, k, bias, m0, shift, _, zp, qmin, qmax, _ = lin._packed_args
            _C.int_bert_plan_linear(plan, i, name, lin._zp_in, data, colsum, n, k, bias, m0, shift, zp, qmin,
                                    qmax, *lin._segment_args)  # fmt: skip
        set_norm(i, 1, layer.attention_norm)
        set_norm(i, 2, layer.output_norm)
        _C.int_bert_plan_attention(plan, i, att._ctx_m0, att._ctx_shift, layer.shift1.numpy(),
                                   layer.shift2.numpy())  # fmt: skip
        set_softmax, constants = softmax
        set_softmax(plan, i, *constants(att._score_scale))
        g = layer.gelu
        requant = (g._m0, g._shift, g._zp)
        if enc.nonlinear == "shift":
            _C.int_bert_plan_shiftgelu(plan, i, *shiftgelu_constants(g._in_scale), *requant)
        elif enc.nonlinear == "lut":
            _C.int_bert_plan_pwl_gelu(plan, i, *nnlut_gelu_args(g._in_scale), *requant)
        else:
            clip, m0, shift, qc, _ = gelu_constants(g._in_scale)
            _C.int_bert_plan_gelu(plan, i, clip, m0, shift, qc, *requant)
    return plan
