// The I-BERT i-exp pass of a softmax row on AVX-512 (32-bit lanes, intops_fast.h), shared by the I-BERT
// softmax (intops_avx512.cpp) and the standalone Log-Int-Softmax (intops_extra_avx512.cpp), which take
// the same exps.
#pragma once
#include <immintrin.h>

#include <climits>
#include <cstdint>

#include "intops.h"
#include "intops_fast.h"
#include "rows_avx512.h"

namespace lowbit::avx512 {

// The constants of the 32-bit i-exp lanes (intops_fast.h), broadcast once per call.
// word: the rescale's two products on vpdpwssd, as mag_avx512.h's kWordPath (u <= 2^15 - 1 and the high
// half of m0, with its low half taken signed, <= 2^15 - 1), else on vpmulld (intops_fast.h).
struct ExpLanes {
  bool word;
  __m512i ucap, ml, mh, cl, ch, xcap, qb, mask14, rnd_lo, rnd_hi, mlw, mhw;
  __m128i g;
  ExpLanes(const SoftmaxParams& p, const SoftmaxFast& f) {
    const int32_t ml_w = int16_t(uint32_t(p.m0) & 0xFFFF), mh_w = int32_t((int64_t(p.m0) - ml_w) >> 16);
    word = f.ucap <= 32767 && mh_w <= 32767;
    mlw = _mm512_set1_epi32(ml_w & 0xFFFF), mhw = _mm512_set1_epi32(mh_w);
    ucap = _mm512_set1_epi32(int32_t(f.ucap));
    ml = _mm512_set1_epi32(int32_t(f.r.ml)), mh = _mm512_set1_epi32(int32_t(f.r.mh));
    cl = _mm512_set1_epi32(int32_t(f.r.cl)), ch = _mm512_set1_epi32(int32_t(f.r.ch));
    g = _mm_cvtsi32_si128(f.r.g);
    xcap = _mm512_set1_epi32(-kExpMin), qb = _mm512_set1_epi32(p.qb);
    mask14 = _mm512_set1_epi32((1 << kExpK) - 1);
    // qc + 2^(z-1) (0 for z = 0): the polynomial's constant and the rounding term of the shift by z,
    // < 2^31 + 2^29 in all (unsigned: vpdpwssd wraps, it does not saturate)
    alignas(64) uint32_t rnd[32];
    for (int z = 0; z < 32; ++z) rnd[z] = uint32_t(p.qc) + (z ? 1u << (z - 1) : 0u);
    rnd_lo = _mm512_load_si512(rnd), rnd_hi = _mm512_load_si512(rnd + 16);
  }
};

// i-exp of 16 lanes u = max - q (unsigned), all in 32-bit lanes
template <bool kWord>
inline __m512i exp16(__m512i u, const ExpLanes& k) {
  u = _mm512_min_epu32(u, k.ucap);  // <= 2^16 - 1: the rescale's bound (<= 2^15 - 1 for kWord)
  __m512i lo, hi;
  if constexpr (kWord) {
    lo = _mm512_srai_epi32(_mm512_dpwssd_epi32(k.cl, u, k.mlw), 16);
    hi = _mm512_dpwssd_epi32(k.ch, u, k.mhw);
  } else {
    lo = _mm512_srli_epi32(_mm512_add_epi32(_mm512_mullo_epi32(u, k.ml), k.cl), 16);
    hi = _mm512_add_epi32(_mm512_mullo_epi32(u, k.mh), k.ch);
  }
  // xneg = -x in [0, 30 2^14]
  const __m512i xneg = _mm512_min_epu32(_mm512_srl_epi32(_mm512_add_epi32(hi, lo), k.g), k.xcap);
  const __m512i z = _mm512_srli_epi32(xneg, kExpK);  // x = -z ln2 + r, r = -(xneg mod 2^14)
  // t = r + qb in [1, 2^15) (qb in [2^14, 2^15) is checked): high half 0, so vpdpwssd squares it and adds qc
  const __m512i t = _mm512_sub_epi32(k.qb, _mm512_and_si512(xneg, k.mask14));
  // poly = t^2 + qc in (2^30, 2^31) is checked; with the rounding term 2^(z-1) (z <= 30) it is < 2^32
  const __m512i qc_rnd = _mm512_permutex2var_epi32(k.rnd_lo, z, k.rnd_hi);
  return _mm512_srlv_epi32(_mm512_dpwssd_epi32(qc_rnd, t, t), z);
}

// row max of 16-bit codes on 32 lanes at a time
inline int32_t row_max16(const int16_t* row, int64_t n) {
  __m512i mx = _mm512_set1_epi16(INT16_MIN);
  for (int64_t i = 0; i < n; i += 32) {
    const int64_t left = n - i;
    const __mmask32 m = left >= 32 ? ~__mmask32(0) : __mmask32((1u << left) - 1);
    mx = _mm512_max_epi16(mx, _mm512_mask_loadu_epi16(mx, m, row + i));
  }
  const __m256i h = _mm256_max_epi16(_mm512_castsi512_si256(mx), _mm512_extracti64x4_epi64(mx, 1));
  __m128i x = _mm_max_epi16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  x = _mm_max_epi16(x, _mm_shuffle_epi32(x, 0x4E));
  x = _mm_max_epi16(x, _mm_shuffle_epi32(x, 0xB1));
  x = _mm_max_epi16(x, _mm_srli_epi32(x, 16));
  return int16_t(_mm_cvtsi128_si32(x));
}
inline int32_t row_max_any(const int16_t* row, int64_t n) { return row_max16(row, n); }
inline int32_t row_max_any(const int32_t* row, int64_t n) { return row_max(row, n); }

// Pass 1 of a row: the exps into e (zero past n) and their sum.
template <bool kWord, typename T>
int64_t exp_row_path(const T* row, int64_t n, const ExpLanes& k, int32_t* e) {
  const __m512i mxv = _mm512_set1_epi32(row_max_any(row, n));
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  __m512i acc_lo = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 32) {
    const __mmask16 m0 = tail_mask(n - i), m1 = n - i > 16 ? tail_mask(n - i - 16) : 0;
    __m512i e0 = exp16<kWord>(_mm512_sub_epi32(mxv, load16(row + i, m0)), k);
    __m512i e1 = m1 ? exp16<kWord>(_mm512_sub_epi32(mxv, load16(row + i + 16, m1)), k) : _mm512_setzero_si512();
    if (m1 != 0xFFFF) e0 = _mm512_maskz_mov_epi32(m0, e0), e1 = _mm512_maskz_mov_epi32(m1, e1);
    _mm512_storeu_si512(e + i, e0);
    _mm512_storeu_si512(e + i + 16, e1);
    const __m512i s = _mm512_add_epi32(e0, e1);  // each < 2^31: the sum fits 32 unsigned bits
    acc_lo = _mm512_add_epi64(acc_lo, _mm512_and_si512(s, lo32));
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(s, 32));
  }
  return _mm512_reduce_add_epi64(_mm512_add_epi64(acc_lo, acc_hi));
}

template <typename T>
int64_t exp_row(const T* row, int64_t n, const ExpLanes& k, int32_t* e) {
  return k.word ? exp_row_path<true>(row, n, k, e) : exp_row_path<false>(row, n, k, e);
}

}  // namespace lowbit::avx512
