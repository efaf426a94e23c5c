"""I-BERT integer-only kernels (Kim et al. 2021, arXiv 2101.01321): i-poly, i-exp, softmax, i-GELU, LayerNorm.

Reference semantics in int64 numpy. Float appears only to precompute integer constants from the input
scale (as I-BERT does); the data path is integer. One deliberate change from the reference code: before
i-exp and i-GELU the input codes are requantized (dyadic m0 * 2^-shift, the project rule) to a fixed
internal scale (ln2 / 2^14 for exp, 1.769 / 2^12 for erf). This makes the range reduction a shift and keeps
the polynomial constants exact and the intermediates bounded for every input scale, where I-BERT's
floor(b / S) loses precision for coarse (int8) scales.
"""

from __future__ import annotations

import math

import numpy as np

from lowbit.errors import as_array, expect
from lowbit.ops.intcore import (
    INT32_MAX,
    INT32_MIN,
    bit_length_ref,
    check_axis,
    check_codes,
    check_scale,
    div_round_ref,
    isqrt_ref,
    rescale_ref,
)
from lowbit.ops.requant import quantize_multiplier, rshift_round_ref

# exp(p) ~ A (p + B)^2 + C on (-ln2, 0] (I-BERT: 0.35815147 p^2 + 0.96963238 p + 1, completed square)
EXP_A = 0.35815147
EXP_B = 0.96963238 / (2 * EXP_A)
EXP_C = 1.0 - EXP_A * EXP_B**2
EXP_K = 14  # internal exp scale ln2 / 2^14: the range reduction is a shift, poly values < 2^31
EXP_N = 30  # exponents below -30 ln2 give 0 (reference n = 30)
# erf(x) ~ sgn(x) [a (min(|x|, -b) + b)^2 + 1]
ERF_A, ERF_B = -0.2888, -1.769
ERF_K = 12  # internal erf scale |b| / 2^12, so that floor(b / S) = -2^12 exactly
ERF_DROP = 10  # erf kept to ~14 bits so that 16-bit x times (1 + erf) fits int32
LN_F, LN_K = 8, 16  # LayerNorm: fraction bits of the centred input, of the normalised value
OUT_BITS = 8  # softmax output: uint8 codes, scale 2^-8


def ibert_poly_ref(q: np.ndarray, scale: float, a: float, b: float, c: float) -> tuple[np.ndarray, float]:
    """i-poly: a (x + b)^2 + c for x = scale * q, as codes (q + floor(b/S))^2 + floor(c / (a S^2)).

    Returns (int64 codes, scale a S^2); a > 0. Bound: |codes| <= (|q| + |b|/S)^2 + |c|/(a S^2), the
    caller keeps it below 2^63. Error vs the real polynomial: from the two floors, at most
    a S^2 (2 |q + b/S| + 1) + a S^2.
    """
    s = check_scale(scale)
    expect(a > 0 and math.isfinite(a), "a", "a positive finite float", a)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    qb, qc = math.floor(b / s), math.floor(c / (a * s * s))
    return (q + qb) ** 2 + qc, a * s * s


def _iexp_nonpos(d: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """exp of non-positive codes d (int64, >= -2^31) at ``scale``: int64 in [0, 2^31), scale A ln2^2 2^-28."""
    s_e = math.log(2) / 2**EXP_K
    # clamp where exp underflows anyway so that the rescale product stays below 2^62
    d = np.maximum(d, -min(2**31, math.ceil((EXP_N + 1) * math.log(2) / scale)))
    x = np.maximum(rescale_ref(d, scale / s_e), -EXP_N * 2**EXP_K)
    z = (-x) >> EXP_K  # x = -z ln2 + r, r in (-ln2, 0]
    r = x + (z << EXP_K)
    qb, qc = math.floor(EXP_B / s_e), math.floor(EXP_C / (EXP_A * s_e * s_e))
    poly = (r + qb) ** 2 + qc
    return rshift_round_ref(poly, z), EXP_A * s_e * s_e


def ibert_exp_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """i-exp of x = scale * q for q <= 0 (int32 codes, e.g. x - max).

    Output: int64 codes in [0, 2^31) (int32-safe), scale 0.35815 ln2^2 2^-28 ~ 6.4e-10. Error: relative
    ~4e-3 from the polynomial plus one output code; exp below 2^-30 is 0.
    """
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, 0)
    return _iexp_nonpos(q, s)


