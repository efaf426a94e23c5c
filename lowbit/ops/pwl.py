"""Piecewise-linear (PWL) tables in fixed point, and iRNN-style adaptive PWL sigmoid and tanh.

A table holds K segments over a domain [lo, hi] on an internal input grid u = u_q 2^-F:
- ``starts``: int16, the first grid point of each segment (starts[0] = the domain's low end);
- ``slopes``: int32 in Q.P (P chosen per table so that max |slope| 2^P < 2^31);
- ``intercepts``: int32 in Q.O (the output grid), the value at u = 0 of the segment's line.
``eval_table_ref`` (NN-LUT's tables) evaluates on the grid: j = the segment containing u_q, y_q =
intercept_q[j] + rshift_round(slope_q[j] u_q, F + P - O). Table bytes: K (2 + 4 + 4).

The PWL sigmoid and tanh evaluate on the input codes themselves, in 16-bit steps (``pwl_plan``): the table
becomes per input scale a list of rows on w = clamp(q' - base, 0, w_max), q' = q rounded-shifted by r (r = 0
unless the domain spans more than 2^16 codes), each row a start, the table's value there plus one half as an
integer v and a 16-bit fraction c, and the slope in codes per step as a 16-bit mantissa s with a shift e:
y = v + ((s ((w - start) << e) + c) >> 16), (w - start) << e < 2^16 (long rows split): one rounding of the
table's value. Two saturation rows hold the values at lo and hi; the output clamp is folded into the rows
where it cuts a line (``clipless``: the kernel then skips it). Error vs the float table: <= 0.5 output
codes + max|slope| (hi - lo) / 65533 (q' rounded; 0 for r = 0) + 2^-16 per code of the row's rise.

iRNN (adaptive PWL activations): the breakpoints follow the observed input range [lo, hi] and the
curvature there. Rule: equal shares of the integral of sqrt(|f''| + 2% max|f''|) (the asymptotically
optimal knot density for the max error of linear interpolation, floored so that flat stretches still get
knots); the line through the two ends of each segment is then shifted by half its own max deviation
(its interpolation error has one sign where f'' does, so this halves the max error; segments may be
discontinuous, which integer evaluation does not mind). Outside [lo, hi] the output saturates at f(lo)
and f(hi). Output: int16 codes at 2^-14 (sigmoid in [0, 2^14], tanh in [-2^14, 2^14]).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lowbit.errors import expect
from lowbit.ops.intcore import INT32_MAX, INT32_MIN, check_codes, check_scale
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
        if self.name not in FUNCS:  # NN-LUT's tables (eval_table_ref): 1 code + the input grid's rounding
            return self.float_err + 2.0**-self.out_frac + smax * 2.0 ** -(self.in_frac + 1) + 2.0**-20
        # sigmoid / tanh (pwl_plan): 1 code (one rounding, the 16-bit slope and fraction) + the rounding of q'
        return self.float_err + 2.0**-self.out_frac + smax * (self.hi - self.lo) / 65533 + 2.0**-20


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


@dataclass(frozen=True)
class PWLPlan:
    """A table's integer rows on the input codes of one scale (module docstring; ``pwl_plan``)."""

    r: int  # q' = round(q / 2^r)
    base: int  # w = clamp(q' - base, 0, w_max)
    w_max: int  # <= 2^16 - 1
    starts: np.ndarray  # int64 [R], starts[0] = 0, increasing, < 2^16
    values: np.ndarray  # int64 [R], within int16
    fracs: np.ndarray  # int64 [R], in [0, 2^16 - 1]
    slopes: np.ndarray  # int64 [R], in [0, 2^16 - 1]
    shifts: np.ndarray  # int64 [R], in [0, 16]: (w - start) << shift < 2^16 on the row
    kernel_rows: tuple  # the five columns in the C++ kernel's dtypes (uint16, int16, uint16, uint16, uint8)
    clipless: bool  # every row's value within the output clamp (the kernel may leave the clamp out)


