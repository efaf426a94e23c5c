// AVX-512 Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU, bit-exact with shift_lut_one.h. 16 codes per step
// (32 on the word layouts of 16-bit codes: Shiftmax's ShiftWords, the LUT softmax's pass 1); row tails use
// masked loads, so every element goes through the same vector code.
//
// ShiftGELU and NN-LUT GELU run on 32 words per vector (their sections below). The softmaxes start with a
// dyadic rescale of a magnitude a = max - q:
// mag = floor((a m0 + c) / 2^shift), c = 2^(shift-1) for a non-negative code and 2^(shift-1) - 1 for a
// negative one. a is first clamped to acap, and mag to cap, where both clamps provably change nothing:
// cap is a magnitude past which the op's result no longer changes (the exp is 0, the table input is
// saturated), acap the reference's own clamp or, if smaller, the first a whose mag reaches cap (mag is
// non-decreasing in a; both found by binary search on the scalar functions). With acap <= 2^16 - 1 and
// shift in [16, 47] the rescale runs in unsigned 32-bit lanes (intops_fast.h's split of m0 into 16-bit
// halves), otherwise on even / odd 64-bit lanes (vpmuludq); mag < 2^31 either way.
#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <type_traits>
#include <vector>

#include "ibert_exp_avx512.h"
#include "intops_fast.h"
#include "mag_avx512.h"
#include "rows_avx512.h"
#include "shift_lut.h"
#include "shift_lut_one.h"

namespace lowbit {
namespace {

using avx512::join;
using avx512::load16;
using avx512::row_max;
using avx512::store16;
using avx512::store32;
using avx512::tail_mask;
using avx512::Mag;
using avx512::mag16;


// shift_exp_one on 16 lanes x in [-2^28, 0]: [0, 2^30]
inline __m512i shift_exp16(__m512i x) {
  const __m512i tmin = _mm512_set1_epi32(kShiftTMin);
  __m512i t = _mm512_sub_epi32(_mm512_add_epi32(x, _mm512_srai_epi32(x, 1)), _mm512_srai_epi32(x, 4));
  const __mmask16 live = _mm512_cmpge_epi32_mask(t, tmin);
  t = _mm512_max_epi32(t, tmin);
  const __m512i z = _mm512_srli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), t), kShiftK);
  const __m512i r = _mm512_add_epi32(t, _mm512_slli_epi32(z, kShiftK));
  const __m512i e = _mm512_add_epi32(_mm512_srai_epi32(r, 1), _mm512_set1_epi32(1 << kShiftK));
  return _mm512_maskz_sllv_epi32(live, e, _mm512_sub_epi32(_mm512_set1_epi32(kShiftN), z));
}

// ---- Shiftmax

// shift_exp_one(-m) on 16 lanes m >= 0 (m < 2^31), m not clamped: with T = -t = (x >> 4) - x - (x >> 1) for
// x = -m, z = T >> 15 and ((r >> 1) + 2^15) = ((z + 2) 2^15 - T) >> 1 (r = -(T mod 2^15)). The exp is 0
// exactly for m >= cap (cap = the first such m; T is non-decreasing in m), which the mask takes, so lanes
// past cap may hold anything before it.
inline __m512i shift_exp_mag16(__m512i m, __m512i cap) {
  const __m512i x = _mm512_sub_epi32(_mm512_setzero_si512(), m);
  const __m512i tn = _mm512_sub_epi32(_mm512_srai_epi32(x, 4), _mm512_add_epi32(x, _mm512_srai_epi32(x, 1)));
  const __m512i z = _mm512_srli_epi32(tn, kShiftK);
  const __m512i w = _mm512_srli_epi32(
      _mm512_sub_epi32(_mm512_slli_epi32(_mm512_add_epi32(z, _mm512_set1_epi32(2)), kShiftK), tn), 1);
  return _mm512_maskz_sllv_epi32(_mm512_cmplt_epu32_mask(m, cap), w, _mm512_sub_epi32(_mm512_set1_epi32(kShiftN), z));
}

// the exps of 16 lanes u = max - q
template <int kPath>
inline __m512i shiftmax_exp16(__m512i u, const Mag& k) {
  if constexpr (kPath == avx512::kWidePath) {
    return shift_exp16(_mm512_sub_epi32(_mm512_setzero_si512(), mag16<kPath>(u, 0, k)));
  } else {
    return shift_exp_mag16(mag16<kPath, false>(u, 0, k), k.cap);
  }
}

// 16 probabilities from e[0..16) (and e[16], read for the odd lanes): (hi32(e f) + 2^21) >> 22 equals
// rshift_round(e f, 54). e <= 2^30, f < 2^32.
inline __m512i prob16(const int32_t* e, __m512i f, __m512i idx_hi, __m512i rnd) {
  const __m512i pe = _mm512_mul_epu32(_mm512_loadu_si512(e), f);
  const __m512i po = _mm512_mul_epu32(_mm512_loadu_si512(e + 1), f);
  const __m512i hi = _mm512_permutex2var_epi32(pe, idx_hi, po);
  return _mm512_srli_epi32(_mm512_add_epi32(hi, rnd), 54 - 32);  // <= 256
}

inline void prob_row(const int32_t* e, int64_t n, int64_t factor, uint8_t* o) {
  const __m512i fv = _mm512_set1_epi64(factor);
  const __m512i idx_hi = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  const __m512i unlane = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i rnd = _mm512_set1_epi32(1 << (54 - 33));
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i ab = _mm512_packus_epi32(prob16(e + i, fv, idx_hi, rnd), prob16(e + i + 16, fv, idx_hi, rnd));
    const __m512i cd = _mm512_packus_epi32(prob16(e + i + 32, fv, idx_hi, rnd), prob16(e + i + 48, fv, idx_hi, rnd));
    _mm512_storeu_si512(o + i, _mm512_permutexvar_epi32(unlane, _mm512_packus_epi16(ab, cd)));  // 256 -> 255
  }
  for (; i < n; i += 16) store16(o + i, tail_mask(n - i), _mm512_cvtusepi32_epi8(prob16(e + i, fv, idx_hi, rnd)));
}

// The exps of one row into e (zero past n, whole 32-element blocks written) and their sum; 32 codes per
// step, masks only in the row's last block.
template <int kPath, typename T>
int64_t shiftmax_exp_row(const T* row, int64_t n, const Mag& k, int32_t* e) {
  const __m512i mxv = _mm512_set1_epi32(avx512::row_max_any(row, n));
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  __m512i acc_lo = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 32) {
    const __mmask16 m0 = tail_mask(n - i), m1 = n - i > 16 ? tail_mask(n - i - 16) : 0;
    __m512i e0 = shiftmax_exp16<kPath>(_mm512_sub_epi32(mxv, load16(row + i, m0)), k);
    __m512i e1 = m1 ? shiftmax_exp16<kPath>(_mm512_sub_epi32(mxv, load16(row + i + 16, m1)), k) : _mm512_setzero_si512();
    if (m1 != 0xFFFF) e0 = _mm512_maskz_mov_epi32(m0, e0), e1 = _mm512_maskz_mov_epi32(m1, e1);
    _mm512_storeu_si512(e + i, e0);
    _mm512_storeu_si512(e + i + 16, e1);
    const __m512i s = _mm512_add_epi32(e0, e1);  // each <= 2^30: the sum fits 32 unsigned bits
    acc_lo = _mm512_add_epi64(acc_lo, _mm512_and_si512(s, lo32));
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(s, 32));
  }
  return _mm512_reduce_add_epi64(_mm512_add_epi64(acc_lo, acc_hi));  // >= 2^30 (the max)
}

