"""How codes lie in bytes.

``pack_codes``: a stream of unsigned ``bits``-wide fields, LSB first: code i occupies bits
[i*bits, (i+1)*bits) of the little-endian bit stream (so for 4 bits, code 0 is the low nibble of byte 0;
3-bit codes cross byte boundaries). The last byte is zero-padded.

``pack_bitplanes``: for codes [rows, K], plane j holds bit j of every code, packed along K, LSB first,
each row padded to a whole byte: uint8 [bits, rows, ceil(K / 8)]. This is the layout bit-serial kernels
read (one AND/XNOR + popcount per plane pair).

Both take unsigned codes (a format's codes minus its qmin) and round-trip exactly for any length.
"""

from __future__ import annotations

import numpy as np

from lowbit.errors import LowbitError, expect


def _check(codes: np.ndarray, bits: int, argument: str = "codes") -> np.ndarray:
    expect(isinstance(bits, (int, np.integer)) and 1 <= bits <= 16, "bits", "an int in 1..16", bits)
    codes = np.asarray(codes)
    expect(np.issubdtype(codes.dtype, np.integer), argument, "an integer array", codes.dtype)
    if codes.size and (codes.min() < 0 or codes.max() >= (1 << bits)):
        raise LowbitError(
            f"{argument}: expected unsigned {bits}-bit values in [0, {(1 << bits) - 1}], "
            f"got min {codes.min()}, max {codes.max()}"
        )
    return codes


def packed_nbytes(n: int, bits: int) -> int:
    return (n * bits + 7) // 8


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Flattened codes as a uint8 stream of ``bits``-wide fields (see module doc)."""
    codes = _check(codes, bits).reshape(-1).astype(np.uint32)
    fields = (codes[:, None] >> np.arange(bits, dtype=np.uint32)) & 1
    return np.packbits(fields.astype(np.uint8).reshape(-1), bitorder="little")


def unpack_codes(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
    """Inverse of pack_codes: the first ``n`` codes, as int64."""
    packed = np.asarray(packed)
    expect(
        packed.dtype == np.uint8 and packed.ndim == 1,
        "packed",
        "a 1-D uint8 array",
        (packed.dtype, packed.ndim),
    )
    expect(isinstance(bits, (int, np.integer)) and 1 <= bits <= 16, "bits", "an int in 1..16", bits)
    expect(
        packed.size == packed_nbytes(n, bits),
        "packed",
        f"{packed_nbytes(n, bits)} bytes for {n} codes",
        packed.size,
    )
    fields = np.unpackbits(packed, count=n * bits, bitorder="little").reshape(n, bits).astype(np.int64)
    return (fields << np.arange(bits, dtype=np.int64)).sum(axis=1)


def pack_bitplanes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Codes [rows, K] as bit-planes uint8 [bits, rows, ceil(K/8)] (see module doc)."""
    codes = _check(codes, bits)
    expect(codes.ndim == 2, "codes", "a 2-D array [rows, K]", codes.ndim)
    planes = (codes[None].astype(np.uint32) >> np.arange(bits, dtype=np.uint32)[:, None, None]) & 1
    return np.packbits(planes.astype(np.uint8), axis=-1, bitorder="little")


def unpack_bitplanes(planes: np.ndarray, k: int) -> np.ndarray:
    """Inverse of pack_bitplanes: int64 codes [rows, k]."""
    planes = np.asarray(planes)
    expect(
        planes.dtype == np.uint8 and planes.ndim == 3,
        "planes",
        "a uint8 array [bits, rows, bytes]",
        (planes.dtype, planes.ndim),
    )
    expect(planes.shape[2] == (k + 7) // 8, "k", f"a length that fits {planes.shape[2]} bytes per row", k)
    bits = planes.shape[0]
    unpacked = np.unpackbits(planes, axis=-1, count=k, bitorder="little").astype(np.int64)
    return (unpacked << np.arange(bits, dtype=np.int64)[:, None, None]).sum(axis=0)
