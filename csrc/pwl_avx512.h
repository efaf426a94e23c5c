// Piecewise-linear table evaluation on 16 int32 lanes, for the NN-LUT softmax's tables (intops_extra_avx512.cpp;
// NN-LUT GELU and the PWL sigmoid / tanh evaluate rows on the codes in 16-bit lanes instead): y = icpt[j] +
// rshift_round(slope[j] u, pshift) with j the last segment whose start is <= u (0 if none), for u in [u_lo,
// u_hi], -2^15 <= u_lo, u_hi <= 2^15, k <= 32.
//
// Segment: a 128-entry byte table (two registers, vpermt2b) gives the segment holding the first point of
// u's bucket (u - u_lo) >> B, B the smallest shift that leaves at most 128 buckets; then `steps` compare-and-
// advance steps, steps = the most breakpoints inside one bucket (usually 1). Where that is more than 3,
// or k = 32 (no padding entry), a branchless binary search over the starts instead.
// Product: with pshift in [16, 46] and every slope = sh 2^16 + sl (sl its low 16 bits taken signed) with
// sh within int16, as intops_fast.h's split with c = 2^(pshift-1) = ch 2^16 + cl:
//   rshift_round(slope u, p) = (sh u + ch + ((sl u + cl) >> 16)) >> (p - 16)       (arithmetic shifts)
// both products on vpdpwssd (u a signed word, |sl u| + cl < 2^31, |sh u| + ch + 2^15 < 2^31 for p <= 46);
// with pshift in [1, 15] (sh u 2^16 is then a multiple of 2^p):
//   rshift_round(slope u, p) = ((sh u) << (16 - p)) + ((sl u + 2^(p-1)) >> p)
// where every |sh| 2^(31-p) + 2^15 + |icpt| < 2^31 (checked here);
// otherwise 32 x 32 -> 64-bit products on even / odd lanes. u = 2^15 does not fit a word (its low word reads
// -2^15): the word path is taken only when u_top <= 2^15 - 1, and a caller whose u can reach 2^15 beyond
// u_top must discard those lanes.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "rows_avx512.h"

namespace lowbit::avx512 {

struct PwlEval {
  __m512i s0, s1, sl0, sl1, sh0, sh1, sw0, sw1, ic0, ic1, bt0, bt1, u_lo, cl, ch, half, ff;
  __m128i bshift, psh, psh16;
  int top, steps;
  bool buckets, word, small;  // small: the pshift < 16 form of the word product
  bool zero0;                 // bucket 0's segment is 0: the high bytes of a lane look up 0, no mask needed

  // u_top: the largest u whose table value the caller keeps
  PwlEval(const int16_t* starts, const int32_t* slopes, const int32_t* icpts, int k, int32_t u_lo_, int32_t u_top,
          int pshift) {
    alignas(64) int32_t st[32], sl[32], ic[32], lw[32], hw[32];
    small = pshift >= 1 && pshift <= 15;
    bool words = ((pshift >= 16 && pshift <= 46) || small) && u_top <= 32767;
    for (int j = 0; j < 32; ++j) {
      st[j] = j < k ? starts[j] : INT32_MAX;  // never <= u
      sl[j] = j < k ? slopes[j] : 0;
      ic[j] = j < k ? icpts[j] : 0;
      const int32_t lo = int16_t(uint32_t(sl[j]) & 0xFFFF);
      const int64_t hi = (int64_t(sl[j]) - lo) >> 16;
      words = words && hi <= 32767;
      if (small && words) words = (std::abs(hi) << (31 - pshift)) + (1 << 15) + std::abs(int64_t(ic[j])) < (int64_t(1) << 31);
      lw[j] = lo & 0xFFFF, hw[j] = int32_t(hi) & 0xFFFF;  // one signed word, high word 0
    }
    word = words;
    s0 = _mm512_load_si512(st), s1 = _mm512_load_si512(st + 16);
    sl0 = _mm512_load_si512(sl), sl1 = _mm512_load_si512(sl + 16);
    sw0 = _mm512_load_si512(lw), sw1 = _mm512_load_si512(lw + 16);
    sh0 = _mm512_load_si512(hw), sh1 = _mm512_load_si512(hw + 16);
    ic0 = _mm512_load_si512(ic), ic1 = _mm512_load_si512(ic + 16);
    const int64_t c = pshift ? int64_t(1) << (pshift - 1) : 0;
    cl = _mm512_set1_epi32(int32_t(c & 0xFFFF)), ch = _mm512_set1_epi32(int32_t(c >> 16));
    half = _mm512_set1_epi64(c);
    psh = _mm_cvtsi32_si128(pshift), psh16 = _mm_cvtsi32_si128(small ? 16 - pshift : pshift - 16);
    u_lo = _mm512_set1_epi32(u_lo_), ff = _mm512_set1_epi32(0xFF);
    top = 0;
    while ((top ? 2 * top : 1) < k) top = top ? 2 * top : 1;
    // buckets of 2^B grid points over [u_lo, u_top]
    const int64_t span = std::max<int64_t>(int64_t(u_top) - u_lo_, 0);
    int b = 0;
    while ((span >> b) >= 128) ++b;
    alignas(64) uint8_t bt[128] = {};
    steps = 0;
    for (int64_t i = 0; i <= (span >> b); ++i) {
      const int64_t lo = u_lo_ + (i << b), hi = std::min<int64_t>(lo + (int64_t(1) << b) - 1, u_top);
      int j0 = 0, inside = 0;
      for (int j = 0; j < k; ++j) {
        if (starts[j] <= lo) j0 = j;
        else if (starts[j] <= hi) ++inside;
      }
      bt[i] = uint8_t(j0);
      steps = std::max(steps, inside);
    }
    buckets = k < 32 && steps <= 3;
    zero0 = bt[0] == 0;
    bt0 = _mm512_load_si512(bt), bt1 = _mm512_load_si512(bt + 64);
    bshift = _mm_cvtsi32_si128(b);
  }

