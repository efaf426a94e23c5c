"""NN-LUT (Yu et al. 2021, arXiv 2112.02191): a one-hidden-layer ReLU network as an integer PWL table.

y = sum_i m_i ReLU(n_i x + b_i) + c is exactly piecewise linear: breakpoints -b_i / n_i, and on each
segment slope = sum m_i n_i and intercept = sum m_i b_i + c over the units active there. The network
(16 units) is fitted with torch (Adam, float64, deterministic start: the curvature-adapted interpolant
of pwl.curvature_knots written as ReLU units; MSE then an L8 loss that pulls towards the max error) and
converted exactly (``net_to_pwl``); the table is then quantized to fixed point (format: pwl.py).

Tables (fitted lazily once per process, cached; ~0.3 s each). Domain / input grid Q.F / output Q.O:
- "gelu":  GELU on [-8, 8], F = 11, O = 16; x < -8 reads the table at -8 (~0), x >= 8 is x itself.
           Evaluated on the input codes in 16-bit steps (``gelu_plan``: the table's lines as rows per
           scale), not on the F grid.
- "exp":   2^-v = exp(-v ln2) on v in [0, 1), F = 15, O = 30. Range reduction by ln2 (as I-BERT):
           exp(x) = 2^-k 2^-v with -x log2(e) = k + v. Deviation from fitting exp on [-16, 0]: there a
           16-unit fit has ~1.5e-3 absolute error, which is 30x the value near x = -8, so sums of many
           tail terms (softmax rows of 4096) would be off by far more than 1e-2; here the error is
           relative (~1e-4) everywhere.
           The softmax reads it on a Q.10 grid in 16-bit steps (``softmax_exp_rows``: 16 rows of start,
           value and slope as uint16, values in Q.16; ``nnlut_softmax_ref``).
- "recip": 1/u on [1, 2), F = 14, O = 30 (x = u 2^e, the bit length gives e); the softmax rounds it to Q.15.
- "rsqrt": 1/sqrt(u) on [1, 4), F = 13, O = 30 (x = u 2^e with e even, so 2^(-e/2) is a shift).
Table bytes: segments x (2 + 4 + 4) (int16 start, int32 slope, int32 intercept); 16 units give at most
17 segments, fewer inside the domain when breakpoints fall outside it. The softmax's kernels hold the exp
rows (6 bytes each), the AVX-512 kernel's 128-byte bucket index over them and table("recip")
(SOFTMAX_TABLE_BYTES reserves 17 rows and 17 segments: 400 bytes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import erf

from lowbit.errors import expect
from lowbit.ops.intcore import (
    INT32_MAX,
    INT32_MIN,
    bit_length_ref,
    check_axis,
    check_codes,
    check_scale,
    dyadic,
    rescale_ref,
)
from lowbit.ops.pwl import PWLTable, curvature_knots, eval_table_ref, quantize_table
from lowbit.ops.requant import rshift_round_ref

UNITS = 16
STEPS = 800
OUT_BITS = 8  # softmax output: uint8 at 2^-8
GELU_OUT = 16  # GELU output: int32 at 2^-16
EXP_T = 31  # exponents (base 2) at or beyond 31 give exp = 0 (values are Q.30)
# bytes reserved per table without fitting it (the registry is built at import): UNITS + 1 segments
MAX_TABLE_BYTES = (UNITS + 1) * 10


def _gelu(x: np.ndarray) -> np.ndarray:
    return x * (1.0 + erf(x / math.sqrt(2.0))) / 2.0


def _gelu2(x: np.ndarray) -> np.ndarray:
    return (2.0 - x * x) * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


# name -> (f, f'', lo, hi, F, O)
SPECS: dict[str, tuple[Callable, Callable, float, float, int, int]] = {
    "gelu": (_gelu, _gelu2, -8.0, 8.0, 11, GELU_OUT),
    "exp": (lambda v: 2.0**-v, lambda v: math.log(2) ** 2 * 2.0**-v, 0.0, 1.0, 15, 30),
    "recip": (lambda u: 1.0 / u, lambda u: 2.0 / u**3, 1.0, 2.0, 14, 30),
    "rsqrt": (lambda u: u**-0.5, lambda u: 0.75 * u**-2.5, 1.0, 4.0, 13, 30),
}


@dataclass(frozen=True)
class ReluNet:
    n: np.ndarray
    b: np.ndarray
    m: np.ndarray
    c: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return (self.m * np.maximum(x[..., None] * self.n + self.b, 0.0)).sum(-1) + self.c


def fit_relu_net(name: str, units: int = UNITS, steps: int = STEPS) -> ReluNet:
    """Fit y = sum m ReLU(n x + b) + c to SPECS[name] on its domain (deterministic: no random init)."""
    f, f2, lo, hi, _, _ = SPECS[name]
    t = curvature_knots(f2, lo, hi, units)  # units + 1 knots: the interpolant has `units` segments
    y = f(t)
    sl = np.diff(y) / np.diff(t)
    n0 = np.ones(units)
    b0 = -t[:-1].copy()
    b0[0] = 1.0 - lo  # unit 0 breaks at lo - 1: linear over the whole domain
    m0 = np.concatenate([[sl[0]], np.diff(sl)])
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (n0, b0, m0, [y[0] - sl[0]])]
    x = torch.linspace(lo, hi, 513, dtype=torch.float64)
    target = torch.tensor(f(x.numpy()), dtype=torch.float64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny problem: threads only add overhead (and run-to-run variation)
    try:
        opt = torch.optim.Adam(params, lr=1e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        for i in range(steps):
            n, b, m, c = params
            err = (m * torch.relu(x[:, None] * n + b)).sum(1) + c - target
            loss = (err**2).mean() if i < steps // 2 else (err**8).mean() ** 0.125
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    finally:
        torch.set_num_threads(threads)
    n, b, m, c = (p.detach().numpy().copy() for p in params)
    return ReluNet(n, b, m, float(c[0]))


def net_to_pwl(net: ReluNet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact PWL form: (breakpoints [K] sorted, slopes [K + 1], intercepts [K + 1]); segment j is
    [bp[j-1], bp[j]) with bp[-1] = -inf, bp[K] = +inf."""
    live = net.n != 0
    c = net.c + float((net.m * np.maximum(net.b, 0.0))[~live].sum())  # n = 0: a constant unit
    n, b, m = net.n[live], net.b[live], net.m[live]
    bp = np.unique(-b / n)
    edges = np.concatenate([[bp[0] - 1.0], (bp[:-1] + bp[1:]) / 2, [bp[-1] + 1.0]])  # a point per segment
    active = (edges[:, None] * n + b) > 0
    return bp, (active * (m * n)).sum(1), (active * (m * b)).sum(1) + c


