// AVX-512 Log-Int-Softmax, NN-LUT softmax and PWL sigmoid / tanh, bit-exact with intops_extra_scalar.cpp.
// 16 codes per step (32 on the word layouts of 16-bit codes); row tails use masked loads and stores.
// Log-Int-Softmax: the exps come from the I-BERT softmax's 32-bit pass (ibert_exp_avx512.h, its word layout
// for 16-bit codes); the per-element division of the reference is replaced by intops_extra.h's thresholds,
// 15 per row, so that k is a 4-step binary search (compares against blended broadcasts, then one vpermd).
// Constants outside the 32-bit exp path run the scalar kernel (they need shift outside [16, 47] or a clamp
// above 16 bits: not a model's scales).
// NN-LUT softmax: every step of its exps in 16-bit words, 32 codes per vector (NnlutLanes; int32 codes take
// their exponents on dword lanes, then narrow them).
// PWL sigmoid / tanh: the rows of pwl.pwl_plan on the codes, every step in 16 bits (PwlActLanes).
//
// Measured on Zen 5 (2026-12-06): multiplies (vpdpwssd, vpmuludq), shifts, permutes and compares into masks
// share about two issues per cycle between them, while adds, ands, min / max and blends have more room; the
// word layouts trade the former for the latter where they can.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "ibert_exp_avx512.h"
#include "intops_extra.h"
#include "rows_avx512.h"
#include "shift_lut_one.h"

