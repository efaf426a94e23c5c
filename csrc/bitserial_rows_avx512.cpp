// AVX-512 VPOPCNTDQ bit-serial GEMM for the rows-interleaved layout (bitserial.h): one zmm load gives word
// t of 8 weight rows, so an accumulator's 8 lanes are 8 outputs and no horizontal sums are needed.
//
// Tile: one group of 8 activation rows x 3 groups of 8 weight rows = 24 zmm accumulators (192 outputs).
// Per K word: 3 weight loads, 8 activation words broadcast (vpbroadcastq from one cache line, since the
// activation group is interleaved the same way), 24 AND/XOR + vpopcntq + vpaddq. Plane pairs by Horner's
// rule over s = i + j as in bitserial_avx512.cpp. K is cut into chunks so that a weight tile (24 rows x
// p planes) stays about L1-sized while the activation groups stream past from L2; outputs add up over the
// chunks. gcc keeps this loop in registers (unlike the planes kernel's), so it is plain intrinsics.
#include <immintrin.h>

#include <algorithm>

#include "bitserial.h"

namespace lowbit {

namespace {

// A weight tile per K chunk (24 rows x p planes x the chunk): measured on Zen 4 at 256 x 4096 x 4096,
// 4-8 KiB chunks were 10-30% slower than 24-64 KiB ones (the activation stream is cut into short runs and
// the outputs are revisited), so the chunks are L1-sized rather than a fraction of L1.
constexpr int64_t kWeightTileBytes = 32 * 1024;
constexpr int64_t kCsaMinWords = 256;

template <bool kXor>
inline __m512i op(__m512i x, __m512i y) {
  return kXor ? _mm512_xor_si512(x, y) : _mm512_and_si512(x, y);
}

#define LOWBIT_BSR_ROW(X, r) X(r, 0) X(r, 1) X(r, 2)
#define LOWBIT_BSR_ALL(X)                                                                                  \
  LOWBIT_BSR_ROW(X, 0) LOWBIT_BSR_ROW(X, 1) LOWBIT_BSR_ROW(X, 2) LOWBIT_BSR_ROW(X, 3) LOWBIT_BSR_ROW(X, 4) \
  LOWBIT_BSR_ROW(X, 5) LOWBIT_BSR_ROW(X, 6) LOWBIT_BSR_ROW(X, 7)

// Activation group g (rows 8g .. 8g + 7) x weight groups h .. h + 2, K words t0 .. t0 + nt.
template <bool kXor>
void tile(const BitPlanes& a, const BitPlanes& w, int64_t g, int64_t h, int64_t t0, int64_t nt, bool first,
          bool last, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows, p = w.bits, q = a.bits, words = a.words;
  const int64_t hg = (N + 7) / 8;  // weight groups; groups past the end repeat the last (not stored)
  const uint64_t* wg0 = w.data + (h * p) * words * 8;
  const uint64_t* wg1 = w.data + (std::min(h + 1, hg - 1) * p) * words * 8;
  const uint64_t* wg2 = w.data + (std::min(h + 2, hg - 1) * p) * words * 8;
  const uint64_t* ag = a.data + (g * q) * words * 8;
  auto store32 = [&](int r, int c, __m256i v) {
    const int64_t m = g * 8 + r, n = (h + c) * 8;
    if (m >= M || n >= N) return;
    const __mmask8 mask = __mmask8((1u << std::min<int64_t>(8, N - n)) - 1);
    int32_t* o = out + m * N + n;
    if (!first) v = _mm256_add_epi32(v, _mm256_maskz_loadu_epi32(mask, o));
    if (kXor && last) v = _mm256_sub_epi32(_mm256_set1_epi32(int32_t(k)), _mm256_slli_epi32(v, 1));
    _mm256_mask_storeu_epi32(o, mask, v);
  };
#define X(r, c) __m512i s##r##c = _mm512_setzero_si512();
  LOWBIT_BSR_ALL(X)
#undef X
  for (int64_t s = p + q - 2; s >= 0; --s) {
    if (s != p + q - 2) {
#define X(r, c) s##r##c = _mm512_slli_epi64(s##r##c, 1);
      LOWBIT_BSR_ALL(X)
#undef X
    }
    for (int64_t i = std::max<int64_t>(0, s - (q - 1)); i <= std::min(p - 1, s); ++i) {
      const int64_t j = s - i, plane_w = (i * words + t0) * 8;
      const uint64_t *y0p = wg0 + plane_w, *y1p = wg1 + plane_w, *y2p = wg2 + plane_w;
      const uint64_t* xp = ag + (j * words + t0) * 8;
      for (int64_t t = 0; t < nt; ++t) {
        const __m512i y0 = _mm512_loadu_si512(y0p + t * 8), y1 = _mm512_loadu_si512(y1p + t * 8),
                      y2 = _mm512_loadu_si512(y2p + t * 8);
#define Y(r)                                                                          \
  {                                                                                   \
    const __m512i x = _mm512_set1_epi64(int64_t(xp[t * 8 + r]));                      \
    s##r##0 = _mm512_add_epi64(s##r##0, _mm512_popcnt_epi64(op<kXor>(x, y0)));        \
    s##r##1 = _mm512_add_epi64(s##r##1, _mm512_popcnt_epi64(op<kXor>(x, y1)));        \
    s##r##2 = _mm512_add_epi64(s##r##2, _mm512_popcnt_epi64(op<kXor>(x, y2)));        \
  }
        Y(0) Y(1) Y(2) Y(3) Y(4) Y(5) Y(6) Y(7)
#undef Y
      }
    }
  }
  auto store = [&](int r, int c, __m512i acc) { store32(r, c, _mm512_cvtepi64_epi32(acc)); };
#define X(r, c) store(r, c, s##r##c);
  LOWBIT_BSR_ALL(X)
#undef X
}
#undef LOWBIT_BSR_ALL
#undef LOWBIT_BSR_ROW

template <bool kXor>
void run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t words = a.words, groups_a = (a.rows + 7) / 8, groups_w = (w.rows + 7) / 8;
  const int64_t most = std::max<int64_t>(1, kWeightTileBytes / (24 * w.bits * 8));  // equal K chunks
  const int64_t chunks = (words + most - 1) / most, kc = (words + chunks - 1) / chunks;
  for (int64_t t0 = 0; t0 < words; t0 += kc) {
    const int64_t nt = std::min(kc, words - t0);
    // weight tiles outer (L1), activation groups inner (L2)
    for (int64_t h = 0; h < groups_w; h += 3)
      for (int64_t g = 0; g < groups_a; ++g) tile<kXor>(a, w, g, h, t0, nt, t0 == 0, t0 + kc >= words, k, out);
  }
}

}  // namespace

void bitserial_rows_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  // W1A1 at long K: the carry-save kernel (bitserial_w1a1_avx512.cpp). Measured on Zen 5 (BENCHMARKS.md),
  // it is 3-13% faster from 256 words (K = 16384) up but 15-23% slower at 32-64 words, where its fixed
  // cost per 8 x 8 tile (state in and out of the asm loop, the final popcounts) is not amortized.
  if (a.bits == 1 && w.bits == 1 && a.words >= kCsaMinWords) return bitserial_w1a1_rows_avx512(a, w, bipolar, k, out);
  if (bipolar) run<true>(a, w, k, out);
  else run<false>(a, w, k, out);
}

}  // namespace lowbit
