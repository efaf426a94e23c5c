// AVX-512 I-BERT softmax / GELU / LayerNorm, bit-exact with intops_one.h. 16 codes per step; row tails use masked
// loads and stores, so every element goes through the same vector code.
// GELU of int16 codes into int32 has a third path, in 16-bit lanes (gelu16 below), where the shift is at
// most 32. Softmax and GELU have two paths: a fast one where the constants allow the dyadic rescale in 32-bit
// lanes (intops_fast.h: shift in [16, 47] and a provably harmless clamp of the multiplicand to 16 bits, which
// holds for every 16-bit input at the scales a model uses), and the general one, whose 32x32 -> 64-bit
// products run on even and odd lanes separately (vpmuldq) and are clamped back into int32 range before
// the lanes are recombined. LayerNorm keeps 64-bit lanes only for its two products that need them.
#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <type_traits>
#include <vector>

#include "intops.h"
#include "intops_extra.h"
#include "intops_fast.h"
#include "ibert_exp_avx512.h"
#include "intops_one.h"
#include "rows_avx512.h"

namespace lowbit {
namespace {

using avx512::join;
using avx512::load16;
using avx512::row_max;
using avx512::store16;
using avx512::tail_mask;
using avx512::ExpLanes;
using avx512::exp_row;

// rshift_round(v * m0, shift) of the even (low dword) lanes of v, as int64; half = 2^(shift-1) or 0
inline __m512i rescale_even(__m512i v, __m512i m0, __m512i half, __m128i shift) {
  return _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(v, m0), half), shift);
}


}  // namespace

// The general softmax: any constants the bindings accept (64-bit even / odd rescale).
template <typename T>
void softmax_general(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  ebuf.resize(size_t(n));
  int32_t* e = ebuf.data();
  const __m512i m0 = _mm512_set1_epi64(p.m0);
  const __m512i half = _mm512_set1_epi64(p.shift ? int64_t(1) << (p.shift - 1) : 0);
  const __m128i shift = _mm_cvtsi32_si128(p.shift);
  const __m512i xmin = _mm512_set1_epi64(kExpMin), qb = _mm512_set1_epi32(p.qb), qc = _mm512_set1_epi32(p.qc);
  const __m512i one = _mm512_set1_epi32(1), lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i round54 = _mm512_set1_epi64(int64_t(1) << (kSoftmaxOutShift - 1)), u8max = _mm512_set1_epi32(255);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const int32_t mx = row_max(row, n);
    // clamping q at max - dclip (not below INT32_MIN) is the reference's clamp of q - max at -dclip,
    // and it keeps q - max inside int32 (>= -2^31)
    const __m512i lo = _mm512_set1_epi32(int32_t(std::max<int64_t>(int64_t(mx) - p.dclip, INT32_MIN)));
    const __m512i mxv = _mm512_set1_epi32(mx);
    __m512i sum_even = _mm512_setzero_si512(), sum_odd = _mm512_setzero_si512();
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = tail_mask(n - i);
      const __m512i d = _mm512_sub_epi32(_mm512_max_epi32(load16(row + i, m), lo), mxv);
      // x = max(rshift_round(d * m0, shift), -30 * 2^14): non-positive, fits int32 after the clamp
      const __m512i x_even = _mm512_max_epi64(rescale_even(d, m0, half, shift), xmin);
      const __m512i x_odd = _mm512_max_epi64(rescale_even(_mm512_srli_epi64(d, 32), m0, half, shift), xmin);
      const __m512i x = join(x_even, x_odd);
      const __m512i z = _mm512_srli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), x), kExpK);
      const __m512i t = _mm512_add_epi32(_mm512_add_epi32(x, _mm512_slli_epi32(z, kExpK)), qb);
      // t in [1, 2^15) (checked qb), so its high 16 bits are 0 and vpmaddwd squares it in one uop
      const __m512i poly = _mm512_add_epi32(_mm512_madd_epi16(t, t), qc);  // in (0, 2^31): checked
      // rshift_round(poly, z) unsigned: poly + 2^(z-1) < 2^32
      const __m512i rnd = _mm512_srli_epi32(_mm512_sllv_epi32(one, z), 1);
      const __m512i ev = _mm512_maskz_srlv_epi32(m, _mm512_add_epi32(poly, rnd), z);
      store16(e + i, m, ev);
      sum_even = _mm512_add_epi64(sum_even, _mm512_and_si512(ev, lo32));
      sum_odd = _mm512_add_epi64(sum_odd, _mm512_srli_epi64(ev, 32));
    }
    const int64_t total = _mm512_reduce_add_epi64(_mm512_add_epi64(sum_even, sum_odd));
    // total >= the max element's exp > 2^30, so factor < 2^32 and e * factor is one vpmuludq
    const __m512i f = _mm512_set1_epi64((int64_t(1) << 62) / total);
    uint8_t* o = out + r * n;
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = tail_mask(n - i);
      const __m512i ev = load16(e + i, m);
      const __m512i p_even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epu32(ev, f), round54), kSoftmaxOutShift);
      const __m512i p_odd =
          _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(ev, 32), f), round54), kSoftmaxOutShift);
      store16(o + i, m, _mm512_cvtepi32_epi8(_mm512_min_epu32(join(p_even, p_odd), u8max)));
    }
  }
}

