"""lowbit: low-bit and integer-only quantization of PyTorch models, run on lowbit's own CPU kernels.

Example:
    >>> import torch, lowbit
    >>> w = torch.randn(256, 512)
    >>> q = lowbit.quantize(w, "int", bits=4, granularity=lowbit.per_group(64))
    >>> err = (q.dequantize() - w).abs().max()
    >>> bool(err <= q.params["scale"].max() / 2 + 1e-6)
    True
"""

from lowbit.errors import LowbitError
from lowbit.formats import (
    REGISTRY as FORMATS,
)
from lowbit.formats import (
    Granularity,
    QTensor,
    dequantize,
    fake_quantize,
    per_channel,
    per_group,
    per_tensor,
    quantize,
    vector,
)

__version__ = "0.1.0"

__all__ = [
    "FORMATS",
    "Granularity",
    "LowbitError",
    "QTensor",
    "__version__",
    "dequantize",
    "fake_quantize",
    "per_channel",
    "per_group",
    "per_tensor",
    "quantize",
    "vector",
]
