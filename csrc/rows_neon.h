// Row helpers shared by the NEON kernels (intops_neon.cpp, shift_lut_neon.cpp, intops_extra_neon.cpp): codes
// widened to 4 int32 lanes, a row's max, and the padded-tail pattern of the NEON kernels: a row's last
// partial block of 8 codes is copied into a local block padded with a harmless code, runs through the same
// vector code as the others, and only its live lanes are kept.
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

namespace lowbit::neon {

inline int32x4_t load4(const int32_t* p) { return vld1q_s32(p); }
inline int32x4_t load4(const int16_t* p) { return vmovl_s16(vld1_s16(p)); }

// u = max - q as unsigned lanes (wraps by definition; max - q of int32 codes can exceed INT32_MAX)
inline uint32x4_t sub_u4(int32x4_t mx, int32x4_t q) {
  return vsubq_u32(vreinterpretq_u32_s32(mx), vreinterpretq_u32_s32(q));
}

template <typename T>
int32_t row_max(const T* row, int64_t n) {
  int32x4_t mx = vdupq_n_s32(INT32_MIN);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) mx = vmaxq_s32(mx, load4(row + i));
  int32_t m = vmaxvq_s32(mx);
  for (; i < n; ++i) m = std::max<int32_t>(m, row[i]);
  return m;
}

// 8 codes from p[0..left) (left >= 8: a plain load), the rest `pad`
template <typename T>
struct Block8 {
  T v[8];
  const T* at(const T* p, int64_t left, T pad) {
    if (left >= 8) return p;
    for (int j = 0; j < 8; ++j) v[j] = j < left ? p[j] : pad;
    return v;
  }
};

// all ones in the lanes l < left of 4 (first = the block's first lane number)
inline uint32x4_t live4(int64_t left, int first) {
  static const uint32_t lanes[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  return vcltq_u32(vld1q_u32(lanes + first), vdupq_n_u32(uint32_t(std::min<int64_t>(left, 8))));
}

// out[0..min(left, 8)) from a block of 8 results
template <typename O>
inline void store_left(O* out, int64_t left, const O* block) {
  std::memcpy(out, block, size_t(std::min<int64_t>(left, 8)) * sizeof(O));
}

}  // namespace lowbit::neon
