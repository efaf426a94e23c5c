// ARM NEON int8 GEMM with sdot (int8 x int8, 4 products per int32 lane) on the k4n64 layout: one
// 16-byte load holds 4 columns x 4 k, multiplied by the row's 4 activation bytes broadcast.
// Activations arrive as int8 (gemm.cpp flips uint8 input and corrects through the column sums).
#include <arm_neon.h>

#include <cstring>

#include "gemm.h"
#include "gemm_epilogue.h"

namespace lowbit {

void gemm_panels_neon(const uint8_t* a, int64_t M, int64_t lda, const int8_t* b, int64_t k4, int64_t N,
                      int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  int32_t acc_mem[kPanel];
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* panel = b + p * k4 * kPanel * 4;
    const int64_t n0 = p * kPanel, cols = std::min<int64_t>(kPanel, N - n0);
    for (int64_t m = 0; m < M; ++m) {
      int32x4_t acc[16];
      for (auto& x : acc) x = vdupq_n_s32(0);
      const uint8_t* row = a + m * lda;
      int64_t k = 0;
      for (int64_t s = 0; s < ep.seg.count(); ++s) {
        for (; k < ep.seg.stop(s, k4); ++k) {
          int32_t four;
          std::memcpy(&four, row + k * 4, 4);
          const int8x16_t va = vreinterpretq_s8_s32(vdupq_n_s32(four));
          const int8_t* bk = panel + k * kPanel * 4;
          for (int g = 0; g < 16; ++g) acc[g] = vdotq_s32(acc[g], vld1q_s8(bk + 16 * g), va);
        }
        const int32x4_t sh = vdupq_n_s32(ep.seg.shift_of(s));  // vshlq: shifts modulo 2^32 like shl32
        for (auto& x : acc) x = vshlq_s32(x, sh);
      }
      for (int g = 0; g < 16; ++g) vst1q_s32(acc_mem + 4 * g, acc[g]);
      for (int64_t j = 0; j < cols; ++j) epilogue_one(acc_mem[j], m, n0 + j, ep);
    }
  }
}

}  // namespace lowbit
