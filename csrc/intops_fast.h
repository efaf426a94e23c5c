// 32-bit-lane forms of the I-BERT ops' dyadic rescales, shared by the SIMD kernels (AVX-512, NEON).
//
// The references rescale codes with rshift_round(d * m0, shift), a product of up to 62 bits. Where the
// multiplicand is known to be at most 2^16 - 1 (16-bit codes, or a clamp that provably does not change
// the result), the same floor is computed exactly in unsigned 32-bit lanes by splitting m0 into 16-bit
// halves, m0 = mh 2^16 + ml, and the rounding constant c likewise, c = ch 2^16 + cl:
//
//   floor((u m0 + c) / 2^s) = (u mh + ch + ((u ml + cl) >> 16)) >> (s - 16)          (s >= 16)
//
// (nested floors of divisions by powers of two compose). Bounds, for u <= 2^16 - 1, mh < 2^15,
// ml, cl < 2^16 and ch <= 2^30 (s <= 47):
//   u ml + cl <= (2^16 - 1)^2 + 2^16 - 1 < 2^32;   u mh + ch + 2^16 < 2^31 + 2^30 + 2^16 < 2^32,
// so no lane wraps. Parameters outside these ranges (shift < 16 or > 47, or a clamp above 2^16 - 1
// with 32-bit codes) make the kernels take their general 64-bit path; `ok` says which.
#pragma once
#include <algorithm>
#include <cstdint>

#include "intops.h"
#include "intops_one.h"

namespace lowbit {

struct Rescale32 {
  uint32_t ml, mh, cl, ch;
  int g;  // shift - 16
};

// the split of floor((u m0 + c) / 2^shift), 16 <= shift <= 47, 0 <= c < 2^shift
inline Rescale32 rescale32(int32_t m0, int shift, int64_t c) {
  return {uint32_t(m0) & 0xFFFF, uint32_t(m0) >> 16, uint32_t(c & 0xFFFF), uint32_t(c >> 16), shift - 16};
}
// the same in scalar arithmetic (what the lanes compute; the self-test checks it against the int64 form)
inline uint32_t rescale32_one(uint32_t u, const Rescale32& r) {
  return (u * r.mh + r.ch + ((u * r.ml + r.cl) >> 16)) >> r.g;
}

// softmax: u = max - q >= 0, exponent magnitude xneg = -rshift_round(-u m0, shift) = floor((u m0 + c) / 2^shift)
// with c = 2^(shift-1) - 1, then clamped to -kExpMin. u is clamped to ucap first: dclip (the reference's
// own clamp) or, if smaller, the first u whose xneg reaches -kExpMin (xneg is non-decreasing in u, so
// every larger u clamps to -kExpMin too).
struct SoftmaxFast {
  bool ok;
  uint32_t ucap;
  Rescale32 r;
};

inline SoftmaxFast softmax_fast(const SoftmaxParams& p, bool codes16) {
  SoftmaxFast f{};
  if (p.shift < 16 || p.shift > 47) return f;
  const int64_t ustar =
      p.m0 == 0 ? INT64_MAX : int64_t(((__int128(-kExpMin) << p.shift) + p.m0 - 1) / p.m0);
  int64_t ucap = std::min(p.dclip, ustar);
  if (codes16) ucap = std::min<int64_t>(ucap, 65535);  // 16-bit codes: max - q <= 65535 anyway
  if (ucap > 65535) return f;
  f.ok = true;
  f.ucap = uint32_t(ucap);
  f.r = rescale32(p.m0, p.shift, (int64_t(1) << (p.shift - 1)) - 1);
  return f;
}

// GELU: a = |clamp(q)|, xe = |rshift_round(+-a m0, shift)| = floor((a m0 + c) / 2^shift) with
// c = 2^(shift-1) for q >= 0 and 2^(shift-1) - 1 for q < 0 (the rounding of a negative product), then
// capped at 2^kErfK. a is clamped to acap: clip, or if smaller the first a whose xe reaches the cap for
// both signs. With shift >= 17, c's low half is 0 (q >= 0) or 0xFFFF (q < 0) and its high half
// ch or ch - 1: the lanes add cl_neg and subtract 1 from ch where q < 0.
struct GeluFast {
  bool ok;
  uint32_t acap;
  Rescale32 r;  // for q >= 0 (cl = 0)
  uint32_t cl_neg;
};

inline GeluFast gelu_fast(const GeluParams& p, bool codes16) {
  GeluFast f{};
  if (p.shift < 17 || p.shift > 47) return f;
  // a m0 >= 2^12 2^shift + 1 makes floor((a m0 + c) / 2^shift) >= 2^12 for either c >= 0
  const int64_t astar =
      p.m0 == 0 ? INT64_MAX : int64_t(((__int128(1) << (kErfK + p.shift)) + 1 + p.m0 - 1) / p.m0);
  int64_t acap = std::min(p.clip, astar);
  if (codes16) acap = std::min<int64_t>(acap, 32768);  // |q| <= 2^15 anyway
  if (acap > 65535) return f;
  f.ok = true;
  f.acap = uint32_t(acap);
  f.r = rescale32(p.m0, p.shift, int64_t(1) << (p.shift - 1));
  f.cl_neg = 0xFFFF;
  return f;
}

}  // namespace lowbit

namespace lowbit {

// floor(sqrt(v)) for v in [2^60, 2^62) (the normalised LayerNorm variance), integer-only: an upper bound
// from a 192-entry table on the top 8 bits (relative error < 0.4%), two Newton steps from above (each
// stays >= floor(sqrt(v)) by AM-GM, error < 1e-10 relative after two), then decrements while x^2 > v.
// floor(sqrt(v)) is unique, so this equals isqrt() (the reference's iteration) exactly.
inline int64_t isqrt_norm(int64_t v) {
  static const struct Table {
    uint32_t t[256];
    Table() {
      for (int i = 64; i < 256; ++i) {  // ceil(sqrt((i + 1) 2^54)) >= sqrt(v) for v >> 54 == i
        const int64_t top = int64_t(i + 1) << 54;
        int64_t r = isqrt(top - 1);
        t[i] = uint32_t(r + 1);
      }
    }
  } table;
  if (v < (int64_t(1) << 60) || v >= (int64_t(1) << 62)) return isqrt(v);
  int64_t x = table.t[v >> 54];
  x = (x + v / x) >> 1;
  x = (x + v / x) >> 1;
  while (x * x > v) --x;
  return x;
}

// ibert_layernorm_row with isqrt_norm
inline LnRow ibert_layernorm_row_fast(int64_t sum_q, int64_t sum_q2, int64_t n, int64_t eps) {
  const int64_t s = sum_q * (int64_t(1) << kLnF);
  const int64_t mean = div_round(s, n);
  const __int128 d2 = (__int128(sum_q2) << (2 * kLnF)) - __int128(2) * mean * s + __int128(n) * mean * mean;
  const int64_t var = div_round(int64_t(d2), n) + eps;
  int e = (62 - bit_length(uint64_t(var))) >> 1;
  e = e < 0 ? 0 : e;
  int64_t sigma = isqrt_norm(var << (2 * e));
  sigma = sigma < 1 ? 1 : sigma;
  return {mean, div_round(int64_t(1) << 62, sigma), 62 - kLnK - e};
}

}  // namespace lowbit