namespace {

// 16 probabilities from e[0..16) (and e[16], read for the odd lanes): (hi32(e f) + 2^21) >> 22 equals
// rshift_round(e f, 54), since the rounding term 2^53 leaves the low 32 bits untouched. e < 2^31, f < 2^32.
inline __m512i prob16(const int32_t* e, __m512i f, __m512i idx_hi, __m512i rnd) {
  const __m512i pe = _mm512_mul_epu32(_mm512_loadu_si512(e), f);
  const __m512i po = _mm512_mul_epu32(_mm512_loadu_si512(e + 1), f);  // low dwords: e[1], e[3], ...
  const __m512i hi = _mm512_permutex2var_epi32(pe, idx_hi, po);
  return _mm512_srli_epi32(_mm512_add_epi32(hi, rnd), kSoftmaxOutShift - 32);  // <= 256
}

// Pass 2 of a row: uint8 probabilities from the exps and factor = floor(2^62 / sum).
inline void prob_row(const int32_t* e, int64_t n, int64_t factor, uint8_t* o) {
  const __m512i fv = _mm512_set1_epi64(factor);
  const __m512i idx_hi = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  // packus of four 16-lane vectors leaves 4-byte groups in lane-major order; this puts them back
  const __m512i unlane = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i rnd = _mm512_set1_epi32(1 << (kSoftmaxOutShift - 33));
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i ab = _mm512_packus_epi32(prob16(e + i, fv, idx_hi, rnd), prob16(e + i + 16, fv, idx_hi, rnd));
    const __m512i cd = _mm512_packus_epi32(prob16(e + i + 32, fv, idx_hi, rnd), prob16(e + i + 48, fv, idx_hi, rnd));
    // packus saturates 256 (p = 1) to 255, the reference's min(., 255)
    _mm512_storeu_si512(o + i, _mm512_permutexvar_epi32(unlane, _mm512_packus_epi16(ab, cd)));
  }
  for (; i < n; i += 16) store16(o + i, tail_mask(n - i), _mm512_cvtusepi32_epi8(prob16(e + i, fv, idx_hi, rnd)));
}

// 16-bit codes with the word rescale (ibert_exp_avx512.h's word layout), pipelined as softmax_fast, and
// each row's max taken one row ahead, off the critical path of its exps.
// noinline: as lis_rows_words (intops_extra_avx512.cpp), whose row loop ran ~10% slower inlined
__attribute__((noinline)) void softmax_words(const int16_t* q, int64_t rows, int64_t n, const ExpLanes& kref,
                                             uint8_t* out) {
  const ExpLanes k = kref;  // in registers (ibert_exp_avx512.h's ExpLanes)
  thread_local std::vector<int32_t> ebuf_tls;
  const int64_t stride = ((n + 31) & ~int64_t(31)) + 16;  // whole 32-blocks, + 16: prob16_54 reads one past
  ebuf_tls.assign(size_t(2 * stride), 0);
  int32_t* const ebuf = ebuf_tls.data();  // once: each use of the thread_local is a __tls_get_addr call
  int64_t prev_total = 0;
  int32_t mx_next = avx512::row_max16(q, n);
  for (int64_t r = 0; r <= rows; ++r) {
    int64_t total = 0;
    if (r < rows) {
      const int32_t mx = mx_next;
      if (r + 1 < rows) mx_next = avx512::row_max16(q + (r + 1) * n, n);
      total = avx512::exp_row_words(q + r * n, n, mx, k, ebuf + (r & 1) * stride);
    }
    if (r > 0)
      avx512::prob_row_words(ebuf + ((r - 1) & 1) * stride, n, (int64_t(1) << 62) / prev_total, out + (r - 1) * n);
    prev_total = total;
  }
}

// Rows are software-pipelined: pass 1 of row r, then pass 2 of row r - 1, so that the division of
// row r's factor runs while row r - 1 is written.
template <typename T>
void softmax_fast(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, const SoftmaxFast& f,
                  uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = (n + 32 + 15) & ~int64_t(15);  // padded: prob16 reads one past a vector
  ebuf.assign(size_t(2 * stride), 0);
  const ExpLanes k(p, f);
  if constexpr (sizeof(T) == 2) {
    if (k.word) return softmax_words(q, rows, n, k, out);
  }
  int64_t prev_total = 0;
  for (int64_t r = 0; r <= rows; ++r) {
    int64_t total = 0;
    if (r < rows) total = exp_row(q + r * n, n, k, ebuf.data() + (r & 1) * stride);
    // the previous row's sum >= its max element's exp > 2^30, so the factor is < 2^32
    if (r > 0) prob_row(ebuf.data() + ((r - 1) & 1) * stride, n, (int64_t(1) << 62) / prev_total, out + (r - 1) * n);
    prev_total = total;
  }
}

}  // namespace

