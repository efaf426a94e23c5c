// The int8 GEMM's activation gather for K segments (gemm.cpp): row m of a, read in the packed channel
// order perm, top bit flipped by `mask`, padding columns (perm < 0) zero. Byte gathers by vpermi2b over
// 128-byte windows of the row: ~25 us -> ~3 us for a 128 x 384 MiniLM activation (scalar: a load and a
// branch per byte).
#include <immintrin.h>

#include <vector>

#include "gemm.h"

namespace lowbit {

void gemm_gather_rows_avx512(const uint8_t* src, int64_t M, int64_t a_stride, int64_t K, const int32_t* perm,
                             int64_t kpad, uint8_t mask, uint8_t* abuf, int64_t lda) {
  const int64_t chunks = (kpad + 63) / 64, windows = (K + 127) / 128;
  // per 64-byte output chunk: the byte index inside its window, which window, and which bytes are real
  thread_local std::vector<__m512i> local, window;
  thread_local std::vector<__mmask64> real;
  local.resize(size_t(chunks));
  window.resize(size_t(chunks));
  real.resize(size_t(chunks));
  for (int64_t c = 0; c < chunks; ++c) {
    alignas(64) uint8_t lo[64], win[64];
    __mmask64 keep = 0;
    for (int64_t j = 0; j < 64; ++j) {
      const int64_t k = 64 * c + j;
      const int32_t p = k < kpad ? perm[k] : -1;
      lo[j] = uint8_t(p < 0 ? 0 : p & 127);
      win[j] = uint8_t(p < 0 ? 0 : p >> 7);
      if (p >= 0) keep |= __mmask64(1) << j;
    }
    local[size_t(c)] = _mm512_load_si512(lo);
    window[size_t(c)] = _mm512_load_si512(win);
    real[size_t(c)] = keep;
  }
  const __m512i flip = _mm512_set1_epi8(char(mask));
  for (int64_t m = 0; m < M; ++m) {
    const uint8_t* row = src + m * a_stride;
    uint8_t* dst = abuf + m * lda;
    for (int64_t c = 0; c < chunks; ++c) {
      __m512i out = _mm512_setzero_si512();
      for (int64_t w = 0; w < windows; ++w) {
        const int64_t base = 128 * w, left = K - base;  // the row's bytes [base, base + 128), masked at K
        const __mmask64 m_lo = left >= 64 ? ~__mmask64(0) : (__mmask64(1) << left) - 1;
        const __mmask64 m_hi = left >= 128 ? ~__mmask64(0) : left <= 64 ? 0 : (__mmask64(1) << (left - 64)) - 1;
        const __m512i a = _mm512_maskz_loadu_epi8(m_lo, row + base);
        const __m512i b = _mm512_maskz_loadu_epi8(m_hi, row + base + 64);
        const __mmask64 here = _mm512_cmpeq_epi8_mask(window[size_t(c)], _mm512_set1_epi8(char(w)));
        out = _mm512_mask_mov_epi8(out, here, _mm512_permutex2var_epi8(a, local[size_t(c)], b));
      }
      out = _mm512_xor_si512(out, flip);
      const int64_t left = lda - 64 * c;  // lda pads kpad to 4: bytes past kpad are zero
      const __mmask64 store = left >= 64 ? ~__mmask64(0) : (__mmask64(1) << left) - 1;
      _mm512_mask_storeu_epi8(dst + 64 * c, store, _mm512_maskz_mov_epi8(real[size_t(c)], out));
    }
  }
}

}  // namespace lowbit
