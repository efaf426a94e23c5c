// Portable int8 GEMM on the k4n64 layout: the reference-shaped kernel every SIMD variant must match.
#include "gemm.h"
#include "gemm_epilogue.h"

namespace lowbit {

void gemm_panels_scalar(const uint8_t* a, int64_t M, int64_t lda, const int8_t* b, int64_t k4, int64_t N,
                        int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* panel = b + p * k4 * kPanel * 4;
    const int64_t n0 = p * kPanel, cols = std::min<int64_t>(kPanel, N - n0);
    for (int64_t m = 0; m < M; ++m) {
      int32_t acc[kPanel] = {};
      const uint8_t* row = a + m * lda;
      int64_t kk = 0;
      for (int64_t s = 0; s < ep.seg.count(); ++s) {
        for (; kk < ep.seg.stop(s, k4); ++kk)
          for (int64_t j = 0; j < cols; ++j)
            for (int t = 0; t < 4; ++t) acc[j] += int32_t(row[kk * 4 + t]) * panel[(kk * kPanel + j) * 4 + t];
        for (int64_t j = 0; j < cols; ++j) acc[j] = shl32(acc[j], ep.seg.shift_of(s));
      }
      for (int64_t j = 0; j < cols; ++j) epilogue_one(acc[j], m, n0 + j, ep);
    }
  }
}

}  // namespace lowbit
