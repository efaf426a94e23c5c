// The magnitude rescale that every Shift / LUT / PWL kernel starts with (the file comment of
// shift_lut_avx512.cpp): mag = min(floor((min(a, acap) m0 + c) / 2^shift), cap) in 32-bit lanes when
// acap <= 2^16 - 1 and shift is in [16, 47] (intops_fast.h's split multiply), else on 64-bit even / odd lanes.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "intops_fast.h"
#include "rows_avx512.h"

namespace lowbit::avx512 {

// The three forms of the rescale, fastest first:
// - kWordPath: a <= 2^15 - 1 and m0 = mh 2^16 + ml with ml the signed low 16 bits and mh <= 2^15 - 1:
//   floor((a m0 + c) / 2^s) = (a mh + ch + ((a ml + cl) >> 16)) >> (s - 16) as in intops_fast.h, with both
//   16 x 16-bit products on vpdpwssd (a and the halves of m0 fit signed words; |a ml| + cl < 2^31 and
//   a mh + ch < 2^30 + 2^30 for s <= 47), instead of two vpmulld;
// - kSplitPath: a <= 2^16 - 1, intops_fast.h's unsigned split on vpmulld;
// - kWidePath: 64-bit even / odd lanes.
constexpr int kWidePath = 0, kSplitPath = 1, kWordPath = 2;

// f(std::integral_constant<int, path>) for a run-time path: the kernels' loops are templates on it
template <typename F>
inline void with_path(int path, F&& f) {
  if (path == kWordPath) f(std::integral_constant<int, kWordPath>{});
  else if (path == kSplitPath) f(std::integral_constant<int, kSplitPath>{});
  else f(std::integral_constant<int, kWidePath>{});
}

// The magnitude rescale (file comment): constants for every form.
struct Mag {
  int path;
  __m512i acap, cap, ml, mh, clp, chp, cln, chn, m0, c64, cap64, lo32, one, mlw, mhw;
  __m128i g, sh;
  Mag(int32_t m0_, int shift, int64_t c, int64_t acap_, int64_t cap_) {
    const int32_t ml_w = int16_t(uint32_t(m0_) & 0xFFFF), mh_w = int32_t((int64_t(m0_) - ml_w) >> 16);
    const bool split = shift >= 16 && shift <= 47 && acap_ <= 65535;
    path = split && acap_ <= 32767 && mh_w <= 32767 ? kWordPath : split ? kSplitPath : kWidePath;
    mlw = _mm512_set1_epi32(ml_w & 0xFFFF), mhw = _mm512_set1_epi32(mh_w);  // one signed word, high word 0
    acap = _mm512_set1_epi32(int32_t(uint32_t(acap_)));  // <= 2^31
    cap = _mm512_set1_epi32(int32_t(uint32_t(cap_)));    // < 2^31
    const Rescale32 p = rescale32(m0_, shift < 16 ? 16 : shift, c), n = rescale32(m0_, shift < 16 ? 16 : shift, c - 1);
    ml = _mm512_set1_epi32(int32_t(p.ml)), mh = _mm512_set1_epi32(int32_t(p.mh));
    clp = _mm512_set1_epi32(int32_t(p.cl)), chp = _mm512_set1_epi32(int32_t(p.ch));
    cln = _mm512_set1_epi32(int32_t(n.cl)), chn = _mm512_set1_epi32(int32_t(n.ch));
    g = _mm_cvtsi32_si128(p.g);
    m0 = _mm512_set1_epi64(m0_), c64 = _mm512_set1_epi64(c), cap64 = _mm512_set1_epi64(cap_);
    lo32 = _mm512_set1_epi64(0xFFFFFFFF), one = _mm512_set1_epi32(1);
    sh = _mm_cvtsi32_si128(shift);
  }
};

// min(floor((min(a, acap) m0 + c - [lane in neg]) / 2^shift), cap) on unsigned 32-bit lanes; kCap = false
// leaves out the min with cap on the 32-bit paths (the result is then < 2^31, and >= cap where it was cut)
template <int kPath, bool kCap = true>
inline __m512i mag16(__m512i a, __mmask16 neg, const Mag& k) {
  a = _mm512_min_epu32(a, k.acap);
  if constexpr (kPath == kWordPath) {  // a <= 2^15 - 1: the high word of every lane is 0
    const __m512i cl = _mm512_mask_blend_epi32(neg, k.clp, k.cln), ch = _mm512_mask_blend_epi32(neg, k.chp, k.chn);
    const __m512i lo = _mm512_srai_epi32(_mm512_dpwssd_epi32(cl, a, k.mlw), 16);
    const __m512i hi = _mm512_dpwssd_epi32(ch, a, k.mhw);
    const __m512i m = _mm512_srl_epi32(_mm512_add_epi32(hi, lo), k.g);
    return kCap ? _mm512_min_epu32(m, k.cap) : m;
  } else if constexpr (kPath == kSplitPath) {  // a <= 2^16 - 1: the bounds of intops_fast.h
    const __m512i cl = _mm512_mask_blend_epi32(neg, k.clp, k.cln), ch = _mm512_mask_blend_epi32(neg, k.chp, k.chn);
    const __m512i lo = _mm512_srli_epi32(_mm512_add_epi32(_mm512_mullo_epi32(a, k.ml), cl), 16);
    const __m512i hi = _mm512_add_epi32(_mm512_mullo_epi32(a, k.mh), ch);
    const __m512i m = _mm512_srl_epi32(_mm512_add_epi32(hi, lo), k.g);
    return kCap ? _mm512_min_epu32(m, k.cap) : m;
  } else {  // a <= 2^31, m0 < 2^31, c < 2^62: the sum stays below 2^63
    const __m512i nb = _mm512_maskz_mov_epi32(neg, k.one);
    const __m512i ev = _mm512_srl_epi64(
        _mm512_sub_epi64(_mm512_add_epi64(_mm512_mul_epu32(a, k.m0), k.c64), _mm512_and_si512(nb, k.lo32)), k.sh);
    const __m512i od = _mm512_srl_epi64(_mm512_sub_epi64(_mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(a, 32), k.m0), k.c64),
                                                         _mm512_srli_epi64(nb, 32)),
                                        k.sh);
    return join(_mm512_min_epu64(ev, k.cap64), _mm512_min_epu64(od, k.cap64));
  }
}

}  // namespace lowbit::avx512
