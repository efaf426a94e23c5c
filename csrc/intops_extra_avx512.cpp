// AVX-512 Log-Int-Softmax and PWL sigmoid / tanh, bit-exact with intops_extra_scalar.cpp. 16 codes per step;
// row tails use masked loads and stores.
// Log-Int-Softmax: the exps come from the I-BERT softmax's 32-bit pass (ibert_exp_avx512.h); the per-element
// division of the reference is replaced by intops_extra.h's thresholds, 15 per row, so that k is a 4-step
// binary search over one register (vpermd + compare). Constants outside the 32-bit exp path run the
// scalar kernel (they need shift outside [16, 47] or a clamp above 16 bits: not a model's scales).
// PWL: the magnitude rescale of the Shift / LUT kernels (mag_avx512.h), then NN-LUT GELU's segment search.
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

// k of 16 exps by the same search, its first step against a broadcast thr[7] and the others against copies of
// the thresholds shifted by 3 and by 1 (thr3[j] = thr[j + 3], thr1[j] = thr[j + 1]): no index adds
struct LisTables {
  __m512i t7, t3, t1, t0;
  // from lis_quotients: saturated to int32 (vpmovsqd: INT32_MAX past it, as lis_thresholds' cap), lane 15 -1
  explicit LisTables(const int64_t* q) {
    t0 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtsepi64_epi32(_mm512_load_si512(q))),
                            _mm512_cvtsepi64_epi32(_mm512_load_si512(q + 8)), 1);
    const __m512i none = _mm512_set1_epi32(-1);
    t7 = _mm512_permutexvar_epi32(_mm512_set1_epi32(7), t0);
    t3 = _mm512_alignr_epi32(none, t0, 3), t1 = _mm512_alignr_epi32(none, t0, 1);
  }
};
inline __m512i lis_codes16_fast(__m512i e, const LisTables& t) {
  __m512i j = _mm512_maskz_mov_epi32(_mm512_cmpge_epi32_mask(t.t7, e), _mm512_set1_epi32(8));
  j = _mm512_mask_add_epi32(j, _mm512_cmpge_epi32_mask(_mm512_permutexvar_epi32(j, t.t3), e), j, _mm512_set1_epi32(4));
  j = _mm512_mask_add_epi32(j, _mm512_cmpge_epi32_mask(_mm512_permutexvar_epi32(j, t.t1), e), j, _mm512_set1_epi32(2));
  return _mm512_mask_add_epi32(j, _mm512_cmpge_epi32_mask(_mm512_permutexvar_epi32(j, t.t0), e), j, _mm512_set1_epi32(1));
}

// 16-bit codes with the word rescale: the exps in ibert_exp_avx512.h's word layout, each row's max one row
// ahead, the codes of a block's even and odd elements joined as words (even | odd << 8) and narrowed.
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
        avx512::store32(o + i, n - i, _mm512_cvtepi32_epi16(_mm512_or_si512(ce, _mm512_slli_epi32(co, 8))));
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

// ---- PWL sigmoid / tanh

struct PwlActLanes {
  avx512::PwlEval eval;
  avx512::SignedRescale rescale;  // q clamped to [q_lo, q_hi] and to +-acap (harmless: pwl_act_avx512)
  __m512i q_lo, q_hi, u_lo, u_hi, y_lo, y_hi;
  PwlActLanes(const PwlActParams& p, int64_t acap)
      : eval(p.starts, p.slopes, p.icpts, p.k, p.u_lo, p.u_hi, p.pshift),
        rescale(p.m0, p.shift, std::max<int64_t>(p.q_lo, -acap), std::min<int64_t>(p.q_hi, acap)) {
    q_lo = _mm512_set1_epi32(p.q_lo), q_hi = _mm512_set1_epi32(p.q_hi);
    u_lo = _mm512_set1_epi32(p.u_lo), u_hi = _mm512_set1_epi32(p.u_hi);
    y_lo = _mm512_set1_epi32(p.y_lo), y_hi = _mm512_set1_epi32(p.y_hi);
  }
};

inline void store16(int16_t* p, __mmask16 m, __m256i v) {
  if (m == 0xFFFF) _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
  else _mm256_mask_storeu_epi16(p, m, v);
}

template <int kPath, bool kWord, typename T>
void pwl_act_loop(const T* q, int64_t size, const Mag& k, const PwlActLanes& w, int16_t* out) {
  for (int64_t i = 0; i < size; i += 16) {
    const __mmask16 m = tail_mask(size - i);
    __m512i x;
    if constexpr (kPath == avx512::kSignedPath) {
      x = w.rescale(load16(q + i, m));
    } else {
      const __m512i qv = _mm512_min_epi32(_mm512_max_epi32(load16(q + i, m), w.q_lo), w.q_hi);
      const __mmask16 neg = _mm512_movepi32_mask(qv);
      const __m512i mag = mag16<kPath>(_mm512_abs_epi32(qv), neg, k);  // |INT32_MIN| reads as 2^31 unsigned
      x = _mm512_mask_sub_epi32(mag, neg, _mm512_setzero_si512(), mag);
    }
    const __m512i u = _mm512_max_epi32(_mm512_min_epi32(x, w.u_hi), w.u_lo);  // kWord: u_hi <= 2^15 - 1
    const __m512i y = w.eval.value<kWord>(w.eval.segment(u), u, u);
    store16(out + i, m, _mm512_cvtepi32_epi16(_mm512_max_epi32(_mm512_min_epi32(y, w.y_hi), w.y_lo)));
  }
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
  const ExpLanes k(p, f);
  if constexpr (sizeof(T) == 2) {
    if (k.word) return lis_rows_words(q, rows, n, k, out);
  }
  lis_rows(q, rows, n, k, out);
}

template <typename T>
void pwl_act_avx512(const T* q, int64_t size, const PwlActParams& p, int16_t* out) {
  // past cap the clamp to [u_lo, u_hi] decides u for either sign; past acap the magnitude reaches cap
  const int64_t cap = std::max<int64_t>(std::abs(int64_t(p.u_lo)), std::abs(int64_t(p.u_hi)));
  const int64_t amax = std::max<int64_t>(std::abs(int64_t(p.q_lo)), std::abs(int64_t(p.q_hi)));
  const int64_t c = round_c(p.shift, false);
  int64_t acap = first_reaching(amax, p.m0, p.shift, c - 1, cap);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 32768);
  const Mag k(p.m0, p.shift, c, acap, cap);
  const PwlActLanes w(p, acap);
  if (w.rescale.ok && w.eval.word) return pwl_act_loop<avx512::kSignedPath, true>(q, size, k, w, out);
  avx512::with_path(k.path, [&](auto path) {
    if (w.eval.word) pwl_act_loop<decltype(path)::value, true>(q, size, k, w, out);
    else pwl_act_loop<decltype(path)::value, false>(q, size, k, w, out);
  });
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
