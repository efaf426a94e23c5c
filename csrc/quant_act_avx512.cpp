// AVX-512 dynamic activation quantization: 16 floats per step; tails through the scalar code.
#include <immintrin.h>

#include <cmath>

#include "quant_act.h"

namespace lowbit {

void minmax_f32_avx512(const float* x, int64_t n, float* mn, float* mx) {
  if (n < 16) return minmax_f32_scalar(x, n, mn, mx);
  __m512 lo = _mm512_loadu_ps(x), hi = lo;
  __mmask16 nan = _mm512_cmp_ps_mask(lo, lo, _CMP_UNORD_Q);  // min/max drop NaNs: they are counted apart
  int64_t i = 16;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    lo = _mm512_min_ps(lo, v);
    hi = _mm512_max_ps(hi, v);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  float l = _mm512_reduce_min_ps(lo), h = _mm512_reduce_max_ps(hi);
  bool any_nan = nan != 0;
  for (; i < n; ++i) {
    l = x[i] < l ? x[i] : l;
    h = x[i] > h ? x[i] : h;
    any_nan |= x[i] != x[i];
  }
  *mn = any_nan ? NAN : l, *mx = any_nan ? NAN : h;
}

bool quantize_u8_avx512(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out) {
  const __m512 s = _mm512_set1_ps(scale), zp = _mm512_set1_ps(float(zero_point));
  const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f);
  int64_t i = 0;
  // NaN check for one vpord per 16 codes: max/min return their second operand when either is NaN, so with
  // the bound first a NaN survives the clamp, converts to 0x80000000 (then stored as code 0) and leaves its
  // sign bit in `seen`; every other value converts to 0..255
  __m512i seen = _mm512_setzero_si512();
  for (; i + 16 <= n; i += 16) {
    const __m512 q = _mm512_add_ps(
        _mm512_roundscale_ps(_mm512_div_ps(_mm512_loadu_ps(x + i), s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
        zp);
    const __m512i c = _mm512_cvttps_epi32(_mm512_min_ps(top, _mm512_max_ps(zero, q)));
    seen = _mm512_or_si512(seen, c);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi32_epi8(c));
  }
  const bool tail_ok = i < n ? quantize_u8_scalar(x + i, n - i, scale, zero_point, out + i) : true;
  return _mm512_movepi32_mask(seen) == 0 && tail_ok;
}

}  // namespace lowbit
