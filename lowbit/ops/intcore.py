"""Shared integer helpers of the integer-only nonlinear ops: input checks, bit length, division, sqrt.

Everything here works on int64 numpy arrays with integer operations only. Division rounds half up,
matching the project's one rounding rule (``rshift_round_ref``: ties toward +infinity).
"""

from __future__ import annotations

import math

import numpy as np

from lowbit.errors import LowbitError, expect
from lowbit.ops.requant import quantize_multiplier, rshift_round_ref

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def check_codes(q: object, name: str, lo: int, hi: int) -> np.ndarray:
    """``q`` as int64 after checking it is a non-empty integer array with values in [lo, hi]."""
    arr = np.asarray(q)
    expect(
        np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_,
        name,
        "an integer array (codes, not floats)",
        arr.dtype,
    )
    expect(arr.size > 0, name, "a non-empty array", arr.shape)
    lo_v, hi_v = int(arr.min()), int(arr.max())
    expect(lo <= lo_v and hi_v <= hi, name, f"codes in [{lo}, {hi}]", f"min {lo_v}, max {hi_v}")
    return arr.astype(np.int64)


def check_scale(scale: object, name: str = "scale", hi: float = 2.0**20) -> float:
    """A finite positive float scale (per tensor) below ``hi``."""
    try:
        s = float(scale)  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        raise LowbitError(f"{name}: expected a positive finite float, got {scale!r}") from e
    if not (math.isfinite(s) and 0.0 < s < hi):  # the message only on failure: ops call this on every call
        expect(False, name, f"a finite float in (0, {hi:g})", scale)
    return s


def check_axis(axis: object, ndim: int) -> int:
    expect(
        isinstance(axis, (int, np.integer)) and -ndim <= int(axis) < ndim,
        "axis",
        f"an int in [{-ndim}, {ndim})",
        axis,
    )
    return int(axis) % ndim


def bit_length_ref(x: np.ndarray) -> np.ndarray:
    """Number of bits of non-negative int64 values (0 -> 0), by a binary search of shifts."""
    x = np.asarray(x, dtype=np.int64).copy()
    n = np.zeros(x.shape, dtype=np.int64)
    for step in (32, 16, 8, 4, 2, 1):
        big = (x >> step) > 0
        n += np.where(big, step, 0)
        x = np.where(big, x >> step, x)
    return n + (x > 0)


def div_round_ref(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """round(a / b) with ties toward +infinity, for b > 0 (floor((a + floor(b/2)) / b) is exactly that)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    return (a + (b >> 1)) // b


def isqrt_ref(n: np.ndarray) -> np.ndarray:
    """floor(sqrt(n)) of non-negative int64 values by Newton's iteration x <- (x + n // x) // 2.

    Starts at 2^ceil(bits/2) >= sqrt(n) and stops when x no longer decreases (the integer Newton
    iteration from above decreases monotonically to floor(sqrt(n))); at most ~6 steps for 62 bits.
    """
    n0 = np.asarray(n, dtype=np.int64)
    n = np.maximum(n0, 1)  # n = 0 is answered at the end; this keeps x >= 1 (no division by zero)
    x = np.left_shift(np.int64(1), (bit_length_ref(n) + 1) >> 1)
    while True:
        y = (x + n // x) >> 1
        done = y >= x
        if done.all():
            return np.where(n0 == 0, 0, x)
        x = np.where(done, x, y)


def dyadic(multiplier: float) -> tuple[int, int]:
    """(m0, shift) of a positive real multiplier, as Python ints (precomputed constants)."""
    m0, shift = quantize_multiplier(multiplier)
    return int(m0[0]), int(shift[0])


def rescale_ref(q: np.ndarray, multiplier: float) -> np.ndarray:
    """Codes re-expressed at another scale: rshift_round(q * m0, shift) with M = s_in / s_out ~ m0 2^-shift.

    Needs |q| <= 2^31 so that q * m0 < 2^62 (callers clamp first).
    """
    m0, shift = dyadic(multiplier)
    return rshift_round_ref(np.asarray(q, dtype=np.int64) * np.int64(m0), shift)
