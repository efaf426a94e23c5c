"""NN-LUT (Yu et al. 2021, arXiv 2112.02191): a one-hidden-layer ReLU network as an integer PWL table.

y = sum_i m_i ReLU(n_i x + b_i) + c is exactly piecewise linear: breakpoints -b_i / n_i, and on each
segment slope = sum m_i n_i and intercept = sum m_i b_i + c over the units active there. The network
(16 units) is fitted with torch (Adam, float64, deterministic start: the curvature-adapted interpolant
of pwl.curvature_knots written as ReLU units; MSE then an L8 loss that pulls towards the max error) and
converted exactly (``net_to_pwl``); the table is then quantized to fixed point (format: pwl.py).

Tables (fitted lazily once per process, cached; ~0.3 s each). Domain / input grid Q.F / output Q.O:
- "gelu":  GELU on [-8, 8], F = 11, O = 16; x < -8 reads the table at -8 (~0), x >= 8 is x itself.
- "exp":   2^-v = exp(-v ln2) on v in [0, 1), F = 15, O = 30. Range reduction by ln2 (as I-BERT):
           exp(x) = 2^-k 2^-v with -x log2(e) = k + v. Deviation from fitting exp on [-16, 0]: there a
           16-unit fit has ~1.5e-3 absolute error, which is 30x the value near x = -8, so sums of many
           tail terms (softmax rows of 4096) would be off by far more than 1e-2; here the error is
           relative (~1e-4) everywhere.
- "recip": 1/u on [1, 2), F = 14, O = 30 (x = u 2^e, the bit length gives e).
- "rsqrt": 1/sqrt(u) on [1, 4), F = 13, O = 30 (x = u 2^e with e even, so 2^(-e/2) is a shift).
Table bytes: segments x (2 + 4 + 4) (int16 start, int32 slope, int32 intercept); 16 units give at most
17 segments, fewer inside the domain when breakpoints fall outside it.
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


def nnlut_gelu_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """GELU. Input: int32 codes, scale in (0, 2^14). Output: int32 codes at 2^-16 (saturating at
    x >= 2^15). Bound: max abs error <= table("gelu").bound ~ 3.0e-3 (measured 2.8e-3, mean 7.6e-4)."""
    s = check_scale(scale, hi=2.0**14)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    t = table("gelu")
    lim = math.ceil(8.0 / s) + 1  # clamp before the rescale: keeps q m0 < 2^62 and u on the grid
    u = np.clip(rescale_ref(np.clip(q, -lim, lim), s * 2.0**t.in_frac), t.starts[0], 8 << t.in_frac)
    y = eval_table_ref(u, t)
    ident = rescale_ref(q, s * 2.0**GELU_OUT)  # GELU(x) = x to double precision for x >= 8
    y = np.where(u >= 8 << t.in_frac, ident, y)
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


def nnlut_softmax_ref(q: np.ndarray, scale: float, axis: int = -1) -> tuple[np.ndarray, float]:
    """Softmax: max-subtract, exp table (Q.30 per element), int64 sum, reciprocal table, 8-bit output.

    Input: int32 codes, rows of up to 2^20 along ``axis``, scale in (0, 2^20). Output: uint8 at 2^-8
    (p = 1 saturates at 255/256). Bound: max |p - softmax| <= 1e-2 (2^-9 output rounding + 2^-8
    saturation + ~3e-4 relative from the two tables; measured 3.9e-3).

    The final shift 30 + ex - 8 is capped at 62: a row sum of 2^42 or more (rows of >= 4096 near-equal
    codes) made it >= 64, where the rounding term 2^(shift-1) overflowed int64 and every output read 255;
    since e r < 2^61, any shift >= 62 gives 0 and the cap changes nothing else.
    """
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    ax = check_axis(axis, q.ndim)
    expect(q.shape[ax] <= 2**20, "q", "rows of at most 2^20 elements", q.shape[ax])
    e = _exp_of_gap(q.max(axis=ax, keepdims=True) - q, s)  # <= 2^30 (+ table error)
    u, ex = _normalize(e.sum(axis=ax, keepdims=True), SPECS["recip"][4], even=False)  # sum <= 2^51
    r = _lookup("recip", u)  # 1/sum = r 2^-30 2^-ex
    out = rshift_round_ref(e * r, np.minimum(30 + ex - OUT_BITS, 62))  # e r < 2^61
    return np.minimum(out, 2**OUT_BITS - 1).astype(np.uint8), 2.0**-OUT_BITS


__all__ = [
    "fit_relu_net",
    "net_to_pwl",
    "nnlut_exp_ref",
    "nnlut_gelu_ref",
    "nnlut_reciprocal_ref",
    "nnlut_rsqrt_ref",
    "nnlut_softmax_ref",
    "table",
]
