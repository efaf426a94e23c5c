"""C++ kernels of FQ-ViT's Log-Int-Softmax and PTF LayerNorm, NN-LUT's softmax and the iRNN PWL sigmoid
and tanh, bit-exact with their references (``fqvit.log_int_softmax_ref``, ``fqvit.ptf_layernorm_ref``,
``nnlut.nnlut_softmax_ref``, ``pwl.pwl_sigmoid_ref``, ``pwl.pwl_tanh_ref``). I-ViT's LayerNorm is I-BERT's
(``ivit.ivit_layernorm_ref`` is ``ibert_layernorm_ref``): its kernel is ``intops_kernels.ibert_layernorm``.

As in intops_kernels.py: each wrapper validates like its reference, derives the per-call integer constants
from the float scale with the reference's own expressions, and passes only integers (and the tables'
integer arrays) to the kernel. Codes are int16 or int32 (PTF: uint8), C-contiguous, rows along the last
axis.
"""

from __future__ import annotations

import functools

import numpy as np

from lowbit.errors import expect
from lowbit.ops import nnlut as _nnlut
from lowbit.ops import pwl as _pwl
from lowbit.ops.fqvit import LIS_BITS, PTF_MAX_ALPHA, PTFParams
from lowbit.ops.intcore import check_axis, check_codes, check_scale
from lowbit.ops.intops_kernels import _codes, _layernorm_constants, softmax_constants


def log_int_softmax(q: np.ndarray, scale: float, axis: int = -1, isa: str = "auto") -> tuple[np.ndarray, int]:
    """Kernel of ``fqvit.log_int_softmax_ref``: 4-bit codes k (p ~ 2^-k, 15 = zero) as uint8, and 4 (bits).

    q: int16 or int32 codes, rows along the last axis (at most 2^20 long); scale in (0, 2^20). The exps are
    I-BERT's (the same constants as ``intops_kernels.ibert_softmax``); the kernel computes k without the
    reference's per-element division (csrc/intops_extra.h: 15 thresholds per row).
    """
    from lowbit import _C

    s = check_scale(scale)
    q = _codes(q)
    ax = check_axis(axis, q.ndim)
    expect(ax == q.ndim - 1, "axis", "the last axis (the kernel's rows; move the axis first)", axis)
    out = np.empty(q.shape, dtype=np.uint8)
    _C.log_int_softmax(q, *softmax_constants(s), out, isa)
    return out, LIS_BITS


def _pwl_act(
    q: object, scale: object, table: _pwl.PWLTable | None, name: str, isa: str
) -> tuple[np.ndarray, float]:
    from lowbit import _C

    s = check_scale(scale)
    q = _codes(q)
    t = _pwl.default_table(name) if table is None else table
    expect(isinstance(t, _pwl.PWLTable) and t.name == name, "table", f"a PWLTable for {name}", t)
    expect(t.starts.size <= 32, "table", "at most 32 segments (the kernel's 64 rows)", t.starts.size)
    pl = _pwl.pwl_plan(t, s)
    lim = 2**t.out_frac
    out = np.empty(q.shape, dtype=np.int16)
    _C.pwl_act(
        q,
        pl.r,
        pl.base,
        pl.w_max,
        *pl.kernel_rows,
        0 if name == "sigmoid" else -lim,
        lim,
        pl.clipless,
        out,
        isa,
    )
    return out, 2.0**-t.out_frac


def pwl_sigmoid(
    q: np.ndarray, scale: float, table: _pwl.PWLTable | None = None, isa: str = "auto"
) -> tuple[np.ndarray, float]:
    """Kernel of ``pwl.pwl_sigmoid_ref``: int16 codes in [0, 2^14] at 2^-14. q: int16 or int32 codes;
    ``table`` from ``pwl.fit_pwl("sigmoid", ...)`` with at most 32 segments (default: 16)."""
    return _pwl_act(q, scale, table, "sigmoid", isa)


def pwl_tanh(
    q: np.ndarray, scale: float, table: _pwl.PWLTable | None = None, isa: str = "auto"
) -> tuple[np.ndarray, float]:
    """Kernel of ``pwl.pwl_tanh_ref``: int16 codes in [-2^14, 2^14] at 2^-14; otherwise as pwl_sigmoid."""
    return _pwl_act(q, scale, table, "tanh", isa)