// Rows software-pipelined as the I-BERT softmax's: the exps of row r, then the probabilities of row r - 1,
// so that the division for row r - 1's factor overlaps row r's exps.
template <int kPath, typename T>
void shiftmax_rows(const T* q, int64_t rows, int64_t n, const Mag& k, uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = (n + 32 + 15) & ~int64_t(15);  // padded: prob16 reads one past a vector
  ebuf.assign(size_t(2 * stride), 0);
  int64_t prev_total = 0;
  for (int64_t r = 0; r <= rows; ++r) {
    int64_t total = 0;
    if (r < rows) total = shiftmax_exp_row<kPath>(q + r * n, n, k, ebuf.data() + (r & 1) * stride);
    // factor = 2^32 only for total = 2^30, where every e is 0 or 2^30: 2^32 - 1 gives the same outputs
    if (r > 0)
      prob_row(ebuf.data() + ((r - 1) & 1) * stride, n, std::min<int64_t>((int64_t(1) << 62) / prev_total, 0xFFFFFFFF),
               out + (r - 1) * n);
    prev_total = total;
  }
}

// ---- Shiftmax on 16-bit codes, in words: 32 codes per load, the even and odd codes' rescales on vpdpwssd
// against [ml, 0] / [0, ml] (and mh), max - q folded into the constants. Taken when acap <= 2^15 - 1, shift in
// [16, 47] and mh <= 2^15 - 1 (mag_avx512.h's kWordPath). With d = max(q, max - acap) - max in [-acap, 0]:
//   x = rshift_round(d m0, shift) = (d mh + ch + ((d ml + cl) >> 16)) >> (shift - 16)    (arithmetic shifts)
// (intops_fast.h's split, signed: |d ml| + cl < 2^31, |d mh| + ch + 2^15 < 2^31), and d mh + ch =
// q mh + (ch - max mh) mod 2^32, so each dpwssd takes the clamped code itself. x <= 0, |x| <= 2^30.
// The shift-exp of x without a negation: with t = x + (x >> 1) - (x >> 4) <= 0 (|t| < 1.5 2^30),
// a = t >> 15 and rho = t mod 2^15, the reference's z = -a - [rho > 0] and r = rho - 2^15 [rho > 0], so
//   e = ((r >> 1) + 2^15) << (15 - z) = ((rho >> 1) + 2^14) << (16 + a) = ((t & 0x7FFE) | 0x8000) << (a + 15)
// for a >= -15 (both cases of rho), and vpsllvd gives 0 for every a <= -16 (a negative count reads as a
// count >= 32): exactly the reference's 0 for t < -15 2^15. Clamping d at -acap is harmless (file comment).
struct ShiftWords {
  __m512i ml_e, ml_o, mh_e, mh_o, keep, top, fifteen;
  __m128i g;
  int32_t ml, mh, cl, ch, acap;
  ShiftWords(int32_t m0, int shift, int64_t acap_) {
    ml = int16_t(uint32_t(m0) & 0xFFFF), mh = int32_t((int64_t(m0) - ml) >> 16);
    const int64_t c = int64_t(1) << (shift - 1);
    cl = int32_t(c & 0xFFFF), ch = int32_t(c >> 16), acap = int32_t(acap_);
    ml_e = _mm512_set1_epi32(ml & 0xFFFF), ml_o = _mm512_slli_epi32(ml_e, 16);
    mh_e = _mm512_set1_epi32(mh), mh_o = _mm512_slli_epi32(mh_e, 16);
    keep = _mm512_set1_epi32(0x7FFE), top = _mm512_set1_epi32(0x8000), fifteen = _mm512_set1_epi32(15);
    g = _mm_cvtsi32_si128(shift - 16);
  }
  static bool fits(int32_t m0, int shift, int64_t acap) {
    const int32_t l = int16_t(uint32_t(m0) & 0xFFFF);
    return shift >= 16 && shift <= 47 && acap <= 32767 && ((int64_t(m0) - l) >> 16) <= 32767;
  }
};

inline __m512i shift_exp_t16(__m512i x, const ShiftWords& w) {
  const __m512i t = _mm512_sub_epi32(_mm512_add_epi32(x, _mm512_srai_epi32(x, 1)), _mm512_srai_epi32(x, 4));
  const __m512i v = _mm512_ternarylogic_epi32(t, w.keep, w.top, 0xEA);  // (t & 0x7FFE) | 0x8000
  return _mm512_sllv_epi32(v, _mm512_add_epi32(_mm512_srai_epi32(t, kShiftK), w.fifteen));
}

// The exps of one row of 16-bit codes in ibert_exp_avx512.h's word layout (zero past n); returns their sum.
template <bool kTail>
inline __m512i shiftmax_block_w(const int16_t* p, int64_t left, __m512i lo, __m512i cl, __m512i ch, const ShiftWords& w,
                                int32_t* e) {
  __m512i q;
  __mmask32 mm = ~__mmask32(0);
  if constexpr (kTail) {
    mm = __mmask32((uint32_t(1) << left) - 1);
    q = _mm512_maskz_loadu_epi16(mm, p);
  } else {
    q = _mm512_loadu_si512(p);
  }
  q = _mm512_max_epi16(q, lo);
  const __m512i xe = _mm512_sra_epi32(
      _mm512_add_epi32(_mm512_dpwssd_epi32(ch, q, w.mh_e), _mm512_srai_epi32(_mm512_dpwssd_epi32(cl, q, w.ml_e), 16)), w.g);
  const __m512i xo = _mm512_sra_epi32(
      _mm512_add_epi32(_mm512_dpwssd_epi32(ch, q, w.mh_o), _mm512_srai_epi32(_mm512_dpwssd_epi32(cl, q, w.ml_o), 16)), w.g);
  __m512i ee = shift_exp_t16(xe, w), eo = shift_exp_t16(xo, w);
  if constexpr (kTail) {
    ee = _mm512_maskz_mov_epi32(__mmask16(_pext_u32(mm, 0x55555555u)), ee);
    eo = _mm512_maskz_mov_epi32(__mmask16(_pext_u32(mm, 0xAAAAAAAAu)), eo);
  }
  _mm512_storeu_si512(e, ee);
  _mm512_storeu_si512(e + 16, eo);
  return _mm512_add_epi32(ee, eo);  // each <= 2^30: fits 32 unsigned bits
}

