"""C++ kernels of the I-BERT integer ops, bit-exact with the references in lowbit/ops/ibert.py.

Each wrapper validates like its reference, derives the per-call integer constants from the float scale
exactly as the reference does (the same expressions on the same constants), and passes only integers to
the kernel: the C++ side never sees a float. The kernels take int16 or int32 codes, C-contiguous, rows
along the last axis; anything else is a LowbitError (never a silent copy).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lowbit.errors import as_dtype, expect
from lowbit.ops.ibert import (
    ERF_A,
    ERF_B,
    ERF_DROP,
    ERF_K,
    EXP_A,
    EXP_B,
    EXP_C,
    EXP_K,
    EXP_N,
    OUT_BITS,
    check_layernorm_args,
    layernorm_constants,
)
from lowbit.ops.intcore import check_axis, check_scale, dyadic

_CODES = (np.dtype(np.int16), np.dtype(np.int32))


def _codes(q: object) -> np.ndarray:
    arr = np.asarray(q)
    expect(arr.dtype in _CODES, "q", "int16 or int32 codes", arr.dtype)
    expect(arr.size > 0 and arr.ndim > 0, "q", "a non-empty array (rows along the last axis)", arr.shape)
    return arr


@functools.lru_cache(maxsize=256)  # a model calls with a handful of calibrated scales; this saves ~20 us
def softmax_constants(scale: float) -> tuple[int, int, int, int, int]:
    """(dclip, m0, shift, qb, qc) of ibert._iexp_nonpos for this input scale."""
    s_e = math.log(2) / 2**EXP_K
    dclip = min(2**31, math.ceil((EXP_N + 1) * math.log(2) / scale))
    m0, shift = dyadic(scale / s_e)
    qb, qc = math.floor(EXP_B / s_e), math.floor(EXP_C / (EXP_A * s_e * s_e))
    return dclip, m0, shift, qb, qc


def ibert_softmax(q: np.ndarray, scale: float, axis: int = -1, isa: str = "auto") -> tuple[np.ndarray, float]:
    """Kernel of ``ibert_softmax_ref``: uint8 codes at scale 2^-8, rows along the last axis only."""
    from lowbit import _C

    s = check_scale(scale)
    q = _codes(q)
    ax = check_axis(axis, q.ndim)
    expect(ax == q.ndim - 1, "axis", "the last axis (the kernel's rows; move the axis first)", axis)
    out = np.empty(q.shape, dtype=np.uint8)
    _C.ibert_softmax(q, *softmax_constants(s), out, isa)
    return out, 2.0**-OUT_BITS


@functools.lru_cache(maxsize=256)
def gelu_constants(scale: float) -> tuple[int, int, int, int, float]:
    """(clip, m0, shift, qc, output scale) of ibert_gelu_ref for this input scale."""
    s_in = scale / math.sqrt(2.0)
    s_e = -ERF_B / 2**ERF_K
    clip = min(2**31, math.ceil(-ERF_B / s_in) + 1)
    m0, shift = dyadic(s_in / s_e)
    qc = math.floor(1.0 / (-ERF_A * s_e * s_e))
    return clip, m0, shift, qc, scale * (1.0 / qc) * 2**ERF_DROP / 2


_GELU_OUT = (np.dtype(np.int64), np.dtype(np.int32))  # built once: np.dtype() costs ~0.1 us a call


def ibert_gelu(
    q: np.ndarray, scale: float, isa: str = "auto", out_dtype: type = np.int64
) -> tuple[np.ndarray, float]:
    """Kernel of ``ibert_gelu_ref``: codes q (erf + one) and their scale.

    The codes are int64 like the reference's; ``out_dtype=np.int32`` stores the same values in half the
    bytes, for int16 ``q`` only (|codes| < 2^31 then; int32 codes can need 48 bits).
    """
    from lowbit import _C

    s = check_scale(scale)
    q = _codes(q)
    out_dtype = as_dtype(out_dtype, "out_dtype", _GELU_OUT)
    expect(
        out_dtype == _GELU_OUT[0] or q.dtype == _CODES[0],
        "out_dtype",
        "int64 for int32 codes (int32 needs int16 q)",
    )
    clip, m0, shift, qc, out_scale = gelu_constants(s)
    out = np.empty(q.shape, dtype=out_dtype)
    _C.ibert_gelu(q, clip, m0, shift, qc, out, isa)
    return out, out_scale


_LN_CACHE: dict[tuple, tuple] = {}
_LN_CACHE_SIZE = 64
# (meta, weight bytes, bias bytes, constants) of the last call that hit or filled the cache
_LN_LAST: list = [None]


def _layernorm_constants(
    shape: tuple[int, ...], axis: int, s: float, weight: object, bias: object, out_scale: float, eps: float
) -> tuple[int, tuple]:
    """(axis, kernel constants) of a LayerNorm call, validated like the reference.

    A model calls its LayerNorms with fixed parameters, and deriving the per-channel constants costs
    ~150 us (more than the kernel on a (1024, 384) input), so they are cached by value: the key holds the
    bytes of weight and bias, so a changed parameter never reuses stale constants.
    """
    try:
        w, b = np.asarray(weight), np.asarray(bias)
        meta = (shape[-1], len(shape), type(axis), axis, s, float(out_scale), float(eps),
                w.dtype.str, w.shape, b.dtype.str, b.shape)  # fmt: skip
        wb, bb = w.tobytes(), b.tobytes()
        # the last call's key first: equal bytes compare by memcmp, while hashing them (the dict's key) costs
        # ~3 us per 1536 float64 channels, about 1% of a (1024, 1536) call
        last = _LN_LAST[0]
        if last is not None and last[0] == meta and last[1] == wb and last[2] == bb:
            return last[3]
        key = (*meta, wb, bb)
        hash(key)
    except (TypeError, ValueError, ZeroDivisionError):
        key = None  # not hashable as values: the checks below say what is wrong
    hit = _LN_CACHE.get(key) if key is not None else None
    if hit is not None:
        _LN_LAST[0] = (meta, wb, bb, hit)
        return hit
    ax, w, b = check_layernorm_args(shape, axis, weight, bias, out_scale, eps)
    expect(ax == len(shape) - 1, "axis", "the last axis (the kernel's rows; move the axis first)", axis)
    hit = (ax, layernorm_constants(s, w, b, float(out_scale), eps))
    if key is not None:
        if len(_LN_CACHE) >= _LN_CACHE_SIZE:
            _LN_CACHE.clear()
        _LN_CACHE[key] = hit
        _LN_LAST[0] = (meta, wb, bb, hit)
    return hit


def ibert_layernorm(
    q: np.ndarray,
    scale: float,
    weight: np.ndarray,
    bias: np.ndarray,
    out_scale: float,
    eps: float = 1e-12,
    axis: int = -1,
    isa: str = "auto",
) -> tuple[np.ndarray, float]:
    """Kernel of ``ibert_layernorm_ref``: int8 codes at ``out_scale``, normalised along the last axis."""
    from lowbit import _C

    s = check_scale(scale)
    q = _codes(q)
    _, consts = _layernorm_constants(q.shape, axis, s, weight, bias, out_scale, eps)
    out = np.empty(q.shape, dtype=np.int8)
    _C.ibert_layernorm(q, *consts, out, isa)
    return out, float(out_scale)
