// ARM NEON requantization: vrshlq_s64 by a negative amount is exactly rshift_round
// (add 2^(n-1), shift right arithmetically), the rule of rounding.h.
#include <arm_neon.h>

#include <cstring>

#include "requant.h"
#include "requant_tail.h"

namespace lowbit {

namespace {

inline int64x2_t clamp64(int64x2_t v, int64x2_t lo, int64x2_t hi) {
  v = vbslq_s64(vcgtq_s64(v, hi), hi, v);
  return vbslq_s64(vcgtq_s64(lo, v), lo, v);
}

}  // namespace

void requantize_neon(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                     void* out) {
  const int64x2_t lo = vdupq_n_s64(int64_t(p.qmin) - p.zero_point);
  const int64x2_t hi = vdupq_n_s64(int64_t(p.qmax) - p.zero_point);
  const int32x4_t zp = vdupq_n_s32(p.zero_point);
  const int32_t* m0 = p.m0;
  const int32_t* shift = p.shift;
  const bool per_channel = p.per_channel;
  const int64_t vec_end = cols - cols % 4;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    for (int64_t c = 0; c < vec_end; c += 4) {
      const int32x4_t av = vld1q_s32(a + c);
      const int32x4_t m = per_channel ? vld1q_s32(m0 + c) : vdupq_n_s32(m0[0]);
      const int32x4_t s = per_channel ? vld1q_s32(shift + c) : vdupq_n_s32(shift[0]);
      const int32x4_t neg = vnegq_s32(s);
      int64x2_t v_lo = vrshlq_s64(vmull_s32(vget_low_s32(av), vget_low_s32(m)), vmovl_s32(vget_low_s32(neg)));
      int64x2_t v_hi = vrshlq_s64(vmull_high_s32(av, m), vmovl_high_s32(neg));
      v_lo = clamp64(v_lo, lo, hi);
      v_hi = clamp64(v_hi, lo, hi);
      const int32x4_t v = vaddq_s32(vcombine_s32(vmovn_s64(v_lo), vmovn_s64(v_hi)), zp);
      const int64_t o = r * cols + c;
      if (t == OutType::s32) {
        vst1q_s32(static_cast<int32_t*>(out) + o, v);
      } else {  // values are inside [qmin, qmax]: keeping the low byte is exact
        const int16x4_t h = vmovn_s32(v);
        const int8x8_t b = vmovn_s16(vcombine_s16(h, h));
        const uint32_t four = vget_lane_u32(vreinterpret_u32_s8(b), 0);  // byte offset o may be unaligned
        std::memcpy(static_cast<uint8_t*>(out) + o, &four, 4);
      }
    }
    requant_row_tail(a, vec_end, cols, p, t, out, r * cols);
  }
}

}  // namespace lowbit