inline int64_t shiftmax_exp_row_w(const int16_t* row, int64_t n, int32_t mx, const ShiftWords& w, int32_t* e) {
  const __m512i lo = _mm512_set1_epi16(int16_t(std::max(mx - w.acap, -32768)));
  const __m512i cl = _mm512_set1_epi32(int32_t(uint32_t(int64_t(w.cl) - int64_t(mx) * w.ml)));
  const __m512i ch = _mm512_set1_epi32(int32_t(uint32_t(int64_t(w.ch) - int64_t(mx) * w.mh)));
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  __m512i acc_lo = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i s = shiftmax_block_w<false>(row + i, 32, lo, cl, ch, w, e + i);
    acc_lo = _mm512_add_epi64(acc_lo, _mm512_and_si512(s, lo32));
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(s, 32));
  }
  if (i < n) {
    const __m512i s = shiftmax_block_w<true>(row + i, n - i, lo, cl, ch, w, e + i);
    acc_lo = _mm512_add_epi64(acc_lo, _mm512_and_si512(s, lo32));
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(s, 32));
  }
  return _mm512_reduce_add_epi64(_mm512_add_epi64(acc_lo, acc_hi));  // >= 2^30 (the max)
}

void shiftmax_rows_w(const int16_t* q, int64_t rows, int64_t n, const ShiftWords& w, uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = ((n + 31) & ~int64_t(31)) + 16;  // whole 32-blocks, + 16: prob16 reads one past
  ebuf.assign(size_t(2 * stride), 0);
  int64_t prev_total = 0;
  int32_t mx_next = avx512::row_max16(q, n);
  for (int64_t r = 0; r <= rows; ++r) {
    int64_t total = 0;
    if (r < rows) {  // the next row's max first: off the exps' critical path
      const int32_t mx = mx_next;
      if (r + 1 < rows) mx_next = avx512::row_max16(q + (r + 1) * n, n);
      total = shiftmax_exp_row_w(q + r * n, n, mx, w, ebuf.data() + (r & 1) * stride);
    }
    if (r > 0)  // factor: as shiftmax_rows
      avx512::prob_row_words(ebuf.data() + ((r - 1) & 1) * stride, n, std::min<int64_t>((int64_t(1) << 62) / prev_total, 0xFFFFFFFF),
                 out + (r - 1) * n);
    prev_total = total;
  }
}

// ---- LUT softmax

// 128 uint16 entries in four registers; lookup of 16 dword lanes holding indices 0..127
struct Table128 {
  __m512i a, b, c, d;
  explicit Table128(const uint16_t* t) {
    a = _mm512_loadu_si512(t), b = _mm512_loadu_si512(t + 32), c = _mm512_loadu_si512(t + 64),
    d = _mm512_loadu_si512(t + 96);
  }
  __m512i operator()(__m512i idx) const {  // vpermt2w: index bits 0..5 of each word (high words read entry 0)
    const __m512i lo = _mm512_permutex2var_epi16(a, idx, b), hi = _mm512_permutex2var_epi16(c, idx, d);
    const __m512i v = _mm512_mask_blend_epi32(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(64)), lo, hi);
    return _mm512_and_si512(v, _mm512_set1_epi32(0xFFFF));
  }
};

