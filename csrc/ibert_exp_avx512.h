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
// Row loops take a local copy of it (const ExpLanes k = kref): __m512i may alias anything, so with the
// caller's object every store of a row's results made gcc reload (and re-shift) the constants from memory
// inside the loop; a copy whose address does not escape stays in registers.
struct ExpLanes {
  bool word, mulhi;
  __m512i ucap, ml, mh, cl, ch, xcap, qb, mask14, rnd_lo, rnd_hi, mlw, mhw, nmlw;
  __m128i g;
  ExpLanes(const SoftmaxParams& p, const SoftmaxFast& f) {
    const int32_t ml_w = int16_t(uint32_t(p.m0) & 0xFFFF), mh_w = int32_t((int64_t(p.m0) - ml_w) >> 16);
    word = f.ucap <= 32767 && mh_w <= 32767;
    mulhi = word && f.r.cl == 0xFFFF && ml_w != -32768;  // exp16_words' vpmulhw form (shift >= 17)
    nmlw = _mm512_set1_epi16(int16_t(-ml_w));
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

// ---- The word layout of a row of 16-bit codes (ExpLanes::word): 32 codes per load, u = max - q and its
// clamp in words (vpsubw wraps, but max - q <= 2^16 - 1 reads right unsigned), the even and odd codes'
// rescales on vpdpwssd against [ml, 0] and [0, ml] (and mh): no widening. Block b of 32 codes keeps its
// even codes' exps at e[32 b .. 32 b + 16) and its odd codes' at e[32 b + 16 .. 32 b + 32).

// the even (kOdd = false) or odd codes' i-exps of 32 words u (exp16 with kWord, from the other word).
// kMulhi: with cl = 2^16 - 1 (shift >= 17), (u ml + cl) >> 16 = ceil(u ml / 2^16) = -floor(u (-ml) / 2^16),
// vpmulhw's high half of u (-ml) for all 32 codes at once (hn; ml != -2^15), subtracted by the vpdpwssd
// against [-1, 0] / [0, -1]: a multiply fewer per 32 codes than two vpdpwssd and two shifts
template <bool kOdd, bool kMulhi = false>
inline __m512i exp16_words(__m512i u, const ExpLanes& k, __m512i hn = _mm512_setzero_si512()) {
  const __m512i mlw = kOdd ? _mm512_slli_epi32(k.mlw, 16) : k.mlw, mhw = kOdd ? _mm512_slli_epi32(k.mhw, 16) : k.mhw;
  __m512i hi;
  if constexpr (kMulhi) {
    hi = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(k.ch, u, mhw), hn, _mm512_set1_epi32(kOdd ? -65536 : 0xFFFF));
  } else {
    hi = _mm512_add_epi32(_mm512_dpwssd_epi32(k.ch, u, mhw), _mm512_srai_epi32(_mm512_dpwssd_epi32(k.cl, u, mlw), 16));
  }
  const __m512i xneg = _mm512_min_epu32(_mm512_srl_epi32(hi, k.g), k.xcap);
  const __m512i z = _mm512_srli_epi32(xneg, kExpK);
  const __m512i t = _mm512_sub_epi32(k.qb, _mm512_and_si512(xneg, k.mask14));
  return _mm512_srlv_epi32(_mm512_dpwssd_epi32(_mm512_permutex2var_epi32(k.rnd_lo, z, k.rnd_hi), t, t), z);
}

// one block of 32 codes (left of them valid: the rest give 0) into e[0..32); returns the 16 pair sums
template <bool kTail, bool kMulhi>
inline __m512i exp_block_words(const int16_t* p, int64_t left, __m512i mxw, __m512i ucapw, const ExpLanes& k, int32_t* e) {
  const __mmask32 mm = kTail ? __mmask32((uint32_t(1) << left) - 1) : ~__mmask32(0);
  const __m512i q = kTail ? _mm512_maskz_loadu_epi16(mm, p) : _mm512_loadu_si512(p);
  const __m512i u = _mm512_min_epu16(_mm512_sub_epi16(mxw, q), ucapw);
  const __m512i hn = kMulhi ? _mm512_mulhi_epi16(u, k.nmlw) : _mm512_setzero_si512();
  __m512i ee = exp16_words<false, kMulhi>(u, k, hn), eo = exp16_words<true, kMulhi>(u, k, hn);
  if constexpr (kTail) {
    ee = _mm512_maskz_mov_epi32(__mmask16(_pext_u32(mm, 0x55555555u)), ee);
    eo = _mm512_maskz_mov_epi32(__mmask16(_pext_u32(mm, 0xAAAAAAAAu)), eo);
  }
  _mm512_storeu_si512(e, ee);
  _mm512_storeu_si512(e + 16, eo);
  return _mm512_add_epi32(ee, eo);  // each < 2^31: fits 32 unsigned bits
}

// The exps of a row of 16-bit codes with max mx, in the word layout (whole 32-blocks written), and their sum.
// The 16 pair sums (each < 2^32) add as 8 qwords lo + 2^32 hi, and their high dwords on their own: the
// total is sum(lo) + sum(hi) = acc - (2^32 - 1) sum(hi), exact mod 2^64 (the total is < 2^52). One shift
// and two adds a block, where masking off the low dwords took an and more (and ~5% of Log-Int-Softmax).
template <bool kMulhi>
inline int64_t exp_row_words_t(const int16_t* row, int64_t n, int32_t mx, const ExpLanes& k, int32_t* e) {
  const __m512i mxw = _mm512_set1_epi16(int16_t(mx));
  const __m512i ucapw = _mm512_set1_epi16(int16_t(_mm_cvtsi128_si32(_mm512_castsi512_si128(k.ucap))));  // <= 2^15 - 1
  __m512i acc = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i s = exp_block_words<false, kMulhi>(row + i, 32, mxw, ucapw, k, e + i);
    acc = _mm512_add_epi64(acc, s);
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(s, 32));
  }
  if (i < n) {
    const __m512i s = exp_block_words<true, kMulhi>(row + i, n - i, mxw, ucapw, k, e + i);
    acc = _mm512_add_epi64(acc, s);
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(s, 32));
  }
  return _mm512_reduce_add_epi64(_mm512_sub_epi64(acc, _mm512_sub_epi64(_mm512_slli_epi64(acc_hi, 32), acc_hi)));
}

