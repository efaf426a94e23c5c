"""lowbit: low-bit and integer-only quantization of PyTorch models, run on lowbit's own CPU kernels.

``lowbit.quantize`` takes a tensor (-> QTensor: codes + scales in a registered format) or a model
(-> QuantizedModel: its layers replaced by lowbit modules following a named recipe).

Example:
    >>> import torch, lowbit
    >>> w = torch.randn(256, 512)
    >>> q = lowbit.quantize(w, "int", bits=4, granularity=lowbit.per_group(64))
    >>> err = (q.dequantize() - w).abs().max()
    >>> bool(err <= q.params["scale"].max() / 2 + 1e-6)
    True
"""

from lowbit.errors import LowbitError
from lowbit.formats import REGISTRY as FORMATS
from lowbit.formats import (
    Granularity,
    QTensor,
    dequantize,
    fake_quantize,
    per_channel,
    per_group,
    per_tensor,
    vector,
)
from lowbit.formats import quantize as quantize_tensor
from lowbit.model import QuantizedModel, load, quantize_model, save
from lowbit.recipes import RECIPES, Recipe

__version__ = "0.1.0"


def quantize(x, *args, **kwargs):
    """A tensor -> ``quantize_tensor(x, format, bits, granularity, **options)`` (a QTensor);
    an nn.Module -> ``quantize_model(model, recipe, calibration_data)`` (a QuantizedModel)."""
    import torch

    if isinstance(x, torch.nn.Module):
        return quantize_model(x, *args, **kwargs)
    return quantize_tensor(x, *args, **kwargs)


__all__ = [
    "FORMATS",
    "RECIPES",
    "Granularity",
    "LowbitError",
    "QTensor",
    "QuantizedModel",
    "Recipe",
    "__version__",
    "dequantize",
    "fake_quantize",
    "load",
    "per_channel",
    "per_group",
    "per_tensor",
    "quantize",
    "quantize_model",
    "quantize_tensor",
    "save",
    "vector",
]
