// Row helpers shared by the NEON kernels (intops_neon.cpp, shift_lut_neon.cpp, intops_extra_neon.cpp): codes
// widened to 4 int32 lanes, a row's max, the padded-tail pattern of the NEON kernels (a row's last partial
// block of 8 or 16 codes is copied into a local block padded with a harmless code, runs through the same
// vector code as the others, and only its live lanes are kept), and 64-entry word tables for 16 lanes.
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

// N codes from p[0..left) (left >= N: a plain load), the rest `pad`
template <typename T, int N>
struct BlockN {
  T v[N];
  const T* at(const T* p, int64_t left, T pad) {
    if (left >= N) return p;
    for (int j = 0; j < N; ++j) v[j] = j < left ? p[j] : pad;
    return v;
  }
};
template <typename T>
using Block8 = BlockN<T, 8>;
template <typename T>
using Block16 = BlockN<T, 16>;  // the 16-bit-lane kernels (ShiftGELU, PWL sigmoid / tanh)

// all ones in the lanes l < left of 4 (first = the block's first lane number)
inline uint32x4_t live4(int64_t left, int first) {
  static const uint32_t lanes[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  return vcltq_u32(vld1q_u32(lanes + first), vdupq_n_u32(uint32_t(std::min<int64_t>(left, 8))));
}

// out[0..min(left, N)) from a block of N results
template <int N = 8, typename O>
inline void store_left(O* out, int64_t left, const O* block) {
  std::memcpy(out, block, size_t(std::min<int64_t>(left, N)) * sizeof(O));
}

// A table of 64 uint16 entries as two 64-byte tables (low bytes, high bytes), looked up for 16 lanes of
// byte indices j in [0, 63] by two vqtbl4q and a zip: lanes 0..7 in r[0], 8..15 in r[1].
struct WordTable64 {
  uint8x16x4_t lo, hi;
  explicit WordTable64(const uint16_t* v) {
    uint8_t l[64], h[64];
    for (int j = 0; j < 64; ++j) l[j] = uint8_t(v[j] & 0xFF), h[j] = uint8_t(v[j] >> 8);
    lo = vld1q_u8_x4(l), hi = vld1q_u8_x4(h);
  }
  void operator()(uint8x16_t j, uint16x8_t r[2]) const {
    const uint8x16_t l = vqtbl4q_u8(lo, j), h = vqtbl4q_u8(hi, j);
    r[0] = vreinterpretq_u16_u8(vzip1q_u8(l, h)), r[1] = vreinterpretq_u16_u8(vzip2q_u8(l, h));
  }
};

// 16 lanes of 16-bit masks (all ones / zero) as 16 byte masks
inline uint8x16_t narrow_mask(uint16x8_t m0, uint16x8_t m1) { return vmovn_high_u16(vmovn_u16(m0), m1); }

}  // namespace lowbit::neon