def pwl_eval_float(bp: np.ndarray, slopes: np.ndarray, icpts: np.ndarray, x: np.ndarray) -> np.ndarray:
    j = np.searchsorted(bp, x, side="right")
    return slopes[j] * x + icpts[j]


_NETS: dict[str, ReluNet] = {}
_TABLES: dict[str, PWLTable] = {}


def network(name: str) -> ReluNet:
    if name not in _NETS:
        _NETS[name] = fit_relu_net(name)
    return _NETS[name]


def table(name: str) -> PWLTable:
    """The fixed-point table of SPECS[name] (fitted and converted once, then cached)."""
    if name not in _TABLES:
        f, _, lo, hi, in_frac, out_frac = SPECS[name]
        bp, sl, ic = net_to_pwl(network(name))
        # segment j covers [bp[j-1], bp[j]); keep those meeting [lo, hi), the first one starting at lo
        lower = np.concatenate([[-np.inf], bp])
        upper = np.concatenate([bp, [np.inf]])
        keep = (upper > lo) & (lower < hi)
        starts = np.maximum(lower[keep], lo)
        x = np.union1d(np.linspace(lo, hi, 20001), starts)  # include the segment ends
        err = float(np.abs(pwl_eval_float(bp, sl, ic, x) - f(x)).max())
        _TABLES[name] = quantize_table(name, lo, hi, starts, sl[keep], ic[keep], in_frac, out_frac, err)
    return _TABLES[name]


def table_bytes(*names: str) -> int:
    return sum(table(n).table_bytes for n in names)


def _lookup(name: str, u: np.ndarray) -> np.ndarray:
    return eval_table_ref(u, table(name))