// Pass 1 rescales in 32-bit lanes, then packs the exponents t (<= 24 2^7) into 32 words and takes the exps
// there; it keeps per element the exp (rexp, <= 2^15) or t (lnexp) as 16 bits, and pass 2 also runs on 32
// lanes of 16 bits:
// - rexp: rshift_round(e recip, sh) for sh >= 22 equals (hi16(e recip) + 2^(sh-17)) >> (sh - 16) (the
//   rounding term is a multiple of 2^16, so the product's low half cannot carry into the result); the
//   sum is <= 2^14 + 2^14 for sh <= 31.
// - lnexp: rshift_round(exp2[tt mod 128], z + 7) with z = tt >> 7 equals ((exp2 >> 6) >> z + 1) >> 1
//   (nested floors): vpavgw of a per-call table exp2 >> 6 (<= 2^9) shifted by z; vpsrlvw gives 0 for
//   z >= 16, as the reference's rounding does (exp2 <= 2^15).
// On the 16-bit word path pass 1 does not clamp t to 24 2^7: vpackusdw saturates it at 2^16 - 1 and
// tt = t + add saturates too. Past 24 2^7 every exp and every lnexp output is 0 with or without the clamp
// (the shifts are >= 24 and exp2 <= 2^15), so the results are the reference's.
template <int kPath, typename T>
void lut_rows(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, const Mag& k, uint8_t* out) {
  thread_local std::vector<uint16_t> buf;
  const int64_t stride = (n + 31) & ~int64_t(31);
  buf.assign(size_t(2 * stride), 0);
  uint16_t* b = buf.data();  // per element: the exp (rexp) or the exponent t (lnexp)
  const Table128 exp2(p.exp2);
  const __m512i mask7w = _mm512_set1_epi16((1 << kLutFrac) - 1), bit6 = _mm512_set1_epi16(64), onew = _mm512_set1_epi16(1);
  alignas(64) int16_t wi[32];
  for (int j = 0; j < 32; ++j) wi[j] = int16_t(2 * j);  // the low words of two dword vectors
  const __m512i words = _mm512_load_si512(wi);
  // 16-bit codes on the word path: 32 codes per load, u = max - q (mod 2^16 = u) and its clamp in words, the
  // even and odd codes' products on vpdpwssd against [ml, 0] and [0, ml] (mag_avx512.h's bounds)
  constexpr bool kWords = sizeof(T) == 2 && kPath == avx512::kWordPath;
  const __m512i acapw = _mm512_set1_epi16(int16_t(std::min<uint32_t>(uint32_t(_mm_cvtsi128_si32(_mm512_castsi512_si128(k.acap))), 32767)));
  const __m512i ml_odd = _mm512_slli_epi32(k.mlw, 16), mh_odd = _mm512_slli_epi32(k.mhw, 16);
  alignas(64) int16_t il[32];  // element j of the block: its word in vpackusdw(even codes, odd codes)
  for (int j = 0; j < 32; ++j) il[j] = int16_t((j & ~7) + (j & 1) * 4 + ((j & 7) >> 1));
  const __m512i unpack = _mm512_load_si512(il);
  alignas(64) uint16_t e2s[128];
  for (int f = 0; f < 128; ++f) e2s[f] = uint16_t(p.exp2[f] >> 6);
  const Table128 exp2s(e2s);  // lnexp pass 2
  // lnexp pass 2 on bytes where exp2 >> 6 spans at most 256 values (the shipped table: 257..512): exp2s[f] =
  // lo + bt[f], bt from two registers by one vpermt2b (index: tt's low byte, whose bits 0..6 are f; the high
  // bytes zeroed by the mask) instead of two vpermt2w, a test and a blend
  const uint16_t e2lo = *std::min_element(e2s, e2s + 128), e2hi = *std::max_element(e2s, e2s + 128);
  const bool e2bytes = e2hi - e2lo <= 255;
  alignas(64) uint8_t bt[128];
  for (int f = 0; f < 128; ++f) bt[f] = uint8_t(e2s[f] - e2lo);
  const __m512i bt0 = _mm512_load_si512(bt), bt1 = _mm512_load_si512(bt + 64), e2lov = _mm512_set1_epi16(int16_t(e2lo));
  const __m512i flip = _mm512_set1_epi16(int16_t(0x8000)), ones = _mm512_set1_epi16(1);
  // R rows side by side (R = 2 while two are left): each block step of pass 1 and of the lnexp pass 2 runs
  // for both rows, so their independent chains overlap
  auto step = [&](auto rc, int64_t r) {
    constexpr int R = decltype(rc)::value;
    const T* row[R];
    uint16_t* bb[R];
    __m512i mxv[R], mxw[R], acc[R];
    for (int j = 0; j < R; ++j) {
      row[j] = q + (r + j) * n, bb[j] = b + j * stride;
      const int32_t mx = avx512::row_max_any(row[j], n);
      mxv[j] = _mm512_set1_epi32(mx), mxw[j] = _mm512_set1_epi16(int16_t(mx));
      // the sum of the exps (each <= 2^15) as sum(e - 2^15) per pair by vpmaddwd, then + 2^15 per lane:
      // >= -2^16 per lane and step, so >= -2^31 over n <= 2^20 codes (2^15 steps)
      acc[j] = _mm512_setzero_si512();
    }
    int64_t lanes = 0;
    for (int64_t i = 0; i < n; i += 32, lanes += 32) {
      const __mmask32 mm = n - i >= 32 ? ~__mmask32(0) : __mmask32((uint32_t(1) << (n - i)) - 1);
#pragma GCC unroll 2
      for (int j = 0; j < R; ++j) {
        __m512i t;
        if constexpr (kWords) {
          const __m512i u = _mm512_min_epu16(_mm512_sub_epi16(mxw[j], _mm512_maskz_loadu_epi16(mm, row[j] + i)), acapw);
          const __m512i te = _mm512_srl_epi32(_mm512_add_epi32(_mm512_dpwssd_epi32(k.chp, u, k.mhw),
              _mm512_srai_epi32(_mm512_dpwssd_epi32(k.clp, u, k.mlw), 16)), k.g);  // < 2^31
          const __m512i to = _mm512_srl_epi32(_mm512_add_epi32(_mm512_dpwssd_epi32(k.chp, u, mh_odd),
              _mm512_srai_epi32(_mm512_dpwssd_epi32(k.clp, u, ml_odd), 16)), k.g);
          t = _mm512_permutexvar_epi16(unpack, _mm512_packus_epi32(te, to));  // saturated at 2^16 - 1: see above
        } else {
          const __mmask16 m0 = __mmask16(mm), m1 = __mmask16(mm >> 16);
          const __m512i t0 = mag16<kPath>(_mm512_sub_epi32(mxv[j], load16(row[j] + i, m0)), 0, k);  // <= 24 2^7
          const __m512i t1 =
              m1 ? mag16<kPath>(_mm512_sub_epi32(mxv[j], load16(row[j] + i + 16, m1)), 0, k) : _mm512_setzero_si512();
          t = _mm512_permutex2var_epi16(t0, words, t1);  // the 32 exponents as words, in order
        }
        const __m512i f = _mm512_and_si512(t, mask7w), sh = _mm512_srli_epi16(t, kLutFrac);
        const __m512i v = _mm512_mask_blend_epi16(_mm512_test_epi16_mask(f, bit6), _mm512_permutex2var_epi16(exp2.a, f, exp2.b),
                                                  _mm512_permutex2var_epi16(exp2.c, f, exp2.d));
        // rshift_round(v, sh) = ((v >> (sh - 1)) + 1) >> 1 for sh >= 1 (nested floors; 0 from vpsrlvw for
        // sh >= 17, as the reference's for v <= 2^15), and v for sh = 0: the last shift is by min(sh, 1)
        const __m512i one = _mm512_min_epu16(sh, onew);
        __m512i e = _mm512_srlv_epi16(_mm512_add_epi16(_mm512_srlv_epi16(v, _mm512_subs_epu16(sh, onew)), one), one);
        if (mm != ~__mmask32(0)) e = _mm512_maskz_mov_epi16(mm, e);  // the row's tail
        _mm512_storeu_si512(bb[j] + i, p.lnexp ? t : e);
        acc[j] = _mm512_add_epi32(acc[j], _mm512_madd_epi16(_mm512_xor_si512(e, flip), ones));
      }
    }
    int idx[R], len[R];
    for (int j = 0; j < R; ++j) {
      const __m512i wide = _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc[j])),
                                            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc[j], 1)));
      lut_mantissa(_mm512_reduce_add_epi64(wide) + (lanes << 15), idx[j], len[j]);
    }
    if (!p.lnexp) {
      for (int j = 0; j < R; ++j) {
        uint8_t* o = out + (r + j) * n;
        const int sh = len[j] + 6;  // e recip <= 2^30 < 2^(sh-1) for sh >= 32: every output 0
        if (sh >= 32) {
          std::memset(o, 0, size_t(n));
          continue;
        }
        const __m512i rv = _mm512_set1_epi16(int16_t(p.recip[idx[j]])), rnd = _mm512_set1_epi16(int16_t(1 << (sh - 17)));
        const __m128i shv = _mm_cvtsi32_si128(sh - 16);
        for (int64_t i = 0; i < n; i += 32) {
          const __m512i hi = _mm512_mulhi_epu16(_mm512_loadu_si512(bb[j] + i), rv);
          store32(o + i, n - i, _mm512_cvtusepi16_epi8(_mm512_srl_epi16(_mm512_add_epi16(hi, rnd), shv)));  // min(., 255)
        }
      }
    } else {
      __m512i add[R];
      for (int j = 0; j < R; ++j) add[j] = _mm512_set1_epi16(int16_t(((len[j] - 16) << kLutFrac) + p.log2[idx[j]]));  // < 2^13
      auto pass2 = [&](auto bytes) {
        for (int64_t i = 0; i < n; i += 32) {
#pragma GCC unroll 2
          for (int j = 0; j < R; ++j) {
            const __m512i tt = _mm512_adds_epu16(_mm512_loadu_si512(bb[j] + i), add[j]);
            __m512i v;
            if constexpr (decltype(bytes)::value) {
              v = _mm512_add_epi16(_mm512_maskz_permutex2var_epi8(0x5555555555555555ull, bt0, tt, bt1), e2lov);
            } else {
              const __m512i f = _mm512_and_si512(tt, mask7w);
              v = _mm512_mask_blend_epi16(_mm512_test_epi16_mask(f, bit6), _mm512_permutex2var_epi16(exp2s.a, f, exp2s.b),
                                          _mm512_permutex2var_epi16(exp2s.c, f, exp2s.d));
            }
            const __m512i w = _mm512_avg_epu16(_mm512_srlv_epi16(v, _mm512_srli_epi16(tt, kLutFrac)), _mm512_setzero_si512());
            store32(out + (r + j) * n + i, n - i, _mm512_cvtusepi16_epi8(w));
          }
        }
      };
      if (e2bytes) pass2(std::true_type());
      else pass2(std::false_type());
    }
  };
  int64_t r = 0;
  for (; r + 2 <= rows; r += 2) step(std::integral_constant<int, 2>(), r);
  if (r < rows) step(std::integral_constant<int, 1>(), r);
}