template <typename T>
void ibert_softmax_avx512(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  const SoftmaxFast f = softmax_fast(p, sizeof(T) == 2);
  if (f.ok) softmax_fast(q, rows, n, p, f, out);
  else softmax_general(q, rows, n, p, out);
}

template <typename T, typename O>
void gelu_general(const T* q, int64_t size, const GeluParams& p, O* out) {
  const __m512i m0 = _mm512_set1_epi64(p.m0);
  const __m512i half = _mm512_set1_epi64(p.shift ? int64_t(1) << (p.shift - 1) : 0);
  const __m128i shift = _mm_cvtsi32_si128(p.shift);
  const __m512i clip_lo = _mm512_set1_epi32(int32_t(-p.clip));  // clip <= 2^31
  const __m512i clip_hi = _mm512_set1_epi32(int32_t(std::min<int64_t>(p.clip, INT32_MAX)));
  const __m512i cap = _mm512_set1_epi64(1 << kErfK), k = _mm512_set1_epi32(1 << kErfK);
  const __m512i qc = _mm512_set1_epi32(p.qc + (1 << (kErfDrop - 1)));  // with the rounding term
  const __m512i one = _mm512_set1_epi32(ibert_gelu_one_constant(p));
  for (int64_t i = 0; i < size; i += 16) {
    const __mmask16 m = tail_mask(size - i);
    const __m512i qv = load16(q + i, m);
    const __m512i c = _mm512_min_epi32(_mm512_max_epi32(qv, clip_lo), clip_hi);
    const __m512i xe_even = _mm512_min_epi64(_mm512_abs_epi64(rescale_even(c, m0, half, shift)), cap);
    const __m512i xe_odd = _mm512_min_epi64(_mm512_abs_epi64(rescale_even(_mm512_srli_epi64(c, 32), m0, half, shift)), cap);
    // (xe - 2^12)^2 as (2^12 - xe)^2: in [0, 2^12], high 16 bits 0, so vpmaddwd squares it in one uop
    const __m512i t = _mm512_sub_epi32(k, join(xe_even, xe_odd));
    const __m512i mag = _mm512_srli_epi32(_mm512_sub_epi32(qc, _mm512_madd_epi16(t, t)), kErfDrop);  // >= 0
    const __mmask16 neg = _mm512_cmplt_epi32_mask(qv, _mm512_setzero_si512());
    const __mmask16 nonzero = _mm512_test_epi32_mask(qv, qv);
    const __m512i erf = _mm512_maskz_mov_epi32(nonzero, _mm512_mask_sub_epi32(mag, neg, _mm512_setzero_si512(), mag));
    const __m512i g = _mm512_add_epi32(erf, one);
    if constexpr (std::is_same_v<O, int32_t>) {  // checked to fit: |q| <= 2^15, |g| <= 2 one < 2^16
      store16(out + i, m, _mm512_mullo_epi32(qv, g));
    } else {
      // q * g in order, as int64 (|q| <= 2^31, |g| < 2^16)
      const __m512i y_lo = _mm512_mul_epi32(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(qv)),
                                            _mm512_cvtepi32_epi64(_mm512_castsi512_si256(g)));
      const __m512i y_hi = _mm512_mul_epi32(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(qv, 1)),
                                            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(g, 1)));
      if (m == 0xFFFF) {
        _mm512_storeu_si512(out + i, y_lo);
        _mm512_storeu_si512(out + i + 8, y_hi);
      } else {
        _mm512_mask_storeu_epi64(out + i, __mmask8(m), y_lo);
        _mm512_mask_storeu_epi64(out + i + 8, __mmask8(m >> 8), y_hi);
      }
    }
  }
}

namespace {

// q (erf + one) = q one + |q| mag as int32 (16-bit codes), or q g as int64, g = one +- mag
template <typename O>
inline void gelu_store(O* out, __mmask16 m, __m512i qv, __m512i a, __m512i mag, __mmask16 neg, __m512i one) {
  if constexpr (std::is_same_v<O, int32_t>) {  // |q| <= 2^15, mag <= one < 2^15: |q one| + |q| mag < 2^31
    store16(out, m, _mm512_add_epi32(_mm512_mullo_epi32(qv, one), _mm512_mullo_epi32(a, mag)));
  } else {
    const __m512i g = _mm512_mask_sub_epi32(_mm512_add_epi32(one, mag), neg, one, mag);  // |g| < 2^21
    const __m512i y_lo = _mm512_mul_epi32(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(qv)),
                                          _mm512_cvtepi32_epi64(_mm512_castsi512_si256(g)));
    const __m512i y_hi = _mm512_mul_epi32(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(qv, 1)),
                                          _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(g, 1)));
    if (m == 0xFFFF) {
      _mm512_storeu_si512(out, y_lo);
      _mm512_storeu_si512(out + 8, y_hi);
    } else {
      _mm512_mask_storeu_epi64(out, __mmask8(m), y_lo);
      _mm512_mask_storeu_epi64(out + 8, __mmask8(m >> 8), y_hi);
    }
  }
}

