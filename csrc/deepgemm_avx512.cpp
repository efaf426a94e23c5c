// AVX-512 DeepGEMM 2x2: 64 packed bytes (256 codes) per step; for each of the 4 code positions the 4-bit
// index (w << 2 | a) looks the product up with vpshufb (the 16-entry table in every 128-bit lane), biased
// by +128 to uint8; vpdpbusd with ones adds 4 looked-up bytes into each int32 lane. The activation rows'
// position fields are extracted once (they are reused by every weight row) and each weight step is
// shared by a block of up to 8 activation rows. The bias and the padded code pairs (past K, and the zero
// bytes up to whole 64-byte steps, all worth table[0]) are subtracted once at the end.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "deepgemm.h"

namespace lowbit {

namespace {
struct alignas(64) Zmm {
  uint8_t b[64];
};
}  // namespace

void deepgemm_2x2_avx512(const uint8_t* a, int64_t M, const uint8_t* w, int64_t N, int64_t K, const int8_t* table,
                         int32_t* out) {
  const int64_t kb = (K + 3) / 4, steps = (kb + 63) / 64;
  alignas(16) uint8_t biased[16];
  for (int i = 0; i < 16; ++i) biased[i] = uint8_t(int(table[i]) + 128);
  const __m512i lut = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(biased)));
  const __m512i three = _mm512_set1_epi8(3), twelve = _mm512_set1_epi8(12), ones = _mm512_set1_epi8(1);
  const int64_t looked = 256 * steps;
  const int64_t correction = -128 * looked - (looked - K) * int64_t(table[0]);
  auto masked = [&](const uint8_t* row, int64_t s) {
    const int64_t left = kb - 64 * s;
    const __mmask64 mk = left >= 64 ? ~__mmask64(0) : (__mmask64(1) << left) - 1;
    return _mm512_maskz_loadu_epi8(mk, row + 64 * s);
  };
  // activation fields, [m][step][position]: (a >> 2p) & 3 (a 16-bit shift; the mask drops what crossed bytes)
  std::vector<Zmm> acts(static_cast<size_t>(M * steps * 4));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t s = 0; s < steps; ++s) {
      const __m512i av = masked(a + m * kb, s);
      for (int p = 0; p < 4; ++p)
        _mm512_store_si512(&acts[size_t((m * steps + s) * 4 + p)],
                           _mm512_and_si512(_mm512_srli_epi16(av, 2 * p), three));
    }
  constexpr int kRows = 8;
  for (int64_t m0 = 0; m0 < M; m0 += kRows) {
    const int rows = int(std::min<int64_t>(kRows, M - m0));
    for (int64_t n = 0; n < N; ++n) {
      __m512i acc[kRows];
      for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_si512();
      for (int64_t s = 0; s < steps; ++s) {
        const __m512i wv = masked(w + n * kb, s);
        // weight fields already at bits 2..3 of each byte: ((w >> 2p) & 3) << 2
        const __m512i wi[4] = {_mm512_and_si512(_mm512_slli_epi16(wv, 2), twelve), _mm512_and_si512(wv, twelve),
                               _mm512_and_si512(_mm512_srli_epi16(wv, 2), twelve),
                               _mm512_and_si512(_mm512_srli_epi16(wv, 4), twelve)};
        for (int r = 0; r < rows; ++r) {
          const Zmm* ar = &acts[size_t(((m0 + r) * steps + s) * 4)];
          for (int p = 0; p < 4; ++p) {
            const __m512i idx = _mm512_or_si512(wi[p], _mm512_load_si512(ar + p));
            acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_shuffle_epi8(lut, idx), ones);
          }
        }
      }
      for (int r = 0; r < rows; ++r)
        out[(m0 + r) * N + n] = int32_t(int64_t(_mm512_reduce_add_epi32(acc[r])) + correction);
    }
  }
}

}  // namespace lowbit