// ---- ShiftGELU (shift_lut_one.h's shiftgelu_one) on 32 words per vector: every step fits 16 bits.
// y = hi16(a' m) for a' = min(|q|, 65535 >> l) << l (< 2^16). t = y + ((y >> 1) - (y >> 4)) saturates at
// 2^16 - 1 (vpaddusw); the reference's t is then past 15 2^11 as well, where rho is 0 for both (z >= 16
// shifts the mantissa out; z = 15 with f > 0 leaves mant << 4 < 2^15). rho = min((mant << 4) >> z, 2^15 - 1)
// (vpsrlvw gives 0 for z >= 16); the reciprocal table's 64 knots and slopes sit in two registers each
// (vpermt2w on index bits 0..5), the interpolation is hi16(slope ((rho & 511) << 7)) = (slope (rho & 511)) >> 9.
// Output: |q| s as hi16 / lo16 word pairs interleaved into dwords (vpermt2w), negated for negative q.
struct GeluLanes {
  __m512i acap, m, k0[2], sl[2], mask_f, c2048, c32767, c32768, lo_idx, hi_idx;
  __m128i l;
  explicit GeluLanes(const ShiftGeluParams& p) {
    alignas(64) uint16_t kt[kGeluRecipSegs], st[kGeluRecipSegs];
    for (int j = 0; j < kGeluRecipSegs; ++j) {
      kt[j] = uint16_t(gelu_recip_knot(j));  // <= 2^15
      st[j] = uint16_t(gelu_recip_knot(j) - gelu_recip_knot(j + 1));  // <= 504
    }
    for (int r = 0; r < 2; ++r) k0[r] = _mm512_load_si512(kt + 32 * r), sl[r] = _mm512_load_si512(st + 32 * r);
    acap = _mm512_set1_epi16(int16_t(uint16_t(65535 >> p.l))), m = _mm512_set1_epi16(int16_t(uint16_t(p.m)));
    l = _mm_cvtsi32_si128(p.l);
    mask_f = _mm512_set1_epi16((1 << kGeluK) - 1), c2048 = _mm512_set1_epi16(1 << kGeluK);
    c32767 = _mm512_set1_epi16(32767), c32768 = _mm512_set1_epi16(int16_t(0x8000));
    alignas(64) int16_t li[32], hi[32];
    for (int i = 0; i < 16; ++i) li[2 * i] = int16_t(i), li[2 * i + 1] = int16_t(32 + i);
    for (int i = 0; i < 16; ++i) hi[2 * i] = int16_t(16 + i), hi[2 * i + 1] = int16_t(48 + i);
    lo_idx = _mm512_load_si512(li), hi_idx = _mm512_load_si512(hi);
  }
  // 2^15 sigmoid of 32 magnitudes a (words, <= 2^15 - 1): the positive side s, in [2^14, 2^15]
  __m512i sig_pos(__m512i a) const {
    const __m512i y = _mm512_mulhi_epu16(_mm512_sll_epi16(_mm512_min_epu16(a, acap), l), m);
    const __m512i t = _mm512_adds_epu16(y, _mm512_sub_epi16(_mm512_srli_epi16(y, 1), _mm512_srli_epi16(y, 4)));
    const __m512i mant = _mm512_sub_epi16(c2048, _mm512_avg_epu16(_mm512_and_si512(t, mask_f), _mm512_setzero_si512()));
    const __m512i rho = _mm512_min_epu16(_mm512_srlv_epi16(_mm512_slli_epi16(mant, 15 - kGeluK), _mm512_srli_epi16(t, kGeluK)), c32767);
    const __m512i j = _mm512_srli_epi16(rho, 9);
    const __m512i k = _mm512_permutex2var_epi16(k0[0], j, k0[1]), s = _mm512_permutex2var_epi16(sl[0], j, sl[1]);
    return _mm512_sub_epi16(k, _mm512_mulhi_epu16(s, _mm512_slli_epi16(rho, 7)));
  }
};

template <typename O>
inline void gelu_store(O* out, int64_t left, __m512i v, __mmask16 neg) {
  v = _mm512_mask_sub_epi32(v, neg, _mm512_setzero_si512(), v);
  const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (left < 0 ? 0 : left)) - 1);
  if constexpr (sizeof(O) == 4) {
    if (left >= 16) _mm512_storeu_si512(out, v);
    else _mm512_mask_storeu_epi32(out, m, v);
  } else {
    const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)), hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1));
    _mm512_mask_storeu_epi64(out, __mmask8(m), lo);
    _mm512_mask_storeu_epi64(out + 8, __mmask8(m >> 8), hi);
  }
}

