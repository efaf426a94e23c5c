"""Quantized modules that replace float ones (each built by ``from_float``) and run on lowbit's kernels:
``DynamicInt8Linear`` (recipe dynamic-int8) and the integer-only BERT (``IntBertEncoder`` of ``IntLinear``,
``IntLayerNorm``, ``IntGelu``; the static recipes)."""

from lowbit.nn.int_bert import IntBertEncoder
from lowbit.nn.int_linear import IntLinear
from lowbit.nn.int_nonlinear import NONLINEAR, IntGelu, IntLayerNorm
from lowbit.nn.linear import DynamicInt8Linear, quantize_dynamic

__all__ = ["NONLINEAR", "DynamicInt8Linear", "IntBertEncoder", "IntGelu", "IntLayerNorm", "IntLinear",
           "quantize_dynamic"]  # fmt: skip