// GELU in 32-bit lanes (intops_fast.h): xe = floor((a m0 + c) / 2^shift) with a = min(|q|, acap) <= 2^16 - 1
template <typename T, typename O>
void gelu_fast(const T* q, int64_t size, const GeluParams& p, const GeluFast& f, O* out) {
  const __m512i acap = _mm512_set1_epi32(int32_t(f.acap));
  const __m512i ml = _mm512_set1_epi32(int32_t(f.r.ml)), mh = _mm512_set1_epi32(int32_t(f.r.mh));
  const __m512i ch = _mm512_set1_epi32(int32_t(f.r.ch)), cl_neg = _mm512_set1_epi32(int32_t(f.cl_neg));
  const __m512i ones = _mm512_set1_epi32(1), cap = _mm512_set1_epi32(1 << kErfK);
  const __m128i g = _mm_cvtsi32_si128(f.r.g);
  const __m512i qc = _mm512_set1_epi32(p.qc + (1 << (kErfDrop - 1)));  // with the rounding term
  const __m512i one = _mm512_set1_epi32(ibert_gelu_one_constant(p));
  for (int64_t i = 0; i < size; i += 16) {
    const __mmask16 m = tail_mask(size - i);
    const __m512i qv = load16(q + i, m);
    const __m512i a = _mm512_abs_epi32(qv);  // |INT32_MIN| reads as 2^31 unsigned: the min below takes it
    const __mmask16 neg = _mm512_movepi32_mask(qv);
    const __m512i ac = _mm512_min_epu32(a, acap);
    // a negative q rounds its product with 2^(shift-1) - 1: low half 0xFFFF, high half ch - 1
    const __m512i lo = _mm512_srli_epi32(_mm512_mask_add_epi32(_mm512_mullo_epi32(ac, ml), neg, _mm512_mullo_epi32(ac, ml), cl_neg), 16);
    const __m512i hi = _mm512_mask_sub_epi32(_mm512_add_epi32(_mm512_mullo_epi32(ac, mh), ch), neg,
                                             _mm512_add_epi32(_mm512_mullo_epi32(ac, mh), ch), ones);
    const __m512i xe = _mm512_min_epu32(_mm512_srl_epi32(_mm512_add_epi32(hi, lo), g), cap);
    // (xe - 2^12)^2 as (2^12 - xe)^2: in [0, 2^12], high 16 bits 0, so vpmaddwd squares it in one uop
    const __m512i t = _mm512_sub_epi32(cap, xe);
    const __m512i mag = _mm512_srli_epi32(_mm512_sub_epi32(qc, _mm512_madd_epi16(t, t)), kErfDrop);  // >= 0
    gelu_store(out + i, m, qv, a, mag, neg, one);
  }
}

// GELU of int16 codes into int32 in 16-bit lanes, 32 codes per block, with no mask registers (carries by
// vpavgw instead of compares into masks). With c = clamp(q, +-acap) (as in gelu_fast),
// L = 32 - shift >= 0 and c' = c 2^L (|c'| < 2^15, checked), the signed rounded rescale is
//   xe_s = rshift_round(c m0, shift) = floor((c' m0 + 2^31) / 2^32)
// and with m0 = wh 2^16 + wl (wl in [-2^15, 2^15): wh takes the carry), t = floor(c' wl / 2^16) (vpmulhw,
// |t| <= 2^14) and P = c' wh (|P| < 2^30, as 16-bit halves from vpmullw / vpmulhw):
//   xe_s = floor((P + t + 2^15) / 2^16) = high half of P + carry of (low half of P + t + 2^15)
// (nested floors; t + 2^15 in [0, 2^16)); the carry is bit 15 of vpavgw(lo, t + 2^15 - 1) = (lo + t + 2^15) / 2.
// xe = min(|xe_s|, 2^12) as the reference, tt = 2^12 - xe. With qc + 2^9 = one 2^10 + b (0 <= b < 2^10)
// and tt^2 = F 2^10 + f, the reference's
//   mag = floor((qc + 2^9 - tt^2) / 2^10) = one - E,   E = F + [f > b] in [0, one],
// F = vpmulhuw(8 tt, 8 tt) (8 tt <= 2^15), 2^6 f = vpmullw(8 tt, 8 tt), and [f > b] is the carry of
// 2^6 f + (2^16 - 2^6 (b + 1)) (2^6 f has its low 6 bits 0), again by vpavgw. q (erf + one) = q g with
// g = E for q < 0 and 2 one - E for q >= 0 (q = 0 gives 0 either way), g in [0, 2^16); the product's high
// half is vpmulhuw's of q as unsigned (q + 2^16 where q < 0) less g where q < 0. The input is loaded with
// its 64-bit chunks ordered 0,4,1,5,2,6,3,7, so vpunpck{l,h}wd of the product's halves are outputs 0-15
// and 16-31.
struct Gelu16 {
  bool ok;
  int16_t acap, wh, wl, two_one;
  uint16_t kb;  // 2^16 - 2^6 (b + 1) - 1, or 0 for b = 2^10 - 1 (no f exceeds it)
  int lsh;
};

