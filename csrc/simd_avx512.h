// AVX-512 building blocks shared by the kernels compiled with AVX-512 flags.
#pragma once
#include <immintrin.h>

namespace lowbit::avx512 {

// 8 lanes: rshift_round(a * m, s) clamped to [lo, hi], as int64 (the rule of rounding.h)
inline __m512i requant8(__m256i a, __m256i m, __m256i s, __m512i lo, __m512i hi) {
  const __m512i a64 = _mm512_cvtepi32_epi64(a), m64 = _mm512_cvtepi32_epi64(m);
  const __m512i s64 = _mm512_cvtepi32_epi64(s);
  const __m512i prod = _mm512_mul_epi32(a64, m64);  // signed 32x32 -> 64, exact
  // 2^(s-1) for s >= 1 and 0 for s = 0
  const __m512i half = _mm512_srli_epi64(_mm512_sllv_epi64(_mm512_set1_epi64(1), s64), 1);
  const __m512i v = _mm512_srav_epi64(_mm512_add_epi64(prod, half), s64);
  return _mm512_max_epi64(_mm512_min_epi64(v, hi), lo);
}

// 16 lanes: clamp(rshift_round(v * m, s) + zp, qmin, qmax) with lo = qmin - zp, hi = qmax - zp
inline __m512i requant16(__m512i v, __m512i m, __m512i s, __m512i lo, __m512i hi, __m512i zp) {
  const __m512i r_lo = requant8(_mm512_castsi512_si256(v), _mm512_castsi512_si256(m), _mm512_castsi512_si256(s),
                                lo, hi);
  const __m512i r_hi = requant8(_mm512_extracti64x4_epi64(v, 1), _mm512_extracti64x4_epi64(m, 1),
                                _mm512_extracti64x4_epi64(s, 1), lo, hi);
  const __m512i r = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(r_lo)),
                                       _mm512_cvtepi64_epi32(r_hi), 1);
  return _mm512_add_epi32(r, zp);
}

}  // namespace lowbit::avx512
