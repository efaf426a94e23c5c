// AVX2 requantization: 8 accumulators at a time, in two int64 halves. AVX2 has no 64-bit
// arithmetic shift, so it is built from the logical one (see sra64).
#include <immintrin.h>

#include "requant.h"
#include "requant_tail.h"

namespace lowbit {

namespace {

// Arithmetic shift right by per-lane s in [0, 63]: shifting x + 2^63 logically gives
// floor(x / 2^s) + 2^(63 - s), and the second term is known.
inline __m256i sra64(__m256i x, __m256i s) {
  const __m256i bias = _mm256_set1_epi64x(INT64_MIN);
  return _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_xor_si256(x, bias), s), _mm256_srlv_epi64(bias, s));
}

inline __m256i clamp64(__m256i v, __m256i lo, __m256i hi) {
  v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
  return _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
}

// 4 lanes: rshift_round(a * m, s) clamped, as int64
inline __m256i requant4(__m128i a, __m128i m, __m128i s, __m256i lo, __m256i hi) {
  const __m256i s64 = _mm256_cvtepi32_epi64(s);
  const __m256i prod = _mm256_mul_epi32(_mm256_cvtepi32_epi64(a), _mm256_cvtepi32_epi64(m));
  const __m256i half = _mm256_srli_epi64(_mm256_sllv_epi64(_mm256_set1_epi64x(1), s64), 1);
  return clamp64(sra64(_mm256_add_epi64(prod, half), s64), lo, hi);
}

// low 32 bits of four int64 lanes -> 4 int32
inline __m128i narrow64(__m256i v) {
  return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0)));
}

}  // namespace

void requantize_avx2(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                     void* out) {
  const __m256i lo = _mm256_set1_epi64x(int64_t(p.qmin) - p.zero_point);
  const __m256i hi = _mm256_set1_epi64x(int64_t(p.qmax) - p.zero_point);
  const __m256i zp = _mm256_set1_epi32(p.zero_point);
  const __m128i m_one = _mm_set1_epi32(p.m0[0]), s_one = _mm_set1_epi32(p.shift[0]);
  // byte 0 of each int32 to the front of its 128-bit lane
  const __m256i take_bytes = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4,
                                              8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  // locals, not p.*: byte stores may alias the struct and force reloads
  const int32_t* m0 = p.m0;
  const int32_t* shift = p.shift;
  const bool per_channel = p.per_channel;
  const int64_t vec_end = cols - cols % 8;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    for (int64_t c = 0; c < vec_end; c += 8) {
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + c));
      __m128i m_lo = m_one, m_hi = m_one, s_lo = s_one, s_hi = s_one;
      if (per_channel) {
        m_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(m0 + c));
        m_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(m0 + c + 4));
        s_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(shift + c));
        s_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(shift + c + 4));
      }
      const __m128i v_lo = narrow64(requant4(_mm256_castsi256_si128(av), m_lo, s_lo, lo, hi));
      const __m128i v_hi = narrow64(requant4(_mm256_extracti128_si256(av, 1), m_hi, s_hi, lo, hi));
      const __m256i v = _mm256_add_epi32(_mm256_set_m128i(v_hi, v_lo), zp);
      const int64_t o = r * cols + c;
      if (t == OutType::s32) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<int32_t*>(out) + o), v);
      } else {  // values are inside [qmin, qmax]: keeping the low byte is exact
        const __m256i b = _mm256_shuffle_epi8(v, take_bytes);
        const __m128i packed = _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(out) + o), packed);
      }
    }
    requant_row_tail(a, vec_end, cols, p, t, out, r * cols);
  }
}

}  // namespace lowbit