// 32 codes as words (|q| <= 2^15 - 1, checked); the tail's missing lanes read 0
template <typename T>
inline __m512i load32w(const T* q, int64_t left) {
  const __mmask32 m = left >= 32 ? ~__mmask32(0) : __mmask32((uint32_t(1) << left) - 1);
  if constexpr (sizeof(T) == 2) {
    return left >= 32 ? _mm512_loadu_si512(q) : _mm512_maskz_loadu_epi16(m, q);
  } else {
    const __m256i lo = _mm512_cvtepi32_epi16(_mm512_maskz_loadu_epi32(__mmask16(m), q));
    const __m256i hi = _mm512_cvtepi32_epi16(_mm512_maskz_loadu_epi32(__mmask16(m >> 16), q + 16));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
}

// returns the lanes holding -2^15 (int16 codes out of range)
template <typename T, typename O>
inline __mmask32 shiftgelu32(const T* q, int64_t left, const GeluLanes& k, O* out) {
  const __m512i qv = load32w(q, left);
  const __mmask32 neg = _mm512_movepi16_mask(qv);
  const __m512i a = _mm512_abs_epi16(qv);
  const __m512i sp = k.sig_pos(a);
  const __m512i s = _mm512_mask_sub_epi16(sp, neg, k.c32768, sp);  // q < 0: 2^15 - s
  const __m512i lo = _mm512_mullo_epi16(a, s), hi = _mm512_mulhi_epu16(a, s);  // |q| s < 2^30
  gelu_store(out, left, _mm512_permutex2var_epi16(lo, k.lo_idx, hi), __mmask16(neg));
  gelu_store(out + 16, left - 16, _mm512_permutex2var_epi16(lo, k.hi_idx, hi), __mmask16(neg >> 16));
  return _mm512_cmpeq_epi16_mask(qv, k.c32768);
}

template <typename T, typename O>
bool shiftgelu_loop(const T* q, int64_t size, const GeluLanes& k, O* out) {
  int64_t i = 0;
  __mmask32 bad = 0;
  for (; i + 64 <= size; i += 64) {
    bad |= shiftgelu32(q + i, 64, k, out + i);
    bad |= shiftgelu32(q + i + 32, 32, k, out + i + 32);
  }
  for (; i < size; i += 32) bad |= shiftgelu32(q + i, size - i, k, out + i);
  return sizeof(T) != 2 || bad == 0;  // int32 codes: checked by the bindings
}

// ---- NN-LUT GELU (shift_lut.h) on 32 words per vector: w in unsigned words (as the PWL sigmoid's, from
// the codes), the row j from a 128-bucket byte table on w >> B (vpermi2b) plus `steps` compare-and-advance
// steps (past 3, a binary search over the 64 padded rows), the rows' columns by vpermt2w (rows past k repeat
// the last: advancing into them changes nothing); d = hi16(slope (|w - anchor| << shift)) (vpmulhuw,
// >= 0); y = value + d on word pairs: lo = lo16(value) + d, hi = hi16(value) + the carry (lo < d), then
// interleaved into dwords (vpermt2w). Codes q >= q8 (rare: x >= 8) take the identity on 32-bit lanes in
// the vectors that hold one.
struct PwlGeluLanes {
  __m512i st[2], nx[2], an[2], sh[2], sl[2], vl[2], vh[2], bt0, bt1, one, lo_idx, hi_idx, q8w, q8d, id_m0, id_half,
      i32min, i32max, wlo, whi, wbase;
  __m128i bshift, id_sh, rv, rv1;
  int steps;
  bool buckets, ident16, ident32;
  explicit PwlGeluLanes(const PwlGeluParams& p) {
    alignas(64) uint16_t s[kPwlGeluRows], n[kPwlGeluRows], a[kPwlGeluRows], h[kPwlGeluRows], l[kPwlGeluRows],
        vlo[kPwlGeluRows], vhi[kPwlGeluRows];
    for (int j = 0; j < kPwlGeluRows; ++j) {
      const int i = j < p.k ? j : p.k - 1;
      s[j] = p.starts[i], a[j] = p.anchors[i], h[j] = p.shifts[i], l[j] = p.slopes[i];
      vlo[j] = uint16_t(uint32_t(p.values[i]) & 0xFFFF), vhi[j] = uint16_t(uint32_t(p.values[i]) >> 16);
    }
    for (int j = 0; j < kPwlGeluRows; ++j) n[j] = s[j + 1 < kPwlGeluRows ? j + 1 : j];
    for (int r = 0; r < 2; ++r) {
      st[r] = _mm512_load_si512(s + 32 * r), nx[r] = _mm512_load_si512(n + 32 * r), an[r] = _mm512_load_si512(a + 32 * r);
      sh[r] = _mm512_load_si512(h + 32 * r), sl[r] = _mm512_load_si512(l + 32 * r);
      vl[r] = _mm512_load_si512(vlo + 32 * r), vh[r] = _mm512_load_si512(vhi + 32 * r);
    }
    int b = 0;
    while ((p.w_max >> b) >= 128) ++b;
    alignas(64) uint8_t bt[128] = {};
    steps = 0;
    for (int i = 0, j0 = 0, j1 = 0; i <= (p.w_max >> b); ++i) {  // starts increase: two moving pointers
      const int lo = i << b, hi = std::min(lo + (1 << b) - 1, p.w_max);
      while (j0 + 1 < p.k && p.starts[j0 + 1] <= lo) ++j0;  // the row at lo
      j1 = std::max(j1, j0);
      while (j1 + 1 < p.k && p.starts[j1 + 1] <= hi) ++j1;  // the row at hi
      bt[i] = uint8_t(j0);
      steps = std::max(steps, j1 - j0);
    }
    buckets = steps <= 3 && p.k + steps <= kPwlGeluRows;  // advancing stays within the padded rows
    bt0 = _mm512_load_si512(bt), bt1 = _mm512_load_si512(bt + 64);
    bshift = _mm_cvtsi32_si128(b);
    one = _mm512_set1_epi16(1);
    alignas(64) int16_t li[32], hi[32];
    for (int i = 0; i < 16; ++i) li[2 * i] = int16_t(i), li[2 * i + 1] = int16_t(32 + i);
    for (int i = 0; i < 16; ++i) hi[2 * i] = int16_t(16 + i), hi[2 * i + 1] = int16_t(48 + i);
    lo_idx = _mm512_load_si512(li), hi_idx = _mm512_load_si512(hi);
    ident16 = p.q8 <= INT16_MAX, ident32 = p.q8 <= INT32_MAX;
    q8w = _mm512_set1_epi16(int16_t(std::min<int64_t>(p.q8, INT16_MAX))), q8d = _mm512_set1_epi32(int32_t(std::min<int64_t>(p.q8, INT32_MAX)));
    id_m0 = _mm512_set1_epi64(p.id_m0);
    id_half = _mm512_set1_epi64(p.id_shift ? int64_t(1) << (p.id_shift - 1) : 0);
    i32min = _mm512_set1_epi64(INT32_MIN), i32max = _mm512_set1_epi64(INT32_MAX);
    id_sh = _mm_cvtsi32_si128(p.id_shift);
    rv = _mm_cvtsi32_si128(p.r), rv1 = _mm_cvtsi32_si128(p.r ? p.r - 1 : 0);
    // the int16 codes' window [base, base + w_max] within int16 (base <= 0 < base + w_max: it meets it)
    wlo = _mm512_set1_epi16(int16_t(std::max<int64_t>(p.base, INT16_MIN)));
    whi = _mm512_set1_epi16(int16_t(std::min<int64_t>(p.base + p.w_max, INT16_MAX)));
    wbase = _mm512_set1_epi16(int16_t(uint16_t(uint64_t(p.base))));
    small = p.k + (buckets ? steps : 0) <= 32;
  }
  bool small;  // the rows used fit one register (vpermw)
  template <bool kSmall>
  static __m512i col(const __m512i* c, __m512i j) {
    if constexpr (kSmall) return _mm512_permutexvar_epi16(j, c[0]);
    else return _mm512_permutex2var_epi16(c[0], j, c[1]);
  }
  // the 32 outputs' low and high words; kSteps: the bucket steps (0..3), or -1 for the binary search
  template <bool kSmall, int kSteps>
  void eval(__m512i w, __m512i& lo, __m512i& hi) const {
    __m512i j;
    if constexpr (kSteps >= 0) {
      j = _mm512_permutex2var_epi8(bt0, _mm512_srl_epi16(w, bshift), bt1);
      for (int s = 0; s < kSteps; ++s) j = _mm512_mask_add_epi16(j, _mm512_cmple_epu16_mask(col<kSmall>(nx, j), w), j, one);
    } else {
      j = _mm512_setzero_si512();
      for (int step = 32; step > 0; step >>= 1) {
        const __m512i cand = _mm512_add_epi16(j, _mm512_set1_epi16(int16_t(step)));
        j = _mm512_mask_mov_epi16(j, _mm512_cmple_epu16_mask(col<false>(st, cand), w), cand);
      }
    }
    const __m512i x = _mm512_sllv_epi16(_mm512_abs_epi16(_mm512_sub_epi16(w, col<kSmall>(an, j))), col<kSmall>(sh, j));
    const __m512i d = _mm512_mulhi_epu16(col<kSmall>(sl, j), x);
    lo = _mm512_add_epi16(col<kSmall>(vl, j), d);
    const __m512i h = col<kSmall>(vh, j);
    hi = _mm512_mask_add_epi16(h, _mm512_cmplt_epu16_mask(lo, d), h, one);
  }
  // eval on N vectors step by step across them (independent chains interleaved)
  template <bool kSmall, int kSteps, int N>
  void eval_n(const __m512i* w, __m512i* lo, __m512i* hi) const {
    static_assert(kSteps >= 0);
    __m512i j[N], d[N];
    for (int n = 0; n < N; ++n) j[n] = _mm512_permutex2var_epi8(bt0, _mm512_srl_epi16(w[n], bshift), bt1);
    for (int s = 0; s < kSteps; ++s)
      for (int n = 0; n < N; ++n)
        j[n] = _mm512_mask_add_epi16(j[n], _mm512_cmple_epu16_mask(col<kSmall>(nx, j[n]), w[n]), j[n], one);
    for (int n = 0; n < N; ++n)
      d[n] = _mm512_sllv_epi16(_mm512_abs_epi16(_mm512_sub_epi16(w[n], col<kSmall>(an, j[n]))), col<kSmall>(sh, j[n]));
    for (int n = 0; n < N; ++n) d[n] = _mm512_mulhi_epu16(col<kSmall>(sl, j[n]), d[n]);
    for (int n = 0; n < N; ++n) lo[n] = _mm512_add_epi16(col<kSmall>(vl, j[n]), d[n]);
    for (int n = 0; n < N; ++n) {
      const __m512i h = col<kSmall>(vh, j[n]);
      hi[n] = _mm512_mask_add_epi16(h, _mm512_cmplt_epu16_mask(lo[n], d[n]), h, one);
    }
  }
  // rshift_round(q id_m0, id_shift) saturated to int32, on the even (low dword) lanes of q
  __m512i identity_even(__m512i qv) const {
    const __m512i v = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(qv, id_m0), id_half), id_sh);
    return _mm512_min_epi64(_mm512_max_epi64(v, i32min), i32max);
  }
  __m512i identity16(__m512i qv) const { return join(identity_even(qv), identity_even(_mm512_srli_epi64(qv, 32))); }
};

