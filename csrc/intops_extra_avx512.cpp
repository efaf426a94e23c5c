// AVX-512 Log-Int-Softmax, PWL sigmoid / tanh and NN-LUT softmax, bit-exact with intops_extra_scalar.cpp. 16
// codes per step (32 on the word layouts of 16-bit codes and the PWL activations); row tails use masked
// loads and stores.
// Log-Int-Softmax: the exps come from the I-BERT softmax's 32-bit pass (ibert_exp_avx512.h, its word layout
// for 16-bit codes); the per-element division of the reference is replaced by intops_extra.h's thresholds,
// 15 per row, so that k is a 4-step binary search (compares against blended broadcasts, then one vpermd).
// Constants outside the 32-bit exp path run the scalar kernel (they need shift outside [16, 47] or a clamp
// above 16 bits: not a model's scales).
// PWL sigmoid / tanh: the rows of pwl.pwl_plan on the codes, every step in 16 bits (PwlActLanes).
// NN-LUT softmax: the magnitude rescale of the Shift / LUT kernels (mag_avx512.h), then pwl_avx512.h's
// segment search, or for 16-bit codes its word layout (NnlutWords).
//
// Measured on Zen 5 (2026-12-06): multiplies (vpdpwssd, vpmuludq), shifts, permutes and compares into masks
// share about two issues per cycle between them, while adds, ands, min / max and blends have more room; the
// word layouts trade the former for the latter where they can.
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
using avx512::store32;
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

// k of 16 exps by the same search with its first three steps on blends of broadcast thresholds (cheap ops,
// where a permute competes with the multiplies and shifts) and only the last one on a permute: after the
// steps of 8 and 4 (thr[7], then thr[3] or thr[11]), the step of 2 tests thr[j + 1] in {1, 5, 9, 13}
// (selected by the two earlier outcomes), the step of 1 thr[j] by vpermd.
struct LisTables {
  __m512i t0, e1, e3, e5, e7, e9, e11, e13;
  // from lis_quotients: saturated to int32 (vpmovsqd: INT32_MAX past it, as lis_thresholds' cap), lane 15 -1
  explicit LisTables(const int64_t* q) {
    t0 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtsepi64_epi32(_mm512_load_si512(q))),
                            _mm512_cvtsepi64_epi32(_mm512_load_si512(q + 8)), 1);
    alignas(64) int32_t thr[16];  // broadcast loads (no shuffles) of the lanes the blends take
    _mm512_store_si512(thr, t0);
    __asm__ volatile("" : : "m"(thr) : "memory");  // keep the loads (gcc turns them into 14 shuffles otherwise)
    e1 = _mm512_set1_epi32(thr[1]), e3 = _mm512_set1_epi32(thr[3]), e5 = _mm512_set1_epi32(thr[5]);
    e7 = _mm512_set1_epi32(thr[7]), e9 = _mm512_set1_epi32(thr[9]), e11 = _mm512_set1_epi32(thr[11]);
    e13 = _mm512_set1_epi32(thr[13]);
  }
};
inline __m512i lis_codes16_fast(__m512i e, const LisTables& t) {
  const __mmask16 k1 = _mm512_cmpge_epi32_mask(t.e7, e);
  const __mmask16 k2 = _mm512_cmpge_epi32_mask(_mm512_mask_blend_epi32(k1, t.e3, t.e11), e);
  const __m512i a = _mm512_mask_blend_epi32(k1, t.e1, t.e9), b = _mm512_mask_blend_epi32(k1, t.e5, t.e13);
  const __mmask16 k3 = _mm512_cmpge_epi32_mask(_mm512_mask_blend_epi32(k2, a, b), e);
  __m512i j = _mm512_maskz_mov_epi32(k1, _mm512_set1_epi32(8));
  j = _mm512_mask_add_epi32(j, k2, j, _mm512_set1_epi32(4));
  j = _mm512_mask_add_epi32(j, k3, j, _mm512_set1_epi32(2));
  return _mm512_mask_add_epi32(j, _mm512_cmpge_epi32_mask(_mm512_permutexvar_epi32(j, t.t0), e), j, _mm512_set1_epi32(1));
}

