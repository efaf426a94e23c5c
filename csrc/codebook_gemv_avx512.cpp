// AVX-512 codebook GEMV (codebook_gemv.h): per 16 weights one shift (a vpmulhuw), one vpermps (the table in
// a register), one FMA; per chunk each row's float32 partial sum goes into a float64 accumulator. The
// three run on different pipes of Zen 4 (multiplier, shuffle, FMA): ~1.4 cycles per 16 weights, so at
// 3-4 bits per weight the kernel is compute-bound a little below the DRAM read rate.
//
// Four rows at a time: each activation vector is loaded once for four rows, and four independent FMA
// chains hide the FMA latency (one row alone waits on its chain: a chunk is 8-10 dependent FMAs). The
// K-group of a 16-weight step is tracked by a running boundary instead of a division per step.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "codebook_gemv.h"

namespace lowbit {

namespace {

template <int B, int RT>
void tile(const CbWeight& w, const float* x, int64_t r, double* y) {
  constexpr int F = B == 3 ? 10 : 8;
  constexpr int64_t chunk = 16 * F;
  constexpr int H = F / 2;  // fields 0..H-1 lie in the low 16 bits of a dword, H..F-1 in bits B H ..
  const int64_t words = cb_row_words(B, w.k), chunks = cb_kpad(B, w.k) / chunk;
  const int64_t G = std::min(w.group, cb_kpad(B, w.k)), groups = (w.k + G - 1) / G;
  const uint32_t* d[RT];
  __m512 tab[RT], s[RT];
  __m512d acc[RT];
  int64_t g = 0;
  auto load_tables = [&]() {
#pragma GCC unroll 4
    for (int i = 0; i < RT; ++i) {
      tab[i] = _mm512_loadu_ps(w.tables + (r + i) * w.table_row_stride + g * w.table_group_stride);
      if (w.scale) tab[i] = _mm512_mul_ps(tab[i], _mm512_set1_ps(w.scale[(r + i) * groups + g]));
    }
  };
  load_tables();
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  int64_t next = groups > 1 ? G : kNever;  // first k of the next K-group
#pragma GCC unroll 4
  for (int i = 0; i < RT; ++i) {
    d[i] = w.data + (r + i) * words;
    acc[i] = _mm512_setzero_pd();
  }
  for (int64_t c = 0; c < chunks; ++c) {
    __m512i dv[RT], hv[RT];
#pragma GCC unroll 4
    for (int i = 0; i < RT; ++i) {
      dv[i] = _mm512_loadu_si512(d[i] + c * 16);
      // the next tile (RT rows, contiguous) in address order, RT lines per chunk: RT short rows are RT
      // streams the hardware prefetcher alone does not keep ahead of a cold read (2.5 -> 1.4 ms at
      // 1 x 8192 x 8192, 3-bit); in address order rather than line c of each row measured ~3% faster.
      // A prefetch past the data's end never faults.
      _mm_prefetch(reinterpret_cast<const char*>(d[0] + RT * words + (c * RT + i) * 16), _MM_HINT_T0);
      hv[i] = _mm512_srli_epi32(dv[i], B * H);  // fields H.. in the low 16 bits
      s[i] = _mm512_setzero_ps();
    }
#pragma GCC unroll 10
    for (int j = 0; j < F; ++j) {
      const int64_t k0 = c * chunk + 16 * j;
      if (k0 >= next) [[unlikely]] {
        ++g;
        next = g < groups - 1 ? next + G : kNever;
        load_tables();
      }
      const __m512 xv = _mm512_loadu_ps(x + k0);
#pragma GCC unroll 4
      for (int i = 0; i < RT; ++i) {
        const __m512i base = j < H ? dv[i] : hv[i];
        const int rel = j < H ? j : j - H;
        // a right shift of the low 16 bits as the high half of a product: vpmulhuw runs on the
        // multiplier pipes, leaving the shuffle pipes to vpermps (vpermps reads index bits 0-3 only)
        const __m512i idx =
            rel == 0 ? base : _mm512_mulhi_epu16(base, _mm512_set1_epi16(short(1 << (16 - B * rel))));
        s[i] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, tab[i]), xv, s[i]);
      }
    }
    // the chunk's 16 lanes fold to 8 in float32 (one more rounding, like one more term of the chunk) and
    // go to float64: 4 instructions per chunk and row instead of 5 full-width ones
#pragma GCC unroll 4
    for (int i = 0; i < RT; ++i) {
      const __m256 half = _mm256_add_ps(_mm512_castps512_ps256(s[i]), _mm512_extractf32x8_ps(s[i], 1));
      acc[i] = _mm512_add_pd(acc[i], _mm512_cvtps_pd(half));
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < RT; ++i) y[i] = _mm512_reduce_add_pd(acc[i]);
}

template <int B>
void rows(const CbWeight& w, const float* x, int64_t r0, int64_t r1, double* y) {
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) tile<B, 4>(w, x, r, y + (r - r0));
  for (; r < r1; ++r) tile<B, 1>(w, x, r, y + (r - r0));
}

}  // namespace

void cb_rows_avx512(const CbWeight& w, const float* x, int64_t r0, int64_t r1, double* y) {
  if (w.bits == 3) rows<3>(w, x, r0, r1, y);
  else rows<4>(w, x, r0, r1, y);
}

}  // namespace lowbit