inline Gelu16 gelu16(const GeluParams& p, const GeluFast& f) {
  Gelu16 h{};
  if (!f.ok || p.shift > 32 || p.m0 < 0) return h;  // f.ok: 17 <= shift
  const int lsh = 32 - p.shift;
  const int64_t wl = p.m0 & 0xFFFF, wh = (int64_t(p.m0) >> 16) + (wl >= 0x8000);
  const int64_t one = ibert_gelu_one_constant(p);
  if ((int64_t(f.acap) << lsh) > 32767 || wh > 32767 || one < 0 || one > 32767) return h;
  const int64_t b = (int64_t(p.qc) + (1 << (kErfDrop - 1))) & 1023;
  h.ok = true;
  h.acap = int16_t(f.acap);
  h.wh = int16_t(wh);
  h.wl = int16_t(wl >= 0x8000 ? wl - 0x10000 : wl);
  h.two_one = int16_t(uint16_t(2 * one));  // < 2^16: as bits
  h.kb = b == 1023 ? 0 : uint16_t(65536 - 64 * (b + 1) - 1);
  h.lsh = lsh;
  return h;
}

// the 32 outputs of qv (chunks ordered 0,4,1,5,2,6,3,7)
struct Gelu16Lanes {
  __m512i lo, hi, wh, wl, bias, cap, kb, two_one;
  __m128i lsh;
  explicit Gelu16Lanes(const Gelu16& h)
      : lo(_mm512_set1_epi16(int16_t(-h.acap))), hi(_mm512_set1_epi16(h.acap)), wh(_mm512_set1_epi16(h.wh)),
        wl(_mm512_set1_epi16(h.wl)), bias(_mm512_set1_epi16(0x7FFF)), cap(_mm512_set1_epi16(1 << kErfK)),
        kb(_mm512_set1_epi16(int16_t(h.kb))), two_one(_mm512_set1_epi16(h.two_one)), lsh(_mm_cvtsi32_si128(h.lsh)) {}
  // N blocks of 32 codes, step by step across the blocks: the chains are long (~25 dependent ops), so
  // interleaving independent ones is what keeps the pipes busy
  template <int N>
  inline void run(const int16_t* q, int32_t* out) const {
    const __m512i perm = _mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7);
    __m512i qv[N], c[N], u[N], plo[N], phi[N], t8[N], e[N], neg[N], g[N], ylo[N], yhi[N];
    for (int j = 0; j < N; ++j) qv[j] = _mm512_permutexvar_epi64(perm, _mm512_loadu_si512(q + 32 * j));
    for (int j = 0; j < N; ++j) c[j] = _mm512_sll_epi16(_mm512_min_epi16(_mm512_max_epi16(qv[j], lo), hi), lsh);
    for (int j = 0; j < N; ++j) u[j] = _mm512_add_epi16(_mm512_mulhi_epi16(c[j], wl), bias);  // t + 2^15 - 1
    for (int j = 0; j < N; ++j) plo[j] = _mm512_mullo_epi16(c[j], wh);
    for (int j = 0; j < N; ++j) phi[j] = _mm512_mulhi_epi16(c[j], wh);
    for (int j = 0; j < N; ++j) {
      const __m512i xe_s = _mm512_add_epi16(phi[j], _mm512_srli_epi16(_mm512_avg_epu16(plo[j], u[j]), 15));
      t8[j] = _mm512_slli_epi16(_mm512_sub_epi16(cap, _mm512_min_epu16(_mm512_abs_epi16(xe_s), cap)), 3);
    }
    for (int j = 0; j < N; ++j) {
      const __m512i gt = _mm512_srli_epi16(_mm512_avg_epu16(_mm512_mullo_epi16(t8[j], t8[j]), kb), 15);
      e[j] = _mm512_add_epi16(_mm512_mulhi_epu16(t8[j], t8[j]), gt);
    }
    for (int j = 0; j < N; ++j) {
      neg[j] = _mm512_srai_epi16(qv[j], 15);
      g[j] = _mm512_ternarylogic_epi64(neg[j], e[j], _mm512_sub_epi16(two_one, e[j]), 0xCA);  // neg ? e : 2 one - e
    }
    for (int j = 0; j < N; ++j) ylo[j] = _mm512_mullo_epi16(qv[j], g[j]);
    for (int j = 0; j < N; ++j) yhi[j] = _mm512_sub_epi16(_mm512_mulhi_epu16(qv[j], g[j]), _mm512_and_si512(neg[j], g[j]));
    for (int j = 0; j < N; ++j) {
      _mm512_storeu_si512(out + 32 * j, _mm512_unpacklo_epi16(ylo[j], yhi[j]));
      _mm512_storeu_si512(out + 32 * j + 16, _mm512_unpackhi_epi16(ylo[j], yhi[j]));
    }
  }
};