inline int64_t exp_row_words(const int16_t* row, int64_t n, int32_t mx, const ExpLanes& k, int32_t* e) {
  return k.mulhi ? exp_row_words_t<true>(row, n, mx, k, e) : exp_row_words_t<false>(row, n, mx, k, e);
}

// 16 values (hi32(e f) + 2^21) >> 22 = rshift_round(e f, 54) (the rounding term leaves the low 32 bits
// untouched) from e[0..16) (and e[16], read for the odd lanes): e < 2^31, f < 2^32; <= 256 where e <= sum
inline __m512i prob16_54(const int32_t* e, __m512i f, __m512i idx_hi, __m512i rnd) {
  const __m512i pe = _mm512_mul_epu32(_mm512_loadu_si512(e), f);
  const __m512i po = _mm512_mul_epu32(_mm512_loadu_si512(e + 1), f);  // low dwords: e[1], e[3], ...
  const __m512i hi = _mm512_permutex2var_epi32(pe, idx_hi, po);
  return _mm512_srli_epi32(_mm512_add_epi32(hi, rnd), 54 - 32);
}

// min(rshift_round(e f, 54), 255) of a row of exps in the word layout (e padded by 16 past the last block):
// the even and odd outputs (<= 256) capped at 255 and interleaved as bytes
inline void prob_row_words(const int32_t* e, int64_t n, int64_t factor, uint8_t* o) {
  const __m512i fv = _mm512_set1_epi64(factor);
  const __m512i idx_hi = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  const __m512i rnd = _mm512_set1_epi32(1 << (54 - 33)), top = _mm512_set1_epi32(255);
  for (int64_t i = 0; i < n; i += 32) {
    const __m512i pe = _mm512_min_epu32(prob16_54(e + i, fv, idx_hi, rnd), top);
    const __m512i po = _mm512_min_epu32(prob16_54(e + i + 16, fv, idx_hi, rnd), top);
    store32(o + i, n - i, interleave_low_bytes(pe, po));
  }
}

}  // namespace lowbit::avx512