def _normalize(x: np.ndarray, frac: int, even: bool) -> tuple[np.ndarray, np.ndarray]:
    """x >= 1 (int64) as u 2^(e - frac), u in [2^frac, 2^(frac+1)) (or 2^(frac+2) with e even), rounded."""
    e = bit_length_ref(x) - 1
    if even:
        e = e & ~np.int64(1)
    up = np.left_shift(x, np.maximum(frac - e, 0))  # exact when e <= frac
    u = np.where(e <= frac, up, rshift_round_ref(x, np.maximum(e - frac, 0)))
    width = 2 if even else 1
    carry = u >= 2 ** (frac + width)  # rounded up to the next power: u = 2^frac, e + width
    return np.where(carry, 2**frac, u), e + carry * width


def _exp_of_gap(d: np.ndarray, scale: float) -> np.ndarray:
    """exp(-scale d) for int64 d >= 0: int64 in [0, ~2^30] at 2^-30 (0 below 2^-31)."""
    frac = SPECS["exp"][4]
    mult = scale * math.log2(math.e) * 2**frac
    t_max = EXP_T << frac
    if mult >= 2.0**31:  # every nonzero gap is beyond 2^-31: exp is 1 or 0
        t = np.where(d == 0, 0, t_max)
    else:
        d = np.minimum(d, min(2**31, math.ceil(EXP_T / (scale * math.log2(math.e))) + 1))
        t = np.minimum(rescale_ref(d, mult), t_max)  # -x log2(e) in Q.15
    y = _lookup("exp", t & (2**frac - 1))  # 2^-v, v = frac(t), Q.30
    return rshift_round_ref(y, t >> frac)  # times 2^-k


def nnlut_exp_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """exp(x) for x = scale q <= 0. Input: int32 codes <= 0, scale in (0, 2^20).

    Output: int64 codes in [0, 2^30] at 2^-30. Bound: |error| <= 2 table("exp").bound exp(x) + 2^-30
    ~ 2.2e-4 exp(x) + 2^-30 (the table error is relative after the ln2 range reduction: measured 1e-4).
    """
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, 0)
    return _exp_of_gap(-q, s), 2.0**-30


@dataclass(frozen=True)
class GeluPlan:
    """table("gelu") as rows on the input codes of one scale (``gelu_plan``; nnlut_gelu_ref's docstring)."""

    r: int  # q' = round(q / 2^r)
    base: int  # w = clamp(q' - base, 0, w_max)
    w_max: int  # <= 2^16 - 1
    q8: int  # the first code with scale q >= 8: from it on, the identity
    id_m0: int  # identity: rshift_round(q id_m0, id_shift) = rescale(q, scale 2^16)
    id_shift: int
    starts: np.ndarray  # int64 [R], starts[0] = 0, increasing, <= w_max
    anchors: np.ndarray  # int64 [R], the row's first code (rising line) or last (falling)
    shifts: np.ndarray  # int64 [R], in [0, 16]
    slopes: np.ndarray  # int64 [R], in [0, 2^16 - 1]
    values: np.ndarray  # int64 [R], |value| < 2^30
    kernel_rows: tuple  # the five columns in the C++ kernel's dtypes (uint16, uint16, uint8, uint16, int32)


_GELU_PLANS: dict[float, GeluPlan] = {}


