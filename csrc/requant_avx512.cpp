// AVX-512 (F/BW/DQ/VL) requantization: 16 accumulators at a time, in two int64 halves.
#include <immintrin.h>

#include "requant.h"
#include "requant_tail.h"

namespace lowbit {

namespace {

// 8 lanes of int64: rshift_round(a * m, s), clamped to [lo, hi]
inline __m512i requant8(__m256i a, __m256i m, __m256i s, __m512i lo, __m512i hi) {
  const __m512i a64 = _mm512_cvtepi32_epi64(a), m64 = _mm512_cvtepi32_epi64(m);
  const __m512i s64 = _mm512_cvtepi32_epi64(s);
  const __m512i prod = _mm512_mul_epi32(a64, m64);  // signed 32x32 -> 64, exact
  // 2^(s-1) for s >= 1 and 0 for s = 0, as rounding.h
  const __m512i half = _mm512_srli_epi64(_mm512_sllv_epi64(_mm512_set1_epi64(1), s64), 1);
  const __m512i v = _mm512_srav_epi64(_mm512_add_epi64(prod, half), s64);
  return _mm512_max_epi64(_mm512_min_epi64(v, hi), lo);
}

}  // namespace

void requantize_avx512(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                       void* out) {
  const __m512i lo = _mm512_set1_epi64(int64_t(p.qmin) - p.zero_point);
  const __m512i hi = _mm512_set1_epi64(int64_t(p.qmax) - p.zero_point);
  const __m512i zp = _mm512_set1_epi32(p.zero_point);
  const __m256i m_one = _mm256_set1_epi32(p.m0[0]), s_one = _mm256_set1_epi32(p.shift[0]);
  // locals, not p.*: byte stores may alias the struct and force reloads
  const int32_t* m0 = p.m0;
  const int32_t* shift = p.shift;
  const bool per_channel = p.per_channel;
  const int64_t vec_end = cols - cols % 16;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    for (int64_t c = 0; c < vec_end; c += 16) {
      const __m512i av = _mm512_loadu_si512(a + c);
      __m256i m_lo = m_one, m_hi = m_one, s_lo = s_one, s_hi = s_one;
      if (per_channel) {
        m_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m0 + c));
        m_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m0 + c + 8));
        s_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shift + c));
        s_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shift + c + 8));
      }
      const __m512i v_lo = requant8(_mm512_castsi512_si256(av), m_lo, s_lo, lo, hi);
      const __m512i v_hi = requant8(_mm512_extracti64x4_epi64(av, 1), m_hi, s_hi, lo, hi);
      __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(v_lo)),
                                     _mm512_cvtepi64_epi32(v_hi), 1);
      v = _mm512_add_epi32(v, zp);
      const int64_t o = r * cols + c;
      // values are already inside [qmin, qmax], so truncating to bytes is exact for s8 and u8
      if (t == OutType::s32) _mm512_storeu_si512(static_cast<int32_t*>(out) + o, v);
      else _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(out) + o), _mm512_cvtepi32_epi8(v));
    }
    requant_row_tail(a, vec_end, cols, p, t, out, r * cols);
  }
}

}  // namespace lowbit
