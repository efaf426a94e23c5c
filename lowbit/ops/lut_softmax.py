"""LUT softmax (Vasyltsov & Chang 2021, arXiv 2111.10770): two lookup-table methods, < 700 bytes of tables.

Reading (the paper's body was not retrievable here; its abstract: two LUT methods, ~700 bytes, small
because after normalisation the numerator and denominator ranges are stable; 8-bit):
- after subtracting the row max, t = (max - x) log2(e) >= 0 is bounded below by 0 and only its fraction
  needs a table: exp(-(max - x)) = EXP2[frac(t)] >> floor(t) (128 entries of 2^15 2^-f/128, uint16);
- the sum of those exps lies in [2^15, n 2^15]; normalised to a mantissa m in [128, 256) by its bit length
  it indexes a second table:
  * "rexp": RECIP[m] = 2^22 / m (uint16), p = exp * RECIP >> shift (a reciprocal table);
  * "lnexp": LOG2[m] = 2^7 log2(m / 128) (uint8), p = exp(x - max - ln sum) looked up in EXP2 again.
Tables: rexp 256 + 256 = 512 bytes, lnexp 256 + 128 = 384 bytes. Output: uint8 at scale 2^-8.
"""

from __future__ import annotations

import math

import numpy as np

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
from lowbit.ops.requant import rshift_round_ref

FRAC = 7  # exponent t in Q.7 (base 2)
MANT = 8  # significant bits of the sum that index the second table
ONE = 15  # EXP2 entries are 2^15 2^-f
EXP2 = np.round(2.0**ONE * 2.0 ** (-np.arange(2**FRAC) / 2**FRAC)).astype(np.uint16)
_M = np.arange(2 ** (MANT - 1), 2**MANT, dtype=np.float64)  # mantissas 128..255
RECIP = np.round(2.0**22 / _M).astype(np.uint16)  # (2^14, 2^15]
LOG2 = np.round(2.0**FRAC * np.log2(_M / 2 ** (MANT - 1))).astype(np.uint8)  # [0, 128)
TABLE_BYTES = {"rexp": EXP2.nbytes + RECIP.nbytes, "lnexp": EXP2.nbytes + LOG2.nbytes}
T_MAX = 24 << FRAC  # exps below 2^-24 are 0


def _exp2_neg(t: np.ndarray) -> np.ndarray:
    """2^15 2^-(t / 2^7) for int64 t >= 0 by one table lookup and a rounding shift."""
    return rshift_round_ref(EXP2[t & (2**FRAC - 1)].astype(np.int64), t >> FRAC)


def _exponents(q: np.ndarray, scale: float, ax: int) -> np.ndarray:
    """t = (max - x) log2(e) in Q.7, int64 in [0, T_MAX]."""
    d = q.max(axis=ax, keepdims=True) - q
    d = np.minimum(d, min(2**31, math.ceil(24 / scale) + 1))  # beyond it the exp is 0 anyway
    return np.minimum(rescale_ref(d, scale * math.log2(math.e) * 2**FRAC), T_MAX)


def _mantissa(total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """total ~ m 2^(L - 8) with m in [128, 256) rounded to 8 bits: (index m - 128, L)."""
    length = bit_length_ref(total)
    m = rshift_round_ref(total, length - MANT)
    carry = m >= 2**MANT  # rounding up to 256 = 128 * 2
    return np.where(carry, 0, m - 2 ** (MANT - 1)), length + carry


def _check(q: np.ndarray, scale: float, axis: int) -> tuple[np.ndarray, float, int]:
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    ax = check_axis(axis, q.ndim)
    expect(q.shape[ax] <= 2**20, "q", "rows of at most 2^20 elements", q.shape[ax])
    return q, s, ax


def lut_softmax_rexp_ref(q: np.ndarray, scale: float, axis: int = -1) -> tuple[np.ndarray, float]:
    """LUT softmax, exp table + reciprocal table. Input: int32 codes, scale in (0, 2^20), rows up to 2^20.

    Output: uint8 at 2^-8. Bound: max |p - softmax| <= 1e-2 (errors: 2^-8 in the Q.7 exponent -> 0.3%,
    8-bit sum mantissa -> 0.4% relative, 2^-9 output rounding, 2^-8 saturation; measured ~5e-3).
    """
    q, s, ax = _check(q, scale, axis)
    e = _exp2_neg(_exponents(q, s, ax))  # <= 2^15
    idx, length = _mantissa(e.sum(axis=ax, keepdims=True))
    # p = e / (m 2^(L-8)) = e RECIP 2^-22 2^-(L-8); at scale 2^-8: shift by L + 6 (e RECIP < 2^30)
    out = rshift_round_ref(e * RECIP[idx].astype(np.int64), length + 6)
    return np.minimum(out, 255).astype(np.uint8), 2.0**-8


def lut_softmax_lnexp_ref(q: np.ndarray, scale: float, axis: int = -1) -> tuple[np.ndarray, float]:
    """LUT softmax, exp table + log table: p = 2^-(t + log2 sum), the exp looked up again.

    Same contract and bound as lut_softmax_rexp_ref (measured ~8e-3 worst, on 4-element rows).
    """
    q, s, ax = _check(q, scale, axis)
    t = _exponents(q, s, ax)
    idx, length = _mantissa(_exp2_neg(t).sum(axis=ax, keepdims=True))
    # log2(sum 2^-15) = (L - 16) + log2(m / 128); sum >= 2^15 (the max contributes 2^15), so L >= 16
    total_t = t + ((length - 16) << FRAC) + LOG2[idx].astype(np.int64)
    out = rshift_round_ref(EXP2[total_t & (2**FRAC - 1)].astype(np.int64), (total_t >> FRAC) + ONE - 8)
    return np.minimum(out, 255).astype(np.uint8), 2.0**-8