def gelu_plan(scale: float) -> GeluPlan:
    """The rows of table("gelu") on the codes of ``scale`` (cached by value).

    The codes q' = round(q / 2^r) of [-8, 8] (r the smallest with at most 2^16 - 1 of them, plus one
    each side: 0 for int16 codes at scales >= 2.5e-4) become w = clamp(q' - base, 0, w_max); a row per
    table segment (and one before -8: the table's value at -8), split so that the line's rise along a row
    fits 16 bits (at the first code of one of 128 equal buckets over [0, w_max] where one is in reach: the
    kernel's bucket table then finds those rows without a search step):
    y = value + ((slope (|w - anchor| << shift)) >> 16), |w - anchor| <= 2^15 - 1 and
    |w - anchor| << shift <= 2^16 - 1, the anchor the row's first code where the table rises and its last
    where it falls (so the product is never negative), slope the codes per step as a 16-bit mantissa
    (shift: the most precise that fits). value: the line at the anchor rounded (constant rows) or rounded
    up by half a code (centres the product's floor). Error vs the float table: <= 1.5 output codes (+ the
    rounding of q' when r > 0: max|slope| 2^r scale / 2).
    """
    hit = _GELU_PLANS.get(scale)
    if hit is not None:
        return hit
    t = table("gelu")
    f, p, o = t.in_frac, t.slope_frac, t.out_frac
    r = 0
    while True:
        step = scale * 2.0**r
        t_lo, t_hi = math.ceil(-8.0 / step), math.floor(8.0 / step) + 1
        if t_hi - t_lo + 1 <= 65535:
            break
        r += 1
    expect(r <= 40, "scale", "a scale >= 2^-40", scale)
    base = t_lo - 1
    w_max = t_hi - base
    q8 = math.ceil(8.0 / scale)
    while (q8 - 1) * scale >= 8.0:
        q8 -= 1
    while q8 * scale < 8.0:
        q8 += 1
    sl, ic = t.slopes.astype(np.float64) * 2.0 ** (o - p), t.intercepts.astype(np.float64)

    def line(j: int, x: float) -> float:  # the table's value at real x on segment j, in output codes
        return ic[j] + sl[j] * x

    rows = {0: (line(0, -8.0), 0.0)}  # w -> (value at the row's start, codes per step); below -8: at -8
    for j in range(t.starts.size):
        x = max(float(t.starts[j]) * 2.0**-f, -8.0) if j else -8.0
        q0 = max(math.ceil(x / step), t_lo)
        if q0 <= t_hi:
            rows[q0 - base] = (line(j, q0 * step), sl[j] * step)
    bucket = 0  # the kernel's 128 buckets of 2^bucket codes: splits on their first codes cost no search step
    while (w_max >> bucket) >= 128:
        bucket += 1
    out = []
    ws = sorted(rows)
    for i, w0 in enumerate(ws):
        v, a = rows[w0]
        end = ws[i + 1] if i + 1 < len(ws) else w_max + 1
        m, e = abs(a), 0
        while _round(m * 2.0 ** (16 - e)) > 65535 and e < 17:
            e += 1
        if e == 17:  # over 2^16 codes per step: one row per code (scales near 1: a few codes in [-8, 8])
            out += [(w, w, 0, 0, _round(v + a * (w - w0))) for w in range(w0, end)]
            continue
        s = _round(m * 2.0 ** (16 - e))
        n = min(65535 >> e, 32767) + 1  # codes per row at most
        w = w0
        while w < end:
            nxt = ((w + n) >> bucket) << bucket  # split on a bucket's first code where one is in reach
            nxt = min(nxt if nxt > w else w + n, end)
            anchor = w if a >= 0 else nxt - 1
            z = v + a * (anchor - w0)
            out.append((w, anchor, e, s, _round(z) if s == 0 else math.floor(z + 1.0)))
            w = nxt
    # a constant row right after a constant row of the same value changes nothing
    out = [
        row
        for i, row in enumerate(out)
        if not (i and row[3] == 0 == out[i - 1][3] and row[4] == out[i - 1][4])
    ]
    arr = np.array(out, dtype=np.int64)
    expect(len(out) <= 64, "scale", "at most 64 rows of the GELU table on these codes", scale)
    dtypes = (np.uint16, np.uint16, np.uint8, np.uint16, np.int32)
    cols = tuple(np.ascontiguousarray(arr[:, i], dtype=d) for i, d in enumerate(dtypes))
    id_m0, id_shift = dyadic(scale * 2.0**GELU_OUT)
    plan = GeluPlan(r, base, w_max, q8, id_m0, id_shift, *(arr[:, i] for i in range(5)), cols)
    if len(_GELU_PLANS) >= 256:
        _GELU_PLANS.clear()
    _GELU_PLANS[scale] = plan
    return plan


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def nnlut_gelu_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """GELU. Input: int32 codes, scale in (0, 2^14). Output: int32 codes at 2^-16 (saturating at
    x >= 2^15). Evaluated on the codes in 16-bit steps (``gelu_plan``): below x = 8 the rows of
    table("gelu") (the table's value at -8 below -8), from x = 8 on (q >= q8) the identity
    rescale(q, scale 2^16). Bound: max abs error <= table("gelu").bound ~ 3.0e-3 (`lowbit bench intops`:
    codes in [-8000, 8000] at 1e-3 max 2.72e-3, mean 8.20e-4, MiniLM's GELU inputs max 2.74e-3; the former
    form on the table's 2^-11 grid: 2.77e-3, 8.21e-4, 2.95e-3)."""
    s = check_scale(scale, hi=2.0**14)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    pl = gelu_plan(s)
    qq = ((q >> (pl.r - 1)) + 1) >> 1 if pl.r else q  # round(q / 2^r)
    w = np.clip(qq - pl.base, 0, pl.w_max)
    j = np.searchsorted(pl.starts, w, side="right") - 1
    x = np.left_shift(np.abs(w - pl.anchors[j]), pl.shifts[j])
    y = pl.values[j] + ((pl.slopes[j] * x) >> 16)
    ident = rshift_round_ref(np.asarray(q, dtype=np.int64) * pl.id_m0, pl.id_shift)  # GELU(x) = x for x >= 8
    y = np.where(q >= pl.q8, ident, y)
    return np.clip(y, INT32_MIN, INT32_MAX).astype(np.int32), 2.0**-GELU_OUT


