// Scalar steps of the I-BERT ops on one element, in int64 exactly as lowbit/ops/ibert.py computes them.
// The scalar kernels use these for every element, the SIMD kernels only as the specification they match.
#pragma once
#include <cstdint>

#include "intops.h"
#include "rounding.h"

namespace lowbit {

// i-exp of d = q - max <= 0: int64 in [0, 2^31) (ibert._iexp_nonpos)
inline int64_t ibert_exp_one(int64_t d, const SoftmaxParams& p) {
  d = d < -p.dclip ? -p.dclip : d;
  int64_t x = rshift_round(d * p.m0, p.shift);  // |d| <= 2^31, m0 < 2^31: < 2^62
  x = x < kExpMin ? kExpMin : x;
  const int64_t z = (-x) >> kExpK;  // x = -z ln2 + r, r in (-ln2, 0]
  const int64_t r = x + (z << kExpK);
  const int64_t t = r + p.qb;
  return rshift_round(t * t + p.qc, int(z));
}

// uint8 probability from an exp and factor = floor(2^62 / row sum) (ibert._softmax_from_exp)
inline uint8_t ibert_softmax_out_one(int64_t e, int64_t factor) {
  const int64_t v = rshift_round(e * factor, kSoftmaxOutShift);  // e <= sum, so e * factor <= 2^62
  return uint8_t(v > 255 ? 255 : v);
}

inline int32_t ibert_gelu_one_constant(const GeluParams& p) {
  return (p.qc + (1 << (kErfDrop - 1))) >> kErfDrop;
}

// q * (erf + one) (ibert.ibert_gelu_ref)
inline int64_t ibert_gelu_one(int64_t q, const GeluParams& p, int32_t one) {
  const int64_t c = q < -p.clip ? -p.clip : (q > p.clip ? p.clip : q);
  int64_t xe = rshift_round(c * p.m0, p.shift);  // rounded with its sign, then |.| as the reference does
  xe = xe < 0 ? -xe : xe;
  xe = xe > (1 << kErfK) ? (1 << kErfK) : xe;
  const int64_t t = xe - (1 << kErfK);
  const int64_t mag = rshift_round(p.qc - t * t, kErfDrop);
  const int64_t erf = q > 0 ? mag : (q < 0 ? -mag : 0);
  return q * (erf + one);
}

inline int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && (a < 0)); }
// round(a / b), ties toward +infinity, b > 0 (intcore.div_round_ref)
inline int64_t div_round(int64_t a, int64_t b) { return floor_div(a + (b >> 1), b); }
inline int bit_length(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

// floor(sqrt(n)) by the integer Newton iteration from above, as intcore.isqrt_ref (no float sqrt)
inline int64_t isqrt(int64_t n0) {
  const int64_t n = n0 < 1 ? 1 : n0;
  int64_t x = int64_t(1) << ((bit_length(uint64_t(n)) + 1) >> 1);
  for (;;) {
    const int64_t y = (x + n / x) >> 1;
    if (y >= x) break;
    x = y;
  }
  return n0 == 0 ? 0 : x;
}

// What a LayerNorm row needs from its sums: y = rshift_round((x << 8) - mean) * inv, y_shift).
struct LnRow {
  int64_t mean, inv;
  int y_shift;
};

// sum_q = sum(q), sum_q2 = sum(q^2) over n codes (layernorm_core_ref, with sum(d^2) expanded exactly)
inline LnRow ibert_layernorm_row(int64_t sum_q, int64_t sum_q2, int64_t n, int64_t eps) {
  const int64_t s = sum_q * (int64_t(1) << kLnF);  // sum of x << 8
  const int64_t mean = div_round(s, n);
  // sum((x << 8) - mean)^2 = 2^16 sum(q^2) - 2 mean sum(x << 8) + n mean^2, < 2^62 for |q| < 2^15, n <= 2^14
  const __int128 d2 = (__int128(sum_q2) << (2 * kLnF)) - __int128(2) * mean * s + __int128(n) * mean * mean;
  const int64_t var = div_round(int64_t(d2), n) + eps;
  int e = (62 - bit_length(uint64_t(var))) >> 1;
  e = e < 0 ? 0 : e;
  int64_t sigma = isqrt(var << (2 * e));  // sqrt(var) 2^e in [2^30, 2^31) unless var = 0
  sigma = sigma < 1 ? 1 : sigma;
  return {mean, div_round(int64_t(1) << 62, sigma), 62 - kLnK - e};
}

// the int8 output of one element at channel c
inline int8_t ibert_layernorm_one(int64_t q, int64_t c, const LnRow& row, const LayerNormParams& p) {
  const int64_t y = rshift_round((q * (int64_t(1) << kLnF) - row.mean) * row.inv, row.y_shift);  // Q.16, |y| <= 2^23
  const int64_t v = rshift_round(y * p.m0[c] + p.beta[c], p.shift[c]);
  return int8_t(v < -128 ? -128 : (v > 127 ? 127 : v));
}

}  // namespace lowbit
