// AVX-512 probe loops (compiled with the AVX-512 flags; only called when the CPU has them).
#include <immintrin.h>

#include "probe.h"

namespace lowbit::probe {

// the 24 accumulator registers every loop here writes
#define LOWBIT_CLOBBER_ZMM0_23                                                                          \
  "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
      "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23"

#define LOWBIT_REP24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

void fma_avx512_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      // all-ones inputs are NaNs: no denormal slow path can creep into the timing
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n"
      "1:\n"
#define X(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n"
      LOWBIT_REP24(X)
#undef X
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)::LOWBIT_CLOBBER_ZMM0_23, "xmm30", "xmm31");
}

void popcount_avx512_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      "1:\n"
#define X(i) "vpandq %%zmm30, %%zmm31, %%zmm" #i "\n vpopcntq %%zmm" #i ", %%zmm" #i "\n"
      LOWBIT_REP24(X)
#undef X
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)::LOWBIT_CLOBBER_ZMM0_23, "xmm30", "xmm31");
}

void int32_avx512_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      "1:\n"
#define X(i) "vpaddd %%zmm30, %%zmm" #i ", %%zmm" #i "\n"
      LOWBIT_REP24(X)
#undef X
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)::LOWBIT_CLOBBER_ZMM0_23, "xmm30");
}

// The same with each count added into an accumulator (vpaddq): what a popcount GEMM must also do.
void popcount_acc_avx512_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      "1:\n"
#define X(t, a) "vpandq %%zmm30, %%zmm31, %%zmm" #t "\n vpopcntq %%zmm" #t ", %%zmm" #t "\n vpaddq %%zmm" #t \
                ", %%zmm" #a ", %%zmm" #a "\n"
      X(0, 12) X(1, 13) X(2, 14) X(3, 15) X(4, 16) X(5, 17) X(6, 18) X(7, 19) X(8, 20) X(9, 21) X(10, 22)
      X(11, 23) X(0, 12) X(1, 13) X(2, 14) X(3, 15) X(4, 16) X(5, 17) X(6, 18) X(7, 19) X(8, 20) X(9, 21)
      X(10, 22) X(11, 23)
#undef X
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)::LOWBIT_CLOBBER_ZMM0_23, "xmm30", "xmm31");
}

void shuffle_avx512_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      "1:\n"
#define X(i) "vpshufb %%zmm30, %%zmm31, %%zmm" #i "\n"
      LOWBIT_REP24(X)
#undef X
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)::LOWBIT_CLOBBER_ZMM0_23, "xmm30", "xmm31");
}

int64_t read_avx512(const uint8_t* buf, int64_t bytes, int64_t passes) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (int64_t p = 0; p < passes; ++p)
    for (int64_t i = 0; i < bytes; i += 256) {
      s0 = _mm512_add_epi64(s0, _mm512_loadu_si512(buf + i));
      s1 = _mm512_add_epi64(s1, _mm512_loadu_si512(buf + i + 64));
      s2 = _mm512_add_epi64(s2, _mm512_loadu_si512(buf + i + 128));
      s3 = _mm512_add_epi64(s3, _mm512_loadu_si512(buf + i + 192));
    }
  // the sum keeps the loads alive
  return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

}  // namespace lowbit::probe

namespace lowbit {

// iters x 24 vpdpbusd on registers (3072 int8 ops per iteration): the int8 ceiling that `lowbit probe`
// and `lowbit bench gemm` report against.
void vnni_peak_loop(int64_t iters) {
  if (iters <= 0) return;
  __asm__ volatile(
      "vpternlogd $0xff, %%zmm28, %%zmm28, %%zmm28\n vpternlogd $0xff, %%zmm29, %%zmm29, %%zmm29\n"
      "1:\n"
#define X(i) "vpdpbusd %%zmm28, %%zmm29, %%zmm" #i "\n"
      LOWBIT_REP24(X)
#undef X
      "dec %[k]\n jnz 1b\n"
      : [k] "+r"(iters)::LOWBIT_CLOBBER_ZMM0_23, "xmm28", "xmm29");
}

}  // namespace lowbit
