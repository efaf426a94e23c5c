// Scalar raw kernel of the 1.6-bit ternary layout (lowbit_gemv_trits.h), literally from its definition;
// NEON and AVX2 machines run it.
#include "lowbit_gemv_trits.h"

namespace lowbit {

void lb_trits_raw_scalar(const uint8_t* block, int64_t, int64_t k0, int64_t k1, const uint8_t* x, int64_t lda,
                         int64_t M, const uint8_t*, int64_t, int32_t* raw) {
  for (int64_t m = 0; m < M; ++m) {
    const int8_t* xm = reinterpret_cast<const int8_t*>(x + m * lda);
    int32_t* rm = raw + m * kLbTritRows;
    for (int64_t r = 0; r < kLbTritRows; ++r) rm[r] = 0;
    for (int64_t k = k0; k < k1; ++k) {
      const int32_t xk = xm[k];
      for (int64_t j = 0; j < 16; ++j) {
        const uint8_t byte = block[(k / 4) * 64 + j * 4 + k % 4];
        const int idx = byte & 127;
        const bool neg = byte & 128;
        for (int f = 0; f < kTritFields; ++f) {
          const int d = trit_digit(idx, f);
          rm[16 * f + j] += xk * (neg && f < kTritSigned ? 2 - d : d);
        }
      }
    }
  }
}

}  // namespace lowbit
