// AVX-512 VPOPCNTDQ bit-serial GEMM: a tile of 2 activation rows x 4 weight rows keeps 8 popcount
// accumulators (64-bit lanes) in registers and loads each 512-bit word of the 6 operands once.
#include <immintrin.h>

#include <algorithm>

#include "bitserial.h"

namespace lowbit {

namespace {

template <bool kXor>
inline __m512i op(__m512i x, __m512i y) {
  return kXor ? _mm512_xor_si512(x, y) : _mm512_and_si512(x, y);
}

// acc[r][c] += popcount(a_r op w_c) over `words` words, for 2 rows of a and 4 rows of w
template <bool kXor>
inline void tile(const uint64_t* a0, const uint64_t* a1, const uint64_t* w0, const uint64_t* w1,
                 const uint64_t* w2, const uint64_t* w3, int64_t words, int64_t (&out)[2][4]) {
  __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00,
          c13 = c00;
  for (int64_t t = 0; t < words; t += 8) {
    const __m512i x0 = _mm512_loadu_si512(a0 + t), x1 = _mm512_loadu_si512(a1 + t);
    const __m512i y0 = _mm512_loadu_si512(w0 + t), y1 = _mm512_loadu_si512(w1 + t);
    const __m512i y2 = _mm512_loadu_si512(w2 + t), y3 = _mm512_loadu_si512(w3 + t);
    c00 = _mm512_add_epi64(c00, _mm512_popcnt_epi64(op<kXor>(x0, y0)));
    c01 = _mm512_add_epi64(c01, _mm512_popcnt_epi64(op<kXor>(x0, y1)));
    c02 = _mm512_add_epi64(c02, _mm512_popcnt_epi64(op<kXor>(x0, y2)));
    c03 = _mm512_add_epi64(c03, _mm512_popcnt_epi64(op<kXor>(x0, y3)));
    c10 = _mm512_add_epi64(c10, _mm512_popcnt_epi64(op<kXor>(x1, y0)));
    c11 = _mm512_add_epi64(c11, _mm512_popcnt_epi64(op<kXor>(x1, y1)));
    c12 = _mm512_add_epi64(c12, _mm512_popcnt_epi64(op<kXor>(x1, y2)));
    c13 = _mm512_add_epi64(c13, _mm512_popcnt_epi64(op<kXor>(x1, y3)));
  }
  out[0][0] = _mm512_reduce_add_epi64(c00);
  out[0][1] = _mm512_reduce_add_epi64(c01);
  out[0][2] = _mm512_reduce_add_epi64(c02);
  out[0][3] = _mm512_reduce_add_epi64(c03);
  out[1][0] = _mm512_reduce_add_epi64(c10);
  out[1][1] = _mm512_reduce_add_epi64(c11);
  out[1][2] = _mm512_reduce_add_epi64(c12);
  out[1][3] = _mm512_reduce_add_epi64(c13);
}

template <bool kXor>
void run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows, words = a.words;
  // Rows past the end of a tile repeat the last row (their results are dropped), so every tile is full.
  auto arow = [&](int64_t j, int64_t m) { return a.data + (j * M + std::min(m, M - 1)) * words; };
  auto wrow = [&](int64_t i, int64_t n) { return w.data + (i * N + std::min(n, N - 1)) * words; };
  for (int64_t m = 0; m < M; m += 2)
    for (int64_t n = 0; n < N; n += 4) {
      int64_t acc[2][4] = {};
      for (int64_t i = 0; i < w.bits; ++i)
        for (int64_t j = 0; j < a.bits; ++j) {
          int64_t part[2][4];
          tile<kXor>(arow(j, m), arow(j, m + 1), wrow(i, n), wrow(i, n + 1), wrow(i, n + 2), wrow(i, n + 3),
                     words, part);
          for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 4; ++c) acc[r][c] += part[r][c] << (i + j);
        }
      for (int r = 0; r < 2 && m + r < M; ++r)
        for (int c = 0; c < 4 && n + c < N; ++c)
          out[(m + r) * N + n + c] = int32_t(kXor ? k - 2 * acc[r][c] : acc[r][c]);
    }
}

}  // namespace

void bitserial_gemm_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (bipolar) run<true>(a, w, k, out);
  else run<false>(a, w, k, out);
}

}  // namespace lowbit
