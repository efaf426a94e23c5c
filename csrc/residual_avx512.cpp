// AVX-512 residual add: 16 channels per step in int32 lanes (vpsllvd per-channel shifts), saturated.
#include <immintrin.h>

#include "residual.h"

namespace lowbit {

void residual_add_avx512(const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t C,
                         int16_t* out) {
  const __m512i lo = _mm512_set1_epi32(-32767), hi = _mm512_set1_epi32(32767);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* xr = x + r * C;
    const int16_t* yr = y + r * C;
    int16_t* o = out + r * C;
    for (int64_t c = 0; c < C; c += 16) {
      const int64_t left = C - c;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      const __m512i xv = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, xr + c));
      const __m512i yv = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(m, yr + c));
      const __m512i s = _mm512_maskz_loadu_epi32(m, shift + c);
      const __m512i v = _mm512_add_epi32(_mm512_sllv_epi32(xv, s), yv);
      _mm512_mask_cvtepi32_storeu_epi16(o + c, m, _mm512_min_epi32(_mm512_max_epi32(v, lo), hi));
    }
  }
}

}  // namespace lowbit
