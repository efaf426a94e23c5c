// AVX-512 (F/BW/DQ/VL) requantization: 16 accumulators at a time, in two int64 halves.
#include <immintrin.h>

#include "requant.h"
#include "requant_tail.h"
#include "simd_avx512.h"

namespace lowbit {

using avx512::requant8;

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
