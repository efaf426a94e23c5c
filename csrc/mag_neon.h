// The magnitude rescale that the NEON Shift / LUT / NN-LUT / PWL kernels start with (as mag_avx512.h):
// mag = min(floor((min(a, acap) m0 + c - [lane negative]) / 2^shift), cap) on 4 unsigned 32-bit lanes,
// a <= 2^31. acap and cap are chosen by the caller so that both clamps change nothing (shift_lut_avx512.cpp's
// file comment). Two forms:
// - split (acap <= 2^16 - 1, shift in [16, 47]): intops_fast.h's 16-bit halves of m0 and c, vmla on 32 bits;
// - wide (anything else): a m0 + c on 64-bit lanes (umlal, < 2^62 + 2^62), shifted, saturated to 32 bits by
//   the narrowing move (cap < 2^32, so saturating first and taking the min with cap after is the same).
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <type_traits>

#include "intops_fast.h"

namespace lowbit::neon {

struct Mag {
  bool split;
  uint32x4_t acap, cap, ml, mh, clp, chp, cln, chn;
  int32x4_t neg_g;
  uint32x4_t m0;
  uint64x2_t c64;
  int64x2_t nsh;
  // c: the rounding constant of non-negative lanes (negative ones use c - 1, needing c >= 1)
  Mag(int32_t m0_, int shift, int64_t c, int64_t acap_, int64_t cap_) {
    split = shift >= 16 && shift <= 47 && acap_ <= 65535;
    const int s = shift < 16 ? 16 : (shift > 47 ? 47 : shift);  // the split constants serve only 16..47
    const Rescale32 p = rescale32(m0_, s, c), n = rescale32(m0_, s, c - 1);
    acap = vdupq_n_u32(uint32_t(acap_)), cap = vdupq_n_u32(uint32_t(cap_));
    ml = vdupq_n_u32(p.ml), mh = vdupq_n_u32(p.mh), clp = vdupq_n_u32(p.cl), chp = vdupq_n_u32(p.ch);
    cln = vdupq_n_u32(n.cl), chn = vdupq_n_u32(n.ch);
    neg_g = vdupq_n_s32(-p.g);
    m0 = vdupq_n_u32(uint32_t(m0_));
    c64 = vdupq_n_u64(uint64_t(c));
    nsh = vdupq_n_s64(-shift);
  }
};

// neg: all ones in the lanes of negative codes (their rounding constant is c - 1)
template <bool kSplit>
inline uint32x4_t mag4(uint32x4_t a, uint32x4_t neg, const Mag& k) {
  a = vminq_u32(a, k.acap);
  if constexpr (kSplit) {
    const uint32x4_t cl = vbslq_u32(neg, k.cln, k.clp), ch = vbslq_u32(neg, k.chn, k.chp);
    const uint32x4_t lo = vshrq_n_u32(vmlaq_u32(cl, a, k.ml), 16);
    const uint32x4_t hi = vmlaq_u32(ch, a, k.mh);
    return vminq_u32(vshlq_u32(vaddq_u32(hi, lo), k.neg_g), k.cap);
  } else {
    const uint32x4_t nb = vshrq_n_u32(neg, 31);  // 1 where negative
    const uint64x2_t lo = vmlal_u32(vsubq_u64(k.c64, vmovl_u32(vget_low_u32(nb))), vget_low_u32(a), vget_low_u32(k.m0));
    const uint64x2_t hi = vmlal_high_u32(vsubq_u64(k.c64, vmovl_high_u32(nb)), a, k.m0);
    const uint32x4_t m = vcombine_u32(vqmovn_u64(vshlq_u64(lo, k.nsh)), vqmovn_u64(vshlq_u64(hi, k.nsh)));
    return vminq_u32(m, k.cap);
  }
}

// the signed value of a magnitude: -mag where neg, else mag
inline int32x4_t signed4(uint32x4_t mag, uint32x4_t neg) {
  const int32x4_t m = vreinterpretq_s32_u32(mag);
  return vbslq_s32(neg, vnegq_s32(m), m);
}

// f(std::integral_constant<bool, split>) for a run-time form: the kernels' loops are templates on it
template <typename F>
inline void with_form(bool split, F&& f) {
  if (split) f(std::true_type{});
  else f(std::false_type{});
}

}  // namespace lowbit::neon
