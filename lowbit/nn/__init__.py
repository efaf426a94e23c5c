"""Quantized modules that replace float ones (each built by ``from_float``) and run on lowbit's kernels."""

from lowbit.nn.linear import DynamicInt8Linear, quantize_dynamic

__all__ = ["DynamicInt8Linear", "quantize_dynamic"]
