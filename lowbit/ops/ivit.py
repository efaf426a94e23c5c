"""I-ViT integer-only kernels (Li & Gu 2023, arXiv 2207.01405): Shiftmax, ShiftGELU, I-LayerNorm.

Shift-exp: x log2(e) ~ x + (x >> 1) - (x >> 4), split into an integer part z and a fraction r in (-1, 0],
2^r ~ r/2 + 1, then shift by z. As in lowbit's I-BERT ops the input is first requantized (dyadic, the
project rule) to the internal scale 2^-15, so x0 = floor(-1 / S) of the reference is exactly -2^15 and the
split is a shift. Output scales are 2^-8 (softmax, uint8) instead of the reference's signed 2^-7.
"""

from __future__ import annotations

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
    div_round_ref,
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
    # clamps to 2^-n there, which leaves x sigmoid(1.702 x) ~ x 2^-15 for very negative 16-bit x)
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


def shiftgelu_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """ShiftGELU: x sigmoid(1.702 x), 1.702 x ~ x + x>>1 + x>>3 + x>>4, sigmoid from the shift-exp.

    sigmoid(y) = e^(y - m) / (e^(y - m) + e^(-m)); the reference takes m = the row max, lowbit takes
    m = max(y, 0) per element (no axis, one of the two exps is exactly 1, no underflow of the whole row).
    Input: 16-bit codes (|q| < 2^15), scale in (0, 2^15). Output: int32 codes q * sigmoid_Q15, scale
    S 2^-15. Bound: max abs error <= 5e-2 (1.6875 vs 1.702 and 2^r ~ 1 + r/2; measured ~2.6e-2).
    """
    s = check_scale(scale, hi=2.0**15)
    q = check_codes(q, "q", -(2**15) + 1, 2**15 - 1)
    clip = min(2**31, math.ceil((SHIFT_N + 2) / s))
    x = rescale_ref(np.clip(q, -clip, clip), s * 2**SHIFT_K)  # scale 2^-15
    y = x + (x >> 1) + (x >> 3) + (x >> 4)  # ~ 1.702 x
    m = np.maximum(y, 0)
    num = _shift_exp(y - m)
    den = num + _shift_exp(-m)  # <= 2^31
    sig = div_round_ref(num << SIG_BITS, den)  # sigmoid in Q.15, in [0, 2^15]
    return (q * sig).astype(np.int32), s * 2.0**-SIG_BITS
