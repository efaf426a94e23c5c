// AVX-512 Log-Int-Softmax, NN-LUT softmax and PWL sigmoid / tanh, bit-exact with intops_extra_scalar.cpp.
// 16 codes per step (the PWL activations: 32 words); row tails use masked loads and stores.
// Log-Int-Softmax: the exps come from the I-BERT softmax's 32-bit pass (ibert_exp_avx512.h); the per-element
// division of the reference is replaced by intops_extra.h's thresholds, 15 per row, so that k is a 4-step
// binary search over one register (vpermd + compare). Constants outside the 32-bit exp path run the
// scalar kernel (they need shift outside [16, 47] or a clamp above 16 bits: not a model's scales).
// NN-LUT softmax: the magnitude rescale of the Shift / LUT kernels (mag_avx512.h), then pwl_avx512.h.
// PWL sigmoid / tanh: the rows of pwl.pwl_plan on the codes, every step in 16 bits (PwlActLanes).
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "ibert_exp_avx512.h"
#include "intops_extra.h"
#include "mag_avx512.h"
#include "pwl_avx512.h"
#include "rows_avx512.h"
#include "shift_lut_one.h"

namespace lowbit {
namespace {

using avx512::ExpLanes;
using avx512::exp_row;
using avx512::join;
using avx512::load16;
using avx512::Mag;
using avx512::mag16;
using avx512::store16;
using avx512::tail_mask;

// k of 16 exps: the number of leading thresholds thr[0..15) with e <= thr (thr[15] = -1 stops the search)
inline __m512i lis_codes16(__m512i e, __m512i thr) {
  __m512i j = _mm512_setzero_si512();
  for (int step = 8; step > 0; step >>= 1) {
    const __m512i t = _mm512_permutexvar_epi32(_mm512_add_epi32(j, _mm512_set1_epi32(step - 1)), thr);
    j = _mm512_mask_add_epi32(j, _mm512_cmpge_epi32_mask(t, e), j, _mm512_set1_epi32(step));
  }
  return j;
}

// Rows software-pipelined as the I-BERT softmax's: the exps and thresholds of row r, then the codes of row
// r - 1, so that row r's scalar threshold arithmetic overlaps vector work.
template <typename T>
void lis_rows(const T* q, int64_t rows, int64_t n, const ExpLanes& k, uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = (n + 32 + 15) & ~int64_t(15);  // exp_row writes whole 32-element blocks
  ebuf.assign(size_t(2 * stride), 0);
  alignas(64) int32_t thr[2][16];
  thr[0][15] = thr[1][15] = -1;
  for (int64_t r = 0; r <= rows; ++r) {
    if (r < rows) lis_thresholds(exp_row(q + r * n, n, k, ebuf.data() + (r & 1) * stride), thr[r & 1]);
    if (r == 0) continue;
    const int32_t* e = ebuf.data() + ((r - 1) & 1) * stride;
    const __m512i tv = _mm512_load_si512(thr[(r - 1) & 1]);
    uint8_t* o = out + (r - 1) * n;
    for (int64_t i = 0; i < n; i += 16)
      store16(o + i, tail_mask(n - i), _mm512_cvtepi32_epi8(lis_codes16(_mm512_loadu_si512(e + i), tv)));
  }
}

// ---- PWL sigmoid / tanh on 32 words per vector (intops_extra.h): w in unsigned words, the row j from a
// 128-bucket byte table on w >> B (vpermi2b; the index's high byte is 0 and reads bucket 0's row, 0) plus
// `steps` compare-and-advance steps (the most row starts inside one bucket; past 3, a binary search over
// the 64 padded rows), the rows' four columns by vpermt2w (rows past k repeat the last: advancing into them
// changes nothing), the product's high half (vpmulhuw) plus the carry of its low half (vpmullw) + frac
// (one compare against 2^16 - 1 - frac):
// (s x + c) >> 16 with x = (w - start) << shift < 2^16, added to the value: wrapping where no row's sum can
// pass 2^15 - 1 (then clamped, or not for clipless plans), else saturating (vpaddusw on the values offset
// by 2^15, the clamp on offset words: one op more).
enum { kPwlClipless, kPwlClamp, kPwlSaturate };
struct PwlActLanes {
  __m512i st[2], nx[2], va[2], fr[2], sl[2], sh[2], bt0, bt1, one, bias, ylo, yhi;
  __m128i bshift;
  int steps, mode;
  bool buckets;
  explicit PwlActLanes(const PwlActParams& p) {
    alignas(64) uint16_t s[kPwlActRows], n[kPwlActRows], v[kPwlActRows], l[kPwlActRows], h[kPwlActRows], c[kPwlActRows];
    // a row's values rise with w (slopes >= 0): its last w decides whether value + add can pass 2^15 - 1
    mode = p.clip ? kPwlClamp : kPwlClipless;
    for (int j = 0; j < p.k && p.clip; ++j) {
      const int64_t last = (j + 1 < p.k ? int64_t(p.starts[j + 1]) - 1 : int64_t(p.w_max)) - p.starts[j];
      if (p.values[j] + ((int64_t(p.slopes[j]) * (last << p.shifts[j]) + p.fracs[j]) >> 16) > INT16_MAX) mode = kPwlSaturate;
    }
    const uint16_t off = mode == kPwlSaturate ? 0x8000 : 0;  // kPwlSaturate: values offset by 2^15 (eval)
    for (int j = 0; j < kPwlActRows; ++j) {
      const int i = j < p.k ? j : p.k - 1;
      s[j] = p.starts[i], v[j] = uint16_t(uint16_t(p.values[i]) ^ off), l[j] = p.slopes[i], h[j] = p.shifts[i];
      c[j] = uint16_t(65535 - p.fracs[i]);  // lo + frac carries exactly when lo > 65535 - frac
    }
    for (int j = 0; j < kPwlActRows; ++j) n[j] = s[j + 1 < kPwlActRows ? j + 1 : j];
    for (int r = 0; r < 2; ++r) {
      st[r] = _mm512_load_si512(s + 32 * r), nx[r] = _mm512_load_si512(n + 32 * r), va[r] = _mm512_load_si512(v + 32 * r);
      sl[r] = _mm512_load_si512(l + 32 * r), sh[r] = _mm512_load_si512(h + 32 * r), fr[r] = _mm512_load_si512(c + 32 * r);
    }
    int b = 0;
    while ((p.w_max >> b) >= 128) ++b;
    alignas(64) uint8_t bt[128] = {};
    steps = 0;
    for (int i = 0; i <= (p.w_max >> b); ++i) {
      const int lo = i << b, hi = std::min(lo + (1 << b) - 1, p.w_max);
      int j0 = 0, inside = 0;
      for (int j = 0; j < p.k; ++j) {
        if (p.starts[j] <= lo) j0 = j;
        else if (p.starts[j] <= hi) ++inside;
      }
      bt[i] = uint8_t(j0);
      steps = std::max(steps, inside);
    }
    buckets = steps <= 3 && p.k + steps <= kPwlActRows;  // advancing stays within the padded rows
    bt0 = _mm512_load_si512(bt), bt1 = _mm512_load_si512(bt + 64);
    bshift = _mm_cvtsi32_si128(b);
    one = _mm512_set1_epi16(1), bias = _mm512_set1_epi16(int16_t(off));
    ylo = _mm512_set1_epi16(int16_t(uint16_t(p.y_lo) ^ off)), yhi = _mm512_set1_epi16(int16_t(uint16_t(p.y_hi) ^ off));
  }
  static __m512i col(const __m512i* c, __m512i j) { return _mm512_permutex2var_epi16(c[0], j, c[1]); }
  template <int kMode>
  __m512i eval(__m512i w) const {
    __m512i j;
    if (buckets) {
      j = _mm512_permutex2var_epi8(bt0, _mm512_srl_epi16(w, bshift), bt1);
      for (int s = 0; s < steps; ++s) j = _mm512_mask_add_epi16(j, _mm512_cmple_epu16_mask(col(nx, j), w), j, one);
    } else {
      j = _mm512_setzero_si512();
      for (int step = 32; step > 0; step >>= 1) {
        const __m512i cand = _mm512_add_epi16(j, _mm512_set1_epi16(int16_t(step)));
        j = _mm512_mask_mov_epi16(j, _mm512_cmple_epu16_mask(col(st, cand), w), cand);
      }
    }
    const __m512i x = _mm512_sllv_epi16(_mm512_sub_epi16(w, col(st, j)), col(sh, j));
    const __m512i s = col(sl, j), lo = _mm512_mullo_epi16(s, x), hi = _mm512_mulhi_epu16(s, x);  // hi <= 2^16 - 2
    const __m512i add = _mm512_mask_add_epi16(hi, _mm512_cmpgt_epu16_mask(lo, col(fr, j)), hi, one);
    if constexpr (kMode == kPwlClipless) return _mm512_add_epi16(col(va, j), add);  // within [y_lo, y_hi]
    if constexpr (kMode == kPwlClamp) return _mm512_min_epi16(_mm512_max_epi16(_mm512_add_epi16(col(va, j), add), ylo), yhi);
    // value + add may pass 2^15 - 1 (the reference then clamps to y_hi): saturated, as unsigned words on the
    // value offset by 2^15 (the column holds it so, vpaddusw), and the clamp on the offset words
    const __m512i y = _mm512_adds_epu16(col(va, j), add);
    return _mm512_xor_si512(_mm512_min_epu16(_mm512_max_epu16(y, ylo), yhi), bias);
  }
};

// w of 32 codes (the tail's missing lanes read 0, harmless: their outputs are not stored)
template <typename T>
inline __m512i pwl_w32(const T* q, int64_t left, const PwlActParams& p) {
  const __mmask32 m = left >= 32 ? ~__mmask32(0) : __mmask32((uint32_t(1) << left) - 1);
  if constexpr (sizeof(T) == 2) {
    __m512i t = left >= 32 ? _mm512_loadu_si512(q) : _mm512_maskz_loadu_epi16(m, q);
    if (p.r)  // round(q / 2^r) = (q >> r) + ((q >> (r - 1)) & 1), without the overflow of q + 1 at r = 1
      t = _mm512_add_epi16(_mm512_sra_epi16(t, _mm_cvtsi32_si128(p.r)),
                           _mm512_and_si512(_mm512_sra_epi16(t, _mm_cvtsi32_si128(p.r - 1)), _mm512_set1_epi16(1)));
    const int64_t lo = std::max<int64_t>(p.base, INT16_MIN), hi = std::min<int64_t>(p.base + p.w_max, INT16_MAX);
    t = _mm512_min_epi16(_mm512_max_epi16(t, _mm512_set1_epi16(int16_t(lo))), _mm512_set1_epi16(int16_t(hi)));
    return _mm512_sub_epi16(t, _mm512_set1_epi16(int16_t(uint16_t(uint64_t(p.base)))));  // in [0, w_max] mod 2^16
  } else {
    const int64_t lo = std::max<int64_t>(p.base, INT32_MIN), hi = std::min<int64_t>(p.base + p.w_max, INT32_MAX);
    const __m512i lov = _mm512_set1_epi32(int32_t(lo)), hiv = _mm512_set1_epi32(int32_t(hi));
    const __m512i bv = _mm512_set1_epi32(int32_t(uint32_t(uint64_t(p.base))));
    __m256i h[2];
    for (int k = 0; k < 2; ++k) {
      __m512i t = _mm512_maskz_loadu_epi32(__mmask16(m >> (16 * k)), q + 16 * k);
      if (p.r)  // as for int16 codes: no q + 1 at r = 1 (INT32_MAX)
        t = _mm512_add_epi32(_mm512_sra_epi32(t, _mm_cvtsi32_si128(p.r)),
                             _mm512_and_si512(_mm512_sra_epi32(t, _mm_cvtsi32_si128(p.r - 1)), _mm512_set1_epi32(1)));
      h[k] = _mm512_cvtepi32_epi16(_mm512_sub_epi32(_mm512_min_epi32(_mm512_max_epi32(t, lov), hiv), bv));
    }
    return _mm512_inserti64x4(_mm512_castsi256_si512(h[0]), h[1], 1);
  }
}

template <int kMode, typename T>
void pwl_act_loop(const T* q, int64_t size, const PwlActParams& p, const PwlActLanes& k, int16_t* out) {
  int64_t i = 0;
  for (; i + 32 <= size; i += 32) _mm512_storeu_si512(out + i, k.eval<kMode>(pwl_w32(q + i, 32, p)));
  if (i < size)
    _mm512_mask_storeu_epi16(out + i, (uint32_t(1) << (size - i)) - 1, k.eval<kMode>(pwl_w32(q + i, size - i, p)));
}

// ---- NN-LUT softmax

// out = min(rshift_round(e r, sh), 255) for 16 exps e < 2^31 and r < 2^31, sh in [33, 62]: from the high
// dword of e r (vpmuludq), as rshift_round(v, sh) = (hi32(v) + 2^(sh-33)) >> (sh - 32) (the rounding term
// is a multiple of 2^32)
inline __m128i nnlut_out16(__m512i e, __m512i rv, __m512i idx_hi, __m512i rnd, __m128i sh32) {
  const __m512i hi = _mm512_permutex2var_epi32(_mm512_mul_epu32(e, rv), idx_hi, _mm512_mul_epu32(_mm512_srli_epi64(e, 32), rv));
  return _mm512_cvtusepi32_epi8(_mm512_srl_epi32(_mm512_add_epi32(hi, rnd), sh32));
}

template <int kPath, bool kWord, typename T>
void nnlut_rows(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, const Mag& k,
                const avx512::PwlEval& ev, uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  ebuf.assign(size_t((n + 15) & ~int64_t(15)), 0);
  int32_t* e = ebuf.data();
  const __m512i fmask = _mm512_set1_epi32((1 << p.frac) - 1), onev = _mm512_set1_epi32(1);
  const __m128i fsh = _mm_cvtsi32_si128(p.frac);
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i idx_hi = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const __m512i mxv = _mm512_set1_epi32(avx512::row_max_any(row, n));
    __m512i acc_lo = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = tail_mask(n - i);
      const __m512i t = mag16<kPath>(_mm512_sub_epi32(mxv, load16(row + i, m)), 0, k);  // <= tmax
      const __m512i u = _mm512_and_si512(t, fmask), z = _mm512_srl_epi32(t, fsh);       // z <= 31
      const __m512i y = ev.value<kWord>(ev.segment(u), u, u);                              // in [0, 2^31 - 1)
      // rshift_round(y, z) = ((y >> (z - 1)) + 1) >> 1 for z >= 1, y for z = 0 (as in lut_rows)
      const __m512i one = _mm512_min_epu32(z, onev);
      __m512i ev16 = _mm512_srlv_epi32(_mm512_add_epi32(_mm512_srlv_epi32(y, _mm512_sub_epi32(z, one)), one), one);
      if (m != 0xFFFF) ev16 = _mm512_maskz_mov_epi32(m, ev16);
      _mm512_storeu_si512(e + i, ev16);
      acc_lo = _mm512_add_epi64(acc_lo, _mm512_and_si512(ev16, lo32));
      acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(ev16, 32));
    }
    int64_t rc;
    int sh;
    nnlut_row_recip(_mm512_reduce_add_epi64(_mm512_add_epi64(acc_lo, acc_hi)), p, rc, sh);
    uint8_t* o = out + r * n;
    if (sh < 33) {  // only for tables whose exps sum below 2^11 (not nnlut's): scalar
      for (int64_t i = 0; i < n; ++i) {
        const int64_t v = rshift_round(int64_t(e[i]) * rc, sh);
        o[i] = uint8_t(v > 255 ? 255 : v);
      }
      continue;
    }
    const __m512i rv = _mm512_set1_epi64(rc), rnd = _mm512_set1_epi32(1 << (sh - 33));
    const __m128i sh32 = _mm_cvtsi32_si128(sh - 32);
    for (int64_t i = 0; i < n; i += 16) store16(o + i, tail_mask(n - i), nnlut_out16(_mm512_loadu_si512(e + i), rv, idx_hi, rnd, sh32));
  }
}

}  // namespace