// 16-bit codes with the word rescale: the exps in ibert_exp_avx512.h's word layout, each row's max one row
// ahead, the codes of a block's even and odd elements interleaved as bytes.
inline void lis_rows_words(const int16_t* q, int64_t rows, int64_t n, const ExpLanes& k, uint8_t* out) {
  constexpr int kLag = 1;  // the codes of row r - kLag in the step of row r
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = (n + 31) & ~int64_t(31);
  ebuf.assign(size_t((kLag + 1) * stride), 0);
  alignas(64) int64_t thr[kLag + 1][16];
  int32_t mx_next = avx512::row_max16(q, n);
  for (int64_t r = 0; r < rows + kLag; ++r) {
    int64_t total = 0;
    if (r < rows) {
      const int32_t mx = mx_next;
      if (r + 1 < rows) mx_next = avx512::row_max16(q + (r + 1) * n, n);
      total = avx512::exp_row_words(q + r * n, n, mx, k, ebuf.data() + (r % (kLag + 1)) * stride);
    }
    if (r >= kLag) {
      const int64_t rc = r - kLag;
      const int32_t* e = ebuf.data() + (rc % (kLag + 1)) * stride;
      const LisTables t(thr[rc % (kLag + 1)]);
      uint8_t* o = out + rc * n;
      for (int64_t i = 0; i < n; i += 32) {
        const __m512i ce = lis_codes16_fast(_mm512_loadu_si512(e + i), t);
        const __m512i co = lis_codes16_fast(_mm512_loadu_si512(e + i + 16), t);
        avx512::store32(o + i, n - i, avx512::interleave_low_bytes_vbmi(ce, co));
      }
    }
    if (r < rows) lis_quotients(total, thr[r % (kLag + 1)]);  // after the codes: their vector work runs meanwhile
  }
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

// The exps of one row into e (zero past n, whole 16-blocks written) and their sum.
template <int kPath, bool kWord, typename T>
inline int64_t nnlut_exp_row(const T* row, int64_t n, int32_t mx, const NnlutSoftmaxParams& p, const Mag& k,
                             const avx512::PwlEval& ev, int32_t* e) {
  const __m512i fmask = _mm512_set1_epi32((1 << p.frac) - 1), onev = _mm512_set1_epi32(1);
  const __m128i fsh = _mm_cvtsi32_si128(p.frac);
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i mxv = _mm512_set1_epi32(mx);
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
  return _mm512_reduce_add_epi64(_mm512_add_epi64(acc_lo, acc_hi));
}

// out = min(rshift_round(e rc, sh), 255) of one row
inline void nnlut_out_row(const int32_t* e, int64_t n, int64_t rc, int sh, uint8_t* o) {
  if (sh < 33) {  // only for tables whose exps sum below 2^11 (not nnlut's): scalar
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = rshift_round(int64_t(e[i]) * rc, sh);
      o[i] = uint8_t(v > 255 ? 255 : v);
    }
    return;
  }
  const __m512i idx_hi = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  const __m512i rv = _mm512_set1_epi64(rc), rnd = _mm512_set1_epi32(1 << (sh - 33));
  const __m128i sh32 = _mm_cvtsi32_si128(sh - 32);
  for (int64_t i = 0; i < n; i += 16) store16(o + i, tail_mask(n - i), nnlut_out16(_mm512_loadu_si512(e + i), rv, idx_hi, rnd, sh32));
}