void gelu16(const int16_t* q, int64_t size, const GeluParams& p, const GeluFast& f, const Gelu16& h, int32_t* out) {
  const Gelu16Lanes l(h);
  int64_t i = 0;
  for (; i + 128 <= size; i += 128) l.run<4>(q + i, out + i);
  for (; i + 32 <= size; i += 32) l.run<1>(q + i, out + i);
  if (i < size) gelu_fast(q + i, size - i, p, f, out + i);  // the last < 32 codes, masked 32-bit lanes
}

}  // namespace

template <typename T, typename O>
void ibert_gelu_avx512(const T* q, int64_t size, const GeluParams& p, O* out) {
  const GeluFast f = gelu_fast(p, sizeof(T) == 2);
  if constexpr (std::is_same_v<T, int16_t> && std::is_same_v<O, int32_t>) {
    const Gelu16 h = gelu16(p, f);
    if (h.ok) return gelu16(q, size, p, f, h, out);
  }
  if (f.ok) gelu_fast(q, size, p, f, out);
  else gelu_general(q, size, p, out);
}

namespace {

// Row sums of q and q^2. 16-bit codes: vpmaddwd pairs (q0 + q1, and q0^2 + q1^2 < 2^31 for |q| < 2^15),
// per-lane sums < 2^15 * 2 * 2^14 / 32 < 2^31; the squares widen to 64-bit lanes.
inline void row_sums(const int16_t* row, int64_t n, int64_t& s, int64_t& s2) {
  const __m512i ones = _mm512_set1_epi16(1), lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  __m512i sv = _mm512_setzero_si512(), a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 32) {
    const int64_t left = n - i;
    const __mmask32 m = left >= 32 ? ~__mmask32(0) : __mmask32((1u << left) - 1);
    const __m512i v = _mm512_maskz_loadu_epi16(m, row + i);
    sv = _mm512_add_epi32(sv, _mm512_madd_epi16(v, ones));
    const __m512i sq = _mm512_madd_epi16(v, v);
    a = _mm512_add_epi64(a, _mm512_and_si512(sq, lo32));
    b = _mm512_add_epi64(b, _mm512_srli_epi64(sq, 32));
  }
  s = _mm512_reduce_add_epi32(sv);
  s2 = _mm512_reduce_add_epi64(_mm512_add_epi64(a, b));
}
inline void row_sums(const int32_t* row, int64_t n, int64_t& s, int64_t& s2) {
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  __m512i sv = _mm512_setzero_si512(), a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 16) {  // per lane |sum| <= 2^10 * 2^15 and q^2 < 2^30: no overflow
    const __m512i v = load16(row + i, tail_mask(n - i));
    sv = _mm512_add_epi32(sv, v);
    const __m512i sq = _mm512_mullo_epi32(v, v);
    a = _mm512_add_epi64(a, _mm512_and_si512(sq, lo32));
    b = _mm512_add_epi64(b, _mm512_srli_epi64(sq, 32));
  }
  s = _mm512_reduce_add_epi32(sv);
  s2 = _mm512_reduce_add_epi64(_mm512_add_epi64(a, b));
}

// A PTF row for the LayerNorm (FQ-ViT, intops_extra.h): x = (q - zp) << alpha_c from the uint8 codes
// (|x| < 2^11, so the int16 paths' bounds hold); [i] for the scalar rows.
struct PtfRow {
  const uint8_t* q;
  const uint8_t* alpha;
  int32_t zp;
  int64_t operator[](int64_t i) const { return int64_t(int32_t(q[i]) - zp) * (1 << alpha[i]); }
};
// row_sums of a PTF row: x on 32 words per step (masked lanes 0), then as the int16 codes' sums; x is also
// stored (whole 32-word blocks) for the normalising pass, which then reads int16 codes as ibert_layernorm's.
// aw: alpha as words (widened once per call). |x| <= 255 * 8 = 2040, so a vpmaddwd pair of squares is at
// most 2 * 2040^2 < 2^23 and a lane's sum over n / 32 <= 512 steps stays below 2^32: unsigned 32-bit lanes,
// widened once per row (no 64-bit split per step).
inline void row_sums(const PtfRow& row, const int16_t* aw, int64_t n, int64_t& s, int64_t& s2, int16_t* x) {
  const __m512i ones = _mm512_set1_epi16(1), zp = _mm512_set1_epi16(int16_t(row.zp));
  __m512i sv = _mm512_setzero_si512(), sq = _mm512_setzero_si512();
  for (int64_t i = 0; i < n; i += 32) {
    const int64_t left = n - i;
    const __mmask32 m = left >= 32 ? ~__mmask32(0) : __mmask32((1u << left) - 1);
    const __m512i qv = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, row.q + i));
    const __m512i v = _mm512_maskz_sllv_epi16(m, _mm512_sub_epi16(qv, zp), _mm512_loadu_si512(aw + i));
    _mm512_storeu_si512(x + i, v);
    sv = _mm512_add_epi32(sv, _mm512_madd_epi16(v, ones));
    sq = _mm512_add_epi32(sq, _mm512_madd_epi16(v, v));
  }
  s = _mm512_reduce_add_epi32(sv);
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  s2 = _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_and_si512(sq, lo32), _mm512_srli_epi64(sq, 32)));
}

