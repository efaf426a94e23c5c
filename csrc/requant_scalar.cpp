#include <stdexcept>

#include "requant.h"
#include "requant_tail.h"

namespace lowbit {

void requantize_scalar(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                       void* out) {
  for (int64_t r = 0; r < rows; ++r) requant_row_tail(acc + r * cols, 0, cols, p, t, out, r * cols);
}

void requantize(Isa isa, const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                void* out) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::avx512: return requantize_avx512(acc, rows, cols, p, t, out);
    case Isa::avx2: return requantize_avx2(acc, rows, cols, p, t, out);
#endif
#if defined(__aarch64__)
    case Isa::neon: return requantize_neon(acc, rows, cols, p, t, out);
#endif
    case Isa::scalar: return requantize_scalar(acc, rows, cols, p, t, out);
    default: throw std::invalid_argument("isa: no requantize variant for this ISA on this build");
  }
}

}  // namespace lowbit
