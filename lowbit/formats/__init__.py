"""Number formats: what an integer code means. REGISTRY lists them all (one module each)."""

from lowbit.formats import ant as _ant  # noqa: F401
from lowbit.formats import bcq as _bcq  # noqa: F401
from lowbit.formats import binary as _binary  # noqa: F401
from lowbit.formats import codebook as _codebook  # noqa: F401
from lowbit.formats import flint as _flint  # noqa: F401
from lowbit.formats import int as _int  # noqa: F401  (each import registers one row)
from lowbit.formats import lns as _lns  # noqa: F401
from lowbit.formats import minifloat as _minifloat  # noqa: F401
from lowbit.formats import nf as _nf  # noqa: F401
from lowbit.formats import pot as _pot  # noqa: F401  (two rows: pot, log2)
from lowbit.formats import ternary as _ternary  # noqa: F401
from lowbit.formats.base import REGISTRY, QTensor, dequantize, fake_quantize, get_format, quantize
from lowbit.formats.granularity import Granularity, per_channel, per_group, per_tensor, vector

__all__ = [
    "REGISTRY",
    "QTensor",
    "Granularity",
    "dequantize",
    "fake_quantize",
    "get_format",
    "quantize",
    "per_channel",
    "per_group",
    "per_tensor",
    "vector",
]
