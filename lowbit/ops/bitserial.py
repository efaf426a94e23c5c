"""Bit-serial GEMM (QNN, TVM bitserial, ABQ-LLM): integer codes as bit-planes, products by AND/XNOR and
popcount.

Bit-planes are uint64 words packed along K LSB-first (zero padding), in one of three layouts
(``LAYOUTS``):

- ``"planes-outer"``: uint64 [bits, rows, blocks * 8] (blocks = ceil(K / 512)): plane j is a matrix of its
  own, so a row's plane is one contiguous run over all of K;
- ``"planes-interleaved"``: uint64 [rows, blocks, bits, 8]: per 512-bit K block, all planes of a row sit
  in adjacent cache lines, so one K block of every plane is one contiguous run;
- ``"rows-interleaved"``: uint64 [ceil(rows / 8), bits, ceil(K / 64), 8]: word t of 8 consecutive rows side
  by side (rows padded with zero rows), so one 512-bit load holds 8 rows and the kernel's accumulator
  lanes are 8 outputs (no horizontal sums). ``Planes.rows`` keeps the real row count.

``pack_planes(codes, bits, layout)``: unsigned codes [rows, K] (a format's codes minus its qmin) ->
``Planes``, built from ``lowbit.formats.packing.pack_bitplanes``'s uint8 bit-planes;
``planes_from_bitplanes`` takes those bytes directly and ``to_layout`` converts between layouts.
``bitserial_gemm(a, w)``: int32 [M, N] = sum_k a[m, k] * w[n, k] for unsigned codes ("unipolar":
sum_ij 2^(i+j) popcount(w_i AND a_j)); with ``bipolar=True`` 1-bit codes mean +-1 (bit 1 = +1) and
the result is K - 2 popcount(w XOR a). ``bitserial_gemm_ref`` is the oracle (numpy int64 on the codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lowbit.errors import LowbitError, as_int, expect, expect_arrays
from lowbit.formats.packing import pack_bitplanes

LAYOUTS = ("planes-outer", "planes-interleaved", "rows-interleaved")


@dataclass(frozen=True)
class Planes:
    data: np.ndarray  # uint64, shaped as its layout says (module doc)
    k: int
    layout: str = "planes-outer"
    n_rows: int | None = None  # rows-interleaved only: the real rows (the data holds a multiple of 8)

    def __post_init__(self) -> None:
        expect_arrays("planes", self, ("data",))
        nd = 3 if self.layout == "planes-outer" else 4
        got = f"{self.data.shape}: planes packed for another layout?"
        expect(self.data.ndim == nd, "planes", f"{nd}-D data for layout {self.layout!r}", got)

    @property
    def bits(self) -> int:
        axis = {"planes-outer": 0, "planes-interleaved": 2, "rows-interleaved": 1}.get(self.layout, 0)
        return int(self.data.shape[axis])

    @property
    def rows(self) -> int:
        if self.layout == "rows-interleaved":
            return int(self.n_rows if self.n_rows is not None else 8 * self.data.shape[0])
        return int(self.data.shape[1] if self.layout == "planes-outer" else self.data.shape[0])


def _check_layout(layout: str) -> str:
    expect(layout in LAYOUTS, "layout", f"one of {', '.join(LAYOUTS)}", layout)
    return layout


def planes_from_bitplanes(bitplanes: np.ndarray, k: int, layout: str = "planes-outer") -> Planes:
    """``pack_bitplanes``'s uint8 [bits, rows, ceil(K/8)] as kernel ``Planes`` in ``layout``."""
    _check_layout(layout)
    bitplanes = np.asarray(bitplanes)
    expect(
        bitplanes.dtype == np.uint8 and bitplanes.ndim == 3,
        "bitplanes",
        "uint8 [bits, rows, ceil(K/8)] from pack_bitplanes",
        (bitplanes.dtype, bitplanes.shape),
    )
    bits, rows, nbytes = bitplanes.shape
    expect(isinstance(k, (int, np.integer)) and k >= 1, "k", "an int >= 1", k)
    expect(nbytes == (k + 7) // 8, "bitplanes", f"ceil(K / 8) = {(k + 7) // 8} bytes per row", nbytes)
    expect(1 <= bits <= 8 and rows >= 1, "bitplanes", "1..8 planes of at least one row", bitplanes.shape)
    if k % 8 and np.any(bitplanes[:, :, -1] >> np.uint8(k % 8)):
        raise LowbitError("bitplanes: expected zero padding bits past K")
    if layout == "rows-interleaved":
        groups, words = -(-rows // 8), -(-k // 64)
        padded = np.zeros((bits, groups * 8, words * 8), dtype=np.uint8)
        padded[:, :rows, :nbytes] = bitplanes
        w64 = padded.view("<u8").reshape(bits, groups, 8, words).transpose(1, 0, 3, 2)
        return Planes(np.ascontiguousarray(w64).astype(np.uint64, copy=False), int(k), layout, int(rows))
    blocks = -(-k // 512)
    padded = np.zeros((bits, rows, blocks * 64), dtype=np.uint8)
    padded[:, :, :nbytes] = bitplanes
    outer = padded.view("<u8")  # [bits, rows, blocks * 8], little-endian words (bit t of K = bit t % 64)
    if layout == "planes-outer":
        return Planes(np.ascontiguousarray(outer).astype(np.uint64, copy=False), int(k), layout)
    inter = outer.reshape(bits, rows, blocks, 8).transpose(1, 2, 0, 3)
    return Planes(np.ascontiguousarray(inter).astype(np.uint64, copy=False), int(k), layout)


def pack_planes(codes: np.ndarray, bits: int, layout: str = "planes-outer") -> Planes:
    """Unsigned codes [rows, K] (values < 2^bits) as bit-planes in ``layout``."""
    _check_layout(layout)
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
    return planes_from_bitplanes(pack_bitplanes(codes, int(bits)), k, layout)


def to_bitplanes(planes: Planes) -> np.ndarray:
    """The planes as ``pack_bitplanes`` lays them out: uint8 [bits, rows, ceil(K / 8)]."""
    expect(isinstance(planes, Planes), "planes", "Planes from pack_planes()", type(planes).__name__)
    _check_layout(planes.layout)
    d = planes.data
    if planes.layout == "planes-interleaved":  # [rows, blocks, bits, 8] -> [bits, rows, blocks * 8]
        d = d.transpose(2, 0, 1, 3).reshape(planes.bits, planes.rows, -1)
    elif planes.layout == "rows-interleaved":  # [groups, bits, words, 8] -> [bits, groups * 8, words]
        d = d.transpose(1, 0, 3, 2).reshape(planes.bits, -1, d.shape[2])[:, : planes.rows]
    return np.ascontiguousarray(d).view(np.uint8)[:, :, : (planes.k + 7) // 8]


def to_layout(planes: Planes, layout: str) -> Planes:
    """The same bit-planes in another layout."""
    _check_layout(layout)
    if planes.layout == layout:
        return planes
    return planes_from_bitplanes(to_bitplanes(planes), planes.k, layout)


def bitserial_gemm(
    a: Planes, w: Planes, bipolar: bool = False, isa: str = "auto", layout: str | None = None
) -> np.ndarray:
    """int32 [M, N] from activation planes a (M rows) and weight planes w (N rows), both in the same layout
    (``layout``, if given, must be theirs). Every ISA has a kernel for every layout."""
    from lowbit import _C
    from lowbit.ops.gemm import _isa

    expect(isinstance(a, Planes) and isinstance(w, Planes), "a, w", "Planes from pack_planes()")
    expect(a.k == w.k, "w", f"the same K as a ({a.k})", w.k)
    k = as_int(a.k, "a.k", 1, 2**62)
    for name, p in (("a", a), ("w", w)):
        expect(p.n_rows is None or as_int(p.n_rows, f"{name}.n_rows", 1, 2**62) > 0, name, "rows >= 1")
    expect(w.layout == a.layout, "w", f"the layout of a ({a.layout})", w.layout)
    if layout is not None:
        _check_layout(layout)
        expect(layout == a.layout, "layout", f"the layout the planes were packed in ({a.layout})", layout)
    out = np.empty((a.rows, w.rows), dtype=np.int32)
    _C.bitserial_gemm(a.data, w.data, k, bool(bipolar), out, _isa(isa), a.layout)
    return out


def bitserial_gemm_ref(a_codes: np.ndarray, w_codes: np.ndarray, bipolar: bool = False) -> np.ndarray:
    a = np.asarray(a_codes, dtype=np.int64)
    w = np.asarray(w_codes, dtype=np.int64)
    if bipolar:
        a, w = 2 * a - 1, 2 * w - 1
    return (a @ w.T).astype(np.int32)
