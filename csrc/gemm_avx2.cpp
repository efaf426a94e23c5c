// AVX2 int8 GEMM on the k4n64 layout. vpmaddubsw adds two uint8 x int8 products into int16 with
// saturation (255 * 127 * 2 overflows), so each activation byte is split into its low 7 bits and its
// top bit: 127 * 128 * 2 and 128 * 128 * 2 both fit in int16, and the two halves are widened to int32
// (vpmaddwd with ones) before they are added. Exact, at twice the instruction count.
#include <immintrin.h>

#include <cstring>

#include "gemm.h"
#include "gemm_epilogue.h"

namespace lowbit {

void gemm_panels_avx2(const uint8_t* a, int64_t M, int64_t lda, const int8_t* b, int64_t k4, int64_t N,
                      int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i low7 = _mm256_set1_epi8(0x7F), top = _mm256_set1_epi8(int8_t(0x80));
  alignas(32) int32_t acc_mem[kPanel];
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* panel = b + p * k4 * kPanel * 4;
    const int64_t n0 = p * kPanel, cols = std::min<int64_t>(kPanel, N - n0);
    for (int64_t m = 0; m < M; ++m) {
      __m256i acc[8];
      for (auto& x : acc) x = _mm256_setzero_si256();
      const uint8_t* row = a + m * lda;
      int64_t k = 0;
      for (int64_t s = 0; s < ep.seg.count(); ++s) {
      for (; k < ep.seg.stop(s, k4); ++k) {
        int32_t four;
        std::memcpy(&four, row + k * 4, 4);
        const __m256i va = _mm256_set1_epi32(four);
        const __m256i va_lo = _mm256_and_si256(va, low7), va_hi = _mm256_and_si256(va, top);
        const int8_t* bk = panel + k * kPanel * 4;
        for (int g = 0; g < 8; ++g) {
          const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bk + 32 * g));
          const __m256i lo = _mm256_madd_epi16(_mm256_maddubs_epi16(va_lo, vb), ones);
          const __m256i hi = _mm256_madd_epi16(_mm256_maddubs_epi16(va_hi, vb), ones);
          acc[g] = _mm256_add_epi32(acc[g], _mm256_add_epi32(lo, hi));
        }
      }
      const __m128i sh = _mm_cvtsi32_si128(ep.seg.shift_of(s));
      for (auto& x : acc) x = _mm256_sll_epi32(x, sh);
      }
      for (int g = 0; g < 8; ++g) _mm256_store_si256(reinterpret_cast<__m256i*>(acc_mem + 8 * g), acc[g]);
      for (int64_t j = 0; j < cols; ++j) epilogue_one(acc_mem[j], m, n0 + j, ep);
    }
  }
}

}  // namespace lowbit