// Rows software-pipelined as the I-BERT softmax's (the exps of row r, then the outputs of row r - 1, so that
// row r - 1's reciprocal step overlaps vector work), each row's max taken one row ahead.
template <int kPath, bool kWord, typename T>
void nnlut_rows(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, const Mag& k,
                const avx512::PwlEval& ev, uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = (n + 15) & ~int64_t(15);
  ebuf.assign(size_t(2 * stride), 0);
  int32_t mx_next = avx512::row_max_any(q, n);
  int64_t prev_total = 0;
  for (int64_t r = 0; r <= rows; ++r) {
    int64_t total = 0;
    if (r < rows) {
      const int32_t mx = mx_next;
      if (r + 1 < rows) mx_next = avx512::row_max_any(q + (r + 1) * n, n);
      total = nnlut_exp_row<kPath, kWord>(q + r * n, n, mx, p, k, ev, ebuf.data() + (r & 1) * stride);
    }
    if (r > 0) {
      int64_t rc;
      int sh;
      nnlut_row_recip(prev_total, p, rc, sh);
      nnlut_out_row(ebuf.data() + ((r - 1) & 1) * stride, n, rc, sh, out + (r - 1) * n);
    }
    prev_total = total;
  }
}

// ---- NN-LUT softmax on 16-bit codes, in words (taken when the constants allow; NnlutWords::make says which).
// 32 codes per load. t = min(floor((min(max - q, acap) m0 + c) / 2^shift), tmax) as mag_avx512.h's kWordPath,
// on the even and odd codes' dword lanes (dpwssd against [ml, 0] / [0, ml]); u = t mod 2^frac (< 2^15), z =
// t >> frac. The segment j of u on 32 words at once: the 128-entry bucket table (vpermt2b on u >> B; the
// high byte of each word reads bucket 0, whose segment is 0) and one compare against the next start
// (vpermw; unsigned, padded with 2^16 - 1 above u's range), valid when every bucket holds at most one
// breakpoint. The value with slope = sh 2^p + sl, sl = slope mod 2^p in [0, 2^p), p = pshift in [1, 15]:
//   icpt + rshift_round(slope u, p) = icpt + sh u + ((sl u + 2^(p-1)) >> p)
// (sh u 2^p is a multiple of 2^p), sh and sl 2^(15-p) looked up as words (vpermw) beside their u; the last
// term is vpmulhrsw's (u sl 2^(15-p) + 2^14) >> 15 for all 32 codes at once, and icpt + sh u one vpdpwssd
// from u in the low word of the dword (even codes) or the high word (odd codes): the other word is 0. The result y is the table's value in [0, 2^31 - 1) (checked by the bindings), whatever
// the wrap of the intermediate sums. e = (y + 2^(z-1)) >> z (< 2^32 unsigned).
struct NnlutWords {
  bool ok;
  __m512i ml_e, ml_o, mh_e, mh_o, cl, ch, tmax, fmask, bt0, bt1, starts, sh, sl, ic, rnd_lo, rnd_hi, low16;
  __m128i g, frac, bshift;
  int32_t acapw;