_PLANS: dict[tuple, PWLPlan] = {}


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def pwl_plan(t: PWLTable, scale: float) -> PWLPlan:
    """The rows of ``t`` on the codes of ``scale`` (cached by value). Needs slopes >= 0 (sigmoid, tanh)."""
    key = (t.name, t.lo, t.hi, t.in_frac, t.slope_frac, t.out_frac, t.starts.tobytes(), t.slopes.tobytes(),
           t.intercepts.tobytes(), float(scale))  # fmt: skip
    hit = _PLANS.get(key)
    if hit is not None:
        return hit
    expect(bool((t.slopes >= 0).all()), "table", "non-negative slopes (a sigmoid or tanh table)", t.slopes)
    f, p, o = t.in_frac, t.slope_frac, t.out_frac
    r = 0
    while True:  # the smallest r whose codes over [lo, hi], plus one on each side, span at most 2^16 - 1
        step = scale * 2.0**r
        t_lo, t_hi = math.ceil(t.lo / step), math.floor(t.hi / step)
        if t_hi - t_lo + 2 <= 65535:
            break
        r += 1
    base = t_lo - 1
    sl, ic = t.slopes.astype(np.float64) * 2.0 ** (o - p), t.intercepts.astype(np.float64)

    def line(j: int, x: float) -> float:  # the table's value at real x on segment j, in output codes
        return ic[j] + sl[j] * x

    rows = {0: (line(0, t.lo), 0.0)}  # w -> (value at the row's start, codes per step); below lo: f(lo)
    for j in range(t.starts.size):
        x = max(float(t.starts[j]) * 2.0**-f, t.lo) if j else t.lo
        q0 = max(math.ceil(x / step), t_lo)
        if q0 <= t_hi:
            rows[q0 - base] = (line(j, q0 * step), sl[j] * step)
    w_max = t_hi + 1 - base
    rows[w_max] = (line(t.starts.size - 1, t.hi), 0.0)  # above hi: f(hi)
    lim = 2**o
    y_lo, y_hi = (0 if t.name == "sigmoid" else -lim), lim
    ws = sorted(rows)
    for i, w0 in enumerate(ws):  # the output clamp as rows: the parts of a line past y_lo / y_hi constant
        v, a = rows[w0]
        end = ws[i + 1] if i + 1 < len(ws) else w0 + 1
        if a <= 0:
            rows[w0] = (min(max(v, y_lo), y_hi), 0.0)
            continue
        w_lo, w_hi = (min(max(w0 + math.ceil((y - v) / a), w0), end) for y in (y_lo - 0.5, y_hi + 0.5))
        if w_lo > w0:
            rows[w0] = (float(y_lo), 0.0)
            if w_lo < end:
                rows[w_lo] = (v + a * (w_lo - w0), a)
        if w_hi < end:
            rows[w_hi] = (float(y_hi), 0.0)
    out = []
    ws = sorted(rows)
    for i, w0 in enumerate(ws):
        v, a = rows[w0]
        end = ws[i + 1] if i + 1 < len(ws) else w0 + 1
        e = 0
        while _round(a * 2.0 ** (16 - e)) > 65535 and e < 17:
            e += 1
        if e == 17:  # over 2^16 codes per step: one row per code (at most a few inside [lo, hi])
            ranges, slope, e = [(w, w + 1) for w in range(w0, end)], 0, 0
        else:
            ranges, slope = [(w, w) for w in range(w0, end, (65535 >> e) + 1)], _round(a * 2.0 ** (16 - e))
        for w, _ in ranges:  # split: (w - start) << e < 2^16 on every row
            z = v + a * (w - w0) + 0.5  # y = floor(z + s x / 2^16): the value rounded once
            vi, c = math.floor(z), _round((z - math.floor(z)) * 2.0**16)
            vi, c = (vi + 1, 0) if c == 2**16 else (vi, c)
            out.append((w, vi, c, slope, e))
    out = _clamp_rows(out, w_max, y_lo, y_hi)
    # a constant row right after a constant row of the same value changes nothing (fewer row starts inside
    # one bucket: fewer compare-and-advance steps in the kernel)
    out = [
        row
        for i, row in enumerate(out)
        if not (i and row[3] == 0 == out[i - 1][3] and row[1] == out[i - 1][1])
    ]
    arr = np.array(out, dtype=np.int64)
    ok = np.abs(arr[:, 1]).max() <= 2**15 - 1 and len(out) <= 64
    expect(ok, "table", "values within int16 and at most 64 rows on these codes", t)
    dtypes = (np.uint16, np.int16, np.uint16, np.uint16, np.uint8)
    cols = tuple(np.ascontiguousarray(arr[:, i], dtype=d) for i, d in enumerate(dtypes))
    plan = PWLPlan(r, base, w_max, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], cols, False)
    y = _eval_rows(plan, np.arange(w_max + 1))
    plan = dataclasses.replace(plan, clipless=bool(y.min() >= y_lo and y.max() <= y_hi))
    if len(_PLANS) >= 256:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def _clamp_rows(out: list, w_max: int, y_lo: int, y_hi: int) -> list:
    """Rows whose integer values stay within [y_lo, y_hi] (the product's rounding can pass a bound by one at
    the ends of a line cut by the clamp): the codes past a bound become constant rows of it, a line row
    re-anchored exactly after them (same integers). Rows rise, so the clamp of y gives the same values."""
    for _ in range(64):
        st = np.array([r[0] for r in out])
        w = np.arange(w_max + 1)
        j = np.searchsorted(st, w, side="right") - 1
        rows = np.array(out, dtype=np.int64)
        y = rows[j, 1] + ((rows[j, 3] * ((w - rows[j, 0]) << rows[j, 4]) + rows[j, 2]) >> 16)
        bad = np.flatnonzero((y < y_lo) | (y > y_hi))
        if bad.size == 0:
            return out
        k = int(bad[0])
        i = int(j[k])
        s, v, c, sl, e = out[i]
        if y[k] > y_hi:  # this code and the rest of its row: y_hi
            out = out[: i + (k > s)] + [(k, y_hi, 0, 0, 0)] + out[i + 1 :]
        else:  # the row's codes up to k: y_lo, then the same line from k + 1
            end = out[i + 1][0] if i + 1 < len(out) else w_max + 1
            p = sl * ((k + 1 - s) << e) + c  # the product at k + 1 with its fraction: v + (p >> 16) there
            nxt = [(k + 1, v + (p >> 16), p & 0xFFFF, sl, e)] if k + 1 < end else []
            out = out[:i] + [(s, y_lo, 0, 0, 0)] + nxt + out[i + 1 :]
    return out