def nnlut_reciprocal_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """1/x for x = scale q > 0. Input: int32 codes in [1, 2^31 - 1], scale in (0, 2^20).

    Output: int64 codes in (0, 2^62] at scale 2^-62 / scale. Bound: relative error <= 2 table("recip").bound
    + 2^-14 ~ 5e-4 (abs table error 2e-4 on values in (0.5, 1], mantissa rounding; measured 3.6e-4).
    """
    s = check_scale(scale)
    q = check_codes(q, "q", 1, INT32_MAX)
    u, e = _normalize(q, SPECS["recip"][4], even=False)
    r = _lookup("recip", u)  # 2^30 / u_real, in (2^29, 2^30]
    return np.left_shift(r, 32 - e), 2.0**-62 / s  # 1/q = r 2^-30 2^-e, e <= 31


def nnlut_rsqrt_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """1/sqrt(x) for x = scale q > 0. Input: int32 codes in [1, 2^31 - 1], scale in (0, 2^20).

    Output: int64 codes in (0, 2^61] at scale 2^-61 / sqrt(scale). Bound: relative error
    <= 2 table("rsqrt").bound + 2^-13 ~ 8e-4 (measured 5.1e-4).
    """
    s = check_scale(scale)
    q = check_codes(q, "q", 1, INT32_MAX)
    u, e = _normalize(q, SPECS["rsqrt"][4], even=True)
    r = _lookup("rsqrt", u)  # 2^30 / sqrt(u_real)
    return np.left_shift(r, 31 - (e >> 1)), 2.0**-61 / math.sqrt(s)  # e even, <= 30


# ---- NN-LUT softmax in 16-bit steps (nnlut_softmax_ref; the kernels compute the same integers)
SM_EXP_FRAC = 10  # the exponent t = -x log2(e) of a gap in Q.10: k = t >> 10, v = t mod 2^10
SM_TMAX = 29 << SM_EXP_FRAC  # k >= 29: every exp and sum term is 0 (the sum at Q.(15 + g), g <= 13)
SM_G_FREE = 7  # rows of up to 2^7 elements sum their Q.15 exps (g = 0); longer rows 2^g finer (g <= 13)
BUCKETS = 128  # the AVX-512 kernel's bucket index over v (a byte per bucket)
# the kernels' tables: the exp rows (start, value, slope: 3 uint16 each, at most UNITS + 1 of them), the
# AVX-512 kernel's bucket index and table("recip") (int16 start, int32 slope, int32 intercept per segment)
SOFTMAX_TABLE_BYTES = (UNITS + 1) * 6 + BUCKETS + MAX_TABLE_BYTES


@dataclass(frozen=True)
class SoftmaxExpRows:
    """table("exp") as rows on the Q.10 exponent fraction v in [0, 2^10) (``softmax_exp_rows``):
    y = value[j] - ((v slope[j]) >> 10), row j the last with start[j] <= v; y in [0, 2^16 - 2] is 2^-x at
    x = (v + 1/2) 2^-10 in Q.16 (the midpoint of the grid step that the floored exponent stands for)."""

    starts: np.ndarray  # int64 [R], starts[0] = 0, increasing, < 2^10
    values: np.ndarray  # int64 [R], <= 2^16 - 2
    slopes: np.ndarray  # int64 [R], in [0, 2^16 - 1]: minus the table's slope, 2^16 per unit of x

    @property
    def table_bytes(self) -> int:
        return 6 * int(self.starts.size)


