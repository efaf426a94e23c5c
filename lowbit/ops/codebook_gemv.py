"""Codebook GEMV for non-uniform weights (SqueezeLLM k-means levels, NF4; FLUTE-style lookup): 3- or
4-bit indices into 16-entry float32 tables held in a register (csrc/codebook_gemv.h).

    y[m, n] = act_scale[m] * sum_k x[m, k] * w_hat[n, k]

with w_hat = the format's own decode: ``codebook[block, u]`` (format "codebook", per row or per K-group)
or ``levels[u] * scale[block]`` (format "nf"). Activations are float32, or int8 / uint8 with a zero
point (taken exactly as x - a_zero_point). The kernel multiplies in float32 and sums each chunk of 128 or
160 products into float64: ``codebook_gemv_ref`` (float64) agrees to 1e-6 of sum_k |x w_hat|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lowbit.errors import LowbitError, as_array, as_int, expect, expect_arrays
from lowbit.ops.gemm import I32, _isa, check_threads
from lowbit.ops.lowbit_gemv import act_scales

TAG = 0x3243424C  # "LBC2": rows in chunk-interleaved tiles of 4 (csrc/codebook_gemv.h)
_EMPTY_F = np.empty((0, 0), dtype=np.float32)
_EMPTY_F1 = np.empty(0, dtype=np.float32)


@dataclass(frozen=True)
class CodebookWeight:
    data: np.ndarray  # uint32 [N * row_words + 8]: codes, then the tag
    tables: np.ndarray  # float32 [T, 16]
    table_row_stride: int  # in floats
    table_group_stride: int
    scale: np.ndarray | None  # float32 [N, groups] or None
    n: int
    k: int
    bits: int
    group: int

    def __post_init__(self) -> None:
        expect_arrays("w", self, ("data", "tables"), optional=("scale",))
        # checked once here: a pass per call would cost the GEMV ~5%
        for name in ("tables", "scale"):
            v = getattr(self, name)
            finite = v is None or (v.dtype.kind == "f" and bool(np.isfinite(v).all()))
            expect(finite, f"w.{name}", "finite float values (no NaN or Inf)")
        # the ints go to the kernel's binding as they are (which bounds them further)
        big = 2**62
        fields = (("n", 1, 2**31 - 1), ("k", 1, 2**31 - 1), ("bits", 1, 8), ("table_row_stride", 0, big),
                  ("table_group_stride", 0, big), ("group", 1, big))  # fmt: skip
        for name, lo, hi in fields:
            object.__setattr__(self, name, as_int(getattr(self, name), f"w.{name}", lo, hi))

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


def _fields(bits: int) -> int:
    return 10 if bits == 3 else 8


BLOCK_CHUNKS = 12  # chunks per K-block (csrc/codebook_gemv.h: kCbBlockChunks)


def word_index(n: int, chunks: int, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Index of the first of the 16 words of row r's chunk c (csrc/codebook_gemv.h: cb_word_index)."""
    t = r // 4 * 4
    rows = np.minimum(4, n - t)
    b = c // BLOCK_CHUNKS
    length = np.minimum(BLOCK_CHUNKS, chunks - b * BLOCK_CHUNKS)
    return (b * BLOCK_CHUNKS * n + t * length + c % BLOCK_CHUNKS * rows + r - t) * 16


