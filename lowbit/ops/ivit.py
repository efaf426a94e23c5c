"""I-ViT integer-only kernels (Li & Gu 2023, arXiv 2207.01405): Shiftmax, ShiftGELU, I-LayerNorm.

Shift-exp: x log2(e) ~ x + (x >> 1) - (x >> 4), split into an integer part z and a fraction r in (-1, 0],
2^r ~ r/2 + 1, then shift by z. As in lowbit's I-BERT ops the input is first requantized (dyadic, the
project rule) to an internal power-of-two scale (Shiftmax 2^-15, ShiftGELU 2^-11: its steps fit 16 bits),
so x0 = floor(-1 / S) of the reference is exactly -2^K and the split is a shift. Output scales are 2^-8
(softmax, uint8) instead of the reference's signed 2^-7.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lowbit.errors import expect
from lowbit.ops.ibert import _softmax_from_exp, ibert_layernorm_ref
from lowbit.ops.intcore import (
    INT32_MAX,
    INT32_MIN,
    check_axis,
    check_codes,
    check_scale,
    rescale_ref,
)

SHIFT_K = 15  # internal scale 2^-15
SHIFT_N = 15  # reference n: exponents below -15 (base 2) give 0; exp codes <= 2^30
SIG_BITS = 15  # ShiftGELU sigmoid in Q.15 so that 16-bit x times sigmoid fits int32

# I-ViT's LayerNorm is I-BERT's: integer mean / variance, integer Newton sqrt. The reference runs 10
# Newton steps from 2^16; lowbit's sqrt iterates to convergence on a variance normalised to ~2^60, where
# 10 steps from 2^16 would not converge. Same input / output contract as ibert_layernorm_ref.
ivit_layernorm_ref = ibert_layernorm_ref


def _shift_exp(x: np.ndarray) -> np.ndarray:
    """2^(SHIFT_N) * exp(x 2^-15) for int64 x <= 0 at scale 2^-15, by shifts: int64 in [0, 2^30]."""
    t = x + (x >> 1) - (x >> 4)  # x log2(e), floor shifts as in the reference
    under = t < -SHIFT_N * 2**SHIFT_K
    t = np.maximum(t, -SHIFT_N * 2**SHIFT_K)
    z = (-t) >> SHIFT_K
    r = t + (z << SHIFT_K)  # in (-2^15, 0]
    e = (r >> 1) + 2**SHIFT_K  # 2^r ~ 1 + r/2, at scale 2^-15
    # exact: the reference's floor(e 2^(n - z)), scale 2^-(15 + n); below 2^-n it is 0 (the reference
    # clamps to 2^-n there; ShiftGELU's rho does the same)
    return np.where(under, 0, e << (SHIFT_N - z))


def _to_internal(d: np.ndarray, scale: float) -> np.ndarray:
    """Non-positive codes at ``scale`` as codes at 2^-15 (clamped where the exp underflows anyway)."""
    d = np.maximum(d, -min(2**31, math.ceil((SHIFT_N + 2) / scale)))
    return rescale_ref(d, scale * 2**SHIFT_K)


def shiftmax_ref(q: np.ndarray, scale: float, axis: int = -1) -> tuple[np.ndarray, float]:
    """Shiftmax: softmax with the shift-exp; the division as I-BERT's (floor(2^62 / sum), shift).

    Input: int32 codes, scale in (0, 2^15), rows along ``axis`` up to 2^20 long. Output: uint8 at scale
    2^-8. Bound: max |p - softmax| <= 2.5e-2 (the method's 2^r ~ 1 + r/2 is up to 6% off; measured
    ~1.7e-2 max, so the 1e-2 target is not met by this method as published).
    """
    s = check_scale(scale, hi=2.0**15)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    ax = check_axis(axis, q.ndim)
    expect(q.shape[ax] <= 2**20, "q", "rows of at most 2^20 elements", q.shape[ax])
    e = _shift_exp(_to_internal(q - q.max(axis=ax, keepdims=True), s))
    return _softmax_from_exp(e, ax), 2.0**-8


GELU_K = 11  # ShiftGELU's y = 1.702 x at 2^-11: every step of the kernel fits 16 bits
GELU_SEGS = 64  # segments of the sigmoid's reciprocal table (rho >> 9)


@functools.lru_cache(maxsize=256)
def shiftgelu_constants(scale: float) -> tuple[int, int]:
    """(l, m) of y = (min(|q|, 65535 >> l) 2^l m) >> 16 ~ 1.702 |q| scale 2^11: m the 16-bit mantissa,
    l in [0, 15] the smallest shift that keeps m below 2^16. Scales past ~9.4 (l = 15) cap m at 2^16 - 1,
    where every q != 0 saturates the sigmoid either way."""
    f = scale * 1.702 * 2**GELU_K
    shift = 0
    while shift < 15 and round(f * 2.0 ** (16 - shift)) > 65535:
        shift += 1
    return shift, min(65535, round(f * 2.0 ** (16 - shift)))


_KNOTS = np.array([(2**30 + ((2**15 + 512 * j) >> 1)) // (2**15 + 512 * j) for j in range(GELU_SEGS + 1)])
GELU_RECIP = _KNOTS[:-1]  # 2^30 / (2^15 + 512 j) rounded: 2^15 / (1 + rho) at the knots rho = j 2^-6
GELU_RECIP_SLOPE = _KNOTS[:-1] - _KNOTS[1:]  # <= 504


def shiftgelu_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """ShiftGELU: x sigmoid(1.702 x) with I-ViT's shift-exp, in 16-bit integer steps.

    As I-ViT's code, 1.702 goes into the rescale's multiplier (one 16 x 16-bit product on |q|, its high half:
    y ~ 1.702 |x| at 2^-11, rounded down);
    then T = y log2(e) ~ y + y>>1 - y>>4, z = T >> 11, r = -(T mod 2^11) 2^-11, and rho = exp(-y) ~
    2^-z (1 + r/2) in Q.15 (0 below 2^-15, the reference's n = 15). sigmoid(y) = 1 / (1 + rho): I-ViT's
    IntDiv of 2^30 by 2^15 + rho, here by linear interpolation between 65 exactly rounded knots (GELU_RECIP,
    rounded down; 0 to 3 above the rounded quotient), so that no step needs more than 16 bits; sigmoid(-y) =
    2^15 - sigmoid(y). Input: 16-bit codes (|q| < 2^15), scale in (0, 2^15). Output: int32 codes
    q * sigmoid_Q15, scale S 2^-15. Bound: max abs error <= 5e-2 (2^r ~ 1 + r/2, and y rounded down; measured
    ~2.4e-2, below the former 32-bit form's ~2.55e-2 with 1.6875 x by shifts and an exact division).
    """
    s = check_scale(scale, hi=2.0**15)
    q = check_codes(q, "q", -(2**15) + 1, 2**15 - 1)
    shift, m = shiftgelu_constants(s)
    a = np.minimum(np.abs(q), 65535 >> shift)
    y = ((a << shift) * m) >> 16  # ~ 1.702 |x| at 2^-11, < 2^16
    t = y + (y >> 1) - (y >> 4)  # y log2(e)
    z, f = t >> GELU_K, t & (2**GELU_K - 1)
    mant = 2**GELU_K - ((f + 1) >> 1)  # 2^11 (1 + r/2), r = -f 2^-11: floor(r / 2) as the shift-exp
    rho = np.minimum((mant << (15 - GELU_K)) >> np.minimum(z, 16), 2**15 - 1)  # 2^15 exp(-y); 0 for z >= 16
    j = rho >> 9
    sig = GELU_RECIP[j] - ((GELU_RECIP_SLOPE[j] * (rho & 511)) >> 9)
    sig = np.where(q < 0, 2**SIG_BITS - sig, sig)  # sigmoid in Q.15, in [0, 2^15]
    return (q * sig).astype(np.int32), s * 2.0**-SIG_BITS