  NnlutWords(const NnlutSoftmaxParams& p, int64_t acap, const Mag& k) : ok(false) {
    const PwlTableRef& t = p.exp;
    if (k.path != avx512::kWordPath || t.k > 16 || t.pshift < 1 || t.pshift > 15 || t.starts[0] != 0) return;
    const int span = (1 << p.frac) - 1;  // u in [0, span]
    int b = 0;
    while ((span >> b) >= 128) ++b;
    alignas(64) uint8_t bt[128] = {};
    for (int64_t i = 0; i <= (span >> b); ++i) {
      const int64_t lo = i << b, hi = std::min<int64_t>(lo + (int64_t(1) << b) - 1, span);
      int j0 = 0, inside = 0;
      for (int j = 0; j < t.k; ++j) {
        if (t.starts[j] <= lo) j0 = j;
        else if (t.starts[j] <= hi) ++inside;
      }
      if (inside > 1) return;
      bt[i] = uint8_t(j0);
    }
    if (bt[0] != 0) return;
    alignas(64) uint16_t st[32], shw[32], slw[32];
    alignas(64) int32_t icd[16];
    for (int j = 0; j < 32; ++j) {
      st[j] = 0xFFFF, shw[j] = slw[j] = 0;
      if (j < 16) icd[j] = 0;
      if (j >= t.k) continue;
      if (t.starts[j] < 0) return;
      st[j] = uint16_t(t.starts[j]);
      const int64_t sl64 = int64_t(t.slopes[j]) & ((int64_t(1) << t.pshift) - 1);
      const int64_t sh64 = (int64_t(t.slopes[j]) - sl64) >> t.pshift;
      if (sh64 < INT16_MIN || sh64 > INT16_MAX) return;
      // sl 2^(15-p) < 2^15: vpmulhrsw's (sl 2^(15-p) u + 2^14) >> 15 is (sl u + 2^(p-1)) >> p
      shw[j] = uint16_t(int16_t(sh64)), slw[j] = uint16_t(sl64 << (15 - t.pshift)), icd[j] = t.icpts[j];
    }
    bt0 = _mm512_load_si512(bt), bt1 = _mm512_load_si512(bt + 64);
    starts = _mm512_load_si512(st), sh = _mm512_load_si512(shw), sl = _mm512_load_si512(slw);
    ic = _mm512_load_si512(icd);
    alignas(64) uint32_t rz[32];
    for (int z = 0; z < 32; ++z) rz[z] = z ? 1u << (z - 1) : 0u;
    rnd_lo = _mm512_load_si512(rz), rnd_hi = _mm512_load_si512(rz + 16);
    low16 = _mm512_set1_epi32(0xFFFF);
    ml_e = k.mlw, ml_o = _mm512_slli_epi32(k.mlw, 16), mh_e = k.mhw, mh_o = _mm512_slli_epi32(k.mhw, 16);
    cl = k.clp, ch = k.chp, g = k.g, tmax = k.cap;
    fmask = _mm512_set1_epi32(span), frac = _mm_cvtsi32_si128(p.frac);
    bshift = _mm_cvtsi32_si128(b);
    acapw = int32_t(acap);
    ok = true;
  }
};

// t of the even (kOdd = false) or odd codes of 32 words u16 = min(max - q, acap)
template <bool kOdd>
inline __m512i nnlut_t16(__m512i u16, const NnlutWords& w) {
  const __m512i lo = _mm512_srai_epi32(_mm512_dpwssd_epi32(w.cl, u16, kOdd ? w.ml_o : w.ml_e), 16);
  return _mm512_min_epu32(_mm512_srl_epi32(_mm512_add_epi32(_mm512_dpwssd_epi32(w.ch, u16, kOdd ? w.mh_o : w.mh_e), lo), w.g), w.tmax);
}
// e from t, u in the word of its code (the other word 0), the code's segment in the low 4 bits of j, the
// block's sh words and this code's (sl u + 2^(p-1)) >> p
inline __m512i nnlut_e16(__m512i t, __m512i u_word, __m512i j, __m512i shv, __m512i lo, const NnlutWords& w) {
  const __m512i z = _mm512_srl_epi32(t, w.frac);
  const __m512i icpt = _mm512_permutexvar_epi32(j, w.ic);  // the low 4 bits of the dword: this code's j
  const __m512i y = _mm512_add_epi32(_mm512_dpwssd_epi32(icpt, u_word, shv), lo);
  return _mm512_srlv_epi32(_mm512_add_epi32(y, _mm512_permutex2var_epi32(w.rnd_lo, z, w.rnd_hi)), z);
}