// Per-channel constants in the kernel's lane order: for each block of 16 channels, the 8 even channels
// then the 8 odd ones, as int64 (m0 in the low dword for vpmuldq), zero past n.
struct LnChannels {
  std::vector<int64_t> m0, br, sh;
  void build(const LayerNormParams& p, int64_t n) {
    const int64_t padded = (n + 15) & ~int64_t(15);
    m0.assign(size_t(padded), 0), br.assign(size_t(padded), 0), sh.assign(size_t(padded), 0);
    for (int64_t c = 0; c < n; ++c) {
      const int64_t j = (c & ~int64_t(15)) + (c & 1) * 8 + ((c & 15) >> 1);
      m0[size_t(j)] = p.m0[c];
      sh[size_t(j)] = p.shift[c];
      br[size_t(j)] = p.beta[c] + (p.shift[c] ? int64_t(1) << (p.shift[c] - 1) : 0);
    }
  }
};

// One normalised row. y = rshift_round(d inv, ys) with d = (q << 8) - mean computed as
// (dp inv + B) >> ys, where dp = d + 2^24 in [0, 2^25) (|d| < 2^24) and inv < 2^32 (the caller checks) are
// both unsigned 32-bit, so one vpmuludq per 8 lanes, and B = 2^(ys-1) - 2^24 inv. |y| <= 2^23 + 1, so the
// affine y m0 (vpmuldq: < 2^54) + beta (|beta| <= 2^62) fits int64; vpmovsqb saturates like the clamp.
template <typename Row>  // const int16_t* or const int32_t*: row + i, then load16
void ln_row(Row row, int64_t n, const LnRow& st, const LnChannels& ch, int8_t* o) {
  const __m512i mp = _mm512_set1_epi32(int32_t((int64_t(1) << 24) - st.mean));
  const __m512i inv = _mm512_set1_epi64(st.inv);
  const __m512i b = _mm512_set1_epi64((int64_t(1) << (st.y_shift - 1)) - (st.inv << 24));  // y_shift >= 15
  const __m128i ys = _mm_cvtsi32_si128(st.y_shift);
  const int64_t* m0 = ch.m0.data();
  const int64_t* br = ch.br.data();
  const int64_t* sh = ch.sh.data();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i dp = _mm512_add_epi32(_mm512_slli_epi32(load16(row + i, m), kLnF), mp);
    const __m512i ye = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epu32(dp, inv), b), ys);
    const __m512i yo = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(dp, 32), inv), b), ys);
    const __m512i ve = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(ye, _mm512_loadu_si512(m0 + i)),
                                                          _mm512_loadu_si512(br + i)),
                                         _mm512_loadu_si512(sh + i));
    const __m512i vo = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(yo, _mm512_loadu_si512(m0 + i + 8)),
                                                          _mm512_loadu_si512(br + i + 8)),
                                         _mm512_loadu_si512(sh + i + 8));
    store16(o + i, m, _mm_unpacklo_epi8(_mm512_cvtsepi64_epi8(ve), _mm512_cvtsepi64_epi8(vo)));
  }
}

}  // namespace

// Rows in blocks of 8: the row statistics (sums, then divisions and the square root in scalar code) of
// a block first, so that their long scalar chains overlap, then the block's vector pass.
template <typename T>
void ibert_layernorm_avx512(const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out) {
  thread_local LnChannels ch;
  ch.build(p, n);
  constexpr int64_t kBlock = 8;
  LnRow st[kBlock];
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t nb = std::min(kBlock, rows - r0);
    for (int64_t j = 0; j < nb; ++j) {
      int64_t s, s2;
      row_sums(q + (r0 + j) * n, n, s, s2);
      st[j] = ibert_layernorm_row_fast(s, s2, n, p.eps);
    }
    for (int64_t j = 0; j < nb; ++j) {
      const T* row = q + (r0 + j) * n;
      int8_t* o = out + (r0 + j) * n;
      if (st[j].inv <= int64_t(0xFFFFFFFF)) {
        ln_row(row, n, st[j], ch, o);
      } else {  // sigma = 2^30 exactly (inv = 2^32) or a zero variance (sigma = 1): rare, scalar
        for (int64_t i = 0; i < n; ++i) o[i] = ibert_layernorm_one(row[i], i, st[j], p);
      }
    }
  }
}

