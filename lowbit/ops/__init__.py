"""Integer-only operations: each has a plain reference (``*_ref``) and a fast kernel call beside it."""

from lowbit.ops.gemm import PackedWeight, gemm, gemm_ref, pack_weight
from lowbit.ops.requant import (
    available_isas,
    quantize_multiplier,
    requantize,
    requantize_ref,
    rshift_round_ref,
)

__all__ = [
    "PackedWeight",
    "available_isas",
    "gemm",
    "gemm_ref",
    "pack_weight",
    "quantize_multiplier",
    "requantize",
    "requantize_ref",
    "rshift_round_ref",
]