def _softmax_from_exp(e: np.ndarray, axis: int) -> np.ndarray:
    """uint8 probabilities at scale 2^-8 from non-negative integer exps (max element > 0)."""
    total = e.sum(axis=axis, keepdims=True)  # <= rows * 2^31, int64
    factor = np.int64(2**62) // total  # e <= total, so e * factor <= 2^62
    out = rshift_round_ref(e * factor, 62 - OUT_BITS)
    return np.minimum(out, 2**OUT_BITS - 1).astype(np.uint8)


def ibert_softmax_ref(q: np.ndarray, scale: float, axis: int = -1) -> tuple[np.ndarray, float]:
    """Integer softmax: subtract the row max, i-exp, sum, multiply by floor(2^62 / sum), shift to 8 bits.

    Input: int32 codes (any shape, rows along ``axis``, up to 2^20 elements per row), scale in (0, 2^20).
    Output: uint8 codes at scale 2^-8 (p = 1 saturates to 255/256). Bound: max |p - softmax| <= 1e-2
    (measured ~5e-3: 2^-9 rounding, 2^-8 saturation, ~4e-3 relative exp error). I-BERT uses
    floor(2^32 / sum) with an int32 sum; 2^62 keeps the same arithmetic exact for sums beyond 2^32.
    """
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    ax = check_axis(axis, q.ndim)
    expect(q.shape[ax] <= 2**20, "q", "rows of at most 2^20 elements", q.shape[ax])
    e, _ = _iexp_nonpos(q - q.max(axis=ax, keepdims=True), s)
    return _softmax_from_exp(e, ax), 2.0**-OUT_BITS


