"""Registry of the integer-only nonlinear ops: (op, method) -> reference function and table bytes.

``lowbit bench intops`` iterates INTOPS. Every function takes (codes, scale, ...) and returns
(codes, scale) — see each docstring for bit-widths, ranges and the documented error bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lowbit.ops import fqvit, ibert, ivit, lut_softmax, nnlut, pwl


@dataclass(frozen=True)
class IntOp:
    op: str  # "softmax" | "gelu" | "layernorm" | "sigmoid" | "tanh"
    method: str
    ref: Callable
    table_bytes: int
    bound: float  # documented max abs error vs float64 (probabilities / real output units / codes)
    # bytes of the rows the C++ kernel derives from the table for one input scale (None: it holds the table)
    kernel_bytes: Callable[[float], int] | None = None


def _plan_bytes(plan) -> int:
    return sum(c.nbytes for c in plan.kernel_rows)


def _gelu(scale: float) -> int:
    return _plan_bytes(nnlut.gelu_plan(scale))


def _pwl_rows(name: str) -> Callable[[float], int]:
    return lambda scale: _plan_bytes(pwl.pwl_plan(pwl.default_table(name), scale))


INTOPS: dict[tuple[str, str], IntOp] = {
    ("softmax", "ibert"): IntOp("softmax", "ibert", ibert.ibert_softmax_ref, 0, 1e-2),
    ("softmax", "shiftmax"): IntOp("softmax", "shiftmax", ivit.shiftmax_ref, 0, 2.5e-2),
    # max error is the method's: 4-bit log2 probabilities
    ("softmax", "log_int"): IntOp("softmax", "log_int", fqvit.log_int_softmax_ref, 0, 0.34),
    ("softmax", "lut_rexp"): IntOp(
        "softmax", "lut_rexp", lut_softmax.lut_softmax_rexp_ref, lut_softmax.TABLE_BYTES["rexp"], 1e-2
    ),
    ("softmax", "lut_lnexp"): IntOp(
        "softmax", "lut_lnexp", lut_softmax.lut_softmax_lnexp_ref, lut_softmax.TABLE_BYTES["lnexp"], 1e-2
    ),
    ("gelu", "ibert"): IntOp("gelu", "ibert", ibert.ibert_gelu_ref, 0, 2.5e-2),
    ("gelu", "shiftgelu"): IntOp("gelu", "shiftgelu", ivit.shiftgelu_ref, 256, 5e-2),  # 64 knots + 64 slopes
    # LayerNorm bounds are in output codes (1 LSB of float-then-quantize)
    ("layernorm", "ibert"): IntOp("layernorm", "ibert", ibert.ibert_layernorm_ref, 0, 1.0),
    ("layernorm", "ivit"): IntOp("layernorm", "ivit", ivit.ivit_layernorm_ref, 0, 1.0),
    ("layernorm", "ptf"): IntOp("layernorm", "ptf", fqvit.ptf_layernorm_ref, 0, 1.0),
    # NN-LUT tables are fitted lazily: bytes are the reserved size. Softmax: what its kernels hold, the exp
    # rows (17 x 3 uint16), the AVX-512 bucket index (128 bytes) and the reciprocal table (17 x 10 bytes)
    ("softmax", "nnlut"): IntOp("softmax", "nnlut", nnlut.nnlut_softmax_ref, nnlut.SOFTMAX_TABLE_BYTES, 1e-2),
    # GELU: the fitted table; its kernel holds rows per scale (gelu_plan), 11 bytes each
    ("gelu", "nnlut"): IntOp("gelu", "nnlut", nnlut.nnlut_gelu_ref, nnlut.MAX_TABLE_BYTES, 3.5e-3, _gelu),
    # iRNN PWL with the default table (16 segments on [-8, 8], 160 bytes); bounds are table.bound rounded up;
    # the kernel holds the table's rows on the codes of a scale (pwl_plan), 9 bytes each
    ("sigmoid", "pwl"): IntOp("sigmoid", "pwl", pwl.pwl_sigmoid_ref, 160, 2e-3, _pwl_rows("sigmoid")),
    ("tanh", "pwl"): IntOp("tanh", "pwl", pwl.pwl_tanh_ref, 160, 4e-3, _pwl_rows("tanh")),
}