template <typename T>
void nnlut_softmax_avx512(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out) {
  if (p.binary) return nnlut_softmax_scalar(q, rows, n, p, out);  // scales >= ~4.5e4: not a model's
  const int64_t c = round_c(p.shift, false);
  int64_t acap = first_reaching(p.dcap, p.m0, p.shift, c, p.tmax);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 65535);
  const Mag k(p.m0, p.shift, c, acap, p.tmax);
  const avx512::PwlEval ev(p.exp.starts, p.exp.slopes, p.exp.icpts, p.exp.k, 0, (1 << p.frac) - 1, p.exp.pshift);
  avx512::with_path(k.path, [&](auto path) {
    if (ev.word) nnlut_rows<decltype(path)::value, true>(q, rows, n, p, k, ev, out);
    else nnlut_rows<decltype(path)::value, false>(q, rows, n, p, k, ev, out);
  });
}

template void nnlut_softmax_avx512<int16_t>(const int16_t*, int64_t, int64_t, const NnlutSoftmaxParams&, uint8_t*);
template void nnlut_softmax_avx512<int32_t>(const int32_t*, int64_t, int64_t, const NnlutSoftmaxParams&, uint8_t*);

template <typename T>
void log_int_softmax_avx512(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  const SoftmaxFast f = softmax_fast(p, sizeof(T) == 2);
  if (!f.ok) return log_int_softmax_scalar(q, rows, n, p, out);
  lis_rows(q, rows, n, ExpLanes(p, f), out);
}