// NB blocks of 32 codes at p + 32 b (the last one with `left` valid codes when kTail; the rest give 0), their
// exps into e + 32 b, their sum into the 64-bit lanes acc_lo (low dwords of the pair sums) and acc_hi. The blocks' steps are interleaved in program order
// (each step for every block, then the next): their dependency chains are long (~20 steps through three
// permutes and two vpdpwssd), and interleaved independent chains keep fewer waiting ops in the scheduler.
template <int NB, bool kTail>
inline void nnlut_blocks_words(const int16_t* p, int64_t left, __m512i mxw, __m512i acapw, const NnlutWords& w,
                               int32_t* e, __m512i& acc_lo, __m512i& acc_hi) {
  const __mmask32 mm = kTail ? __mmask32((uint32_t(1) << left) - 1) : ~__mmask32(0);
  __m512i u16[NB], te[NB], to[NB], ue[NB], uo[NB], uw[NB], j[NB], shv[NB], slv[NB], ee[NB], eo[NB];
  for (int b = 0; b < NB; ++b) {
    const bool tail = kTail && b == NB - 1;
    const __m512i q = tail ? _mm512_maskz_loadu_epi16(mm, p + 32 * b) : _mm512_loadu_si512(p + 32 * b);
    u16[b] = _mm512_min_epu16(_mm512_sub_epi16(mxw, q), acapw);
  }
  for (int b = 0; b < NB; ++b) te[b] = nnlut_t16<false>(u16[b], w), to[b] = nnlut_t16<true>(u16[b], w);
  for (int b = 0; b < NB; ++b) {
    ue[b] = _mm512_and_si512(te[b], w.fmask), uo[b] = _mm512_slli_epi32(_mm512_and_si512(to[b], w.fmask), 16);
    uw[b] = _mm512_or_si512(ue[b], uo[b]);  // the 32 u in the words of their codes
  }
  for (int b = 0; b < NB; ++b) j[b] = _mm512_permutex2var_epi8(w.bt0, _mm512_srl_epi16(uw[b], w.bshift), w.bt1);
  for (int b = 0; b < NB; ++b) {
    const __m512i cand = _mm512_add_epi16(j[b], _mm512_set1_epi16(1));
    j[b] = _mm512_mask_mov_epi16(j[b], _mm512_cmpge_epu16_mask(uw[b], _mm512_permutexvar_epi16(cand, w.starts)), cand);
  }
  // the sl parts of all 32 codes at once: vpmulhrsw of u and sl 2^(15-p), < 2^15 (a non-negative word)
  for (int b = 0; b < NB; ++b)
    shv[b] = _mm512_permutexvar_epi16(j[b], w.sh), slv[b] = _mm512_mulhrs_epi16(uw[b], _mm512_permutexvar_epi16(j[b], w.sl));
  for (int b = 0; b < NB; ++b) {
    ee[b] = nnlut_e16(te[b], ue[b], j[b], shv[b], _mm512_and_si512(slv[b], w.low16), w);
    eo[b] = nnlut_e16(to[b], uo[b], _mm512_srli_epi32(j[b], 16), shv[b], _mm512_srli_epi32(slv[b], 16), w);
  }
  const __m512i lo32 = _mm512_set1_epi64(0xFFFFFFFF);
  for (int b = 0; b < NB; ++b) {
    if (kTail && b == NB - 1) {
      ee[b] = _mm512_maskz_mov_epi32(__mmask16(_pext_u32(mm, 0x55555555u)), ee[b]);
      eo[b] = _mm512_maskz_mov_epi32(__mmask16(_pext_u32(mm, 0xAAAAAAAAu)), eo[b]);
    }
    _mm512_storeu_si512(e + 32 * b, ee[b]);
    _mm512_storeu_si512(e + 32 * b + 16, eo[b]);
    const __m512i sum = _mm512_add_epi32(ee[b], eo[b]);  // each < 2^31
    acc_lo = _mm512_add_epi64(acc_lo, _mm512_and_si512(sum, lo32));
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(sum, 32));
  }
}

inline int64_t nnlut_exp_row_words(const int16_t* row, int64_t n, int32_t mx, const NnlutWords& w, int32_t* e) {
  const __m512i mxw = _mm512_set1_epi16(int16_t(mx)), acapw = _mm512_set1_epi16(int16_t(w.acapw));
  __m512i acc_lo = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) nnlut_blocks_words<2, false>(row + i, 32, mxw, acapw, w, e + i, acc_lo, acc_hi);
  if (i + 32 <= n) nnlut_blocks_words<1, false>(row + i, 32, mxw, acapw, w, e + i, acc_lo, acc_hi), i += 32;
  if (i < n) nnlut_blocks_words<1, true>(row + i, n - i, mxw, acapw, w, e + i, acc_lo, acc_hi);
  return _mm512_reduce_add_epi64(_mm512_add_epi64(acc_lo, acc_hi));
}