def ptf_layernorm(
    q: np.ndarray,
    p: PTFParams,
    weight: np.ndarray,
    bias: np.ndarray,
    out_scale: float,
    eps: float = 1e-12,
    isa: str = "auto",
) -> tuple[np.ndarray, float]:
    """Kernel of ``fqvit.ptf_layernorm_ref``: int8 codes at ``out_scale``, normalised over the last axis.

    q: uint8 PTF codes (what ``fqvit.ptf_quantize`` returns), channels last (2..16384), below 2^p.bits.
    The kernel shifts x = (q - zero_point) << alpha_c and runs the I-BERT LayerNorm kernel on x with the
    constants of p.scale (the reference's layernorm_core_ref on the same integers).
    """
    from lowbit import _C

    expect(isinstance(p, PTFParams), "p", "a PTFParams", type(p))
    arr = np.asarray(q)
    expect(arr.dtype == np.uint8, "q", "uint8 PTF codes", arr.dtype)
    expect(
        arr.ndim >= 1 and arr.shape[-1:] == np.shape(p.alpha),
        "q",
        f"last axis of {np.shape(p.alpha)} channels",
        arr.shape,
    )
    alpha = np.asarray(p.alpha)
    if not (alpha.dtype == np.int64 and alpha.ndim == 1 and alpha.flags.c_contiguous):
        alpha = check_codes(p.alpha, "alpha", 0, PTF_MAX_ALPHA).astype(np.uint8)
    # else the kernel checks alpha in [0, 3] itself (ptf_calibrate's int64 alpha; ~4 us saved per call)
    s = check_scale(p.scale, "p.scale")
    expect(isinstance(p.bits, int) and 2 <= p.bits <= 8, "p.bits", "an int in [2, 8]", p.bits)
    expect(isinstance(p.zero_point, (int, np.integer)) and 0 <= p.zero_point < 2**p.bits, "p.zero_point",
           "an int in [0, 2^bits)", p.zero_point)  # fmt: skip
    _, consts = _layernorm_constants(arr.shape, -1, s, weight, bias, out_scale, eps)
    out = np.empty(arr.shape, dtype=np.int8)
    _C.ptf_layernorm(arr, p.bits, int(p.zero_point), alpha, *consts, out, isa)
    return out, float(out_scale)


def _table_arrays(t: _pwl.PWLTable) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    return (
        np.ascontiguousarray(t.starts, dtype=np.int16),
        np.ascontiguousarray(t.slopes, dtype=np.int32),
        np.ascontiguousarray(t.intercepts, dtype=np.int32),
        t.in_frac + t.slope_frac - t.out_frac,
    )


@functools.lru_cache(maxsize=256)
def nnlut_softmax_constants(scale: float) -> tuple[int, int, int, bool]:
    """(m, s, dcap, binary) of nnlut.softmax_constants for this input scale."""
    c = _nnlut.softmax_constants(scale)
    return c.m, c.s, c.dcap, c.binary


@functools.lru_cache(maxsize=1)
def _nnlut_softmax_tables() -> tuple:
    """The exp rows (starts, values, slopes as uint16), rfrac and the reciprocal table's arrays, as the
    kernel takes them (built once: converting them on every call cost ~10 us)."""
    rows = _nnlut.softmax_exp_rows()
    return (
        *(np.ascontiguousarray(a, dtype=np.uint16) for a in (rows.starts, rows.values, rows.slopes)),
        _nnlut.SPECS["recip"][4],
        *_table_arrays(_nnlut.table("recip")),
    )


def nnlut_softmax(q: np.ndarray, scale: float, axis: int = -1, isa: str = "auto") -> tuple[np.ndarray, float]:
    """Kernel of ``nnlut.nnlut_softmax_ref`` (the fitted exp and reciprocal tables, evaluated in integers).

    q: int16 or int32 codes, rows along the last axis (at most 2^20 long); scale in (0, 2^20). Returns
    (uint8 codes, 2^-8).
    """
    from lowbit import _C

    s = check_scale(scale)
    q = _codes(q)
    ax = check_axis(axis, q.ndim)
    expect(ax == q.ndim - 1, "axis", "the last axis (the kernel's rows; move the axis first)", axis)
    out = np.empty(q.shape, dtype=np.uint8)
    _C.nnlut_softmax(q, *nnlut_softmax_constants(s), *_nnlut_softmax_tables(), out, isa)
    return out, 2.0**-_nnlut.OUT_BITS
