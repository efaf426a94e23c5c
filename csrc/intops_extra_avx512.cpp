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

}  // namespace

template <typename T>
void log_int_softmax_avx512(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  const SoftmaxFast f = softmax_fast(p, sizeof(T) == 2);
  if (!f.ok) return log_int_softmax_scalar(q, rows, n, p, out);
  lis_rows(q, rows, n, ExpLanes(p, f), out);
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

// (q - zp) << alpha on 32 words per step (alpha <= 3, |q - zp| <= 255: no overflow); rows of n codes
void ptf_shift_avx512(const uint8_t* q, int64_t size, int64_t n, int32_t zp, const uint8_t* alpha, int16_t* x) {
  const __m512i zpv = _mm512_set1_epi16(int16_t(zp));
  for (int64_t r = 0; r < size; r += n) {
    for (int64_t c = 0; c < n; c += 32) {
      const int64_t left = n - c;
      const __mmask32 m = left >= 32 ? ~__mmask32(0) : __mmask32((uint32_t(1) << left) - 1);
      const __m512i qv = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, q + r + c));
      const __m512i av = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, alpha + c));
      _mm512_mask_storeu_epi16(x + r + c, m, _mm512_sllv_epi16(_mm512_sub_epi16(qv, zpv), av));
    }
  }
}

template void log_int_softmax_avx512<int16_t>(const int16_t*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);
template void log_int_softmax_avx512<int32_t>(const int32_t*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);
template void pwl_act_avx512<int16_t>(const int16_t*, int64_t, const PwlActParams&, int16_t*);
template void pwl_act_avx512<int32_t>(const int32_t*, int64_t, const PwlActParams&, int16_t*);

}  // namespace lowbit