// The I-BERT LayerNorm of PTF rows: the sums pass shifts the uint8 codes into x (int16, |x| < 2^11) and
// keeps a block's x (8 rows, at most 256 KiB), which the normalising pass reads as ibert_layernorm_avx512's
// int16 codes (one load and widening per 16 instead of two byte loads, a subtract and a variable shift)
void ptf_layernorm_avx512(const uint8_t* q, int64_t rows, int64_t n, int32_t zp, const uint8_t* alpha,
                          const LayerNormParams& p, int8_t* out) {
  thread_local LnChannels ch;
  ch.build(p, n);
  constexpr int64_t kBlock = 8;
  const int64_t stride = (n + 31) & ~int64_t(31);
  // row_sums' unsigned 32-bit square sums hold for n <= 2^14 (the bindings' bound); past it, the portable path
  if (n > (int64_t(1) << 14)) return ptf_layernorm(Isa::scalar, q, rows, n, zp, alpha, p, out);
  thread_local std::vector<int16_t> xbuf, awbuf;
  if (xbuf.size() < size_t(kBlock * stride)) xbuf.resize(size_t(kBlock * stride));
  if (awbuf.size() < size_t(stride)) awbuf.resize(size_t(stride));
  int16_t* const aw = awbuf.data();  // alpha as words, zero past n (read by whole 32-word blocks)
  for (int64_t c = 0; c < stride; ++c) aw[c] = c < n ? int16_t(alpha[c]) : 0;
  int16_t* const xb = xbuf.data();
  LnRow st[kBlock];
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t nb = std::min(kBlock, rows - r0);
    for (int64_t j = 0; j < nb; ++j) {
      int64_t s, s2;
      row_sums(PtfRow{q + (r0 + j) * n, alpha, zp}, aw, n, s, s2, xb + j * stride);
      st[j] = ibert_layernorm_row_fast(s, s2, n, p.eps);
    }
    for (int64_t j = 0; j < nb; ++j) {
      const PtfRow row{q + (r0 + j) * n, alpha, zp};
      int8_t* o = out + (r0 + j) * n;
      if (st[j].inv <= int64_t(0xFFFFFFFF)) {
        ln_row(static_cast<const int16_t*>(xb + j * stride), n, st[j], ch, o);
      } else {  // as ibert_layernorm_avx512
        for (int64_t i = 0; i < n; ++i) o[i] = ibert_layernorm_one(row[i], i, st[j], p);
      }
    }
  }
}

// min and max of the codes on 32 (int16) or 16 (int32) lanes, then the bounds
template <typename T>
bool codes_within_avx512(const T* q, int64_t size, int32_t lo, int32_t hi) {
  constexpr int64_t kLanes = 64 / sizeof(T);
  __m512i mn = _mm512_set1_epi32(INT32_MAX), mx = _mm512_set1_epi32(INT32_MIN);
  if constexpr (sizeof(T) == 2) mn = _mm512_set1_epi16(INT16_MAX), mx = _mm512_set1_epi16(INT16_MIN);
  int64_t i = 0;
  for (; i + kLanes <= size; i += kLanes) {
    const __m512i v = _mm512_loadu_si512(q + i);
    if constexpr (sizeof(T) == 2) mn = _mm512_min_epi16(mn, v), mx = _mm512_max_epi16(mx, v);
    else mn = _mm512_min_epi32(mn, v), mx = _mm512_max_epi32(mx, v);
  }
  alignas(64) T a[kLanes], b[kLanes];
  _mm512_store_si512(a, mn), _mm512_store_si512(b, mx);
  int32_t lo_seen = INT32_MAX, hi_seen = INT32_MIN;
  for (int64_t j = 0; j < kLanes; ++j) lo_seen = std::min<int32_t>(lo_seen, a[j]), hi_seen = std::max<int32_t>(hi_seen, b[j]);
  for (; i < size; ++i) lo_seen = std::min<int32_t>(lo_seen, q[i]), hi_seen = std::max<int32_t>(hi_seen, q[i]);
  return lo_seen >= lo && hi_seen <= hi;
}
template bool codes_within_avx512<int16_t>(const int16_t*, int64_t, int32_t, int32_t);
template bool codes_within_avx512<int32_t>(const int32_t*, int64_t, int32_t, int32_t);

template void ibert_layernorm_avx512<int16_t>(const int16_t*, int64_t, int64_t, const LayerNormParams&, int8_t*);
template void ibert_layernorm_avx512<int32_t>(const int32_t*, int64_t, int64_t, const LayerNormParams&, int8_t*);
template void ibert_softmax_avx512<int16_t>(const int16_t*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);
template void ibert_softmax_avx512<int32_t>(const int32_t*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);
template void ibert_gelu_avx512<int16_t, int64_t>(const int16_t*, int64_t, const GeluParams&, int64_t*);
template void ibert_gelu_avx512<int32_t, int64_t>(const int32_t*, int64_t, const GeluParams&, int64_t*);
template void ibert_gelu_avx512<int16_t, int32_t>(const int16_t*, int64_t, const GeluParams&, int32_t*);
template void ibert_gelu_avx512<int32_t, int32_t>(const int32_t*, int64_t, const GeluParams&, int32_t*);

}  // namespace lowbit
