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
