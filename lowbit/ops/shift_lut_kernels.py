"""C++ kernels of I-ViT's Shiftmax / ShiftGELU, the LUT softmax (rexp, lnexp) and NN-LUT's GELU, bit-exact
with their references (lowbit/ops/ivit.py, lut_softmax.py, nnlut.py).

As in intops_kernels.py: each wrapper validates like its reference, derives the per-call integer constants
from the float scale with the reference's own expressions, and passes only integers (and the references'
integer tables) to the kernel. Codes are int16 or int32, C-contiguous, rows along the last axis; anything
else is a LowbitError naming the argument (never a silent copy).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lowbit.errors import as_dtype, expect
from lowbit.ops import lut_softmax as _lut
from lowbit.ops import nnlut as _nnlut
from lowbit.ops.intcore import check_axis, check_scale, dyadic
from lowbit.ops.intops_kernels import _codes
from lowbit.ops.ivit import SHIFT_K, SHIFT_N, SIG_BITS, shiftgelu_constants

_SOFTMAX_SCALE = 2.0**-8


def _last_axis(q: np.ndarray, axis: object) -> None:
    ax = check_axis(axis, q.ndim)
    expect(ax == q.ndim - 1, "axis", "the last axis (the kernel's rows; move the axis first)", axis)


@functools.lru_cache(maxsize=256)
def shift_constants(scale: float) -> tuple[int, int, int]:
    """(clamp, m0, shift) of ivit's Shiftmax rescale of q - max to 2^-15."""
    clip = min(2**31, math.ceil((SHIFT_N + 2) / scale))
    m0, shift = dyadic(scale * 2**SHIFT_K)
    return clip, m0, shift


def shiftmax(q: np.ndarray, scale: float, axis: int = -1, isa: str = "auto") -> tuple[np.ndarray, float]:
    """Kernel of ``ivit.shiftmax_ref``. q: int16 or int32 codes, rows along the last axis (at most 2^20
    long); scale in (0, 2^15). Returns (uint8 codes of q's shape, 2^-8)."""
    from lowbit import _C

    s = check_scale(scale, hi=2.0**15)
    q = _codes(q)
    _last_axis(q, axis)
    out = np.empty(q.shape, dtype=np.uint8)
    _C.shiftmax(q, *shift_constants(s), out, isa)
    return out, _SOFTMAX_SCALE


_GELU_OUT = (np.dtype(np.int32), np.dtype(np.int64))  # built once: np.dtype() costs ~0.1 us a call


def shiftgelu(
    q: np.ndarray, scale: float, isa: str = "auto", out_dtype: type = np.int32
) -> tuple[np.ndarray, float]:
    """Kernel of ``ivit.shiftgelu_ref``. q: int16 or int32 codes in [-32767, 32767]; scale in (0, 2^15).

    Returns (codes q * sigmoid_Q15 of q's shape, scale * 2^-15); int32 like the reference, or the same
    values as int64 with ``out_dtype=np.int64``.
    """
    from lowbit import _C

    s = check_scale(scale, hi=2.0**15)
    q = _codes(q)
    out_dtype = as_dtype(out_dtype, "out_dtype", _GELU_OUT)
    out = np.empty(q.shape, dtype=out_dtype)
    _C.shiftgelu(q, *shiftgelu_constants(s), out, isa)
    return out, s * 2.0**-SIG_BITS


@functools.lru_cache(maxsize=256)
def lut_constants(scale: float) -> tuple[int, int, int]:
    """(dcap, m0, shift) of lut_softmax._exponents for this input scale."""
    dcap = min(2**31, math.ceil(24 / scale) + 1)
    m0, shift = dyadic(scale * math.log2(math.e) * 2**_lut.FRAC)
    return dcap, m0, shift


_LUT_TABLES = (
    np.ascontiguousarray(_lut.EXP2, dtype=np.uint16),
    np.ascontiguousarray(_lut.RECIP, dtype=np.uint16),
    np.ascontiguousarray(_lut.LOG2, dtype=np.uint8),
)


def lut_args(scale: float, method: str = "rexp") -> tuple:
    """(dcap, m0, shift, exp2, recip, log2, lnexp): everything the LUT softmax kernel takes but q and out."""
    return (*lut_constants(scale), *_LUT_TABLES, method == "lnexp")


def lut_softmax(
    q: np.ndarray, scale: float, method: str = "rexp", axis: int = -1, isa: str = "auto"
) -> tuple[np.ndarray, float]:
    """Kernel of ``lut_softmax.lut_softmax_rexp_ref`` (method "rexp", the default: the lower error of the
    two in ``lowbit bench intops``) or ``lut_softmax_lnexp_ref`` ("lnexp"). q: int16 or int32 codes, rows
    along the last axis (at most 2^20 long); scale in (0, 2^20). Returns (uint8 codes, 2^-8)."""
    from lowbit import _C

    expect(method in ("rexp", "lnexp"), "method", "'rexp' or 'lnexp'", method)
    s = check_scale(scale)
    q = _codes(q)
    _last_axis(q, axis)
    out = np.empty(q.shape, dtype=np.uint8)
    _C.lut_softmax(q, *lut_args(s, method), out, isa)
    return out, _SOFTMAX_SCALE


@functools.lru_cache(maxsize=1)
def nnlut_gelu_constants(scale: float) -> tuple[int, int, int, int, int, int]:
    """(r, base, w_max, q8, id_m0, id_shift) of nnlut.gelu_plan for this input scale."""
    pl = _nnlut.gelu_plan(scale)
    return pl.r, pl.base, pl.w_max, pl.q8, pl.id_m0, pl.id_shift


def nnlut_gelu(q: np.ndarray, scale: float, isa: str = "auto") -> tuple[np.ndarray, float]:
    """Kernel of ``nnlut.nnlut_gelu_ref`` (the fitted 16-unit table, evaluated in integers). q: int16 or
    int32 codes; scale in (0, 2^14). Returns (int32 codes of q's shape, 2^-16)."""
    from lowbit import _C

    s = check_scale(scale, hi=2.0**14)
    q = _codes(q)
    out = np.empty(q.shape, dtype=np.int32)
    _C.pwl_gelu(q, *nnlut_gelu_args(s), out, isa)
    return out, 2.0**-_nnlut.GELU_OUT


def nnlut_gelu_args(scale: float) -> tuple:
    """Everything the PWL GELU kernel takes but q and out: nnlut.gelu_plan(scale)'s constants, then its rows
    (starts, anchors, shifts, slopes, values)."""
    return (*nnlut_gelu_constants(scale), *_nnlut.gelu_plan(scale).kernel_rows)
