#include <algorithm>

#include "residual.h"

namespace lowbit {

void residual_add_scalar(const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t C,
                         int16_t* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t i = r * C + c;
      const int32_t v = int32_t(uint32_t(int32_t(x[i])) << shift[c]) + y[i];  // |v| < 2^30: no overflow
      out[i] = int16_t(std::clamp(v, -32767, 32767));
    }
}

void residual_add(Isa isa, const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t C,
                  int16_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return residual_add_avx512(x, shift, y, rows, C, out);
#endif
  (void)isa;
  residual_add_scalar(x, shift, y, rows, C, out);
}

}  // namespace lowbit
