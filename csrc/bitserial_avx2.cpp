// AVX2 bit-serial GEMM for both layouts (no vector popcount): bytes are counted by two vpshufb nibble
// lookups, and the two 256-bit halves of each 512-bit K block go through one carry-save adder first
// (Harley-Seal style: ones' = ones ^ a ^ b, twos = majority(ones, a, b)), so only the carries are counted
// per block (weight 2) and the running `ones` once per pass: 2 lookups per block instead of 4. Byte
// counts accumulate in 8-bit lanes and are widened by vpsadbw every 31 blocks. Tile: 2 activation rows x
// 2 weight rows; plane pairs are combined in scalar (count << (i + j)) per tile.
#include <immintrin.h>

#include <algorithm>

#include "bitserial.h"

namespace lowbit {

namespace {

template <bool kXor>
inline __m256i op(__m256i x, __m256i y) {
  return kXor ? _mm256_xor_si256(x, y) : _mm256_and_si256(x, y);
}

inline __m256i count8(__m256i v, __m256i lut, __m256i low) {  // per-byte popcount
  const __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

inline int64_t hsum64(__m256i v) {
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

// counts[r][c] = sum over the blocks of popcount(x_r op y_c), x_r / y_c pointing at one plane row each.
template <bool kXor>
void pass(const uint64_t* const* xr, const uint64_t* const* yc, int64_t as, int64_t ws, int64_t nb,
          int64_t (&counts)[2][2]) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2,
                                       2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f), z = _mm256_setzero_si256();
  __m256i ones[2][2] = {{z, z}, {z, z}}, wide[2][2] = {{z, z}, {z, z}};
  for (int64_t b0 = 0; b0 < nb; b0 += 31) {
    const int64_t b1 = std::min(nb, b0 + 31);
    __m256i twos8[2][2] = {{z, z}, {z, z}};
    for (int64_t b = b0; b < b1; ++b) {
      const __m256i x0a = _mm256_loadu_si256((const __m256i*)(xr[0] + b * as));
      const __m256i x0b = _mm256_loadu_si256((const __m256i*)(xr[0] + b * as + 4));
      const __m256i x1a = _mm256_loadu_si256((const __m256i*)(xr[1] + b * as));
      const __m256i x1b = _mm256_loadu_si256((const __m256i*)(xr[1] + b * as + 4));
      for (int c = 0; c < 2; ++c) {
        const __m256i ya = _mm256_loadu_si256((const __m256i*)(yc[c] + b * ws));
        const __m256i yb = _mm256_loadu_si256((const __m256i*)(yc[c] + b * ws + 4));
        for (int r = 0; r < 2; ++r) {
          const __m256i u = op<kXor>(r ? x1a : x0a, ya), v = op<kXor>(r ? x1b : x0b, yb);
          const __m256i o = ones[r][c], ou = _mm256_xor_si256(o, u);
          const __m256i carry = _mm256_or_si256(_mm256_and_si256(o, u), _mm256_and_si256(ou, v));
          ones[r][c] = _mm256_xor_si256(ou, v);
          twos8[r][c] = _mm256_add_epi8(twos8[r][c], count8(carry, lut, low));
        }
      }
    }
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 2; ++c) wide[r][c] = _mm256_add_epi64(wide[r][c], _mm256_sad_epu8(twos8[r][c], z));
  }
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c)
      counts[r][c] = 2 * hsum64(wide[r][c]) + hsum64(_mm256_sad_epu8(count8(ones[r][c], lut, low), z));
}

template <bool kXor>
void run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows;
  for (int64_t n = 0; n < N; n += 2)
    for (int64_t m = 0; m < M; m += 2) {
      int64_t acc[2][2] = {{0, 0}, {0, 0}};
      for (int64_t i = 0; i < w.bits; ++i)
        for (int64_t j = 0; j < a.bits; ++j) {
          const uint64_t* xr[2] = {plane_row(a, j, m), plane_row(a, j, std::min(m + 1, M - 1))};
          const uint64_t* yc[2] = {plane_row(w, i, n), plane_row(w, i, std::min(n + 1, N - 1))};
          int64_t cnt[2][2];
          pass<kXor>(xr, yc, a.block, w.block, a.blocks, cnt);
          for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 2; ++c) acc[r][c] += cnt[r][c] << (i + j);
        }
      for (int r = 0; r < 2 && m + r < M; ++r)
        for (int c = 0; c < 2 && n + c < N; ++c)
          out[(m + r) * N + n + c] = int32_t(kXor ? k - 2 * acc[r][c] : acc[r][c]);
    }
}

}  // namespace