namespace lowbit {
namespace {

using avx512::ExpLanes;
using avx512::exp_row;
using avx512::join;
using avx512::load16;
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
  // from lis_thresholds (capped at INT32_MAX), lane 15 -1, written a row earlier: the broadcasts read
  // memory the stores have long left (the vector store and reload of lis_quotients' int64 values, saturated
  // by vpmovsqd in here, stalled on store forwarding every row: 2-4% of the kernel)
  explicit LisTables(const int32_t* thr) {
    t0 = _mm512_load_si512(thr);
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
// noinline: inlined into log_int_softmax_avx512 (beside lis_rows and the scalar fallback) the same inner
// loops ran ~10% slower at (12288, 128), under three loop / function alignments: gcc spilled the row loop's
// pointers and counts to the stack and to xmm registers around them
__attribute__((noinline)) void lis_rows_words(const int16_t* q, int64_t rows, int64_t n, const ExpLanes& kref,
                                              uint8_t* out) {
  const ExpLanes k = kref;  // in registers (ExpLanes): 8 reloads per 32 codes less
  constexpr int kLag = 1;  // the codes of row r - kLag in the step of row r
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = (n + 31) & ~int64_t(31);
  ebuf.assign(size_t((kLag + 1) * stride), 0);
  int32_t* const eb = ebuf.data();  // once: in the loop each use of ebuf cost a __tls_get_addr call (the .so)
  alignas(64) int32_t thr[kLag + 1][16];
  for (auto& t : thr) t[15] = -1;
  int32_t mx_next = avx512::row_max16(q, n);
  for (int64_t r = 0; r < rows + kLag; ++r) {
    int64_t total = 0;
    if (r < rows) {
      const int32_t mx = mx_next;
      if (r + 1 < rows) mx_next = avx512::row_max16(q + (r + 1) * n, n);
      total = avx512::exp_row_words(q + r * n, n, mx, k, eb + (r % (kLag + 1)) * stride);
    }
    if (r >= kLag) {
      const int64_t rc = r - kLag;
      const int32_t* e = eb + (rc % (kLag + 1)) * stride;
      const LisTables t(thr[rc % (kLag + 1)]);
      uint8_t* o = out + rc * n;
      for (int64_t i = 0; i < n; i += 32) {
        const __m512i ce = lis_codes16_fast(_mm512_loadu_si512(e + i), t);
        const __m512i co = lis_codes16_fast(_mm512_loadu_si512(e + i + 16), t);
        avx512::store32(o + i, n - i, avx512::interleave_low_bytes_vbmi(ce, co));
      }
    }
    if (r < rows) lis_thresholds(total, thr[r % (kLag + 1)]);  // after the codes: their vector work runs meanwhile
  }
}

// Rows software-pipelined as the I-BERT softmax's: the exps and thresholds of row r, then the codes of row
// r - 1, so that row r's scalar threshold arithmetic overlaps vector work.
template <typename T>
__attribute__((noinline)) void lis_rows(const T* q, int64_t rows, int64_t n, const ExpLanes& kref, uint8_t* out) {
  const ExpLanes k = kref;  // in registers (ExpLanes)
  thread_local std::vector<int32_t> ebuf;
  const int64_t stride = (n + 32 + 15) & ~int64_t(15);  // exp_row writes whole 32-element blocks
  ebuf.assign(size_t(2 * stride), 0);
  int32_t* const eb = ebuf.data();  // once (lis_rows_words)
  alignas(64) int32_t thr[2][16];
  thr[0][15] = thr[1][15] = -1;
  for (int64_t r = 0; r <= rows; ++r) {
    if (r < rows) lis_thresholds(exp_row(q + r * n, n, k, eb + (r & 1) * stride), thr[r & 1]);
    if (r == 0) continue;
    const int32_t* e = eb + ((r - 1) & 1) * stride;
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

// ---- NN-LUT softmax (intops_extra.h), every step of the exps on 32 words per vector:
// - t: int16 codes d = min(max - q, dcap) in words (max - q wraps to the gap), t = hi16(d m) >> (s - 16)
//   for s >= 16, or hi16((d << (16 - s)) m) for s < 16 when dcap << (16 - s) < 2^16 (vpmulhuw: one
//   multiply for 32 codes); int32 codes on dword lanes (d m < 2^32 for s < 16; else the split
//   (hi16(d) m + ((lo16(d) m) >> 16)) >> (s - 16), exact by nested floors), narrowed by one vpermt2w;
// - the row j of v = t mod 2^10: a 128-bucket byte table on v >> 3 (vpermt2b on t >> 3: the low byte's
//   7 bits are v >> 3; the high byte reads garbage, which vpermw ignores) and one compare against the next
//   row's start (valid when every bucket holds at most one start past its first code; the bindings' rows
//   are 56+ codes apart);
// - y = value - hi16((t << 6) slope) (t << 6 mod 2^16 = v << 6: hi16 = (v slope) >> 10), then
//   e = rshift_round(y, k + 1) = avg(y >> k, 0) (vpsrlvw gives 0 for k >= 16, as the rounding does);
// - the row sum: g = 0 (rows of up to 128): vpmaddwd of the e (< 2^15) with ones; g > 0: rshift_round(y << g, k + 1) on the even and odd words' dword
//   lanes (< 2^28 each), summed in 64-bit lanes;
// - outputs: rshift_round(e r, sh) = (hi16(e r) + 2^(sh-17)) >> (sh - 16) for sh in [17, 32] (the
//   rounding term is a multiple of 2^16; hi16 < 2^15), 0 for sh >= 32 (e r < 2^31), saturated to bytes.
// Rows software-pipelined: row r - 1's reciprocal step, then row r's exps (its max taken during row r - 1),
// then row r - 1's outputs.
struct NnlutLanes {
  bool ok = false;
  int form = 0;  // kT16Hi, kT16Lo, kT32
  __m512i bt0, bt1, val, slo, offm, low_bytes, top8, tmaxw, onew, m16, dcapw, ones16, one32, lo32, lo16d, words, m32, dcap32,
      tmax32;
  __m128i sh16, pre16, sh32, b3, k10, k5, gsh;
  int g = 0;
  __m512i rstarts;
  __mmask32 rlive;
  static constexpr int kT16Hi = 0, kT16Lo = 1, kT32 = 2, kT16Lo1 = 3;

  NnlutLanes(const NnlutSoftmaxParams& p, int64_t n, bool is16) {
    if (p.binary || p.k > 31) return;
    alignas(64) uint8_t bt[128] = {};
    for (int i = 0; i < 128; ++i) {  // (j0 - [no start inside]) mod 32 | offset of the start inside << 5
      int j0 = 0, inside = 0, off = 0;
      for (int j = 0; j < p.k; ++j) {
        if (p.starts[j] <= 8 * i) j0 = j;
        else if (p.starts[j] <= 8 * i + 7) ++inside, off = p.starts[j] - 8 * i;
      }
      if (inside > 1) return;
      bt[i] = uint8_t(((j0 - (inside ? 0 : 1)) & 31) | (off << 5));
    }
    alignas(64) uint16_t va[32], sl[32];
    for (int j = 0; j < 32; ++j) va[j] = j < p.k ? p.values[j] : 0, sl[j] = j < p.k ? p.slopes[j] : 0;
    bt0 = _mm512_load_si512(bt), bt1 = _mm512_load_si512(bt + 64);
    val = _mm512_load_si512(va), slo = _mm512_load_si512(sl);
    offm = _mm512_set1_epi16(0xE0);
    alignas(64) uint8_t lb[64];
    for (int j = 0; j < 64; ++j) lb[j] = uint8_t(j < 32 ? 2 * j : 64 + 2 * (j - 32));  // the low bytes of two
    low_bytes = _mm512_load_si512(lb);
    top8 = _mm512_set1_epi16(255), tmaxw = _mm512_set1_epi16(int16_t(kNnlutTmax)), onew = _mm512_set1_epi16(1), ones16 = onew;
    m16 = _mm512_set1_epi16(int16_t(uint16_t(p.m)));
    one32 = _mm512_set1_epi32(1), lo32 = _mm512_set1_epi64(0xFFFFFFFF), lo16d = _mm512_set1_epi32(0xFFFF);
    alignas(64) int16_t wi[32];
    for (int j = 0; j < 32; ++j) wi[j] = int16_t(2 * j);  // the low words of two dword vectors, in order
    words = _mm512_load_si512(wi);
    m32 = _mm512_set1_epi32(p.m);
    dcap32 = _mm512_set1_epi32(int32_t(uint32_t(std::min<int64_t>(p.dcap, 0xFFFFFFFF))));
    tmax32 = _mm512_set1_epi32(kNnlutTmax);
    b3 = _mm_cvtsi32_si128(3), k10 = _mm_cvtsi32_si128(kNnlutEf), k5 = _mm_cvtsi32_si128(15 - kNnlutEf);
    g = nnlut_g(n), gsh = _mm_cvtsi32_si128(g);
    alignas(64) int16_t rs[32] = {};
    for (int j = 0; j < p.recip.k; ++j) rs[j] = p.recip.starts[j];
    rstarts = _mm512_load_si512(rs);
    rlive = __mmask32((uint64_t(1) << p.recip.k) - 2);  // starts 1..k-1
    const int64_t dc16 = std::min<int64_t>(p.dcap, 65535);
    dcapw = _mm512_set1_epi16(int16_t(uint16_t(dc16)));
    sh16 = _mm_cvtsi32_si128(std::max(p.s - 16, 0)), pre16 = _mm_cvtsi32_si128(std::max(16 - p.s, 0));
    sh32 = _mm_cvtsi32_si128(p.s < 16 ? p.s : p.s - 16);
    if (!is16) form = kT32;
    else if (p.s >= 16) form = kT16Hi;
    else if ((dc16 << (16 - p.s)) <= 65535) form = p.s == 15 ? kT16Lo1 : kT16Lo;
    else form = kT32;  // scales >= ~2.8: the codes widened to dwords
    ok = true;
  }
};

// t of 16 gaps d (dword lanes, unsigned)
inline __m512i nnlut_t32(__m512i d, const NnlutSoftmaxParams& p, const NnlutLanes& w) {
  d = _mm512_min_epu32(d, w.dcap32);
  __m512i t;
  if (p.s < 16) {
    t = _mm512_srl_epi32(_mm512_mullo_epi32(d, w.m32), w.sh32);  // d <= dcap: d m < 2^31
  } else {
    const __m512i lo = _mm512_srli_epi32(_mm512_mullo_epi32(_mm512_and_si512(d, w.lo16d), w.m32), 16);
    t = _mm512_srl_epi32(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_srli_epi32(d, 16), w.m32), lo), w.sh32);
  }
  return _mm512_min_epu32(t, w.tmax32);
}

// t of 32 codes as words (the tail's missing codes read 0: their exps are masked later)
template <int kForm, typename T>
inline __m512i nnlut_t_block(const T* q, __mmask32 mm, bool tail, __m512i mxw, __m512i mxd, const NnlutSoftmaxParams& p,
                             const NnlutLanes& w) {
  if constexpr (sizeof(T) == 2) {
    const __m512i qv = tail ? _mm512_maskz_loadu_epi16(mm, q) : _mm512_loadu_si512(q);
    if constexpr (kForm == NnlutLanes::kT32) {
      const __m512i d0 = _mm512_sub_epi32(mxd, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(qv)));
      const __m512i d1 = _mm512_sub_epi32(mxd, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(qv, 1)));
      return _mm512_permutex2var_epi16(nnlut_t32(d0, p, w), w.words, nnlut_t32(d1, p, w));
    } else {
      const __m512i d = _mm512_min_epu16(_mm512_sub_epi16(mxw, qv), w.dcapw);
      __m512i t;
      if constexpr (kForm == NnlutLanes::kT16Hi) t = _mm512_srl_epi16(_mm512_mulhi_epu16(d, w.m16), w.sh16);
      else if constexpr (kForm == NnlutLanes::kT16Lo1) t = _mm512_mulhi_epu16(_mm512_add_epi16(d, d), w.m16);
      else t = _mm512_mulhi_epu16(_mm512_sll_epi16(d, w.pre16), w.m16);
      return _mm512_min_epu16(t, w.tmaxw);
    }
  } else {
    const __mmask16 m0 = __mmask16(mm), m1 = __mmask16(mm >> 16);
    const __m512i q0 = tail ? _mm512_maskz_loadu_epi32(m0, q) : _mm512_loadu_si512(q);
    const __m512i q1 = tail ? _mm512_maskz_loadu_epi32(m1, q + 16) : _mm512_loadu_si512(q + 16);
    return _mm512_permutex2var_epi16(nnlut_t32(_mm512_sub_epi32(mxd, q0), p, w), w.words,
                                     nnlut_t32(_mm512_sub_epi32(mxd, q1), p, w));
  }
}

// A block of 32 codes at q (with `left` valid codes when kTail): their exps into e, their sum terms into acc
// (g = 0: dword lanes) or acc / acc_hi (g > 0: 64-bit lanes). One block per loop step: the out-of-order core
// overlaps the steps' chains by itself (2 or 4 blocks interleaved in program order measured 5-10% slower).
template <bool kTail, bool kG, int kForm, typename T>
inline void nnlut_block(const T* q, int64_t left, __m512i mxw, __m512i mxd, const NnlutSoftmaxParams& p,
                        const NnlutLanes& w, uint16_t* e, __m512i& acc, __m512i& acc_hi) {
  const __mmask32 mm = kTail ? __mmask32((uint64_t(1) << left) - 1) : ~__mmask32(0);
  const __m512i t = nnlut_t_block<kForm>(q, mm, kTail, mxw, mxd, p, w);
  __m512i j = _mm512_permutex2var_epi8(w.bt0, _mm512_srl_epi16(t, w.b3), w.bt1);
  // the low byte of t << 5 is (v mod 8) << 5: against the bucket's start offset << 5
  const __m512i t5 = _mm512_sll_epi16(t, w.k5);
  j = _mm512_mask_add_epi16(j, _mm512_cmpge_epu16_mask(_mm512_and_si512(t5, w.offm), _mm512_and_si512(j, w.offm)), j,
                            w.onew);  // its low 5 bits: the row (all that vpermw reads)
  const __m512i d = _mm512_mulhi_epu16(_mm512_add_epi16(t5, t5), _mm512_permutexvar_epi16(j, w.slo));
  __m512i y = _mm512_sub_epi16(_mm512_permutexvar_epi16(j, w.val), d);
  if (kTail) y = _mm512_maskz_mov_epi16(mm, y);  // 0: the exp and the sum term 0
  const __m512i k = _mm512_srl_epi16(t, w.k10);
  const __m512i ev = _mm512_avg_epu16(_mm512_srlv_epi16(y, k), _mm512_setzero_si512());
  _mm512_storeu_si512(e, ev);
  if constexpr (!kG) {
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(ev, w.ones16));  // e < 2^15
  } else {
    const __m512i ye = _mm512_and_si512(y, w.lo16d), yo = _mm512_srli_epi32(y, 16);
    const __m512i ke = _mm512_and_si512(k, w.lo16d), ko = _mm512_srli_epi32(k, 16);
    const __m512i ze = _mm512_srlv_epi32(_mm512_add_epi32(_mm512_sll_epi32(ye, w.gsh), _mm512_sllv_epi32(w.one32, ke)),
                                         _mm512_add_epi32(ke, w.one32));
    const __m512i zo = _mm512_srlv_epi32(_mm512_add_epi32(_mm512_sll_epi32(yo, w.gsh), _mm512_sllv_epi32(w.one32, ko)),
                                         _mm512_add_epi32(ko, w.one32));
    const __m512i z = _mm512_add_epi32(ze, zo);  // < 2^29
    acc = _mm512_add_epi64(acc, _mm512_and_si512(z, w.lo32));
    acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(z, 32));
  }
}

