// Row helpers of the AVX-512 elementwise kernels (intops, shift/LUT): 16 int32 lanes per step, masked
// loads and stores only for a row's tail (on AMD Zen 4 masked stores are slow).
#pragma once
#include <immintrin.h>

#include <climits>
#include <cstdint>

namespace lowbit::avx512 {

inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1); }

inline __m512i load16(const int32_t* p, __mmask16 m) {
  return m == 0xFFFF ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi32(m, p);
}
inline __m512i load16(const int16_t* p, __mmask16 m) {
  return _mm512_cvtepi16_epi32(m == 0xFFFF ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
                                           : _mm256_maskz_loadu_epi16(m, p));
}
inline void store16(int32_t* p, __mmask16 m, __m512i v) {
  if (m == 0xFFFF) _mm512_storeu_si512(p, v);
  else _mm512_mask_storeu_epi32(p, m, v);
}
inline void store16(int64_t* p, __mmask16 m, __m512i v) {  // v: 16 int32 values, stored widened
  const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v));
  const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1));
  if (m == 0xFFFF) {
    _mm512_storeu_si512(p, lo);
    _mm512_storeu_si512(p + 8, hi);
  } else {
    _mm512_mask_storeu_epi64(p, __mmask8(m), lo);
    _mm512_mask_storeu_epi64(p + 8, __mmask8(m >> 8), hi);
  }
}
inline void store16(uint8_t* p, __mmask16 m, __m128i v) {
  if (m == 0xFFFF) _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
  else _mm_mask_storeu_epi8(p, m, v);
}
inline void store16(int8_t* p, __mmask16 m, __m128i v) { store16(reinterpret_cast<uint8_t*>(p), m, v); }

// The low bytes of the dwords of `even` and `odd` (16 each, values < 256) interleaved into 32 bytes: the
// words even | odd << 8, narrowed by vpmovdw (AVX-512F only: a vpermt2b would need VBMI, which the I-BERT
// softmax has not required so far)
inline __m256i interleave_low_bytes(__m512i even, __m512i odd) {
  return _mm512_cvtepi32_epi16(_mm512_or_si512(even, _mm512_slli_epi32(odd, 8)));
}
// the same by one vpermt2b (AVX-512 VBMI, which the PWL kernels' bucket tables need already): ~3% faster
// Log-Int-Softmax (one shuffle where the above takes a shift and a narrowing)
inline __m256i interleave_low_bytes_vbmi(__m512i even, __m512i odd) {
  alignas(64) static const uint8_t idx[64] = {0,  64,  4,  68,  8,  72,  12, 76,  16, 80,  20, 84,  24, 88,  28, 92,
                                              32, 96,  36, 100, 40, 104, 44, 108, 48, 112, 52, 116, 56, 120, 60, 124};
  return _mm512_castsi512_si256(_mm512_permutex2var_epi8(even, _mm512_load_si512(idx), odd));
}

// 32 bytes, stored with a mask in a row's tail only (left < 32)
inline void store32(uint8_t* o, int64_t left, __m256i v) {
  if (left >= 32) _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), v);
  else _mm256_mask_storeu_epi8(o, (uint32_t(1) << left) - 1, v);
}

// even / odd int64 lanes whose values fit int32, back into 16 int32 lanes
inline __m512i join(__m512i even, __m512i odd) {
  return _mm512_mask_blend_epi32(__mmask16(0xAAAA), even, _mm512_slli_epi64(odd, 32));
}

template <typename T>
int32_t row_max(const T* row, int64_t n) {
  __m512i mx = _mm512_set1_epi32(INT32_MIN);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    mx = _mm512_mask_max_epi32(mx, m, mx, load16(row + i, m));
  }
  return _mm512_reduce_max_epi32(mx);
}

}  // namespace lowbit::avx512