inline __mmask16 lanes16(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (left < 0 ? 0 : left)) - 1);
}

// 32 codes: w (unsigned words in [0, w_max]), and the outputs; the tail's missing lanes read 0 (not stored)
template <bool kSmall, int kSteps, bool kR, typename T>
inline void pwl_gelu32(const T* q, int64_t left, const PwlGeluParams& p, const PwlGeluLanes& k, int32_t* out) {
  const __mmask32 m = left >= 32 ? ~__mmask32(0) : __mmask32((uint32_t(1) << left) - 1);
  __m512i w;
  __mmask32 ident = 0;
  __m512i qd[2];
  if constexpr (sizeof(T) == 2) {
    const __m512i qv = left >= 32 ? _mm512_loadu_si512(q) : _mm512_maskz_loadu_epi16(m, q);
    if (k.ident16) ident = _mm512_cmpge_epi16_mask(qv, k.q8w);
    __m512i t = qv;
    if constexpr (kR)  // round(q / 2^r) = (q >> r) + ((q >> (r - 1)) & 1), without the overflow of q + 1 at r = 1
      t = _mm512_add_epi16(_mm512_sra_epi16(t, k.rv), _mm512_and_si512(_mm512_sra_epi16(t, k.rv1), k.one));
    w = _mm512_sub_epi16(_mm512_min_epi16(_mm512_max_epi16(t, k.wlo), k.whi), k.wbase);  // in [0, w_max] mod 2^16
    if (ident) {
      qd[0] = _mm512_cvtepi16_epi32(_mm512_castsi512_si256(qv));
      qd[1] = _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(qv, 1));
    }
  } else {
    const int64_t lo = std::max<int64_t>(p.base, INT32_MIN), hi = std::min<int64_t>(p.base + p.w_max, INT32_MAX);
    const __m512i lov = _mm512_set1_epi32(int32_t(lo)), hiv = _mm512_set1_epi32(int32_t(hi));
    const __m512i bv = _mm512_set1_epi32(int32_t(p.base)), one32 = _mm512_set1_epi32(1);
    __m256i h[2];
    for (int i = 0; i < 2; ++i) {
      qd[i] = _mm512_maskz_loadu_epi32(__mmask16(m >> (16 * i)), q + 16 * i);
      if (k.ident32) ident |= __mmask32(_mm512_cmpge_epi32_mask(qd[i], k.q8d)) << (16 * i);
      __m512i t = qd[i];
      if constexpr (kR)  // as for int16 codes: no q + 1 at r = 1 (INT32_MAX)
        t = _mm512_add_epi32(_mm512_sra_epi32(t, k.rv), _mm512_and_si512(_mm512_sra_epi32(t, k.rv1), one32));
      h[i] = _mm512_cvtepi32_epi16(_mm512_sub_epi32(_mm512_min_epi32(_mm512_max_epi32(t, lov), hiv), bv));
    }
    w = _mm512_inserti64x4(_mm512_castsi256_si512(h[0]), h[1], 1);
  }
  __m512i lo, hi;
  k.eval<kSmall, kSteps>(w, lo, hi);
  __m512i y[2] = {_mm512_permutex2var_epi16(lo, k.lo_idx, hi), _mm512_permutex2var_epi16(lo, k.hi_idx, hi)};
  if (ident) {
    for (int i = 0; i < 2; ++i) y[i] = _mm512_mask_mov_epi32(y[i], __mmask16(ident >> (16 * i)), k.identity16(qd[i]));
  }
  if (left >= 32) {
    _mm512_storeu_si512(out, y[0]);
    _mm512_storeu_si512(out + 16, y[1]);
  } else {
    _mm512_mask_storeu_epi32(out, lanes16(left), y[0]);
    _mm512_mask_storeu_epi32(out + 16, lanes16(left - 16), y[1]);
  }
}

template <bool kSmall, int kSteps, bool kR, typename T>
void pwl_gelu_loop(const T* q, int64_t size, const PwlGeluParams& p, const PwlGeluLanes& k, int32_t* out) {
  int64_t i = 0;
  if constexpr (sizeof(T) == 2 && kSteps >= 0) {  // int16 codes by the table: 8 vectors interleaved (4: ~4% slower)
    constexpr int N = 8;
    for (; i + 32 * N <= size; i += 32 * N) {
      __m512i qv[N], w[N], lo[N], hi[N];
      __mmask32 ident = 0;
      for (int n = 0; n < N; ++n) qv[n] = _mm512_loadu_si512(q + i + 32 * n);
      if (k.ident16)
        for (int n = 0; n < N; ++n) ident |= _mm512_cmpge_epi16_mask(qv[n], k.q8w);
      if (ident) {  // a code on the identity (x >= 8, rare): these vectors one by one
        for (int n = 0; n < N; ++n) pwl_gelu32<kSmall, kSteps, kR>(q + i + 32 * n, 32, p, k, out + i + 32 * n);
        continue;
      }
      for (int n = 0; n < N; ++n) {
        __m512i t = qv[n];
        if constexpr (kR)  // as pwl_gelu32
          t = _mm512_add_epi16(_mm512_sra_epi16(t, k.rv), _mm512_and_si512(_mm512_sra_epi16(t, k.rv1), k.one));
        w[n] = _mm512_sub_epi16(_mm512_min_epi16(_mm512_max_epi16(t, k.wlo), k.whi), k.wbase);
      }
      k.eval_n<kSmall, kSteps, N>(w, lo, hi);
      for (int n = 0; n < N; ++n) {
        _mm512_storeu_si512(out + i + 32 * n, _mm512_permutex2var_epi16(lo[n], k.lo_idx, hi[n]));
        _mm512_storeu_si512(out + i + 32 * n + 16, _mm512_permutex2var_epi16(lo[n], k.hi_idx, hi[n]));
      }
    }
  }
  for (; i + 32 <= size; i += 32) pwl_gelu32<kSmall, kSteps, kR>(q + i, 32, p, k, out + i);
  if (i < size) pwl_gelu32<kSmall, kSteps, kR>(q + i, size - i, p, k, out + i);
}