template <bool kG, int kForm, typename T>
inline int64_t nnlut_exp_row(const T* row, int64_t n, int32_t mx, const NnlutSoftmaxParams& p, const NnlutLanes& w,
                             uint16_t* e) {
  const __m512i mxw = _mm512_set1_epi16(int16_t(mx)), mxd = _mm512_set1_epi32(mx);
  __m512i acc = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) nnlut_block<false, kG, kForm>(row + i, 32, mxw, mxd, p, w, e + i, acc, acc_hi);
  if (i < n) nnlut_block<true, kG, kForm>(row + i, n - i, mxw, mxd, p, w, e + i, acc, acc_hi);
  if constexpr (kG) return _mm512_reduce_add_epi64(_mm512_add_epi64(acc, acc_hi));
  return int64_t(_mm512_reduce_add_epi32(acc));  // g = 0: n <= 128, the sum < 2^22
}

// out = min(rshift_round(e r, sh), 255) of one row (sh >= 17: the row sum is >= 2^(10 + g))
inline void nnlut_out_row(const uint16_t* e, int64_t n, int32_t r, int sh, const NnlutLanes& w, uint8_t* o) {
  if (sh >= 32) {  // e r < 2^31
    std::fill(o, o + n, uint8_t(0));
    return;
  }
  const __m512i rv = _mm512_set1_epi16(int16_t(uint16_t(r))), rnd = _mm512_set1_epi16(int16_t(1 << (sh - 17)));
  const __m128i shv = _mm_cvtsi32_si128(sh - 16);
  auto p32 = [&](int64_t i) {
    return _mm512_min_epu16(_mm512_srl_epi16(_mm512_add_epi16(_mm512_mulhi_epu16(_mm512_loadu_si512(e + i), rv), rnd), shv), w.top8);
  };
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(o + i, _mm512_permutex2var_epi8(p32(i), w.low_bytes, p32(i + 32)));
  for (; i < n; i += 32) store32(o + i, n - i, _mm512_cvtusepi16_epi8(p32(i)));
}

