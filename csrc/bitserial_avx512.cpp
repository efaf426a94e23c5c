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

// The 8 lane sums of c0..c7 in one vector, [sum c0, ..., sum c7]: a transpose-and-add tree (21 ops)
// instead of 8 separate horizontal reductions (about 60).
inline __m512i reduce8(__m512i c0, __m512i c1, __m512i c2, __m512i c3, __m512i c4, __m512i c5, __m512i c6,
                       __m512i c7) {
  auto pair = [](__m512i x, __m512i y) {  // [x01, y01, x23, y23, ...] per 128-bit lane
    return _mm512_add_epi64(_mm512_unpacklo_epi64(x, y), _mm512_unpackhi_epi64(x, y));
  };
  auto quad = [](__m512i x, __m512i y) {  // lanes (0, 2) + lanes (1, 3) of each operand
    return _mm512_add_epi64(_mm512_shuffle_i64x2(x, y, 0x88), _mm512_shuffle_i64x2(x, y, 0xDD));
  };
  const __m512i v0123 = quad(pair(c0, c1), pair(c2, c3)), v4567 = quad(pair(c4, c5), pair(c6, c7));
  return quad(v0123, v4567);
}

// out[r][c] = sum over plane pairs (i, j) of 2^(i+j) popcount(a_j[row r] op w_i[row c]), for 2 activation
// rows and 4 weight rows: the per-pair counts are shifted and summed in the vector accumulators, and the
// 8 results are reduced once at the end.
template <bool kXor>
inline void tile(const BitPlanes& a, const BitPlanes& w, int64_t m, int64_t n, int64_t (&out)[2][4]) {
  const int64_t M = a.rows, N = w.rows, words = a.words;
  // rows past the end of a tile repeat the last row (their results are dropped), so every tile is full
  auto arow = [&](int64_t j, int64_t r) { return a.data + (j * M + std::min(m + r, M - 1)) * words; };
  auto wrow = [&](int64_t i, int64_t c) { return w.data + (i * N + std::min(n + c, N - 1)) * words; };
  const __m512i z = _mm512_setzero_si512();
  __m512i s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z;
  for (int64_t i = 0; i < w.bits; ++i)
    for (int64_t j = 0; j < a.bits; ++j) {
      const uint64_t *a0 = arow(j, 0), *a1 = arow(j, 1);
      const uint64_t *w0 = wrow(i, 0), *w1 = wrow(i, 1), *w2 = wrow(i, 2), *w3 = wrow(i, 3);
      __m512i c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
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
      const int sh = int(i + j);
      s00 = _mm512_add_epi64(s00, _mm512_slli_epi64(c00, sh));
      s01 = _mm512_add_epi64(s01, _mm512_slli_epi64(c01, sh));
      s02 = _mm512_add_epi64(s02, _mm512_slli_epi64(c02, sh));
      s03 = _mm512_add_epi64(s03, _mm512_slli_epi64(c03, sh));
      s10 = _mm512_add_epi64(s10, _mm512_slli_epi64(c10, sh));
      s11 = _mm512_add_epi64(s11, _mm512_slli_epi64(c11, sh));
      s12 = _mm512_add_epi64(s12, _mm512_slli_epi64(c12, sh));
      s13 = _mm512_add_epi64(s13, _mm512_slli_epi64(c13, sh));
    }
  alignas(64) int64_t sums[8];
  _mm512_store_si512(sums, reduce8(s00, s01, s02, s03, s10, s11, s12, s13));
  for (int c = 0; c < 4; ++c) out[0][c] = sums[c], out[1][c] = sums[4 + c];
}

template <bool kXor>
void run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows;
  // n outer, m inner: the 4 weight rows of a tile stay in L1 while all activation rows (the smaller
  // operand, usually in L2) pass by, so the weights are read from memory once.
  for (int64_t n = 0; n < N; n += 4)
    for (int64_t m = 0; m < M; m += 2) {
      int64_t acc[2][4];
      tile<kXor>(a, w, m, n, acc);
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
