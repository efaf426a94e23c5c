// AVX-512 codebook GEMV (codebook_gemv.h): per 16 weights one shift, one vpermps (the table in a register),
// one FMA; per chunk the float32 partial sum goes into two float64 accumulators.
#include <immintrin.h>

#include <algorithm>

#include "codebook_gemv.h"

namespace lowbit {

namespace {

template <int B>
void rows(const CbWeight& w, const float* x, int64_t r0, int64_t r1, double* y) {
  constexpr int F = B == 3 ? 10 : 8;
  constexpr int64_t chunk = 16 * F;
  const int64_t words = cb_row_words(B, w.k), chunks = words / 16;
  const int64_t G = std::min(w.group, cb_kpad(B, w.k)), groups = (w.k + G - 1) / G;
  for (int64_t r = r0; r < r1; ++r) {
    const uint32_t* d = w.data + r * words;
    const float* trow = w.tables + r * w.table_row_stride;
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    int64_t g = -1;
    __m512 tab = _mm512_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c) {
      const __m512i dv = _mm512_loadu_si512(d + c * 16);
      __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
#pragma GCC unroll 10
      for (int j = 0; j < F; ++j) {
        const int64_t k0 = c * chunk + 16 * j;
        const int64_t gj = std::min(k0 / G, groups - 1);
        if (gj != g) {
          g = gj;
          tab = _mm512_loadu_ps(trow + g * w.table_group_stride);
          if (w.scale) tab = _mm512_mul_ps(tab, _mm512_set1_ps(w.scale[r * groups + g]));
        }
        const __m512 v = _mm512_permutexvar_ps(_mm512_srli_epi32(dv, B * j), tab);
        if (j % 2) s1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x + k0), s1);
        else s0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x + k0), s0);
      }
      const __m512 s = _mm512_add_ps(s0, s1);
      lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(s)));
      hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(s, 1)));
    }
    y[r - r0] = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  }
}

}  // namespace

void cb_rows_avx512(const CbWeight& w, const float* x, int64_t r0, int64_t r1, double* y) {
  if (w.bits == 3) rows<3>(w, x, r0, r1, y);
  else rows<4>(w, x, r0, r1, y);
}

}  // namespace lowbit