def pack_codes_dwords(u: np.ndarray, bits: int) -> np.ndarray:
    """u [N, K] -> uint32 [N * row_words + 8] in the 'dwords' layout, tagged: per row and chunk of 16 F
    codes, 16 words whose bits [b j, b j + b) hold field j; stored K-block by K-block (BLOCK_CHUNKS chunks),
    in each tile by tile (4 rows, the last N % 4), in each chunk by chunk, in each the tile's rows: one
    sequential stream for the kernel."""
    n, k = u.shape
    f = _fields(bits)
    chunk = 16 * f
    kp = -(-k // chunk) * chunk
    chunks = kp // chunk
    p = np.zeros((n, kp), dtype=np.uint32)
    p[:, :k] = u
    p = p.reshape(n, chunks, f, 16)
    words = (p << (bits * np.arange(f, dtype=np.uint32))[None, None, :, None]).sum(axis=2, dtype=np.uint32)
    r, c = np.meshgrid(np.arange(n, dtype=np.int64), np.arange(chunks, dtype=np.int64), indexing="ij")
    out = np.empty(n * chunks * 16, dtype=np.uint32)
    out.reshape(-1, 16)[word_index(n, chunks, r, c).reshape(-1) // 16] = words.reshape(-1, 16)
    tag = np.array([TAG, bits, n, k], dtype="<i8").view(np.uint32)
    return np.concatenate([out, tag])


def _tables(levels: np.ndarray, bits: int) -> np.ndarray:
    """[T, 2^bits] -> [T, 16]: 3-bit tables stored twice so vpermps may ignore the 4th index bit."""
    levels = np.asarray(levels, dtype=np.float32)
    return np.ascontiguousarray(np.tile(levels, (1, 2)) if bits == 3 else levels)


def pack_codebook(
    u: np.ndarray,
    bits: int,
    codebook: np.ndarray,
    *,
    group: int | None = None,
    scale: np.ndarray | None = None,
) -> CodebookWeight:
    """Codes u [N, K] (< 2^bits) with ``codebook`` [2^bits] (shared, then ``scale`` [N, K/group] is
    expected), [N, 2^bits] (per row) or [N, K/group, 2^bits] (per row and K-group)."""
    u = np.asarray(u)
    expect(bits in (3, 4), "bits", "3 or 4", bits)
    expect(np.issubdtype(u.dtype, np.integer) and u.ndim == 2, "u", "a 2-D integer array [N, K]", u.dtype)
    n, k = u.shape
    expect(n >= 1 and k >= 1, "u", "a non-empty [N, K] array", u.shape)
    if u.min() < 0 or u.max() >= (1 << bits):
        raise LowbitError(f"u: expected {bits}-bit indices, got min {u.min()}, max {u.max()}")
    group = k if group is None else min(as_int(group, "group", 1, I32[1]), k)
    expect(group >= k or group % 16 == 0, "group", "a multiple of 16 or >= K", group)
    groups = -(-k // group)
    cb = as_array(codebook, "codebook", np.float32)
    expect(bool(np.isfinite(cb).all()), "codebook", "finite values")
    tables_ok = 1 <= cb.ndim <= 3 and cb.shape[-1] == 1 << bits
    expect(tables_ok, "codebook", f"{1 << bits} entries per table", cb.shape)
    if cb.ndim == 1:
        expect(scale is not None, "scale", "per-(row, group) scales with a shared codebook")
        tables, rs, gs = _tables(cb[None], bits), 0, 0
    elif cb.ndim == 2:
        expect(cb.shape[0] == n, "codebook", f"one table per row ({n})", cb.shape)
        tables, rs, gs = _tables(cb, bits), 16, 0
    else:
        expect(cb.shape[:2] == (n, groups), "codebook", f"[N, groups, {1 << bits}]", cb.shape)
        tables, rs, gs = _tables(cb.reshape(n * groups, -1), bits), 16 * groups, 16
    if scale is not None:
        scale = as_array(scale, "scale", np.float32)
        expect(scale.size == n * groups, "scale", f"[N, K/group] = [{n}, {groups}]", scale.shape)
        scale = np.ascontiguousarray(scale.reshape(n, groups))
        expect(bool(np.isfinite(scale).all()), "scale", "finite values")
    return CodebookWeight(pack_codes_dwords(u, bits), tables, rs, gs, scale, n, k, bits, group)


def from_qtensor(q) -> CodebookWeight:
    """A lowbit.quantize result [N, K] in format "codebook" (SqueezeLLM) or "nf" (NF4), 3 or 4 bits,
    per row (per_channel(0)) or per K-group (per_group(g), g a multiple of 16)."""
    expect(len(q.shape) == 2 and q.format in ("codebook", "nf"), "q", "a 2-D 'codebook' or 'nf' weight")
    expect(q.bits in (3, 4), "q", "3- or 4-bit codes", q.bits)
    n, k = q.shape
    gran = q.granularity
    if gran.kind == "channel" and gran.axis in (0, -2):
        group = k
    elif gran.kind == "group" and gran.axis in (1, -1):
        group = gran.group_size
    else:
        raise LowbitError(f"q: expected per-row or per-K-group codebooks, got {gran}")
    groups = k // group
    u = q.codes.numpy()
    if q.format == "codebook":
        cb = q.params["codebook"].numpy()
        cb = cb if groups == 1 else cb.reshape(n, groups, -1)
        return pack_codebook(u, q.bits, cb, group=group)
    from lowbit.formats.nf import nf_levels

    return pack_codebook(u, q.bits, nf_levels(q.bits).numpy(), group=group, scale=q.params["scale"].numpy())


def codebook_gemv(
    a: np.ndarray,
    w: CodebookWeight,
    *,
    a_zero_point: int = 0,
    act_scale: np.ndarray | float | None = None,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    from lowbit import _C

    expect(isinstance(w, CodebookWeight), "w", "a CodebookWeight from pack_codebook()", type(w).__name__)
    a = as_array(a, "a")
    expect(a.ndim in (1, 2), "a", "activations [K] or [M, K]", a.shape)
    vec = a.ndim == 1
    a2 = np.ascontiguousarray(a[None] if vec else a)
    if a2.dtype.kind == "f" and a2.size:
        # one float64 sum (a few us at K = 8192) instead of a mask: NaN / Inf anywhere make it non-finite
        expect(np.isfinite(a2.sum(dtype=np.float64)), "a", "finite activations (no NaN / Inf)")
    out = np.empty((a2.shape[0], w.n), dtype=np.float32)
    sc = _EMPTY_F1
    if act_scale is not None:
        sc = act_scales(act_scale, a2.shape[0])
    _C.codebook_gemv(
        a2, as_int(a_zero_point, "a_zero_point", *I32), w.data, w.bits, w.n, w.k, w.tables,
        w.table_row_stride, w.table_group_stride, w.group, _EMPTY_F if w.scale is None else w.scale, sc, out,
        _isa(isa), check_threads(threads),
    )  # fmt: skip
    return out[0] if vec else out


def codebook_gemv_ref(
    a: np.ndarray, w_hat: np.ndarray, *, a_zero_point: int = 0, act_scale=None
) -> np.ndarray:
    """The oracle on the decoded float32 weight [N, K]: float64 matmul, then float32."""
    x = np.asarray(a).astype(np.float64) - a_zero_point
    vec = x.ndim == 1
    x = x[None] if vec else x
    y = x @ np.asarray(w_hat, dtype=np.float32).astype(np.float64).T
    if act_scale is not None:
        y = y * np.broadcast_to(np.asarray(act_scale, np.float32).astype(np.float64), (x.shape[0],))[:, None]
    y = y.astype(np.float32)
    return y[0] if vec else y


def decode(w: CodebookWeight, u: np.ndarray) -> np.ndarray:
    """w_hat [N, K] float32 as the kernel sees it (table value, times the scale in float32)."""
    n, k = w.n, w.k
    g = np.arange(k) // w.group
    rows = np.arange(n)[:, None]
    flat = w.tables.reshape(-1)
    idx = rows * w.table_row_stride + g[None, :] * w.table_group_stride + np.asarray(u)
    v = flat[idx]
    if w.scale is not None:
        v = (v * w.scale[rows, g[None, :]]).astype(np.float32)
    return v
