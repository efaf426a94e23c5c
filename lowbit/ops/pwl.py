"""Piecewise-linear (PWL) tables in fixed point, and iRNN-style adaptive PWL sigmoid and tanh.

A table holds K segments over a domain [lo, hi] on an internal input grid u = u_q 2^-F:
- ``starts``: int16, the first grid point of each segment (starts[0] = the domain's low end);
- ``slopes``: int32 in Q.P (P chosen per table so that max |slope| 2^P < 2^31);
- ``intercepts``: int32 in Q.O (the output grid), the value at u = 0 of the segment's line.
Evaluation is integer only: j = the segment containing u_q (comparisons; searchsorted in the reference),
y_q = intercept_q[j] + rshift_round(slope_q[j] u_q, F + P - O). Table bytes: K (2 + 4 + 4).
Error of the integer evaluation vs the float table: <= 1 output code (two roundings) + max|slope| 2^-(F+1)
(the input rounded to the grid) + 2^-(P+1) 2^15 2^-F (slope rounding, negligible).

iRNN (adaptive PWL activations): the breakpoints follow the observed input range [lo, hi] and the
curvature there. Rule: equal shares of the integral of sqrt(|f''| + 2% max|f''|) (the asymptotically
optimal knot density for the max error of linear interpolation, floored so that flat stretches still get
knots); the line through the two ends of each segment is then shifted by half its own max deviation
(its interpolation error has one sign where f'' does, so this halves the max error; segments may be
discontinuous, which integer evaluation does not mind). Outside [lo, hi] the output saturates at f(lo)
and f(hi). Output: int16 codes at 2^-14 (sigmoid in [0, 2^14], tanh in [-2^14, 2^14]).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lowbit.errors import expect
from lowbit.ops.intcore import INT32_MAX, INT32_MIN, check_codes, check_scale, rescale_ref
from lowbit.ops.requant import rshift_round_ref

OUT_FRAC = 14  # pwl sigmoid / tanh output: int16 at 2^-14
GRID = 2**15 - 1  # the internal input grid spans |u_q| <= 2^15 - 1 (int16 breakpoints)


@dataclass(frozen=True)
class PWLTable:
    name: str
    lo: float  # domain [lo, hi] in real input units
    hi: float
    in_frac: int  # F: u = u_q 2^-F
    slope_frac: int  # P
    out_frac: int  # O: y = y_q 2^-O
    starts: np.ndarray  # int16 [K]
    slopes: np.ndarray  # int32 [K]
    intercepts: np.ndarray  # int32 [K]
    float_err: float  # max |float PWL - f| over [lo, hi] on a dense grid (before quantization)

    @property
    def table_bytes(self) -> int:
        return self.starts.nbytes + self.slopes.nbytes + self.intercepts.nbytes

    @property
    def bound(self) -> float:
        """Documented max abs error of the integer evaluation vs f over [lo, hi], in output units."""
        smax = float(np.abs(self.slopes).max()) * 2.0**-self.slope_frac
        return self.float_err + 2.0**-self.out_frac + smax * 2.0 ** -(self.in_frac + 1) + 2.0**-20


def quantize_table(
    name: str,
    lo: float,
    hi: float,
    starts: np.ndarray,
    slopes: np.ndarray,
    intercepts: np.ndarray,
    in_frac: int,
    out_frac: int,
    float_err: float,
) -> PWLTable:
    """Fixed-point table of a float PWL (segment k starts at starts[k]; starts[0] <= lo)."""
    scale_in = 2.0**in_frac
    s_q = np.round(np.asarray(starts, dtype=np.float64) * scale_in).astype(np.int64)
    s_q[0] = math.floor(lo * scale_in)  # the first segment covers the domain's low end
    expect(np.abs(s_q).max() <= GRID, "table", f"breakpoints within +-{GRID} grid steps", s_q)
    smax = max(float(np.abs(slopes).max()), 2.0**-30)
    p = min(40, 30 - math.ceil(math.log2(smax)))  # max |slope| 2^P <= 2^30
    slope_q = np.round(np.asarray(slopes) * 2.0**p).astype(np.int64)
    icpt_q = np.round(np.asarray(intercepts) * 2.0**out_frac).astype(np.int64)
    expect(np.abs(icpt_q).max() < 2**31, "table", "intercepts within int32", icpt_q)
    expect(in_frac + p >= out_frac, "table", "F + P >= O", (in_frac, p, out_frac))
    return PWLTable(
        name,
        lo,
        hi,
        in_frac,
        p,
        out_frac,
        s_q.astype(np.int16),
        slope_q.astype(np.int32),
        icpt_q.astype(np.int32),
        float_err,
    )


def eval_table_ref(u_q: np.ndarray, t: PWLTable) -> np.ndarray:
    """y_q (int64, Q.O) of int64 grid inputs u_q (|u_q| <= 2^15): segment by comparison, one multiply-add."""
    j = np.maximum(np.searchsorted(t.starts.astype(np.int64), u_q, side="right") - 1, 0)
    prod = t.slopes.astype(np.int64)[j] * u_q  # |.| < 2^31 2^15
    return t.intercepts.astype(np.int64)[j] + rshift_round_ref(prod, t.in_frac + t.slope_frac - t.out_frac)


def curvature_knots(f2: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, k: int) -> np.ndarray:
    """k + 1 knots from lo to hi with equal shares of the integral of sqrt(|f''| + 2% max|f''|)."""
    x = np.linspace(lo, hi, 4097)
    d = np.sqrt(np.abs(f2(x)))
    d = d + 0.02 * d.max() + 1e-300  # flat stretches still get knots; f'' = 0 everywhere -> uniform
    cum = np.concatenate([[0.0], np.cumsum((d[1:] + d[:-1]) / 2 * np.diff(x))])
    return np.interp(np.linspace(0.0, cum[-1], k + 1), cum, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sigmoid2(x: np.ndarray) -> np.ndarray:
    s = _sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


def _tanh2(x: np.ndarray) -> np.ndarray:
    t = np.tanh(x)
    return -2 * t * (1 - t * t)


FUNCS: dict[str, tuple[Callable, Callable]] = {"sigmoid": (_sigmoid, _sigmoid2), "tanh": (np.tanh, _tanh2)}


def fit_pwl(func_name: str, lo: float, hi: float, segments: int = 16) -> PWLTable:
    """Adaptive PWL of sigmoid or tanh over the observed range [lo, hi] (rule: module docstring).

    Needs lo < hi, max(|lo|, |hi|) <= 2^10, 1 <= segments <= 256. The input grid F is the finest with
    max(|lo|, |hi|) 2^F <= 2^15 - 1 (at most 2^-20).
    """
    expect(func_name in FUNCS, "func_name", f"one of {sorted(FUNCS)}", func_name)
    expect(
        isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and math.isfinite(lo + hi),
        "lo, hi",
        "finite floats",
        (lo, hi),
    )
    expect(lo < hi and max(abs(lo), abs(hi)) <= 2.0**10, "lo, hi", "lo < hi within +-2^10", (lo, hi))
    expect(isinstance(segments, int) and 1 <= segments <= 256, "segments", "an int in [1, 256]", segments)
    f, f2 = FUNCS[func_name]
    in_frac = min(20, math.floor(math.log2(GRID / max(abs(lo), abs(hi), 2.0**-20))))
    kn = curvature_knots(f2, lo, hi, segments)
    y = f(kn)
    slopes = np.diff(y) / np.diff(kn)
    icpts = y[:-1] - slopes * kn[:-1]
    x = np.union1d(np.linspace(lo, hi, 20001), kn)  # the knots too: the max error sits at segment ends
    seg = np.clip(np.searchsorted(kn, x, side="right") - 1, 0, segments - 1)
    dev = f(x) - (slopes[seg] * x + icpts[seg])  # one sign per segment where f'' keeps its sign
    for k in range(segments):
        d = dev[seg == k]
        if d.size:
            icpts[k] += (d.max() + d.min()) / 2  # centre the deviation band: halves the max error
    err = float(np.abs(f(x) - (slopes[seg] * x + icpts[seg])).max())
    return quantize_table(func_name, float(lo), float(hi), kn[:-1], slopes, icpts, in_frac, OUT_FRAC, err)


def _pwl_apply(q: object, scale: object, table: PWLTable | None, name: str) -> tuple[np.ndarray, float]:
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    t = default_table(name) if table is None else table
    expect(isinstance(t, PWLTable) and t.name == name, "table", f"a PWLTable for {name}", t)
    # clamp to [lo, hi] before the rescale (saturation there; keeps the product below 2^62)
    q = np.clip(q, math.floor(t.lo / s) - 1, math.ceil(t.hi / s) + 1)
    lo_q, hi_q = round(t.lo * 2.0**t.in_frac), round(t.hi * 2.0**t.in_frac)  # within half a grid step
    u = np.clip(rescale_ref(q, s * 2.0**t.in_frac), lo_q, hi_q)
    y = eval_table_ref(u, t)
    lim = 2**t.out_frac
    return np.clip(y, 0 if name == "sigmoid" else -lim, lim).astype(np.int16), 2.0**-t.out_frac


_DEFAULT: dict[str, PWLTable] = {}


def default_table(name: str) -> PWLTable:
    """The table used when none is given: 16 segments on [-8, 8] (cached)."""
    if name not in _DEFAULT:
        _DEFAULT[name] = fit_pwl(name, -8.0, 8.0, 16)
    return _DEFAULT[name]


def pwl_sigmoid_ref(q: np.ndarray, scale: float, table: PWLTable | None = None) -> tuple[np.ndarray, float]:
    """Adaptive PWL sigmoid. Input: int32 codes, scale in (0, 2^20); ``table`` from fit_pwl("sigmoid", ...)
    (default: 16 segments on [-8, 8], 160 bytes). Output: int16 codes in [0, 2^14] at 2^-14.

    Bound over [lo, hi]: table.bound (float PWL error + 1 code + input grid rounding); default table:
    float error 1.6e-3, integer max 1.6e-3, mean 7.6e-4. Outside [lo, hi]: the value at the nearer end.
    """
    return _pwl_apply(q, scale, table, "sigmoid")


def pwl_tanh_ref(q: np.ndarray, scale: float, table: PWLTable | None = None) -> tuple[np.ndarray, float]:
    """Adaptive PWL tanh; same contract as pwl_sigmoid_ref, output int16 in [-2^14, 2^14] at 2^-14.

    Default table (16 segments on [-8, 8]): float error 3.6e-3, integer max 3.8e-3, mean 1.1e-3.
    """
    return _pwl_apply(q, scale, table, "tanh")