// 16 values (hi32(e rc) + 2^(sh-33)) >> (sh - 32) = rshift_round(e rc, sh) (nnlut_out16), as dwords
inline __m512i nnlut_out16d(const int32_t* e, __m512i rv, __m512i idx_hi, __m512i rnd, __m128i sh32) {
  const __m512i pe = _mm512_mul_epu32(_mm512_loadu_si512(e), rv);
  const __m512i po = _mm512_mul_epu32(_mm512_loadu_si512(e + 1), rv);  // low dwords: e[1], e[3], ...
  return _mm512_srl_epi32(_mm512_add_epi32(_mm512_permutex2var_epi32(pe, idx_hi, po), rnd), sh32);
}

// the outputs of a row in the word layout (e padded by 16): the even and odd values (< 2^31) capped at 255
// (vpminud: a cheap op, where a shuffle would compete with the multiplies and shifts) and interleaved
inline void nnlut_out_row_words(const int32_t* e, int64_t n, int64_t rc, int sh, uint8_t* o) {
  if (sh < 33) {  // only for tables whose exps sum below 2^11 (not nnlut's): scalar, in the layout's order
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = i & ~int64_t(31), l = i & 31;
      const int64_t v = rshift_round(int64_t(e[b + (l & 1) * 16 + (l >> 1)]) * rc, sh);
      o[i] = uint8_t(v > 255 ? 255 : v);
    }
    return;
  }
  const __m512i idx_hi = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  const __m512i rv = _mm512_set1_epi64(rc), rnd = _mm512_set1_epi32(1 << (sh - 33)), top = _mm512_set1_epi32(255);
  const __m128i sh32 = _mm_cvtsi32_si128(sh - 32);
  for (int64_t i = 0; i < n; i += 32) {
    const __m512i pe = _mm512_min_epu32(nnlut_out16d(e + i, rv, idx_hi, rnd, sh32), top);
    const __m512i po = _mm512_min_epu32(nnlut_out16d(e + i + 16, rv, idx_hi, rnd, sh32), top);
    store32(o + i, n - i, avx512::interleave_low_bytes_vbmi(pe, po));
  }
}

void nnlut_rows_words(const int16_t* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, const NnlutWords& w,
                      uint8_t* out) {
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = ((n + 31) & ~int64_t(31)) + 16;  // whole 32-blocks, + 16: nnlut_out16d reads one past
  ebuf.assign(size_t(2 * stride), 0);
  int32_t mx_next = avx512::row_max16(q, n);
  int64_t prev_total = 0;
  for (int64_t r = 0; r <= rows; ++r) {
    // row r - 1's reciprocal step first: its scalar chain runs while row r's exps are computed
    int64_t rc = 0;
    int sh = 0;
    if (r > 0) nnlut_row_recip(prev_total, p, rc, sh);
    int64_t total = 0;
    if (r < rows) {
      const int32_t mx = mx_next;
      if (r + 1 < rows) mx_next = avx512::row_max16(q + (r + 1) * n, n);
      total = nnlut_exp_row_words(q + r * n, n, mx, w, ebuf.data() + (r & 1) * stride);
    }
    if (r > 0) nnlut_out_row_words(ebuf.data() + ((r - 1) & 1) * stride, n, rc, sh, out + (r - 1) * n);
    prev_total = total;
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
  if constexpr (sizeof(T) == 2) {
    const NnlutWords w(p, acap, k);
    if (w.ok) return nnlut_rows_words(q, rows, n, p, w, out);
  }
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
  const ExpLanes k(p, f);
  if constexpr (sizeof(T) == 2) {
    if (k.word) return lis_rows_words(q, rows, n, k, out);
  }
  lis_rows(q, rows, n, k, out);
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
