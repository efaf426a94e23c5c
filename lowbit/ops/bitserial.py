"""Bit-serial GEMM (QNN, TVM bitserial, ABQ-LLM): integer codes as bit-planes, products by AND/XNOR and
popcount.

``pack_planes(codes, bits)``: unsigned codes [rows, K] -> uint64 [bits, rows, words] ("planes-outer":
plane j holds bit j of every code, packed along K LSB-first, words = ceil(K / 512) * 8, zero padding).
``bitserial_gemm(a, w)``: int32 [M, N] = sum_k a[m, k] * w[n, k] for unsigned codes ("unipolar":
sum_ij 2^(i+j) popcount(w_i AND a_j)); with ``bipolar=True`` 1-bit codes mean +-1 (bit 1 = +1) and
the result is K - 2 popcount(w XOR a). ``bitserial_gemm_ref`` is the oracle (numpy int64 on the codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lowbit.errors import LowbitError, expect


@dataclass(frozen=True)
class Planes:
    data: np.ndarray  # uint64 [bits, rows, words]
    k: int

    @property
    def bits(self) -> int:
        return int(self.data.shape[0])


def pack_planes(codes: np.ndarray, bits: int) -> Planes:
    """Unsigned codes [rows, K] (values < 2^bits) as planes-outer uint64 bit-planes."""
    codes = np.asarray(codes)
    expect(isinstance(bits, (int, np.integer)) and 1 <= bits <= 8, "bits", "an int in 1..8", bits)
    expect(
        np.issubdtype(codes.dtype, np.integer) and codes.ndim == 2,
        "codes",
        "a 2-D integer array",
        codes.dtype,
    )
    rows, k = codes.shape
    expect(k >= 1 and rows >= 1, "codes", "a non-empty [rows, K] array", codes.shape)
    if codes.min() < 0 or codes.max() >= (1 << bits):
        raise LowbitError(
            f"codes: expected unsigned {bits}-bit values, got min {codes.min()}, max {codes.max()}"
        )
    words = -(-k // 512) * 8
    planes = np.zeros((bits, rows, words * 64), dtype=np.uint8)
    planes[:, :, :k] = (codes[None].astype(np.int64) >> np.arange(bits)[:, None, None]) & 1
    packed = np.packbits(planes, axis=-1, bitorder="little")  # bytes, LSB-first
    return Planes(np.ascontiguousarray(packed.view(np.uint64)), k)  # little-endian words


def bitserial_gemm(a: Planes, w: Planes, bipolar: bool = False, isa: str = "auto") -> np.ndarray:
    from lowbit import _C

    expect(isinstance(a, Planes) and isinstance(w, Planes), "a, w", "Planes from pack_planes()")
    expect(a.k == w.k, "w", f"the same K as a ({a.k})", w.k)
    out = np.empty((a.data.shape[1], w.data.shape[1]), dtype=np.int32)
    _C.bitserial_gemm(a.data, w.data, a.k, bool(bipolar), out, isa)
    return out


def bitserial_gemm_ref(a_codes: np.ndarray, w_codes: np.ndarray, bipolar: bool = False) -> np.ndarray:
    a = np.asarray(a_codes, dtype=np.int64)
    w = np.asarray(w_codes, dtype=np.int64)
    if bipolar:
        a, w = 2 * a - 1, 2 * w - 1
    return (a @ w.T).astype(np.int32)