def _eval_rows(pl: PWLPlan, w: np.ndarray) -> np.ndarray:
    j = np.searchsorted(pl.starts, w, side="right") - 1
    return pl.values[j] + ((pl.slopes[j] * ((w - pl.starts[j]) << pl.shifts[j]) + pl.fracs[j]) >> 16)


def _pwl_apply(q: object, scale: object, table: PWLTable | None, name: str) -> tuple[np.ndarray, float]:
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    t = default_table(name) if table is None else table
    expect(isinstance(t, PWLTable) and t.name == name, "table", f"a PWLTable for {name}", t)
    pl = pwl_plan(t, s)
    if pl.r:
        q = ((q >> (pl.r - 1)) + 1) >> 1  # round(q / 2^r)
    y = _eval_rows(pl, np.clip(q - pl.base, 0, pl.w_max))
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

    Bound over [lo, hi]: table.bound (float PWL error + 1 code + input rounding); default table:
    float error 1.6e-3, integer max 1.6e-3, mean 7.7e-4. Outside [lo, hi]: the value at the nearer end.
    """
    return _pwl_apply(q, scale, table, "sigmoid")


def pwl_tanh_ref(q: np.ndarray, scale: float, table: PWLTable | None = None) -> tuple[np.ndarray, float]:
    """Adaptive PWL tanh; same contract as pwl_sigmoid_ref, output int16 in [-2^14, 2^14] at 2^-14.

    Default table (16 segments on [-8, 8]): float error 3.6e-3, integer max 3.6e-3, mean 1.1e-3.
    """
    return _pwl_apply(q, scale, table, "tanh")
