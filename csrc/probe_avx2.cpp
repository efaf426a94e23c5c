// Probe loops that need at most AVX2 (compiled with the AVX2 flags, so that a CPU without AVX-512 can
// run them): the clock chain, fp32 FMA on ymm, and the 256-bit read loop.
#include <immintrin.h>

#include "probe.h"

namespace lowbit::probe {

void clock_loop(int64_t iters) {
  int64_t a = 0;
  for (int64_t i = 0; i < iters; ++i) {
    // one chain of 16 dependent adds: 16 cycles per iteration on any out-of-order core
    __asm__ volatile(
        "add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n"
        "add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n"
        "add $1, %0\n add $1, %0\n"
        : "+r"(a));
  }
}

void fma_avx2_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      // all-ones inputs are NaNs: no denormal slow path can creep into the timing
      "vpcmpeqd %%ymm14, %%ymm14, %%ymm14\n vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n"
      "1:\n"
#define X(i) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #i "\n"
      X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
      X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)
#undef X
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)::"cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

int64_t read_avx2(const uint8_t* buf, int64_t bytes, int64_t passes) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t p = 0; p < passes; ++p)
    for (int64_t i = 0; i < bytes; i += 128) {
      s0 = _mm256_add_epi64(s0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(buf + i)));
      s1 = _mm256_add_epi64(s1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(buf + i + 32)));
      s2 = _mm256_add_epi64(s2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(buf + i + 64)));
      s3 = _mm256_add_epi64(s3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(buf + i + 96)));
    }
  alignas(32) int64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                     _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

}  // namespace lowbit::probe