  // the segment of u (u in [u_lo, u_top])
  __m512i segment(__m512i u) const {
    __m512i j = _mm512_setzero_si512();
    if (buckets) {
      const __m512i bucket = _mm512_srl_epi32(_mm512_sub_epi32(u, u_lo), bshift);  // 0..127
      // each lane's high bytes index entry 0: masked off unless that entry is 0
      j = _mm512_permutex2var_epi8(bt0, bucket, bt1);
      if (!zero0) j = _mm512_and_si512(j, ff);
      for (int s = 0; s < steps; ++s) {
        const __m512i cand = _mm512_add_epi32(j, _mm512_set1_epi32(1));  // <= k - 1 + 1 <= 31: padded
        j = _mm512_mask_mov_epi32(j, _mm512_cmple_epi32_mask(_mm512_permutex2var_epi32(s0, cand, s1), u), cand);
      }
    } else {
      for (int step = top; step > 0; step >>= 1) {
        const __m512i cand = _mm512_add_epi32(j, _mm512_set1_epi32(step));
        j = _mm512_mask_mov_epi32(j, _mm512_cmple_epi32_mask(_mm512_permutex2var_epi32(s0, cand, s1), u), cand);
      }
    }
    return j;
  }

  // icpt[j] + rshift_round(slope[j] u, pshift); u_word: u for the word path (lanes with u = 2^15 are garbage)
  template <bool kWord>
  __m512i value(__m512i j, __m512i u, __m512i u_word) const {
    __m512i y;
    if constexpr (kWord) {
      const __m512i slw = _mm512_permutex2var_epi32(sw0, j, sw1), shw = _mm512_permutex2var_epi32(sh0, j, sh1);
      if (small) {  // cl = 2^(p-1), ch = 0; psh16 holds 16 - p
        y = _mm512_add_epi32(_mm512_sll_epi32(_mm512_madd_epi16(u_word, shw), psh16),
                             _mm512_sra_epi32(_mm512_dpwssd_epi32(cl, u_word, slw), psh));
      } else {
        const __m512i lo = _mm512_srai_epi32(_mm512_dpwssd_epi32(cl, u_word, slw), 16);
        y = _mm512_sra_epi32(_mm512_add_epi32(_mm512_dpwssd_epi32(ch, u_word, shw), lo), psh16);
      }
    } else {
      const __m512i slope = _mm512_permutex2var_epi32(sl0, j, sl1);
      const __m512i ev = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(slope, u), half), psh);
      const __m512i od = _mm512_sra_epi64(
          _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(slope, 32), _mm512_srli_epi64(u, 32)), half), psh);
      y = join(ev, od);
    }
    return _mm512_add_epi32(y, _mm512_permutex2var_epi32(ic0, j, ic1));  // fits (checked by the bindings)
  }
};

// The grid rescale of a signed code on words, for the PWL ops: u = floor((q m0 + c) / 2^shift), c =
// 2^(shift-1) (rshift_round), as intops_fast.h's split with signed q: (q mh + ch + ((q ml + cl) >> 16)) >>
// (shift - 16), arithmetic shifts, ml the low 16 bits of m0 taken signed. q is clamped first to
// [lo, hi] within +-(2^15 - 1), which the caller proves harmless; bounds: |q ml| + cl < 2^31 and
// |q mh| + ch + 2^15 < 2^31 for mh <= 2^15 - 1 and shift in [16, 46]. Replaces the magnitude form's
// abs, sign blends and negation.
constexpr int kSignedPath = 3;

struct SignedRescale {
  bool ok;
  __m512i lo, hi, mlw, mhw, cl, ch;
  __m128i g;
  SignedRescale(int32_t m0, int shift, int64_t lo_, int64_t hi_) {
    const int32_t ml_w = int16_t(uint32_t(m0) & 0xFFFF), mh_w = int32_t((int64_t(m0) - ml_w) >> 16);
    ok = shift >= 16 && shift <= 46 && mh_w <= 32767 && lo_ >= -32767 && hi_ <= 32767 && lo_ <= hi_;
    const int64_t c = shift ? int64_t(1) << (shift - 1) : 0;
    lo = _mm512_set1_epi32(int32_t(std::max<int64_t>(lo_, INT32_MIN))), hi = _mm512_set1_epi32(int32_t(std::min<int64_t>(hi_, INT32_MAX)));
    mlw = _mm512_set1_epi32(ml_w & 0xFFFF), mhw = _mm512_set1_epi32(mh_w);
    cl = _mm512_set1_epi32(int32_t(c & 0xFFFF)), ch = _mm512_set1_epi32(int32_t(c >> 16));
    g = _mm_cvtsi32_si128(shift < 16 ? 0 : shift - 16);
  }
  __m512i operator()(__m512i q) const {
    q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
    const __m512i l = _mm512_srai_epi32(_mm512_dpwssd_epi32(cl, q, mlw), 16);
    return _mm512_sra_epi32(_mm512_add_epi32(_mm512_dpwssd_epi32(ch, q, mhw), l), g);
  }
};

}  // namespace lowbit::avx512