template <bool kSmall, int kSteps, typename T>
void pwl_gelu_r(const T* q, int64_t size, const PwlGeluParams& p, const PwlGeluLanes& k, int32_t* out) {
  if (p.r) pwl_gelu_loop<kSmall, kSteps, true>(q, size, p, k, out);
  else pwl_gelu_loop<kSmall, kSteps, false>(q, size, p, k, out);
}

template <bool kSmall, typename T>
void pwl_gelu_steps(const T* q, int64_t size, const PwlGeluParams& p, const PwlGeluLanes& k, int32_t* out) {
  if (!k.buckets) return pwl_gelu_r<false, -1>(q, size, p, k, out);  // the search reads the 64 padded rows
  switch (k.steps) {
    case 0: return pwl_gelu_r<kSmall, 0>(q, size, p, k, out);
    case 1: return pwl_gelu_r<kSmall, 1>(q, size, p, k, out);
    case 2: return pwl_gelu_r<kSmall, 2>(q, size, p, k, out);
    default: return pwl_gelu_r<kSmall, 3>(q, size, p, k, out);
  }
}

}  // namespace

template <typename T>
void shiftmax_avx512(const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out) {
  static const int64_t zero_from = shift_exp_zero_from();
  const int64_t c = round_c(p.shift, true);
  int64_t acap = first_reaching(p.dclip, p.m0, p.shift, c, zero_from);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 65535);
  if constexpr (sizeof(T) == 2) {
    if (ShiftWords::fits(p.m0, p.shift, acap)) return shiftmax_rows_w(q, rows, n, ShiftWords(p.m0, p.shift, acap), out);
  }
  const Mag k(p.m0, p.shift, c, acap, zero_from);
  avx512::with_path(k.path, [&](auto path) { shiftmax_rows<decltype(path)::value>(q, rows, n, k, out); });
}

template <typename T>
void lut_softmax_avx512(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out) {
  const int64_t c = round_c(p.shift, false);
  int64_t acap = first_reaching(p.dcap, p.m0, p.shift, c, kLutTMax);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 65535);
  const Mag k(p.m0, p.shift, c, acap, kLutTMax);
  avx512::with_path(k.path, [&](auto path) { lut_rows<decltype(path)::value>(q, rows, n, p, k, out); });
}

// int16 codes into int32, N blocks of 32 step by step across the blocks (the chains are long; interleaving
// independent ones keeps the pipes busy; 8 blocks ran ~12% faster than 4), no mask registers: s' = q < 0 ? 2^15 - s : s in [0, 2^15] by a
// bitwise select on q's sign word, the product q s' (|q s'| < 2^30) as vpmullw and vpmulhuw of q read as
// unsigned (q + 2^16 where q < 0) less s' where q < 0. The input is loaded with its 64-bit chunks ordered
// 0,4,1,5,2,6,3,7, so vpunpck{l,h}wd of the halves are outputs 0-15 and 16-31. -2^15 (out of range) is the
// only code whose |q| has bit 15 set: the OR of all |q| tells.
template <int N>
inline __m512i shiftgelu_blocks(const int16_t* q, const GeluLanes& k, int32_t* out, __m512i bad) {
  const __m512i perm = _mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7);
  __m512i qv[N], a[N], sp[N], neg[N], s[N], lo[N], hi[N];
  for (int j = 0; j < N; ++j) qv[j] = _mm512_permutexvar_epi64(perm, _mm512_loadu_si512(q + 32 * j));
  for (int j = 0; j < N; ++j) a[j] = _mm512_abs_epi16(qv[j]), bad = _mm512_or_si512(bad, a[j]);
  for (int j = 0; j < N; ++j) sp[j] = k.sig_pos(a[j]);
  for (int j = 0; j < N; ++j) neg[j] = _mm512_srai_epi16(qv[j], 15);
  for (int j = 0; j < N; ++j) s[j] = _mm512_ternarylogic_epi64(neg[j], _mm512_sub_epi16(k.c32768, sp[j]), sp[j], 0xCA);
  for (int j = 0; j < N; ++j) lo[j] = _mm512_mullo_epi16(qv[j], s[j]);
  for (int j = 0; j < N; ++j) hi[j] = _mm512_sub_epi16(_mm512_mulhi_epu16(qv[j], s[j]), _mm512_and_si512(neg[j], s[j]));
  for (int j = 0; j < N; ++j) {
    _mm512_storeu_si512(out + 32 * j, _mm512_unpacklo_epi16(lo[j], hi[j]));
    _mm512_storeu_si512(out + 32 * j + 16, _mm512_unpackhi_epi16(lo[j], hi[j]));
  }
  return bad;
}

template <typename T, typename O>
bool shiftgelu_avx512(const T* q, int64_t size, const ShiftGeluParams& p, O* out) {
  const GeluLanes k(p);
  if constexpr (std::is_same_v<T, int16_t> && std::is_same_v<O, int32_t>) {
    __m512i bad = _mm512_setzero_si512();
    int64_t i = 0;
    for (; i + 256 <= size; i += 256) bad = shiftgelu_blocks<8>(q + i, k, out + i, bad);
    for (; i + 32 <= size; i += 32) bad = shiftgelu_blocks<1>(q + i, k, out + i, bad);
    const bool ok = _mm512_movepi16_mask(bad) == 0;
    return shiftgelu_loop(q + i, size - i, k, out + i) && ok;  // the last < 32 codes (masked)
  }
  return shiftgelu_loop(q, size, k, out);
}

template <typename T>
void pwl_gelu_avx512(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out) {
  // a window that misses int16's range (never gelu_plan's: base <= 0 < base + w_max) would wrap in wlo / whi
  if (sizeof(T) == 2 && (p.base > INT16_MAX || p.base + p.w_max < INT16_MIN)) return pwl_gelu_scalar(q, size, p, out);
  const PwlGeluLanes k(p);
  if (k.small) pwl_gelu_steps<true>(q, size, p, k, out);
  else pwl_gelu_steps<false>(q, size, p, k, out);
}

#define LOWBIT_SHIFT_LUT_AVX512(T)                                                                   \
  template void shiftmax_avx512<T>(const T*, int64_t, int64_t, const ShiftmaxParams&, uint8_t*);     \
  template bool shiftgelu_avx512<T, int32_t>(const T*, int64_t, const ShiftGeluParams&, int32_t*);   \
  template bool shiftgelu_avx512<T, int64_t>(const T*, int64_t, const ShiftGeluParams&, int64_t*);   \
  template void lut_softmax_avx512<T>(const T*, int64_t, int64_t, const LutSoftmaxParams&, uint8_t*); \
  template void pwl_gelu_avx512<T>(const T*, int64_t, const PwlGeluParams&, int32_t*);
LOWBIT_SHIFT_LUT_AVX512(int16_t)
LOWBIT_SHIFT_LUT_AVX512(int32_t)

}  // namespace lowbit
