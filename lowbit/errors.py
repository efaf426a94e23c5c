"""The one exception type lowbit raises for bad input."""

from __future__ import annotations

import math
import operator

import numpy as np


class LowbitError(ValueError):
    """Bad input to lowbit: the message names the argument and what was expected.

    It subclasses ValueError so that callers who already catch ValueError keep working.
    """


def expect(condition: bool, argument: str, expected: str, got: object = None) -> None:
    """Raise LowbitError("<argument>: expected <expected>, got <got>") unless condition holds."""
    if not condition:
        suffix = "" if got is None else f", got {got}"
        raise LowbitError(f"{argument}: expected {expected}{suffix}")


def as_int(value: object, argument: str, lo: int, hi: int) -> int:
    """``value`` as a Python int in [lo, hi] (ints, numpy integers, integral floats), else LowbitError.

    The kernels take 32- or 64-bit integers: this keeps an out-of-range value from reaching them as a
    TypeError of the bindings.
    """
    if type(value) is int and lo <= value <= hi:  # the common case, kept cheap: ops call this per call
        return value
    try:
        v = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        try:
            f = math.nan if isinstance(value, (str, bytes)) else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            f = math.nan
        if not f.is_integer():
            raise LowbitError(f"{argument}: expected an int in [{lo}, {hi}], got {value!r}") from None
        v = int(f)
    if not lo <= v <= hi:
        raise LowbitError(f"{argument}: expected an int in [{lo}, {hi}], got {v}")
    return v


_DTYPES: dict = {}  # np.dtype(value) by value: np.dtype() costs ~80 ns a call


def as_dtype(value: object, argument: str, allowed: tuple) -> np.dtype:
    """``value`` as one of the numpy dtypes ``allowed``, else LowbitError."""
    try:
        dt = _DTYPES.get(value)
        if dt is not None and dt in allowed:
            return dt
    except TypeError:  # not hashable
        pass
    try:
        dt = np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        dt = None
    if dt is None or dt not in allowed:
        names = ", ".join(str(np.dtype(a)) for a in allowed)
        raise LowbitError(f"{argument}: expected one of {names}, got {value!r}")
    if len(_DTYPES) < 64:
        try:
            _DTYPES[value] = dt
        except TypeError:
            pass
    return dt


def as_array(value: object, argument: str, dtype: object = None) -> np.ndarray:
    """``value`` as a numeric numpy array (converted to ``dtype`` if given), else LowbitError: object arrays
    and values numpy cannot convert never reach the kernels."""
    if type(value) is float or type(value) is int:  # a per-tensor scale: the common case, kept cheap
        try:
            return np.asarray(value, dtype=dtype)  # type: ignore[call-overload]
        except OverflowError as e:
            raise LowbitError(f"{argument}: expected a value of dtype {np.dtype(dtype)}, got {value}") from e
    try:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":  # not bool either: True is no scale, code or size
            raise LowbitError(f"{argument}: expected a numeric array, got dtype {arr.dtype}")
        # (1e300 as float32 is inf, which the kernels' finiteness checks refuse)
        return arr if dtype is None else arr.astype(dtype, copy=False)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError) as e:
        if isinstance(e, LowbitError):
            raise
        raise LowbitError(f"{argument}: expected a numeric array, got {type(value).__name__} ({e})") from None


def expect_arrays(owner: str, obj: object, fields: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """The array fields of a packed weight (``owner``) are numpy arrays (``optional`` ones may be None): a
    hand-built or replaced field of another type would otherwise reach the kernels' bindings."""
    for name in fields + optional:
        value = getattr(obj, name)
        if value is None and name in optional:
            continue
        if not (isinstance(value, np.ndarray) and value.dtype.kind in "iuf"):
            got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise LowbitError(f"{owner}.{name}: expected a numeric numpy array, got {got}")
