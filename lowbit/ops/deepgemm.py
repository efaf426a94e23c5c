"""DeepGEMM-style 2-bit x 2-bit GEMM: every product of a 2-bit weight code and a 2-bit activation code is
precomputed in one 16-entry int8 table, indexed by the packed pair (w << 2 | a), and looked up 64 at a
time with vpshufb (csrc/deepgemm.h):

    out[m, n] = sum_k table[4 w[n, k] + a[m, k]]          (int32, exact)

The table holds whatever the two 2-bit grids mean: ``product_table(w_levels, a_levels)`` for integer
levels (e.g. signed {-2, -1, 0, 1} or unsigned {0, 1, 2, 3}, times any integer step). Codes are packed 4
per byte along K by ``pack_2bit``; ``deepgemm_2x2_ref`` is the oracle.
"""

from __future__ import annotations

import numpy as np

from lowbit.errors import as_array, as_int, expect


def product_table(w_levels: list[int] | np.ndarray, a_levels: list[int] | np.ndarray) -> np.ndarray:
    """int8 [16]: table[4 i + j] = w_levels[i] * a_levels[j] (four integer levels each)."""
    w, a = as_array(w_levels, "w_levels", np.int64), as_array(a_levels, "a_levels", np.int64)
    expect(w.shape == (4,) and a.shape == (4,), "levels", "four integer levels each", (w.shape, a.shape))
    t = np.outer(w, a).reshape(16)
    expect(bool((t >= -128).all() and (t <= 127).all()), "levels", "products within int8", (t.min(), t.max()))
    return t.astype(np.int8)


def pack_2bit(codes: np.ndarray) -> np.ndarray:
    """uint8 [rows, ceil(K / 4)]: codes 0..3 [rows, K], code k at bits 2 (k % 4) of byte k // 4."""
    c = np.asarray(codes)
    expect(c.ndim == 2 and c.shape[1] >= 1, "codes", "a 2-D array [rows, K]", c.shape)
    expect(
        np.issubdtype(c.dtype, np.integer) and bool(((c >= 0) & (c <= 3)).all()),
        "codes",
        "values 0..3",
        c.dtype,
    )
    rows, k = c.shape
    padded = np.zeros((rows, -(-k // 4) * 4), np.uint8)
    padded[:, :k] = c
    q = padded.reshape(rows, -1, 4)
    return (q[..., 0] | q[..., 1] << 2 | q[..., 2] << 4 | q[..., 3] << 6).astype(np.uint8)


def deepgemm_2x2(a: np.ndarray, w: np.ndarray, k: int, table: np.ndarray, isa: str = "auto") -> np.ndarray:
    """int32 [M, N] from packed activations a [M, ceil(K/4)] and weights w [N, ceil(K/4)] (``pack_2bit``)."""
    from lowbit import _C
    from lowbit.ops.gemm import _isa

    a, w = as_array(a, "a"), as_array(w, "w")
    expect(a.ndim == 2 and w.ndim == 2, "a, w", "packed 2-D arrays", (a.shape, w.shape))
    out = np.empty((a.shape[0], w.shape[0]), np.int32)
    k = as_int(k, "k", 1, 2**22)
    _C.deepgemm_2x2(a, w, k, as_array(table, "table"), out, _isa(isa))
    return out


def deepgemm_2x2_ref(a_codes: np.ndarray, w_codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The oracle on unpacked codes: table[4 w + a] summed over K, in int64, returned as int32."""
    idx = 4 * np.asarray(w_codes, np.int64)[None, :, :] + np.asarray(a_codes, np.int64)[:, None, :]
    return np.asarray(table, np.int64)[idx].sum(-1).astype(np.int32)