_EXP_ROWS: list[SoftmaxExpRows] = []


def softmax_exp_rows() -> SoftmaxExpRows:
    """The rows of table("exp") (Q.15 in, Q.30 out) on the Q.10 grid, converted in exact integer steps.

    Grid point v stands for x = (v + 1/2) 2^-10 = (32 v + 16) 2^-15: its segment is the table's at 32 v + 16
    (row j starts at ceil((start_j - 16) / 32); segments without a grid point are dropped), and the value
    icpt + slope x 2^(30 - P) (Q.30) becomes value - v slope' / 2^10 in Q.16 with slope' =
    round(-slope 2^(16 - P)) and value = floor(the Q.16 line at v = 0, i.e. at x = 2^-11) (the floor of the
    product then errs by < 1 code either way). Error vs the Q.30 table: < 2^-16 + 2^-16 (slope rounding
    over v < 2^10), i.e. ~3e-5 of values in [0.5, 1].
    """
    if _EXP_ROWS:
        return _EXP_ROWS[0]
    t = table("exp")
    expect(t.in_frac == 15 and t.out_frac == 30, "table", "the exp table at Q.15 in, Q.30 out", t.in_frac)
    p = t.slope_frac
    rows: dict[int, tuple[int, int]] = {}
    for j in range(t.starts.size):
        s10 = 0 if j == 0 else max(0, -((16 - int(t.starts[j])) // 32))  # ceil((start - 16) / 32)
        if s10 >= 2**SM_EXP_FRAC:
            continue
        sl, ic = int(t.slopes[j]), int(t.intercepts[j])
        slope = math.floor(-sl * 2.0 ** (16 - p) + 0.5)
        value = math.floor((ic + sl * 2.0 ** (19 - p)) / 2.0**14)  # exact in float64: |ic|, |sl| < 2^31
        rows[s10] = (min(value, 2**16 - 2), slope)  # a later segment at the same grid point replaces it
    st = np.array(sorted(rows), dtype=np.int64)
    va = np.array([rows[s][0] for s in st], dtype=np.int64)
    sl = np.array([rows[s][1] for s in st], dtype=np.int64)
    expect(bool((sl >= 0).all() and (sl < 2**16).all()), "table", "falling exp segments (16-bit slopes)", sl)
    v = np.arange(2**SM_EXP_FRAC)
    j = np.searchsorted(st, v, side="right") - 1
    y = va[j] - ((v * sl[j]) >> SM_EXP_FRAC)
    expect(bool((y >= 1).all()), "table", "positive exp values", int(y.min()))
    _EXP_ROWS.append(SoftmaxExpRows(st, va, sl))
    return _EXP_ROWS[0]


@dataclass(frozen=True)
class SoftmaxConstants:
    """t = min((min(d, dcap) m) >> s, SM_TMAX) for a gap d = max - q (``softmax_constants``), or with
    ``binary`` (m / 2^s >= 2^15: any nonzero gap is past SM_TMAX) t = 0 for d = 0 and SM_TMAX otherwise."""

    m: int  # in [2^15, 2^16)
    s: int  # in [1, 62]
    dcap: int  # the first d with (d m) >> s >= SM_TMAX (the cap changes nothing)
    binary: bool


def softmax_constants(scale: float) -> SoftmaxConstants:
    """t = d scale log2(e) in Q.10 floored, the multiplier as a 16-bit mantissa m 2^-s (relative error
    <= 2^-16: < 0.46 steps of t below SM_TMAX)."""
    mult = scale * math.log2(math.e) * 2**SM_EXP_FRAC
    s = 15 - math.floor(math.log2(mult))
    m = math.floor(mult * 2.0**s + 0.5)
    if m >= 2**16:
        m, s = m >> 1, s - 1
    while m < 2**15:  # log2's rounding at a power of two
        m, s = m * 2, s + 1
    if s < 1:
        return SoftmaxConstants(2**15, 1, 1, True)
    expect(s <= 62, "scale", "a scale >= 2^-40", scale)
    dcap = -((-SM_TMAX << s) // m)  # ceil(SM_TMAX 2^s / m)
    return SoftmaxConstants(m, s, dcap, False)


def softmax_g(n: int) -> int:
    """The row sum's extra bits for rows of n: 0 up to 2^SM_G_FREE elements, then one per doubling."""
    return max(0, int(n - 1).bit_length() - SM_G_FREE)


def _softmax_exps(d: np.ndarray, c: SoftmaxConstants) -> tuple[np.ndarray, np.ndarray]:
    """(y, k) of int64 gaps d >= 0: exp(-scale d) ~ y 2^-(16 + k), y in [1, 2^16 - 2], k in [0, 29]."""
    if c.binary:
        t = np.where(d == 0, 0, SM_TMAX)
    else:
        t = np.minimum((np.minimum(d, c.dcap) * c.m) >> c.s, SM_TMAX)  # d m < 2^32 2^16
    rows = softmax_exp_rows()
    v = t & (2**SM_EXP_FRAC - 1)
    j = np.searchsorted(rows.starts, v, side="right") - 1
    return rows.values[j] - ((v * rows.slopes[j]) >> SM_EXP_FRAC), t >> SM_EXP_FRAC


def nnlut_softmax_ref(q: np.ndarray, scale: float, axis: int = -1) -> tuple[np.ndarray, float]:
    """Softmax from table("exp") and table("recip") in 16-bit steps. Input: int32 codes, rows of up to
    2^20 along ``axis``, scale in (0, 2^20). Output: uint8 at 2^-8 (p = 1 saturates at 255/256).

    Per element, the gap d = max - q gives the exponent t (Q.10, ``softmax_constants``) and y 2^-(16 + k)
    (``softmax_exp_rows``); its exp e = rshift_round(y, k + 1) at Q.15 (< 2^15). The row sum adds
    rshift_round(y 2^g, k + 1) at Q.(15 + g), g = ``softmax_g(n)`` (0 for rows of up to 128: the sum of the
    e; longer rows keep g more bits so that the n roundings stay below 2^-9 of a sum >= 1), normalised to
    u in [2^14, 2^15) times 2^(ex - 14); r = rshift_round(recip_table(u), 15) ~ 2^29 / u (Q.15), and
    out = min(rshift_round(e r, 7 + ex - g), 255).

    Bound: max |p - softmax| <= 1e-2, in terms: 2^-8 output rounding / saturation (3.9e-3); <= 2^-9 from
    the rounded terms of the sum (n 2^-(16 + g) of a sum >= 1); each exp's relative error twice (numerator
    and sum): the exponent floored at Q.10 and read at the step's midpoint (<= 0.5 step) plus < 0.46 step
    from the 16-bit multiplier (6.6e-4), table("exp").bound on values >= 1/2 (2.2e-4), the Q.16 rows
    (6e-5): 1.9e-3; the reciprocal: table("recip").bound on values > 1/2, u's and r's roundings (5.1e-4):
    <= 8.3e-3 in all, for every row length up to 2^20. Measured (`lowbit bench
    intops`): random max 1.97e-3, mean 3.16e-4, real MiniLM max 3.91e-3 (the former form, Q.30 exps from
    the table at Q.15, int64 sums, 64-bit products: the same to three digits; ~0.05% of outputs differ,
    by one code).
    """
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    ax = check_axis(axis, q.ndim)
    n = q.shape[ax]
    expect(n <= 2**20, "q", "rows of at most 2^20 elements", n)
    g = softmax_g(n)
    y, k = _softmax_exps(q.max(axis=ax, keepdims=True) - q, softmax_constants(s))
    e = rshift_round_ref(y, k + 1)  # <= 2^15 - 1
    total = rshift_round_ref(y << g, k + 1).sum(axis=ax, keepdims=True)  # in [2^14 2^g, 2^35 2^g)
    u, ex = _normalize(total, SPECS["recip"][4], even=False)
    r = rshift_round_ref(_lookup("recip", u), 15)  # 1/total ~ r 2^-29 2^-ex
    out = rshift_round_ref(e * r, 7 + ex - g)  # e r < 2^31; the shift in [21, 55]
    return np.minimum(out, 2**OUT_BITS - 1).astype(np.uint8), 2.0**-OUT_BITS


__all__ = [
    "fit_relu_net",
    "net_to_pwl",
    "nnlut_exp_ref",
    "nnlut_gelu_ref",
    "nnlut_reciprocal_ref",
    "nnlut_rsqrt_ref",
    "nnlut_softmax_ref",
    "softmax_constants",
    "softmax_exp_rows",
    "softmax_g",
    "table",
]
