// Piecewise-linear table evaluation on NEON lanes (as pwl_avx512.h), for NN-LUT softmax's exp table
// (intops_extra_neon.cpp; NN-LUT GELU and the PWL sigmoid / tanh use pwl16_neon.h's rows on the codes):
// y = icpt[j] + rshift_round(slope[j] u, pshift), j the last segment with starts[j] <= u (0 if none),
// for |u| <= 2^15 and k <= 32 segments.
// Segment: a branchless binary search on 8 int16 lanes over the starts, looked up with one vqtbl4q (32
// int16 starts are 64 bytes), padded with INT16_MAX: with non-decreasing starts, "starts[j] <= u" stays
// monotone in j, so the search finds the last j with starts[j] <= u; then j = min(j, k - 1), which is the
// answer where the padding was reached (u >= INT16_MAX: u is saturated to int16 for the search, and u =
// 2^15 lies past every start just as 2^15 - 1 does).
// Value: slope and icpt looked up with vqtbl4q + vqtbx4q (32 int32 = 128 bytes), the product on 64-bit
// lanes (smull), rounded by srshl (rshift_round exactly: the rounding add cannot overflow there), and
// icpt + that saturated to int32 by the narrowing move (the scalar kernels' sat32).
#pragma once
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

namespace lowbit::neon {

struct PwlEval {
  uint8x16x4_t st, sl0, sl1, ic0, ic1;
  uint16x8_t kmax;
  int64x2_t npsh;
  int top;

  PwlEval(const int16_t* starts, const int32_t* slopes, const int32_t* icpts, int k, int pshift) {
    int16_t s[32];
    int32_t l[32], c[32];
    for (int j = 0; j < 32; ++j) {
      s[j] = j < k ? starts[j] : INT16_MAX;
      l[j] = j < k ? slopes[j] : 0;
      c[j] = j < k ? icpts[j] : 0;
    }
    st = load64(s);
    sl0 = load64(l), sl1 = load64(l + 16), ic0 = load64(c), ic1 = load64(c + 16);
    kmax = vdupq_n_u16(uint16_t(k - 1));
    npsh = vdupq_n_s64(-pshift);
    top = 0;  // the largest power of two below k (0 for k = 1): 2 top >= k, every candidate <= 31
    while ((top ? 2 * top : 1) < k) top = top ? 2 * top : 1;
  }
  static uint8x16x4_t load64(const void* p) {
    uint8_t b[64];
    std::memcpy(b, p, 64);
    return vld1q_u8_x4(b);
  }

  // the segments of 8 lanes u (int16: callers saturate u = 2^15 to 2^15 - 1, see above)
  uint16x8_t segment(int16x8_t u) const {
    uint16x8_t j = vdupq_n_u16(0);
    for (int step = top; step > 0; step >>= 1) {
      const uint16x8_t cand = vaddq_u16(j, vdupq_n_u16(uint16_t(step)));
      const uint16x8_t idx = vmlaq_n_u16(vdupq_n_u16(0x0100), cand, 0x0202);  // bytes 2 cand, 2 cand + 1
      const int16x8_t s = vreinterpretq_s16_u8(vqtbl4q_u8(st, vreinterpretq_u8_u16(idx)));
      j = vbslq_u16(vcleq_s16(s, u), cand, j);
    }
    return vminq_u16(j, kmax);
  }

  // icpt[j] + rshift_round(slope[j] u, pshift), saturated to int32, on 4 lanes
  int32x4_t value(uint32x4_t j, int32x4_t u) const {
    const uint8x16_t idx = vreinterpretq_u8_u32(vmlaq_n_u32(vdupq_n_u32(0x03020100), j, 0x04040404));
    const uint8x16_t hi = vsubq_u8(idx, vdupq_n_u8(64));  // bytes below 64 wrap past 191: vqtbx keeps those
    const int32x4_t slope = vreinterpretq_s32_u8(vqtbx4q_u8(vqtbl4q_u8(sl0, idx), sl1, hi));
    const int32x4_t icpt = vreinterpretq_s32_u8(vqtbx4q_u8(vqtbl4q_u8(ic0, idx), ic1, hi));
    const int64x2_t lo = vaddw_s32(vrshlq_s64(vmull_s32(vget_low_s32(slope), vget_low_s32(u)), npsh), vget_low_s32(icpt));
    const int64x2_t up = vaddw_high_s32(vrshlq_s64(vmull_high_s32(slope, u), npsh), icpt);
    return vcombine_s32(vqmovn_s64(lo), vqmovn_s64(up));
  }

  // both: the values of 8 lanes u (int32 pairs)
  void values8(int32x4_t u0, int32x4_t u1, int32x4_t& y0, int32x4_t& y1) const {
    const uint16x8_t j = segment(vcombine_s16(vqmovn_s32(u0), vqmovn_s32(u1)));
    y0 = value(vmovl_u16(vget_low_u16(j)), u0);
    y1 = value(vmovl_high_u16(j), u1);
  }
};

}  // namespace lowbit::neon