def ibert_gelu_ref(q: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """i-GELU: x (1 + erf(x / sqrt2)) / 2 with I-BERT's second-order erf polynomial.

    Input: int32 codes, scale in (0, 2^20). Output: int64 codes q (erf + one) with |codes| <= |q| 2^15
    (int32 for 16-bit inputs) and the returned scale. Error: |x| * 0.5 * 1.8e-2 (erf polynomial) plus
    |x| 2^-15, i.e. max ~2e-2 near |x| ~ 2 (the method's own approximation error).
    """
    s = check_scale(scale)
    q = check_codes(q, "q", INT32_MIN, INT32_MAX)
    s_in = s / math.sqrt(2.0)  # erf's argument is x / sqrt2: folded into the scale
    s_e = -ERF_B / 2**ERF_K
    clip = min(2**31, math.ceil(-ERF_B / s_in) + 1)  # erf saturates beyond -b: clamp before rescale
    xe = np.abs(rescale_ref(np.clip(q, -clip, clip), s_in / s_e))
    xe = np.minimum(xe, 2**ERF_K)
    qc = math.floor(1.0 / (-ERF_A * s_e * s_e))  # the constant term "1" at scale |a| S_e^2
    mag = qc - (xe - 2**ERF_K) ** 2  # >= 0 since qc > 2^24
    erf = np.sign(q) * rshift_round_ref(mag, ERF_DROP)
    one = (qc + (1 << (ERF_DROP - 1))) >> ERF_DROP
    return q * (erf + one), s * (1.0 / qc) * 2**ERF_DROP / 2


def layernorm_constants(
    scale: float, w: np.ndarray, b: np.ndarray, out_scale: float, eps: float
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Integer constants of the LayerNorm from its float parameters: eps in the variance's units, and per
    channel gamma / out_scale as a dyadic (m0, shift) with beta pre-shifted (the kernel uses them too)."""
    var_unit = scale * scale  # 0 (underflow) for scales below ~1e-162: eps is then beyond the cap
    eps_units = eps / var_unit * 2 ** (2 * LN_F) if var_unit > 0 else (math.inf if eps > 0 else 0.0)
    eps_int = min(2**60, round(eps_units)) if math.isfinite(eps_units) else 2**60
    m0, sh = quantize_multiplier(np.abs(w) * 2.0**-LN_K / out_scale)  # one dyadic pair per channel
    m0, sh = m0.astype(np.int64), sh.astype(np.int64)
    tiny = sh > 46  # tiny gamma: drop m0 precision so that beta * 2^shift stays in int64
    m0[tiny], sh[tiny] = rshift_round_ref(m0[tiny], sh[tiny] - 46), 46
    m0 = np.where(w >= 0, m0, -m0)
    beta = np.round(np.clip(b / out_scale, -(2.0**14), 2.0**14) * 2.0**sh).astype(np.int64)
    return eps_int, m0.astype(np.int32), sh.astype(np.int32), beta


def layernorm_core_ref(
    x: np.ndarray,
    scale: float,
    weight: np.ndarray,
    bias: np.ndarray,
    out_scale: float,
    eps: float,
    axis: int,
    out_bits: int = 8,
) -> np.ndarray:
    """Integer LayerNorm of int64 values |x| < 2^15 along ``axis`` (shared by I-BERT, I-ViT and FQ-ViT).

    mean and variance from integer sums (x carries LN_F = 8 extra fraction bits so that the mean is not
    rounded to a whole code), std by the integer Newton sqrt of the variance normalised to ~2^60 by an
    even shift (30 significant bits), the normalised value in Q.16, then the affine gamma / s_out per
    channel as a dyadic multiplier and beta added before the final rounding shift.
    """
    eps_int, m0, sh, beta = layernorm_constants(
        scale, np.asarray(weight, np.float64), np.asarray(bias, np.float64), out_scale, eps
    )
    m0, sh = m0.astype(np.int64), sh.astype(np.int64)
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    xs = x << LN_F
    d = xs - div_round_ref(xs.sum(axis=-1, keepdims=True), n)  # |d| < 2^24
    var = div_round_ref((d * d).sum(axis=-1, keepdims=True), n) + eps_int  # < 2^62
    e = np.maximum(0, (62 - bit_length_ref(var)) >> 1)
    sigma = np.maximum(isqrt_ref(var << (2 * e)), 1)  # sqrt(var) 2^e, in [2^30, 2^31) unless var = 0
    inv = div_round_ref(np.int64(2**62), sigma)
    y = rshift_round_ref(d * inv, 62 - LN_K - e)  # (x - mean) / std in Q.16, |y| <= sqrt(n) 2^16

    out = rshift_round_ref(y * m0 + beta, sh)
    lo, hi = -(2 ** (out_bits - 1)), 2 ** (out_bits - 1) - 1
    return np.moveaxis(np.clip(out, lo, hi), -1, axis)


def check_layernorm_args(
    shape: tuple[int, ...], axis: int, weight: object, bias: object, out_scale: float, eps: float
) -> tuple[int, np.ndarray, np.ndarray]:
    ax = check_axis(axis, len(shape))
    n = shape[ax]
    expect(2 <= n <= 2**14, "q", "at least 2 and at most 2^14 elements along axis", n)
    w = as_array(weight, "weight", np.float64).reshape(-1)
    b = as_array(bias, "bias", np.float64).reshape(-1)
    expect(w.shape == (n,) and np.isfinite(w).all(), "weight", f"{n} finite floats", w.shape)
    expect(b.shape == (n,) and np.isfinite(b).all(), "bias", f"{n} finite floats", b.shape)
    check_scale(out_scale, "out_scale")
    try:
        eps_ok = math.isfinite(eps) and eps >= 0  # type: ignore[arg-type]
    except TypeError:  # a str, None
        eps_ok = False
    expect(eps_ok, "eps", "a finite float >= 0", eps)
    return ax, w, b


def ibert_layernorm_ref(
    q: np.ndarray,
    scale: float,
    weight: np.ndarray,
    bias: np.ndarray,
    out_scale: float,
    eps: float = 1e-12,
    axis: int = -1,
) -> tuple[np.ndarray, float]:
    """I-LayerNorm: integer mean / variance, integer Newton sqrt (no float sqrt), dyadic affine.

    Input: 16-bit codes (|q| < 2^15; int8 works too), scale in (0, 2^20), 2..16384 elements along
    ``axis``. ``weight``/``bias``/``eps`` are the float LayerNorm parameters (turned into integer
    constants), ``out_scale`` the int8 output scale. Output: int8 codes at ``out_scale``. Bound: within
    1 code of round(LayerNorm(scale * q) / out_scale) (internal error < 2^-10 code).
    """
    s = check_scale(scale)
    q = check_codes(q, "q", -(2**15) + 1, 2**15 - 1)
    ax, w, b = check_layernorm_args(q.shape, axis, weight, bias, out_scale, eps)
    return layernorm_core_ref(q, s, w, b, float(out_scale), eps, ax).astype(np.int8), float(out_scale)