void bitserial_gemm_avx2(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (bipolar) run<true>(a, w, k, out);
  else run<false>(a, w, k, out);
}

}  // namespace lowbit

// rows-interleaved (bitserial.h): a ymm holds word t of 4 weight rows, so after the nibble-lookup byte
// counts, vpsadbw's 4 quadword sums are 4 outputs (no horizontal sums). Tile: 4 activation rows (word t
// broadcast) x 8 weight rows (two ymm); byte counts accumulate for up to 31 words, then widen.
namespace lowbit {

namespace {

template <bool kXor>
void rows_pass(const uint64_t* x, const uint64_t* y, int64_t nt, int rows_a, __m256i (&wide)[4][2]) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2,
                                       2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f), z = _mm256_setzero_si256();
  for (int64_t t0 = 0; t0 < nt; t0 += 31) {
    const int64_t t1 = std::min(nt, t0 + 31);
    __m256i c8[4][2] = {{z, z}, {z, z}, {z, z}, {z, z}};
    for (int64_t t = t0; t < t1; ++t) {
      const __m256i y0 = _mm256_loadu_si256((const __m256i*)(y + t * 8));
      const __m256i y1 = _mm256_loadu_si256((const __m256i*)(y + t * 8 + 4));
      for (int r = 0; r < 4; ++r) {
        const __m256i b = _mm256_set1_epi64x(int64_t(x[t * 8 + (r < rows_a ? r : 0)]));
        c8[r][0] = _mm256_add_epi8(c8[r][0], count8(op<kXor>(b, y0), lut, low));
        c8[r][1] = _mm256_add_epi8(c8[r][1], count8(op<kXor>(b, y1), lut, low));
      }
    }
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 2; ++c) wide[r][c] = _mm256_add_epi64(wide[r][c], _mm256_sad_epu8(c8[r][c], z));
  }
}

template <bool kXor>
void rows_run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows, p = w.bits, q = a.bits, words = a.words;
  for (int64_t n = 0; n < N; n += 8)
    for (int64_t m = 0; m < M; m += 4) {
      const int rows_a = int(std::min<int64_t>(4, M - m));
      int64_t acc[4][8] = {};
      for (int64_t i = 0; i < p; ++i)
        for (int64_t j = 0; j < q; ++j) {
          // activation rows m .. m + 3 are lanes m % 8 .. of group m / 8 (m is a multiple of 4)
          const uint64_t* x = a.data + ((m / 8) * q + j) * words * 8 + m % 8;
          const uint64_t* y = w.data + ((n / 8) * p + i) * words * 8;
          const __m256i z = _mm256_setzero_si256();
          __m256i wide[4][2] = {{z, z}, {z, z}, {z, z}, {z, z}};
          rows_pass<kXor>(x, y, words, rows_a, wide);
          alignas(32) int64_t v[4];
          for (int r = 0; r < 4; ++r)
            for (int c = 0; c < 2; ++c) {
              _mm256_store_si256((__m256i*)v, wide[r][c]);
              for (int l = 0; l < 4; ++l) acc[r][c * 4 + l] += v[l] << (i + j);
            }
        }
      for (int r = 0; r < rows_a; ++r)
        for (int c = 0; c < 8 && n + c < N; ++c)
          out[(m + r) * N + n + c] = int32_t(kXor ? k - 2 * acc[r][c] : acc[r][c]);
    }
}

}  // namespace

void bitserial_rows_avx2(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (bipolar) rows_run<true>(a, w, k, out);
  else rows_run<false>(a, w, k, out);
}

}  // namespace lowbit