template <typename T>
void pwl_act_avx512(const T* q, int64_t size, const PwlActParams& p, int16_t* out) {
  // the codes' window [base, base + w_max] must meet T's range for the clamps in T's lanes (else every code
  // reads one end: the scalar kernel, as for any other constants)
  constexpr int64_t tmin = sizeof(T) == 2 ? INT16_MIN : INT32_MIN, tmax = sizeof(T) == 2 ? INT16_MAX : INT32_MAX;
  if (p.base > tmax || p.base + p.w_max < tmin) return pwl_act_scalar(q, size, p, out);
  const PwlActLanes k(p);
  if (k.mode == kPwlClipless) pwl_act_loop<kPwlClipless>(q, size, p, k, out);
  else if (k.mode == kPwlClamp) pwl_act_loop<kPwlClamp>(q, size, p, k, out);
  else pwl_act_loop<kPwlSaturate>(q, size, p, k, out);
}

uint8_t max_u8_avx512(const uint8_t* q, int64_t size) {
  __m512i mx = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 64 <= size; i += 64) mx = _mm512_max_epu8(mx, _mm512_loadu_si512(q + i));
  if (i < size) mx = _mm512_max_epu8(mx, _mm512_maskz_loadu_epi8((~__mmask64(0)) >> (64 - (size - i)), q + i));
  alignas(64) uint8_t b[64];
  _mm512_store_si512(b, mx);
  uint8_t top = 0;
  for (uint8_t v : b) top = v > top ? v : top;
  return top;
}

template void log_int_softmax_avx512<int16_t>(const int16_t*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);
template void log_int_softmax_avx512<int32_t>(const int32_t*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);
template void pwl_act_avx512<int16_t>(const int16_t*, int64_t, const PwlActParams&, int16_t*);
template void pwl_act_avx512<int32_t>(const int32_t*, int64_t, const PwlActParams&, int16_t*);

}  // namespace lowbit