// nnlut_row_recip without a data-dependent branch (a mispredicted branch per row flushed the next row's
// exps: ~30% of the time): the normalisation as one shift pair, the carry as a shift, and the reciprocal
// table's segment as the count of its starts 1..k-1 that are <= u (non-decreasing: the binary search's j)
inline void nnlut_row_recip_flat(int64_t total, const NnlutSoftmaxParams& p, const NnlutLanes& w, int32_t& r, int& shift) {
  const int eb = 63 - __builtin_clzll(uint64_t(total));  // total >= 1
  const int up = std::max(p.rfrac - eb, 0), dn = std::max(eb - p.rfrac, 0);
  int64_t u = ((total << up) + ((int64_t(1) << dn) >> 1)) >> dn;  // rshift_round by dn (or the exact left shift)
  const int carry = int(u >> (p.rfrac + 1));                     // rounded up to 2^(rfrac+1): u = 2^rfrac
  u >>= carry;                                                    // < 2^15
  const int j = __builtin_popcount(_mm512_mask_cmple_epi16_mask(w.rlive, w.rstarts, _mm512_set1_epi16(int16_t(u))));
  r = int32_t(rshift_round(p.recip.icpts[j] + rshift_round(int64_t(p.recip.slopes[j]) * u, p.recip.pshift), 15));
  shift = 7 + eb + carry - w.g;
}

