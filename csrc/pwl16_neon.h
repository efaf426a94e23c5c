// The 16-bit-lane PWL kernels' shared steps on NEON (PWL sigmoid / tanh in intops_extra_neon.cpp; the
// form of intops_extra_avx512.cpp's PwlActLanes): w = clamp(round(q / 2^r) - base, 0, w_max) from the codes,
// in unsigned words, and the row j of 16 lanes w: the last row with starts[j] <= w, for 1..64 increasing
// rows (starts[0] = 0) padded to 64 by repeating the last (advancing into the padding changes nothing).
// Row: a 128-bucket byte table on w >> B (vqtbl4q + vqtbx4q) plus `steps` compare-and-advance steps (the
// most row starts inside one bucket; past 3, a binary search over the 64 padded rows). Columns: 64-entry
// word tables (rows_neon.h's WordTable64).
#pragma once
#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

#include "rows_neon.h"

namespace lowbit::neon {

// a column of k <= 64 rows, padded to 64 by repeating the last
template <typename V>
inline void pad_rows(const V* src, int k, uint16_t* dst) {
  for (int j = 0; j < 64; ++j) dst[j] = uint16_t(src[j < k ? j : k - 1]);
}

struct RowSearch {
  WordTable64 st, nx;
  uint8x16x4_t bt[2];
  int16x8_t nb;
  int steps;
  bool buckets;
  struct Cols {
    uint16_t s[64], n[64];
    Cols(const uint16_t* starts, int k) {
      pad_rows(starts, k, s);
      for (int j = 0; j < 64; ++j) n[j] = s[j + 1 < 64 ? j + 1 : j];
    }
  };
  RowSearch(const uint16_t* starts, int k, int w_max, const Cols& c) : st(c.s), nx(c.n) {
    int b = 0;
    while ((w_max >> b) >= 128) ++b;
    uint8_t bk[128] = {};
    steps = 0;
    for (int i = 0; i <= (w_max >> b); ++i) {
      const int lo = i << b, hi = std::min(lo + (1 << b) - 1, w_max);
      int j0 = 0, inside = 0;
      for (int j = 0; j < k; ++j) {
        if (starts[j] <= lo) j0 = j;
        else if (starts[j] <= hi) ++inside;
      }
      bk[i] = uint8_t(j0);
      steps = std::max(steps, inside);
    }
    buckets = steps <= 3 && k + steps <= 64;  // advancing stays within the padded rows
    bt[0] = vld1q_u8_x4(bk), bt[1] = vld1q_u8_x4(bk + 64);
    nb = vdupq_n_s16(int16_t(-b));
  }
  RowSearch(const uint16_t* starts, int k, int w_max) : RowSearch(starts, k, w_max, Cols(starts, k)) {}

  // the rows of 16 lanes w in [0, w_max], as bytes
  uint8x16_t operator()(const uint16x8_t w[2]) const {
    uint8x16_t j;
    uint16x8_t c[2];
    if (buckets) {
      const uint8x16_t idx = vmovn_high_u16(vmovn_u16(vshlq_u16(w[0], nb)), vshlq_u16(w[1], nb));  // < 128
      j = vqtbx4q_u8(vqtbl4q_u8(bt[0], idx), bt[1], vsubq_u8(idx, vdupq_n_u8(64)));  // idx < 64 wraps past 191
      for (int s = 0; s < steps; ++s) {
        nx(j, c);
        j = vsubq_u8(j, narrow_mask(vcleq_u16(c[0], w[0]), vcleq_u16(c[1], w[1])));  // + 1 where reached
      }
    } else {
      j = vdupq_n_u8(0);
      for (int step = 32; step > 0; step >>= 1) {
        const uint8x16_t cand = vaddq_u8(j, vdupq_n_u8(uint8_t(step)));
        st(cand, c);
        j = vbslq_u8(narrow_mask(vcleq_u16(c[0], w[0]), vcleq_u16(c[1], w[1])), cand, j);
      }
    }
    return j;
  }
};

// w = clamp(round(q / 2^r) - base, 0, w_max) of 8 codes: round(q / 2^r) = (q >> r) + ((q >> (r - 1)) & 1)
// (no overflow at r = 1; at r = 0 the second shift is a left shift by 1 and adds 0; shifts past the lane
// width fill the sign, as the reference's), clamped in T's lanes to [max(base, T's min), min(base + w_max,
// T's max)], minus base modulo the lane width: in [0, w_max]. `ok`: that window is not empty (else every
// code reads one end, and the callers run the scalar kernel).
template <typename T>
struct CodeWindow {
  static constexpr int64_t kMin = sizeof(T) == 2 ? INT16_MIN : INT32_MIN, kMax = sizeof(T) == 2 ? INT16_MAX : INT32_MAX;
  bool ok;
  int32x4_t lo32, hi32, base32, nr32, nr132;
  int16x8_t lo16, hi16, base16, nr, nr1;
  CodeWindow(int32_t r, int64_t base, int32_t w_max) {
    const int64_t lo = std::max<int64_t>(base, kMin), hi = std::min<int64_t>(base + w_max, kMax);
    ok = lo <= hi;
    lo32 = vdupq_n_s32(int32_t(lo)), hi32 = vdupq_n_s32(int32_t(hi));
    base32 = vdupq_n_s32(int32_t(uint32_t(uint64_t(base))));
    lo16 = vdupq_n_s16(int16_t(lo)), hi16 = vdupq_n_s16(int16_t(hi));
    base16 = vdupq_n_s16(int16_t(uint16_t(uint64_t(base))));
    nr = vdupq_n_s16(int16_t(-r)), nr1 = vdupq_n_s16(int16_t(1 - r));
    nr32 = vdupq_n_s32(-r), nr132 = vdupq_n_s32(1 - r);
  }
  uint16x8_t operator()(const int16_t* q) const {
    int16x8_t t = vld1q_s16(q);
    t = vaddq_s16(vshlq_s16(t, nr), vandq_s16(vshlq_s16(t, nr1), vdupq_n_s16(1)));
    t = vminq_s16(vmaxq_s16(t, lo16), hi16);
    return vreinterpretq_u16_s16(vsubq_s16(t, base16));
  }
  uint16x8_t operator()(const int32_t* q) const {
    uint16x4_t h[2];
    for (int k = 0; k < 2; ++k) {
      int32x4_t t = vld1q_s32(q + 4 * k);
      t = vaddq_s32(vshlq_s32(t, nr32), vandq_s32(vshlq_s32(t, nr132), vdupq_n_s32(1)));
      t = vminq_s32(vmaxq_s32(t, lo32), hi32);
      h[k] = vmovn_u32(vreinterpretq_u32_s32(vsubq_s32(t, base32)));
    }
    return vcombine_u16(h[0], h[1]);
  }
};

// the shift column of rows j (a 64-entry byte table) as two vectors of 8 signed words, for vshlq_u16
inline void row_shifts(const uint8x16x4_t& table, uint8x16_t j, int16x8_t shv[2]) {
  const uint8x16_t hb = vqtbl4q_u8(table, j);
  shv[0] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(hb)));
  shv[1] = vreinterpretq_s16_u16(vmovl_high_u8(hb));
}

}  // namespace lowbit::neon
