"""FQ-ViT (Lin et al. 2022, arXiv 2111.13824): Log-Int-Softmax and Power-of-Two-Factor LayerNorm inputs.

Log-Int-Softmax: I-BERT's integer exp, the sum, r = round(sum / exp) and k = log_round(r) (the
reference's rounding: floor(log2 r) plus one when r >= 1.5 * 2^floor), a 4-bit code meaning p = 2^-k, so
that P.V is a sum of shifted V. PTF: one layer-wise scale s and zero point, each channel at s * 2^alpha_c
with alpha_c in {0..3} chosen by least L2 error, so that (q - zp) << alpha_c puts every channel on the
common grid s and the LayerNorm statistics need only shifts and integer sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lowbit.errors import expect
from lowbit.ops.ibert import _iexp_nonpos, check_layernorm_args, layernorm_core_ref
from lowbit.ops.intcore import (
    INT32_MAX,
    INT32_MIN,
    bit_length_ref,
    check_axis,
    check_codes,
    check_scale,
    div_round_ref,
)

LIS_BITS = 4
LIS_ZERO = 2**LIS_BITS - 1  # code 15 means p = 0 (probabilities below ~2^-14.4); codes 0..14 mean 2^-k
LIS_FRAC = LIS_ZERO - 1  # P.V accumulates V << (14 - k): scale v_scale 2^-14
PTF_MAX_ALPHA = 3


def log_int_softmax_ref(q: np.ndarray, scale: float, axis: int = -1) -> tuple[np.ndarray, int]:
    """4-bit log2 softmax codes k (p ~ 2^-k; 15 = zero) from int32 codes at ``scale``.

    Input: int32 codes, scale in (0, 2^20), rows up to 2^20. Output: (uint8 codes in [0, 15], 4 = bits).
    Bound (the method's own): 2^-k is p rounded in the linear domain between powers of two, so the
    relative error is at most 1/3 below and 1/2 above (abs error up to ~0.33 for p near 2/3): this method
    cannot meet a 1e-2 absolute target, it trades it for shift-only P.V.
    """
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    ax = check_axis(axis, q.ndim)
    expect(q.shape[ax] <= 2**20, "q", "rows of at most 2^20 elements", q.shape[ax])
    e, _ = _iexp_nonpos(q - q.max(axis=ax, keepdims=True), s)
    total = e.sum(axis=ax, keepdims=True)
    r = div_round_ref(total, np.maximum(e, 1))  # >= 1 where e > 0
    f = bit_length_ref(r) - 1  # floor(log2 r)
    half = (r >> np.maximum(f - 1, 0)) & 1  # the bit below the leading one: r >= 1.5 * 2^f
    k = f + np.where(f >= 1, half, 0)
    k = np.where((e == 0) | (k >= LIS_ZERO), LIS_ZERO, k)
    return k.astype(np.uint8), LIS_BITS


def lis_dequant(k: np.ndarray) -> np.ndarray:
    """Float probabilities of Log-Int-Softmax codes (tests and reports only)."""
    k = np.asarray(k, dtype=np.int64)
    return np.where(k == LIS_ZERO, 0.0, 2.0 ** (-k.astype(np.float64)))


def lis_matmul_ref(k: np.ndarray, v: np.ndarray, v_scale: float) -> tuple[np.ndarray, float]:
    """P.V with Log-Int-Softmax codes: sum_j V_j << (14 - k_j) over k_j < 15, as exact integers.

    ``k``: [..., T, S] codes from log_int_softmax_ref; ``v``: [..., S, D] 16-bit codes at ``v_scale``.
    Output: int64 accumulators at scale v_scale 2^-14 (|acc| <= S 2^29). The reference writes the shift
    as a multiplication by 2^(14 - k) (same integers); a kernel shifts.
    """
    k = check_codes(k, "k", 0, LIS_ZERO)
    v = check_codes(v, "v", -(2**15), 2**15 - 1)
    vs = check_scale(v_scale, "v_scale")
    expect(
        k.ndim >= 2 and v.ndim >= 2 and k.shape[-1] == v.shape[-2],
        "k, v",
        "shapes [..., T, S] and [..., S, D]",
        (k.shape, v.shape),
    )
    w = np.where(k == LIS_ZERO, 0, np.left_shift(np.int64(1), LIS_FRAC - np.minimum(k, LIS_FRAC)))
    return np.matmul(w, v), vs * 2.0**-LIS_FRAC


@dataclass(frozen=True)
class PTFParams:
    """Power-of-Two-Factor quantization: x_c ~ scale * 2^alpha[c] * (q - zero_point)."""

    scale: float
    zero_point: int
    alpha: np.ndarray  # int64 [C] in {0..3}
    bits: int = 8


def ptf_calibrate(x: np.ndarray, bits: int = 8) -> PTFParams:
    """PTF parameters from float calibration data x [..., C] (float is fine here: this is calibration).

    As the reference's PtfObserver: scale8 = (max - min) / (2^bits - 1) over the whole layer, zero point
    from scale8, per channel alpha minimising the L2 error of fake quantization at scale8 / 2^(3 - alpha).
    """
    x = np.asarray(x, dtype=np.float64)
    expect(x.ndim >= 1 and x.size > 0 and np.isfinite(x).all(), "x", "a non-empty finite array", x.shape)
    expect(isinstance(bits, int) and 2 <= bits <= 8, "bits", "an int in [2, 8]", bits)
    qmax = 2**bits - 1
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale8 = max((hi - lo) / qmax, 1e-12)
    zp = int(np.clip(round(-lo / scale8), 0, qmax))
    s1 = scale8 / 2**PTF_MAX_ALPHA
    flat = x.reshape(-1, x.shape[-1])
    errs = []
    for a in range(PTF_MAX_ALPHA + 1):
        sa = s1 * 2**a
        fq = (np.clip(np.round(flat / sa) + zp, 0, qmax) - zp) * sa
        errs.append(((fq - flat) ** 2).sum(axis=0))
    alpha = np.argmin(np.stack(errs), axis=0).astype(np.int64)
    return PTFParams(scale=s1, zero_point=zp, alpha=alpha, bits=bits)


def ptf_quantize(x: np.ndarray, p: PTFParams) -> np.ndarray:
    """uint8 PTF codes of float x [..., C] (the quantizer; the integer path starts from these codes)."""
    x = np.asarray(x, dtype=np.float64)
    expect(x.shape[-1:] == p.alpha.shape, "x", f"last axis of {p.alpha.shape[0]} channels", x.shape)
    step = p.scale * 2.0**p.alpha
    return np.clip(np.round(x / step) + p.zero_point, 0, 2**p.bits - 1).astype(np.uint8)


def ptf_layernorm_ref(
    q: np.ndarray,
    p: PTFParams,
    weight: np.ndarray,
    bias: np.ndarray,
    out_scale: float,
    eps: float = 1e-12,
) -> tuple[np.ndarray, float]:
    """LayerNorm over the last axis of PTF codes: x = (q - zp) << alpha_c on the common grid p.scale,
    then integer mean / variance / Newton sqrt as I-BERT's. Input: codes in [0, 2^bits), channels last
    (2..16384). Output: int8 codes at ``out_scale``; within 1 code of float LayerNorm of the PTF values.
    """
    q = check_codes(q, "q", 0, 2**p.bits - 1)
    expect(q.shape[-1:] == p.alpha.shape, "q", f"last axis of {p.alpha.shape[0]} channels", q.shape)
    alpha = check_codes(p.alpha, "alpha", 0, PTF_MAX_ALPHA)
    _, w, b = check_layernorm_args(q.shape, -1, weight, bias, out_scale, eps)
    check_scale(p.scale, "p.scale")
    expect(math.isfinite(p.scale), "p.scale", "finite")
    x = (q - p.zero_point) << alpha  # |x| < 2^11: the shift is the whole point of PTF
    return layernorm_core_ref(x, p.scale, w, b, float(out_scale), eps, -1).astype(np.int8), float(out_scale)
