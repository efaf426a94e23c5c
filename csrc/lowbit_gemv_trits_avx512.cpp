// AVX-512 (VBMI + VNNI) raw kernel of the 1.6-bit ternary layout (lowbit_gemv_trits.h): per 64-byte load
// (320 weights) one sign mask, then per field a 128-entry lookup (vpermi2b), for fields 0-2 a masked 2 - u,
// and a vpdpbusd.
#include <immintrin.h>

#include <cstring>

#include "lowbit_gemv_trits.h"

namespace lowbit {

namespace {

constexpr int F = kTritFields;
constexpr int64_t kAhead = 8192;  // prefetch distance in bytes

struct TritTables {
  __m512i lo[F], hi[F];  // entries 0..63 and 64..127 of field f's digit table
};

TritTables make_tables() {
  TritTables t;
  alignas(64) uint8_t b[128];
  for (int f = 0; f < F; ++f) {
    for (int i = 0; i < 128; ++i) b[i] = trit_digit(i, f);
    t.lo[f] = _mm512_load_si512(b);
    t.hi[f] = _mm512_load_si512(b + 64);
  }
  return t;
}

inline __m512i bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int MR, int U>
void tile(const TritTables& t, const uint8_t* block, int64_t s0, int64_t s1, const uint8_t* x, int64_t lda,
          int32_t* raw) {
  __m512i acc[MR][F][U];
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int f = 0; f < F; ++f)
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) acc[m][f][u] = _mm512_setzero_si512();
  const __m512i two = _mm512_set1_epi8(2);
  for (int64_t s = s0; s < s1; s += U) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const __m512i wv = _mm512_loadu_si512(block + (s + u) * 64);
      // as in the fields kernel: the hardware prefetchers alone do not keep a cold stream at DRAM speed
      _mm_prefetch(reinterpret_cast<const char*>(block + (s + u) * 64 + kAhead), _MM_HINT_T0);
      const __mmask64 neg = _mm512_movepi8_mask(wv);
      __m512i xb[MR];
#pragma GCC unroll 8
      for (int m = 0; m < MR; ++m) xb[m] = bcast4(x + m * lda + (s + u) * 4);
#pragma GCC unroll 8
      for (int f = 0; f < F; ++f) {
        const __m512i d = _mm512_permutex2var_epi8(t.lo[f], wv, t.hi[f]);  // bit 7 of the index is ignored
        const __m512i code = f < kTritSigned ? _mm512_mask_sub_epi8(d, neg, two, d) : d;
#pragma GCC unroll 8
        for (int m = 0; m < MR; ++m) acc[m][f][u] = _mm512_dpbusd_epi32(acc[m][f][u], code, xb[m]);
      }
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int f = 0; f < F; ++f) {
      __m512i v = acc[m][f][0];
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) v = _mm512_add_epi32(v, acc[m][f][u]);
      _mm512_storeu_si512(raw + m * kLbTritRows + 16 * f, v);
    }
}

}  // namespace

void lb_trits_raw_avx512(const uint8_t* block, int64_t, int64_t k0, int64_t k1, const uint8_t* x, int64_t lda,
                         int64_t M, const uint8_t*, int64_t, int32_t* raw) {
  static const TritTables t = make_tables();
  const int64_t s0 = k0 / 4, s1 = k1 / 4;  // multiples of 8
  int64_t m = 0;
  if (M == 1) return tile<1, 1>(t, block, s0, s1, x, lda, raw);
  for (; m + 2 <= M; m += 2) tile<2, 1>(t, block, s0, s1, x + m * lda, lda, raw + m * kLbTritRows);
  for (; m < M; ++m) tile<1, 2>(t, block, s0, s1, x + m * lda, lda, raw + m * kLbTritRows);
}

}  // namespace lowbit
