"""Low-bit weight x int8 activation GEMV / small-M GEMM: uniform 1-, 2-, 3-, 4-bit, ternary and binary
weights, and nuQmm's BCQ (see csrc/lowbit_gemv.h for the layouts and kernels).

A weight is unsigned codes ``u`` [N, K] in [0, 2^bits) whose integer value is ``mul * u + off`` (int
formats: mul 1, off = qmin; ternary: 2 bits, u in {0, 1, 2}, off -1; binary: 1 bit, mul 2, off -1),
prepacked once for one kernel:

- layout ``"fields"`` (bits 1, 2, 4): unpack by AND masks + vpdpbusd (int8 dot products);
- layout ``"planes"`` (bits 1..4): T-MAC-style lookup tables: bit-planes, per 8 activations one 64-byte
  table of partial sums held in a register, looked up with vpermb for every output row;
- layout ``"trits"`` (ternary only: bits 2, u in {0, 1, 2}): 1.6 bits per weight, five trits per byte
  (csrc/lowbit_gemv_trits.h), decoded by a 128-entry byte lookup and fed to vpdpbusd.

``lowbit_gemv(a, w)`` computes, exactly in integers,

    acc[m, n] = sum_k (a[m, k] - a_zero_point) * (mul * u[n, k] + off)                 (int32 output)

and with per-row or per-group weight scales (``scale`` [N, K / group] given at pack time) the float32

    y[m, n] = act_scale[m] * sum_g scale[n, g] * acc_g[m, n]     (acc_g: the sum over K-group g)

``lowbit_gemv_ref`` is the oracle (numpy int64 / float64). BCQ (``pack_bcq``): the q binary planes of a
row are q packed +-1 rows, y[m, n] = act_scale[m] * sum_j alpha[n, j] * sum_k (a - za) b_j[n, k].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lowbit.errors import LowbitError, as_array, as_dtype, as_int, expect, expect_arrays
from lowbit.ops.gemm import I32, _empty_aligned, _isa, check_threads

MAX_K = 32768
QUANTUM = 32  # K groups are multiples of this
LAYOUTS = ("fields", "planes", "trits")
_EMPTY_F = np.empty((0, 0), dtype=np.float32)
_EMPTY_F1 = np.empty(0, dtype=np.float32)
_OUT_DTYPES = (np.dtype(np.int32), np.dtype(np.float32))


@dataclass(frozen=True)
class LowbitWeight:
    """Codes packed for one low-bit kernel (see the module doc)."""

    data: np.ndarray  # uint8 [blocks * block_bytes + 32]: the blocks, then the tag (see _tag)
    rowsum: np.ndarray  # int32 [N, groups]: sum of u per K-group
    n: int
    k: int
    bits: int
    layout: str
    mul: int = 1
    off: int = 0
    group: int = 0  # K-group length of rowsum / scale (K: one group)
    scale: np.ndarray | None = None  # float32 [N, groups]
    combine: int = 1  # packed rows summed into one output row (BCQ: q)
    kind: str = "uniform"

    def __post_init__(self) -> None:
        # the fields go to the kernel's binding as they are: checked once here, not on every call
        expect_arrays("w", self, ("data", "rowsum"), optional=("scale",))
        fields = (("n", 1, 2**31 - 1), ("k", 1, MAX_K), ("bits", 1, 8), ("mul", 1, 2), ("off", -16, 0),
                  ("group", 0, 2**31 - 1), ("combine", 1, 8))  # fmt: skip
        for name, lo, hi in fields:
            object.__setattr__(self, name, as_int(getattr(self, name), f"w.{name}", lo, hi))
        if self.scale is not None:  # checked once here: a pass per call would cost the GEMV ~5%
            finite = self.scale.dtype.kind == "f" and bool(np.isfinite(self.scale).all())
            expect(finite, "w.scale", "finite float weight scales (no NaN or Inf)", self.scale.dtype)

    @property
    def n_out(self) -> int:
        return self.n // self.combine

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def copy(self) -> LowbitWeight:
        """The same weight with its own packed bytes, page-aligned as pack_lowbit leaves them."""
        return dataclasses.replace(self, data=_aligned_bytes([self.data]))


TAG = 0x564D45_47424C  # "LBGEMV", little-endian


def _aligned_bytes(parts: list[np.ndarray]) -> np.ndarray:
    """The parts' bytes one after another in a new array that starts on a 4 KiB page boundary. numpy starts
    large arrays 16 bytes into a page, and then every 64-byte load of the kernels straddles two cache lines
    (the 4-bit GEMV at 4096 x 4096, weights in L3: 13% slower than from 64-byte aligned bytes). Where the
    bytes start in the page also moved the cold 4-bit GEMV (8192 x 8192, one process, interleaved): from
    64 bytes into a page (numpy's 16 rounded up to a line) it ran 10-11% slower than from the page start,
    from 16 bytes 1-3% slower; so the page start."""
    out = _empty_aligned((sum(int(p.nbytes) for p in parts),), np.uint8, align=4096)
    pos = 0
    for p in parts:
        out[pos : pos + p.nbytes] = p.reshape(-1).view(np.uint8)
        pos += p.nbytes
    return out


def _tag(layout: str, bits: int, n: int, k: int) -> np.ndarray:
    """32 bytes after the blocks: what the data was packed for; the kernel refuses any other use."""
    return np.array([TAG, LAYOUTS.index(layout) * 16 + bits, n, k], dtype="<i8").view(np.uint8)


def rows_per_block(layout: str, bits: int) -> int:
    if layout == "trits":
        return 80
    return 16 * (8 // bits) if layout == "fields" else 64


def _kpad(k: int) -> int:
    return -(-k // QUANTUM) * QUANTUM


def _pack_fields(u: np.ndarray, bits: int) -> np.ndarray:
    n, k = u.shape
    f = 8 // bits
    r = 16 * f
    nb, kp = -(-n // r), _kpad(k)
    p = np.zeros((nb * r, kp), dtype=np.uint8)
    p[:n, :k] = u
    p = p.reshape(nb, f, 16, kp // 4, 4).astype(np.uint16)
    shifts = (bits * np.arange(f, dtype=np.uint16))[None, :, None, None, None]
    data = (p << shifts).sum(axis=1, dtype=np.uint16).astype(np.uint8)  # [nb, 16, k4, 4]
    return np.ascontiguousarray(data.transpose(0, 2, 1, 3)).reshape(nb, -1)


def _pack_trits(u: np.ndarray) -> np.ndarray:
    """Five codes in {0, 1, 2} per byte (csrc/lowbit_gemv_trits.h): lo = u0 + 3 u1 + 9 u2, hi = u3 + 3 u4,
    byte lo + 14 hi if lo <= 13, else 128 | (26 - lo + 14 hi) (fields 0-2 negated, sign bit set)."""
    n, k = u.shape
    nb, kp = -(-n // 80), _kpad(k)
    p = np.zeros((nb * 80, kp), dtype=np.int32)
    p[:n, :k] = u
    p = p.reshape(nb, 5, 16, kp // 4, 4)
    lo = p[:, 0] + 3 * p[:, 1] + 9 * p[:, 2]
    hi = p[:, 3] + 3 * p[:, 4]
    byte = np.where(lo <= 13, lo + 14 * hi, 128 | (26 - lo + 14 * hi)).astype(np.uint8)  # [nb, 16, k4, 4]
    return np.ascontiguousarray(byte.transpose(0, 2, 1, 3)).reshape(nb, -1)


def _pack_planes(u: np.ndarray, bits: int) -> np.ndarray:
    n, k = u.shape
    nb, kp = -(-n // 64), _kpad(k)
    p = np.zeros((nb * 64, kp), dtype=np.uint8)
    p[:n, :k] = u
    planes = (p[None] >> np.arange(bits, dtype=np.uint8)[:, None, None]) & 1  # [bits, rows, kp]
    # [bits, nb, c, i, h, q, s, t] -> bytes over t, then order [nb, q, bits, c, i, h, s]
    planes = planes.reshape(bits, nb, 4, 8, 2, kp // 32, 4, 8)
    byte = np.packbits(planes, axis=-1, bitorder="little")[..., 0]
    return np.ascontiguousarray(byte.transpose(1, 5, 0, 2, 3, 4, 6)).reshape(nb, -1)


def pack_lowbit(
    u: np.ndarray,
    bits: int,
    *,
    layout: str = "fields",
    mul: int = 1,
    off: int = 0,
    scale: np.ndarray | None = None,
    group: int | None = None,
    kind: str = "uniform",
    combine: int = 1,
) -> LowbitWeight:
    """Pack unsigned codes u [N, K] (< 2^bits; value mul * u + off) for ``layout``'s kernel.

    ``scale``: optional float32 weight scales [N] (per row) or [N, K / group] (per K-group, group a
    multiple of 32); with it the kernel can return float32.
    """
    u = np.asarray(u)
    expect(layout in LAYOUTS, "layout", f"one of {LAYOUTS}", layout)
    allowed = {"fields": (1, 2, 4), "planes": (1, 2, 3, 4), "trits": (2,)}[layout]
    expect(isinstance(bits, (int, np.integer)) and int(bits) in allowed, "bits", f"one of {allowed}", bits)
    expect(np.issubdtype(u.dtype, np.integer) and u.ndim == 2, "u", "a 2-D integer array [N, K]", u.dtype)
    n, k = u.shape
    expect(n >= 1 and 1 <= k <= MAX_K, "u", f"a non-empty [N, K] array with K <= {MAX_K}", u.shape)
    if u.min() < 0 or u.max() >= (1 << bits):
        raise LowbitError(f"u: expected unsigned {bits}-bit codes, got min {u.min()}, max {u.max()}")
    if layout == "trits" and u.max() > 2:
        raise LowbitError(f"u: expected ternary codes in {{0, 1, 2}} for layout 'trits', got max {u.max()}")
    expect(mul in (1, 2) and -16 <= off <= 0, "mul, off", "mul in {1, 2} and -16 <= off <= 0", (mul, off))
    group = k if group is None else as_int(group, "group", 1, I32[1])
    expect(
        group >= k or (group % QUANTUM == 0 and group > 0), "group", f"a multiple of {QUANTUM} or >= K", group
    )
    combine = as_int(combine, "combine", 1, 8)
    expect(n % combine == 0, "combine", f"a divisor of N = {n} (rows summed per output)", combine)
    group = min(group, k)
    groups = -(-k // group)
    if scale is not None:
        scale = as_array(scale, "scale", np.float32)
        if scale.ndim == 1:
            scale = scale[:, None]
        expect(scale.shape == (n, groups), "scale", f"float32 [N, K / group] = [{n}, {groups}]", scale.shape)
        expect(bool(np.isfinite(scale).all()), "scale", "finite values")
        scale = np.ascontiguousarray(scale)
    u8 = u.astype(np.uint8)
    padded = np.zeros((n, groups * group), dtype=np.int32)
    padded[:, :k] = u8
    rowsum = np.ascontiguousarray(
        padded.reshape(n, groups, group).sum(axis=2, dtype=np.int64).astype(np.int32)
    )
    if layout == "trits":
        blocks = _pack_trits(u8)
    else:
        blocks = _pack_fields(u8, bits) if layout == "fields" else _pack_planes(u8, bits)
    data = _aligned_bytes([blocks, _tag(layout, int(bits), n, k)])
    return LowbitWeight(data, rowsum, n, k, int(bits), layout, mul, off, group, scale, combine, kind)


def from_qtensor(q, layout: str = "fields") -> LowbitWeight:
    """Pack a lowbit.quantize result of a 2-D weight [N, K]: symmetric "int" (1-4 bits), "ternary",
    "binary" (per tensor, per row or per K-group), with its scales so that float32 output is y = x W^T."""
    import torch  # noqa: F401  (QTensor holds torch tensors)

    expect(len(q.shape) == 2, "q", "a quantized 2-D weight [N, K]", q.shape)
    n, k = q.shape
    codes = q.codes.numpy()
    qmin, _ = q.code_range
    if q.format == "int":
        expect(bool((q.params["zero_point"] == 0).all()), "q", "a symmetric int weight (zero_point 0)")
        bits, mul, off, s = q.bits, 1, qmin, q.params["scale"]
        if bits == 3:
            layout = "planes"
    elif q.format == "ternary":
        bits, mul, off, s = 2, 1, -1, q.params["alpha"]
    elif q.format == "binary":
        bits, mul, off, s = 1, 2, -1, q.params["alpha"]
    else:
        raise LowbitError(f"q: expected an int, ternary or binary weight, got format {q.format!r}")
    scale, group = _scales(s.numpy().astype(np.float32), q.granularity, n, k)
    return pack_lowbit(codes - qmin, bits, layout=layout, mul=mul, off=off, scale=scale, group=group,
                       kind=q.format)  # fmt: skip


def _scales(s: np.ndarray, gran, n: int, k: int) -> tuple[np.ndarray, int]:
    if gran.kind == "tensor":
        return np.full((n, 1), s.reshape(-1)[0], dtype=np.float32), k
    if gran.kind == "channel" and gran.axis in (0, -2):
        return s.reshape(n, 1), k
    if gran.kind == "vector" and gran.role == "weight":
        return s.reshape(n, 1), k
    if gran.kind == "group" and gran.axis in (1, -1):
        return s.reshape(n, k // gran.group_size), gran.group_size
    raise LowbitError(f"q: expected per-tensor, per-row or per-K-group scales, got {gran}")


def pack_bcq(q, layout: str = "fields") -> LowbitWeight:
    """nuQmm BCQ weight (lowbit.quantize(w, "bcq", bits, per_channel(0) or per_group(g))): each of the q
    planes becomes a packed +-1 row; the kernel sums the planes' alpha-weighted dot products."""
    expect(q.format == "bcq" and len(q.shape) == 2, "q", "a 2-D 'bcq' weight", (q.format, q.shape))
    n, k = q.shape
    bits = q.bits
    codes = q.codes.numpy()
    planes = (codes[:, None, :] >> np.arange(bits)[None, :, None]) & 1  # [n, q, k]
    alpha = q.params["alpha"].numpy().astype(np.float32)  # [blocks, q]
    gran = q.granularity
    if gran.kind == "channel" and gran.axis in (0, -2):
        scale, group = alpha.reshape(n, 1, bits), k
    elif gran.kind == "group" and gran.axis in (1, -1):
        scale, group = alpha.reshape(n, k // gran.group_size, bits), gran.group_size
    else:
        raise LowbitError(f"q: expected per-row or per-K-group BCQ scales, got {gran}")
    scale = np.ascontiguousarray(scale.transpose(0, 2, 1)).reshape(n * bits, -1)
    return pack_lowbit(planes.reshape(n * bits, k), 1, layout=layout, mul=2, off=-1, scale=scale, group=group,
                       kind="bcq", combine=bits)  # fmt: skip


def act_scales(act_scale: object, m: int) -> np.ndarray:
    """float32 [m]: one activation scale per row of a, from a scalar or m values."""
    sc = as_array(act_scale, "act_scale", np.float32)
    if sc.ndim == 0:
        return np.full(m, sc, np.float32)
    if sc.shape != (m,):
        raise LowbitError(f"act_scale: expected a scalar or {m} scales (rows of a), got {sc.shape}")
    return np.ascontiguousarray(sc)


def lowbit_gemv(
    a: np.ndarray,
    w: LowbitWeight,
    *,
    a_zero_point: int = 0,
    out_dtype: type = np.int32,
    act_scale: np.ndarray | float | None = None,
    threads: int | None = None,
    isa: str = "auto",
    layout: str | None = None,
) -> np.ndarray:
    """acc (int32 [M, N]) or y (float32, needs the weight's scales) of the module doc. ``layout``, when
    given, is the layout the caller expects ``w`` to be packed for (checked)."""
    from lowbit import _C

    expect(isinstance(w, LowbitWeight), "w", "a LowbitWeight from pack_lowbit()", type(w).__name__)
    if layout is not None:
        expect(w.layout == layout, "w", f"a weight packed for layout {layout!r}", w.layout)
    a = np.asarray(a)
    expect(a.dtype.char in "bB", "a", "dtype uint8 or int8", a.dtype)
    expect(a.ndim in (1, 2), "a", "activations [K] or [M, K]", a.shape)
    vec = a.ndim == 1
    a2 = a[None] if vec else a
    out_dtype = as_dtype(out_dtype, "out_dtype", _OUT_DTYPES)
    if out_dtype == np.float32:
        expect(w.scale is not None, "w", "a weight packed with scales for float32 output")
        out = np.empty((a2.shape[0], w.n_out), dtype=np.float32)
        sc = act_scales(1.0 if act_scale is None else act_scale, a2.shape[0])
        scale = w.scale
    else:
        expect(out_dtype == np.int32, "out_dtype", "int32 or float32", out_dtype)
        expect(w.combine == 1 and w.rowsum.shape[1] == 1, "out_dtype", "float32 for grouped or BCQ weights")
        out = np.empty((a2.shape[0], w.n), dtype=np.int32)
        sc, scale = _EMPTY_F1, _EMPTY_F
    _C.lowbit_gemv(
        a2, as_int(a_zero_point, "a_zero_point", *I32), w.data, w.layout, w.bits, w.n, w.k, w.rowsum, w.group,
        w.mul, w.off, scale, sc, w.combine, out, _isa(isa), check_threads(threads),
    )  # fmt: skip
    return out[0] if vec else out


def lowbit_gemv_ref(
    a: np.ndarray,
    u: np.ndarray,
    *,
    mul: int = 1,
    off: int = 0,
    a_zero_point: int = 0,
    scale: np.ndarray | None = None,
    group: int | None = None,
    act_scale: np.ndarray | float | None = None,
    combine: int = 1,
) -> np.ndarray:
    """The oracle on plain codes u [N, K]: int64 sums; with ``scale`` float64 then float32."""
    a = np.asarray(a).astype(np.int64) - a_zero_point
    vec = a.ndim == 1
    a = a[None] if vec else a
    w = mul * np.asarray(u).astype(np.int64) + off
    if scale is None:
        out = (a @ w.T).astype(np.int32)
        return out[0] if vec else out
    n, k = w.shape
    group = k if group is None else min(group, k)
    s = np.asarray(scale, dtype=np.float64).reshape(n, -1)
    y = np.zeros((a.shape[0], n), dtype=np.float64)
    for g in range(s.shape[1]):
        sl = slice(g * group, min(k, (g + 1) * group))
        y += (a[:, sl] @ w[:, sl].T).astype(np.float64) * s[:, g]
    y = y.reshape(a.shape[0], n // combine, combine).sum(axis=2)
    act = (
        np.ones(a.shape[0])
        if act_scale is None
        else np.broadcast_to(np.asarray(act_scale, np.float64), (a.shape[0],))
    )
    out = (y * act[:, None]).astype(np.float32)
    return out[0] if vec else out
