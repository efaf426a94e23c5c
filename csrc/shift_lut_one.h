// Scalar steps of shift_lut.h's ops on one element, in int64 exactly as the numpy references compute them
// (the scalar kernels use these for every element; the SIMD kernels match them), and the clamps that let
// the SIMD kernels work in 32-bit lanes (found by binary search on these same monotone functions).
#pragma once
#include <cstdint>

#include "intops_one.h"
#include "rounding.h"
#include "shift_lut.h"

namespace lowbit {

// ivit._shift_exp: 2^15 exp(x 2^-15) scaled by 2^15 for x <= 0, in [0, 2^30]
inline int64_t shift_exp_one(int64_t x) {
  const int64_t t = x + (x >> 1) - (x >> 4);  // x log2(e), floor shifts
  if (t < kShiftTMin) return 0;
  const int64_t z = (-t) >> kShiftK;
  const int64_t r = t + (z << kShiftK);  // (-2^15, 0]
  return ((r >> 1) + (1 << kShiftK)) << (kShiftN - z);
}

inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
inline int32_t sat32(int64_t v) { return int32_t(clamp64(v, INT32_MIN, INT32_MAX)); }

// the shift-exp of d = q - max <= 0 (ivit._to_internal then _shift_exp)
inline int64_t shiftmax_exp_one(int64_t d, const ShiftmaxParams& p) {
  return shift_exp_one(rshift_round((d < -p.dclip ? -p.dclip : d) * p.m0, p.shift));
}

// floor(2^62 / total) applied as ibert._softmax_from_exp (e <= total)
inline uint8_t softmax_prob_one(int64_t e, int64_t factor) {
  const int64_t v = rshift_round(e * factor, 62 - 8);
  return uint8_t(v > 255 ? 255 : v);
}

// ShiftGELU (ivit.shiftgelu_ref): the reciprocal table's knots 2^30 / (2^15 + 512 j), rounded, j <= 64
inline int32_t gelu_recip_knot(int j) {
  const int64_t d = (int64_t(1) << 15) + 512 * int64_t(j);
  return int32_t(((int64_t(1) << 30) + (d >> 1)) / d);
}
// sigmoid in Q.15 of y = 1.702 |q| scale (ivit.shiftgelu_ref): 2^15 / (1 + rho) by the table, in [2^14, 2^15]
inline int32_t shiftgelu_sig_pos_one(int64_t a, const ShiftGeluParams& p) {
  a = a < (65535 >> p.l) ? a : (65535 >> p.l);
  const int64_t y = ((a << p.l) * p.m) >> 16;
  const int64_t t = y + (y >> 1) - (y >> 4);  // y log2(e)
  const int64_t z = t >> kGeluK, f = t & ((1 << kGeluK) - 1);
  const int64_t mant = (1 << kGeluK) - ((f + 1) >> 1);  // 2^11 (1 + r/2), r = -f 2^-11
  int64_t rho = z >= 16 ? 0 : (mant << (15 - kGeluK)) >> z;
  rho = rho < 32767 ? rho : 32767;
  const int j = int(rho >> 9);
  const int32_t k0 = gelu_recip_knot(j), slope = k0 - gelu_recip_knot(j + 1);
  return k0 - int32_t((int64_t(slope) * (rho & 511)) >> 9);
}

inline int64_t shiftgelu_one(int64_t q, const ShiftGeluParams& p) {
  const int32_t s = shiftgelu_sig_pos_one(q < 0 ? -q : q, p);
  return q * (q < 0 ? (1 << kSigBits) - s : s);
}

// LUT softmax: the exponent t in Q.7 of d = max - q >= 0, and 2^15 2^-(t/128)
inline int64_t lut_t_one(int64_t d, const LutSoftmaxParams& p) {
  const int64_t t = rshift_round((d > p.dcap ? p.dcap : d) * p.m0, p.shift);
  return t > kLutTMax ? kLutTMax : t;
}
inline int64_t lut_exp2_one(int64_t t, const uint16_t* exp2) {
  return rshift_round(exp2[t & ((1 << kLutFrac) - 1)], int(t >> kLutFrac));
}
// total (>= 2^15) ~ m 2^(L - 8), m in [128, 256) rounded: idx = m - 128 (0 after a carry to 256), L
inline void lut_mantissa(int64_t total, int& idx, int& len) {
  len = bit_length(uint64_t(total));
  const int64_t m = rshift_round(total, len - kLutMant);
  const bool carry = m >= (1 << kLutMant);
  idx = carry ? 0 : int(m - (1 << (kLutMant - 1)));
  len += carry;
}
inline uint8_t lut_rexp_out_one(int64_t e, int idx, int len, const LutSoftmaxParams& p) {
  const int64_t v = rshift_round(e * p.recip[idx], len + 6);
  return uint8_t(v > 255 ? 255 : v);
}
inline uint8_t lut_lnexp_out_one(int64_t t, int idx, int len, const LutSoftmaxParams& p) {
  const int64_t tt = t + (int64_t(len - 16) << kLutFrac) + p.log2[idx];
  const int64_t v = rshift_round(p.exp2[tt & ((1 << kLutFrac) - 1)], int(tt >> kLutFrac) + 15 - 8);
  return uint8_t(v > 255 ? 255 : v);
}

// NN-LUT GELU on one code (nnlut.nnlut_gelu_ref)
inline int32_t pwl_gelu_one(int64_t q, const PwlGeluParams& p) {
  if (q >= p.q8) return sat32(rshift_round(q * p.id_m0, p.id_shift));
  const int64_t qq = p.r ? ((q >> (p.r - 1)) + 1) >> 1 : q;
  const int64_t w = clamp64(qq - p.base, 0, p.w_max);
  int j = 0;
  while (j + 1 < p.k && p.starts[j + 1] <= w) ++j;  // the last row starting at or below w
  const int64_t d = w - p.anchors[j];
  return int32_t(p.values[j] + ((int64_t(p.slopes[j]) * ((d < 0 ? -d : d) << p.shifts[j])) >> 16));
}

// floor((a m0 + c) / 2^shift) for a >= 0: the magnitude of a rescaled code (c = 2^(shift-1) for a
// non-negative code, 2^(shift-1) - 1 for a negative one: rshift_round(-a m0) = -floor((a m0 + c) / 2^s))
inline int64_t mag_one(uint64_t a, int32_t m0, int shift, int64_t c) {
  return int64_t((unsigned __int128)(a * uint64_t(m0) + uint64_t(c)) >> shift);
}
inline int64_t round_c(int shift, bool negative) {
  return shift ? (int64_t(1) << (shift - 1)) - (negative ? 1 : 0) : 0;
}
// the smallest a in [0, hi] with mag(a) >= target (hi if none): past it, clamping a changes nothing
inline int64_t first_reaching(int64_t hi, int32_t m0, int shift, int64_t c, int64_t target) {
  if (mag_one(uint64_t(hi), m0, shift, c) < target) return hi;
  int64_t lo = 0;  // invariant: mag(hi) >= target; answer in [lo, hi]
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (mag_one(uint64_t(mid), m0, shift, c) >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
// the smallest m >= 0 with shift_exp_one(-m) = 0 (monotone: the exp only falls as m grows)
inline int64_t shift_exp_zero_from() {
  int64_t lo = 0, hi = int64_t(1) << 22;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (shift_exp_one(-mid) == 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

}  // namespace lowbit