template <bool kG, int kForm, typename T>
void nnlut_rows(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, const NnlutLanes& w, uint8_t* out) {
  thread_local std::vector<uint16_t> ebuf;
  const int64_t stride = (n + 31) & ~int64_t(31);
  ebuf.assign(size_t(2 * stride), 0);
  int32_t mx_next = avx512::row_max_any(q, n);
  int64_t prev_total = 0;
  for (int64_t r = 0; r <= rows; ++r) {
    int32_t rc = 0;
    int sh = 0;
    if (r > 0) nnlut_row_recip_flat(prev_total, p, w, rc, sh);  // its scalar chain overlaps row r's exps
    int64_t total = 0;
    if (r < rows) {
      const int32_t mx = mx_next;
      if (r + 1 < rows) mx_next = avx512::row_max_any(q + (r + 1) * n, n);
      total = nnlut_exp_row<kG, kForm>(q + r * n, n, mx, p, w, ebuf.data() + (r & 1) * stride);
    }
    if (r > 0) nnlut_out_row(ebuf.data() + ((r - 1) & 1) * stride, n, rc, sh, w, out + (r - 1) * n);
    prev_total = total;
  }
}

}  // namespace

template <typename T>
void nnlut_softmax_avx512(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out) {
  const NnlutLanes w(p, n, sizeof(T) == 2);
  if (!w.ok) return nnlut_softmax_scalar(q, rows, n, p, out);  // binary scales (>= ~22): not a model's
  auto go = [&](auto kg, auto form) {
    nnlut_rows<decltype(kg)::value, decltype(form)::value>(q, rows, n, p, w, out);
  };
  using G0 = std::integral_constant<bool, false>;
  using G1 = std::integral_constant<bool, true>;
  using F0 = std::integral_constant<int, NnlutLanes::kT16Hi>;
  using F1 = std::integral_constant<int, NnlutLanes::kT16Lo>;
  using F2 = std::integral_constant<int, NnlutLanes::kT32>;
  if constexpr (sizeof(T) == 2) {
    if (w.form == NnlutLanes::kT16Hi) return w.g ? go(G1(), F0()) : go(G0(), F0());
    if (w.form == NnlutLanes::kT16Lo) return w.g ? go(G1(), F1()) : go(G0(), F1());
    using F3 = std::integral_constant<int, NnlutLanes::kT16Lo1>;
    if (w.form == NnlutLanes::kT16Lo1) return w.g ? go(G1(), F3()) : go(G0(), F3());
  }
  return w.g ? go(G1(), F2()) : go(G0(), F2());
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
