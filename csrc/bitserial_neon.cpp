// NEON bit-serial GEMM for both layouts: cnt (vcntq_u8) per 128-bit word, the 4 words of a 512-bit K
// block summed in bytes (<= 32 per lane), then widened by uadalp (vpadalq_u8) into 16-bit lanes, which
// are flushed into 32-bit lanes (vpadalq_u16) every 512 blocks. Tile: 2 activation rows x 4 weight rows,
// each activation block loaded once per 4 weight rows; plane pairs combined in scalar per tile.
#include <arm_neon.h>

#include <algorithm>

#include "bitserial.h"

namespace lowbit {

namespace {

template <bool kXor>
inline uint8x16_t op(uint64x2_t x, uint64x2_t y) {
  return vreinterpretq_u8_u64(kXor ? veorq_u64(x, y) : vandq_u64(x, y));
}

template <bool kXor>
void pass(const uint64_t* const* xr, const uint64_t* const* yc, int64_t as, int64_t ws, int64_t nb,
          int64_t (&counts)[2][4]) {
  uint32x4_t wide[2][4];
  for (auto& row : wide)
    for (auto& v : row) v = vdupq_n_u32(0);
  for (int64_t b0 = 0; b0 < nb; b0 += 512) {
    const int64_t b1 = std::min(nb, b0 + 512);
    uint16x8_t acc[2][4];
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_u16(0);
    for (int64_t b = b0; b < b1; ++b) {
      uint64x2_t x[2][4];
      for (int r = 0; r < 2; ++r)
        for (int h = 0; h < 4; ++h) x[r][h] = vld1q_u64(xr[r] + b * as + 2 * h);
      for (int c = 0; c < 4; ++c) {
        uint64x2_t y[4];
        for (int h = 0; h < 4; ++h) y[h] = vld1q_u64(yc[c] + b * ws + 2 * h);
        for (int r = 0; r < 2; ++r) {
          uint8x16_t s = vcntq_u8(op<kXor>(x[r][0], y[0]));
          for (int h = 1; h < 4; ++h) s = vaddq_u8(s, vcntq_u8(op<kXor>(x[r][h], y[h])));
          acc[r][c] = vpadalq_u8(acc[r][c], s);
        }
      }
    }
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 4; ++c) wide[r][c] = vpadalq_u16(wide[r][c], acc[r][c]);
  }
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) counts[r][c] = int64_t(vaddlvq_u32(wide[r][c]));
}

template <bool kXor>
void run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows;
  for (int64_t n = 0; n < N; n += 4)
    for (int64_t m = 0; m < M; m += 2) {
      int64_t acc[2][4] = {};
      for (int64_t i = 0; i < w.bits; ++i)
        for (int64_t j = 0; j < a.bits; ++j) {
          const uint64_t* xr[2];
          const uint64_t* yc[4];
          for (int r = 0; r < 2; ++r) xr[r] = plane_row(a, j, std::min(m + r, M - 1));
          for (int c = 0; c < 4; ++c) yc[c] = plane_row(w, i, std::min(n + c, N - 1));
          int64_t cnt[2][4];
          pass<kXor>(xr, yc, a.block, w.block, a.blocks, cnt);
          for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 4; ++c) acc[r][c] += cnt[r][c] << (i + j);
        }
      for (int r = 0; r < 2 && m + r < M; ++r)
        for (int c = 0; c < 4 && n + c < N; ++c)
          out[(m + r) * N + n + c] = int32_t(kXor ? k - 2 * acc[r][c] : acc[r][c]);
    }
}

}  // namespace

void bitserial_gemm_neon(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (bipolar) run<true>(a, w, k, out);
  else run<false>(a, w, k, out);
}

}  // namespace lowbit

// rows-interleaved (bitserial.h): a 128-bit register holds word t of 2 weight rows, so the byte counts
// (cnt) widened pairwise (uaddlp, uadalp) end as 2 quadword sums = 2 outputs. Tile: 4 activation rows
// (word t duplicated) x 8 weight rows; byte counts accumulate for up to 31 words, then widen.
namespace lowbit {

namespace {

template <bool kXor>
void rows_run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows, p = w.bits, q = a.bits, words = a.words;
  for (int64_t n = 0; n < N; n += 8)
    for (int64_t m = 0; m < M; m += 4) {
      const int rows_a = int(std::min<int64_t>(4, M - m));
      int64_t acc[4][8] = {};
      for (int64_t i = 0; i < p; ++i)
        for (int64_t j = 0; j < q; ++j) {
          const uint64_t* x = a.data + ((m / 8) * q + j) * words * 8 + m % 8;  // lanes m % 8 .. + 3
          const uint64_t* y = w.data + ((n / 8) * p + i) * words * 8;
          uint64x2_t wide[4][4];
          for (auto& row : wide)
            for (auto& v : row) v = vdupq_n_u64(0);
          for (int64_t t0 = 0; t0 < words; t0 += 31) {
            const int64_t t1 = std::min(words, t0 + 31);
            uint8x16_t c8[4][4];
            for (auto& row : c8)
              for (auto& v : row) v = vdupq_n_u8(0);
            for (int64_t t = t0; t < t1; ++t) {
              uint64x2_t yv[4];
              for (int c = 0; c < 4; ++c) yv[c] = vld1q_u64(y + t * 8 + 2 * c);
              for (int r = 0; r < 4; ++r) {
                const uint64x2_t b = vdupq_n_u64(x[t * 8 + (r < rows_a ? r : 0)]);
                for (int c = 0; c < 4; ++c) c8[r][c] = vaddq_u8(c8[r][c], vcntq_u8(op<kXor>(b, yv[c])));
              }
            }
            for (int r = 0; r < 4; ++r)
              for (int c = 0; c < 4; ++c) wide[r][c] = vpadalq_u32(wide[r][c], vpaddlq_u16(vpaddlq_u8(c8[r][c])));
          }
          for (int r = 0; r < 4; ++r)
            for (int c = 0; c < 4; ++c) {
              acc[r][2 * c] += int64_t(vgetq_lane_u64(wide[r][c], 0)) << (i + j);
              acc[r][2 * c + 1] += int64_t(vgetq_lane_u64(wide[r][c], 1)) << (i + j);
            }
        }
      for (int r = 0; r < rows_a; ++r)
        for (int c = 0; c < 8 && n + c < N; ++c)
          out[(m + r) * N + n + c] = int32_t(kXor ? k - 2 * acc[r][c] : acc[r][c]);
    }
}

}  // namespace

void bitserial_rows_neon(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (bipolar) rows_run<true>(a, w, k, out);
  else rows_run<false>(a, w, k, out);
}

}  // namespace lowbit
