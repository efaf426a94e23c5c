"""int8 GEMM: activations [M, K] (uint8 or int8, with a zero point) times int8 weights [N, K]
(torch Linear layout), prepacked once, with a fused epilogue.

    acc[m, n] = sum_k (a[m, k] - a_zero_point) * w[n, k] + bias[n]          (exact, int32)
    out = acc                                  out_dtype int32
        = float32(acc) * scale[n]              out_dtype float32   (e.g. scale = s_a * s_w[n])
        = requantize(acc, m0, shift, zp, qmin, qmax)   out_dtype int8/uint8/int16 (the rule of ops/requant.py)
    relu clamps at 0 (at the zero point for int8/uint8 outputs).

Limits: K <= MAX_K = 32768 (so the int32 accumulator cannot overflow: 255 * 128 * K < 2^30) and
|bias| < 2^30; beyond them the kernel refuses. ``gemm_ref`` is the oracle (numpy int64).
Threads split the output columns; results do not depend on the thread count.

``gemm_batched`` runs G such products with unpacked right-hand sides b[g] [N, K] (attention: Q K^T and
P V per head), packing each on the fly; per-tensor requantization only; ``gemm_batched_ref`` is its oracle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from lowbit.errors import LowbitError, as_array, as_dtype, as_int, expect, expect_arrays
from lowbit.ops.requant import requantize_ref

MAX_K = 32768
LAYOUT = "k4n64"
_EMPTY = np.empty(0, dtype=np.int32)
_EMPTY_F32 = np.empty(0, dtype=np.float32)
_RANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255), np.dtype(np.int16): (-32768, 32767)}
_OUT_DTYPES = (np.dtype(np.int32), np.dtype(np.float32), *_RANGE)
_A_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8))
I32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class PackedWeight:
    """An int8 weight [N, K] in the kernel's blocked layout, with its column sums (see csrc/gemm.h).

    With input exponents, K is reordered into segments of equal exponent (largest first, each padded to
    a multiple of 4): ``perm`` maps packed k to the input column (-1: padding), ``seg_end``/``seg_shift``
    are the segments' k4 ends and Horner shifts, and ``colsum`` is weighted by 2^exponent.
    """

    data: np.ndarray  # int8 [ceil(N/64), ceil(K/4), 64, 4]
    colsum: np.ndarray  # int32 [N]
    n: int
    k: int  # the packed K
    layout: str = LAYOUT
    k_in: int = 0  # the activation's K (= k without exponents)
    perm: np.ndarray = field(default_factory=lambda: _EMPTY)
    seg_end: np.ndarray = field(default_factory=lambda: _EMPTY)
    seg_shift: np.ndarray = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        expect_arrays("w", self, ("data", "colsum", "perm", "seg_end", "seg_shift"))
        # n sizes the output (allocated before the kernel's checks): checked once here, not on every call
        object.__setattr__(self, "n", as_int(self.n, "w.n", 1, I32[1]))
        object.__setattr__(self, "k", as_int(self.k, "w.k", 1, MAX_K))
        if not self.k_in:
            object.__setattr__(self, "k_in", self.k)


def _segments(e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(perm, seg_end, seg_shift) of per-column exponents e (see PackedWeight). perm is empty when the
    columns are already in segment order (non-increasing e, every group but the last a multiple of 4)."""
    values = np.unique(e)[::-1]
    sizes = [int((e == v).sum()) for v in values]
    if (np.diff(e) <= 0).all() and all(n % 4 == 0 for n in sizes[:-1]):
        ends = np.cumsum(sizes)
        ends[-1] = -(-ends[-1] // 4) * 4
        return (
            _EMPTY,
            (ends // 4).astype(np.int32),
            np.append(values[:-1] - values[1:], values[-1]).astype(np.int32),
        )
    perm, ends = [], []
    for v in values:
        cols = np.flatnonzero(e == v).astype(np.int32)
        perm += [cols, np.full(-len(cols) % 4, -1, dtype=np.int32)]
        ends.append(sum(len(p) for p in perm) // 4)
    shifts = np.append(values[:-1] - values[1:], values[-1])
    return np.concatenate(perm), np.array(ends, np.int32), shifts.astype(np.int32)


def _empty_aligned(shape: tuple[int, ...], dtype: type = np.int8, align: int = 64) -> np.ndarray:
    """An uninitialized array whose first byte sits on an ``align``-byte boundary (numpy aligns to
    16 bytes only: every 64-byte load of the kernels would then straddle two cache lines)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + align, dtype=np.uint8)
    off = -raw.ctypes.data % align
    return raw[off : off + size].view(dtype).reshape(shape)


def _isa(isa: object) -> str:
    expect(isinstance(isa, str), "isa", "a str ('auto' or a variant of available_isas())", isa)
    return isa  # type: ignore[return-value]


def pack_weight(w: np.ndarray, in_exponent: np.ndarray | None = None) -> PackedWeight:
    """Pack int8 weights [N, K] once, when a layer is quantized.

    ``in_exponent`` (int, [K], 0..30): input column k is multiplied by 2^in_exponent[k] inside the
    accumulation (power-of-two channel factors of the activations, applied exactly; see csrc/gemm.h).
    """
    from lowbit import _C

    w = np.asarray(w)
    expect(w.dtype == np.int8 and w.ndim == 2, "w", "an int8 array [N, K]", (w.dtype, w.shape))
    n, k = w.shape
    expect(1 <= k <= MAX_K, "w", f"1 <= K <= {MAX_K} (int32 accumulation bound)", k)
    if in_exponent is None:
        data = _empty_aligned(((n + 63) // 64, (k + 3) // 4, 64, 4))
        colsum = np.empty(n, dtype=np.int32)
        _C.gemm_pack(np.ascontiguousarray(w), data, colsum)
        return PackedWeight(data, colsum, n, k, k_in=k)
    e = np.asarray(in_exponent)
    expect(e.shape == (k,) and np.issubdtype(e.dtype, np.integer), "in_exponent", f"{k} integers", e.shape)
    expect(bool((e >= 0).all() and (e <= 30).all()), "in_exponent", "values in [0, 30]", (e.min(), e.max()))
    expect(int(np.exp2(e.astype(np.float64)).sum()) <= MAX_K, "in_exponent", f"sum 2^e <= {MAX_K}", e.max())
    perm, seg_end, seg_shift = _segments(e)
    wp = np.where(perm >= 0, w[:, np.maximum(perm, 0)], 0).astype(np.int8) if perm.size else w
    kp = wp.shape[1]
    data = _empty_aligned(((n + 63) // 64, (kp + 3) // 4, 64, 4))
    _C.gemm_pack(np.ascontiguousarray(wp), data, np.empty(n, dtype=np.int32))
    colsum = (w.astype(np.int64) << e.astype(np.int64)).sum(1).astype(np.int32)  # |.| < 128 * MAX_K
    return PackedWeight(data, colsum, n, kp, k_in=k, perm=perm, seg_end=seg_end, seg_shift=seg_shift)


def check_threads(threads: object) -> int:
    """``threads`` as a positive int (None: ``default_threads()``)."""
    return default_threads() if threads is None else as_int(threads, "threads", 1, I32[1])


def default_threads() -> int:
    """LOWBIT_NUM_THREADS, else every core this process may use."""
    env = os.environ.get("LOWBIT_NUM_THREADS")
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# int32 outputs this large (half the 32 MiB L3 measured here) are stored non-temporally by the AVX-512
# kernel: they would leave L3 soon anyway; below it, a consumer would read them back from DRAM instead of
# L3 and lose more than the stores save (csrc/gemm_avx512.cpp)
_NT_OUT_BYTES = 16 << 20


def _empty_out(shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """np.empty, 64-byte aligned when the output is large enough for the kernel's non-temporal stores
    (whole 64-byte lines; numpy's large arrays start 16 bytes into a page). Smaller outputs stay plain
    np.empty: the alignment alone measured no difference there, and the few microseconds of the aligned
    allocation are 2-3% of a 1 x 4096 x 4096 call (~0.18 ms)."""
    if shape[0] * shape[1] * dtype.itemsize < _NT_OUT_BYTES:
        return np.empty(shape, dtype=dtype)
    return _empty_aligned(shape, dtype)


def gemm(
    a: np.ndarray,
    w: PackedWeight,
    *,
    a_zero_point: int = 0,
    bias: np.ndarray | None = None,
    out_dtype: type = np.int32,
    scale: np.ndarray | float | None = None,
    m0: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    zero_point: int = 0,
    qmin: int | None = None,
    qmax: int | None = None,
    relu: bool = False,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    """C = epilogue(A x W^T) with lowbit's kernel (see the module doc); bit-exact with ``gemm_ref``."""
    from lowbit import _C

    expect(isinstance(w, PackedWeight), "w", "a PackedWeight from pack_weight()", type(w).__name__)
    expect(w.layout == LAYOUT, "w", f"a weight packed in layout {LAYOUT!r}", w.layout)
    n = w.n
    a = np.asarray(a)
    expect(a.dtype in _A_DTYPES, "a", "dtype uint8 or int8", a.dtype)
    expect(a.ndim == 2 and a.shape[1] == w.k_in, "a", f"a 2-D array [M, {w.k_in}]", a.shape)
    out_dtype = as_dtype(out_dtype, "out_dtype", _OUT_DTYPES)
    out = _empty_out((a.shape[0], n), out_dtype)
    stream = out_dtype == np.int32 and out.nbytes >= _NT_OUT_BYTES
    lo, hi = _RANGE.get(out_dtype, (0, 0))
    if out_dtype in _RANGE:
        expect(
            m0 is not None and shift is not None, "m0, shift", f"requantization multipliers for {out_dtype}"
        )
    if out_dtype == np.float32:
        expect(scale is not None, "scale", "a float32 scale (per tensor or per column) for float output")
    # the float scale exists only for float output (integer outputs never receive a float array)
    sc = np.atleast_1d(as_array(scale, "scale", np.float32)) if out_dtype == np.float32 else _EMPTY_F32
    b = _EMPTY if bias is None else as_array(bias, "bias")
    if bias is not None:
        expect(b.dtype == np.int32, "bias", "an int32 array", b.dtype)
    _C.gemm(
        a, as_int(a_zero_point, "a_zero_point", *I32), w.data, w.colsum, n, w.k, b,
        _EMPTY if m0 is None else np.atleast_1d(as_array(m0, "m0")),
        _EMPTY if shift is None else np.atleast_1d(as_array(shift, "shift")),
        sc, as_int(zero_point, "zero_point", *I32), lo if qmin is None else as_int(qmin, "qmin", *I32),
        hi if qmax is None else as_int(qmax, "qmax", *I32), bool(relu), out, _isa(isa),
        check_threads(threads), w.perm, w.seg_end, w.seg_shift, stream,
    )  # fmt: skip
    return out


def gemm_ref(
    a: np.ndarray,
    w: np.ndarray,
    *,
    a_zero_point: int = 0,
    bias: np.ndarray | None = None,
    out_dtype: type = np.int32,
    scale: np.ndarray | float | None = None,
    m0: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    zero_point: int = 0,
    qmin: int | None = None,
    qmax: int | None = None,
    relu: bool = False,
    in_exponent: np.ndarray | None = None,
) -> np.ndarray:
    """The oracle: numpy int64 matmul, then the reference epilogue. ``w`` is the plain int8 [N, K]."""
    w = np.asarray(w).astype(np.int64)
    if in_exponent is not None:
        w = w << np.asarray(in_exponent, dtype=np.int64)
    acc = (np.asarray(a).astype(np.int64) - a_zero_point) @ w.T
    if bias is not None:
        acc = acc + np.asarray(bias, dtype=np.int64)
    out_dtype = np.dtype(out_dtype)
    if out_dtype == np.int32:
        return (np.maximum(acc, 0) if relu else acc).astype(np.int32)
    if out_dtype == np.float32:
        f = acc.astype(np.float32) * np.asarray(scale, dtype=np.float32)
        return np.maximum(f, np.float32(0)) if relu else f
    if out_dtype not in _RANGE:
        raise LowbitError(f"out_dtype: expected int32, float32, int8, uint8 or int16, got {out_dtype}")
    lo, hi = _RANGE[out_dtype]
    qmin = lo if qmin is None else qmin
    qmax = hi if qmax is None else qmax
    if relu:
        qmin = max(qmin, zero_point)
    return requantize_ref(acc, m0, shift, zero_point, qmin, qmax).astype(out_dtype)


def gemm_batched(
    a: np.ndarray,
    b: np.ndarray,
    *,
    a_zero_point: int = 0,
    bias: np.ndarray | None = None,
    bias_every: int = 1,
    out_dtype: type = np.int32,
    m0: int | None = None,
    shift: int | None = None,
    zero_point: int = 0,
    qmin: int | None = None,
    qmax: int | None = None,
    threads: int | None = None,
    isa: str = "auto",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """out[g] = epilogue(a[g] x b[g]^T): a [G, M, K] uint8/int8, b [G, N, K] int8 (unpacked).

    bias [G / bias_every, N] int32 is added to every row of batch g from row g // bias_every (an attention
    key mask shared by the heads of one sequence). Output int32, or requantized (one m0, shift) to
    int8/uint8/int16. Bit-exact with ``gemm_batched_ref``.
    """
    from lowbit import _C

    a, b = as_array(a, "a"), as_array(b, "b")
    expect(a.ndim == 3 and b.ndim == 3, "a, b", "3-D arrays [G, M, K] and [G, N, K]", (a.shape, b.shape))
    if out is None:
        out_dtype = as_dtype(out_dtype, "out_dtype", (np.dtype(np.int32), *_RANGE))
        out = np.empty((a.shape[0], a.shape[1], b.shape[1]), dtype=out_dtype)
    expect(isinstance(out, np.ndarray), "out", "a numpy array", type(out).__name__)
    lo, hi = _RANGE.get(out.dtype, (0, 0))
    if out.dtype in _RANGE:
        expect(
            m0 is not None and shift is not None, "m0, shift", f"a requantization multiplier for {out.dtype}"
        )
    _C.gemm_batched(
        a, as_int(a_zero_point, "a_zero_point", *I32), b,
        _EMPTY.reshape(0, 0) if bias is None else as_array(bias, "bias"),
        as_int(bias_every, "bias_every", *I32),
        np.array([0 if m0 is None else as_int(m0, "m0", *I32)], np.int32),
        np.array([0 if shift is None else as_int(shift, "shift", *I32)], np.int32),
        as_int(zero_point, "zero_point", *I32), lo if qmin is None else as_int(qmin, "qmin", *I32),
        hi if qmax is None else as_int(qmax, "qmax", *I32), out, _isa(isa), check_threads(threads),
    )  # fmt: skip
    return out


def gemm_batched_ref(
    a: np.ndarray,
    b: np.ndarray,
    *,
    a_zero_point: int = 0,
    bias: np.ndarray | None = None,
    bias_every: int = 1,
    out_dtype: type = np.int32,
    m0: int | None = None,
    shift: int | None = None,
    zero_point: int = 0,
    qmin: int | None = None,
    qmax: int | None = None,
) -> np.ndarray:
    """The oracle of ``gemm_batched``: int64 batched matmul, then the reference epilogue."""
    acc = (np.asarray(a).astype(np.int64) - a_zero_point) @ np.asarray(b).astype(np.int64).transpose(0, 2, 1)
    if bias is not None:
        acc = acc + np.repeat(np.asarray(bias, np.int64), bias_every, axis=0)[:, None, :]
    out_dtype = np.dtype(out_dtype)
    if out_dtype == np.int32:
        return acc.astype(np.int32)
    lo, hi = _RANGE[out_dtype]
    return requantize_ref(
        acc, m0, shift, zero_point, lo if qmin is None else qmin, hi if qmax is None else qmax
    ).astype(out_dtype)
