#include <cmath>

#include "quant_act.h"

namespace lowbit {

void minmax_f32_scalar(const float* x, int64_t n, float* mn, float* mx) {
  float lo = x[0], hi = x[0];
  bool nan = std::isnan(x[0]);
  for (int64_t i = 1; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    nan |= std::isnan(x[i]);
  }
  *mn = nan ? NAN : lo, *mx = nan ? NAN : hi;
}

bool quantize_u8_scalar(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out) {
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    const float q = std::nearbyint(x[i] / scale) + float(zero_point);  // default rounding: ties to even
    out[i] = uint8_t(q < 0.0f ? 0.0f : (q > 255.0f ? 255.0f : q));
  }
  return !nan;
}

void minmax_f32(Isa isa, const float* x, int64_t n, float* mn, float* mx) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return minmax_f32_avx512(x, n, mn, mx);
#endif
  (void)isa;
  minmax_f32_scalar(x, n, mn, mx);
}

bool quantize_u8(Isa isa, const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return quantize_u8_avx512(x, n, scale, zero_point, out);
#endif
  (void)isa;
  return quantize_u8_scalar(x, n, scale, zero_point, out);
}

}  // namespace lowbit
