"""Dyadic requantization: a real multiplier M applied as m0 * 2^-shift, and the one rounding rule.

The rule (csrc/rounding.h states the same in C++, and every integer kernel of lowbit uses it):

    rshift_round(x, n) = floor((x + 2^(n-1)) / 2^n) for n >= 1, x for n = 0
                         (round to nearest, ties toward +infinity)
    requantize(acc)    = clamp(rshift_round(acc * m0, shift) + zero_point, qmin, qmax)

with int32 ``acc``, int32 ``m0`` in [2^30, 2^31) and ``shift`` in [0, 62], computed in int64 (the product
cannot overflow). The reference functions here are the oracle; ``requantize`` runs the C++ kernel.
"""

from __future__ import annotations

import numpy as np

from lowbit.errors import LowbitError, as_dtype, as_int, expect

MAX_SHIFT = 62
_OUT_RANGE = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int32): (-(2**31), 2**31 - 1),
}


def quantize_multiplier(multiplier: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m0, shift) int32 arrays with multiplier ~= m0 * 2^-shift and m0 in [2^30, 2^31).

    The relative error is at most 2^-31. Multipliers below 2^-32 get shift = 62 and a smaller m0 (less
    relative precision, documented); 0 gives (0, 0). Needs 0 <= multiplier < 2^31.
    """
    try:
        m = np.atleast_1d(np.asarray(multiplier, dtype=np.float64))
    except (TypeError, ValueError) as e:
        raise LowbitError(f"multiplier: expected real values, got {multiplier!r}") from e
    if not np.isfinite(m).all():
        raise LowbitError("multiplier: expected finite values, got NaN or Inf")
    if (m < 0).any() or (m >= 2.0**31).any():
        raise LowbitError(f"multiplier: expected values in [0, 2^31), got min {m.min()}, max {m.max()}")
    frac, exp = np.frexp(m)  # m = frac * 2^exp, frac in [0.5, 1)
    m0 = np.round(frac * 2.0**31).astype(np.int64)
    shift = 31 - exp.astype(np.int64)
    carry = m0 == 2**31  # frac rounded up to 1.0
    m0[carry] //= 2
    shift[carry] -= 1
    tiny = shift > MAX_SHIFT
    m0[tiny] = np.round(m[tiny] * 2.0**MAX_SHIFT).astype(np.int64)
    shift[tiny] = MAX_SHIFT
    zero = m == 0
    m0[zero], shift[zero] = 0, 0
    return m0.astype(np.int32), shift.astype(np.int32)


def rshift_round_ref(x: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """The rounding rule on int64 values (reference)."""
    x = np.asarray(x, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    half = np.where(n > 0, np.left_shift(np.int64(1), np.maximum(n - 1, 0)), 0)
    return np.right_shift(x + half, n)


def requantize_ref(
    acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, zero_point: int = 0, qmin: int = -128, qmax: int = 127
) -> np.ndarray:
    """Reference requantization; m0/shift broadcast along the last axis (per-tensor or per-column)."""
    v = rshift_round_ref(np.asarray(acc, dtype=np.int64) * np.asarray(m0, dtype=np.int64), shift)
    return np.clip(v, qmin - zero_point, qmax - zero_point) + zero_point


def requantize(
    acc: np.ndarray,
    m0: np.ndarray,
    shift: np.ndarray,
    zero_point: int = 0,
    qmin: int | None = None,
    qmax: int | None = None,
    out_dtype: type = np.int8,
    isa: str = "auto",
) -> np.ndarray:
    """Fast requantization (C++), bit-exact with ``requantize_ref``.

    ``acc``: int32 [rows, cols] or [cols]; ``m0``/``shift``: int32 of length 1 or cols (per column);
    the result has ``out_dtype`` (int8, uint8 or int32) and defaults to that dtype's full range.
    """
    from lowbit import _C

    out_dtype = as_dtype(out_dtype, "out_dtype", tuple(_OUT_RANGE))
    lo, hi = _OUT_RANGE[out_dtype]
    acc = np.asarray(acc)
    expect(acc.dtype == np.int32, "acc", "an int32 array", acc.dtype)
    m0 = np.atleast_1d(np.asarray(m0))
    shift = np.atleast_1d(np.asarray(shift))
    expect(
        m0.dtype == np.int32 and shift.dtype == np.int32, "m0, shift", "int32 arrays", (m0.dtype, shift.dtype)
    )
    out = np.empty(acc.shape, dtype=out_dtype)
    i32 = (-(2**31), 2**31 - 1)
    expect(isinstance(isa, str), "isa", "a str ('auto' or a variant of available_isas())", isa)
    _C.requantize(
        acc,
        m0,
        shift,
        as_int(zero_point, "zero_point", *i32),
        lo if qmin is None else as_int(qmin, "qmin", *i32),
        hi if qmax is None else as_int(qmax, "qmax", *i32),
        out,
        isa,
    )
    return out


def available_isas() -> list[str]:
    """Kernel variants this CPU can run (force one with isa=... or LOWBIT_ISA)."""
    from lowbit import _C

    return list(_C.available_isas())
