// Why the bit-serial W1A1 target (70% of the AND+popcount limit) is hard on Zen 5: register-only loops
// (operands in L1 or registers, no real GEMM around them) timing the op mixes a kernel can use, as a
// fraction of the AND+popcount loop (the limit, 2 ops per 512-bit word), and the latencies that matter.
// Build and run (any x86-64 with AVX-512 VPOPCNTDQ):
//   g++ -O2 -mavx512f -mavx512vpopcntdq docs/bitserial_csa_probe.cpp -o /tmp/csa_probe && /tmp/csa_probe
// Loops (16 words of 512 bits per iteration, 8 independent outputs):
//   and+popcnt+add  what lowbit's AND/XOR kernels do per word (3 ops)
//   csa, no deps    the carry-save op mix (3 vpternlogq + vpopcntq + vpaddq per 2 words) without its data
//                   dependencies: the op-count ceiling, 2.5 ops per word = 0.80
//   csa             the real full-adder step (csrc/bitserial_w1a1_avx512.cpp's comment), popcount right
//                   after the carry, 3 register copies per step
//   csa, late pop   the kernel's loop: the carry counted one step later, 2 copies per step
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>

alignas(64) static uint64_t buf[64];

// AND + popcount (the limit)
static void limit(long k) {
  const uint64_t* x = buf;
  __asm__ volatile("1:\n"
      "vpandq %%zmm30, %%zmm31, %%zmm0\n vpopcntq %%zmm0, %%zmm0\n"
      "vpandq %%zmm30, %%zmm31, %%zmm1\n vpopcntq %%zmm1, %%zmm1\n"
      "vpandq %%zmm30, %%zmm31, %%zmm2\n vpopcntq %%zmm2, %%zmm2\n"
      "vpandq %%zmm30, %%zmm31, %%zmm3\n vpopcntq %%zmm3, %%zmm3\n"
      "vpandq %%zmm30, %%zmm31, %%zmm4\n vpopcntq %%zmm4, %%zmm4\n"
      "vpandq %%zmm30, %%zmm31, %%zmm5\n vpopcntq %%zmm5, %%zmm5\n"
      "vpandq %%zmm30, %%zmm31, %%zmm6\n vpopcntq %%zmm6, %%zmm6\n"
      "vpandq %%zmm30, %%zmm31, %%zmm7\n vpopcntq %%zmm7, %%zmm7\n"
      "vpandq %%zmm30, %%zmm31, %%zmm8\n vpopcntq %%zmm8, %%zmm8\n"
      "vpandq %%zmm30, %%zmm31, %%zmm9\n vpopcntq %%zmm9, %%zmm9\n"
      "vpandq %%zmm30, %%zmm31, %%zmm10\n vpopcntq %%zmm10, %%zmm10\n"
      "vpandq %%zmm30, %%zmm31, %%zmm11\n vpopcntq %%zmm11, %%zmm11\n"
      "vpandq %%zmm30, %%zmm31, %%zmm12\n vpopcntq %%zmm12, %%zmm12\n"
      "vpandq %%zmm30, %%zmm31, %%zmm13\n vpopcntq %%zmm13, %%zmm13\n"
      "vpandq %%zmm30, %%zmm31, %%zmm14\n vpopcntq %%zmm14, %%zmm14\n"
      "vpandq %%zmm30, %%zmm31, %%zmm15\n vpopcntq %%zmm15, %%zmm15\n"

                   "dec %[k]\n jnz 1b\n" : [k] "+r"(k) : [x] "r"(x) : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory");
}
// AND + popcount + add
static void and_pop_add(long k) {
  const uint64_t* x = buf;
  __asm__ volatile("1:\n"
      "vpandq %%zmm30, %%zmm31, %%zmm0\n vpopcntq %%zmm0, %%zmm0\n vpaddq %%zmm0, %%zmm16, %%zmm16\n"
      "vpandq %%zmm30, %%zmm31, %%zmm1\n vpopcntq %%zmm1, %%zmm1\n vpaddq %%zmm1, %%zmm17, %%zmm17\n"
      "vpandq %%zmm30, %%zmm31, %%zmm2\n vpopcntq %%zmm2, %%zmm2\n vpaddq %%zmm2, %%zmm18, %%zmm18\n"
      "vpandq %%zmm30, %%zmm31, %%zmm3\n vpopcntq %%zmm3, %%zmm3\n vpaddq %%zmm3, %%zmm19, %%zmm19\n"
      "vpandq %%zmm30, %%zmm31, %%zmm4\n vpopcntq %%zmm4, %%zmm4\n vpaddq %%zmm4, %%zmm20, %%zmm20\n"
      "vpandq %%zmm30, %%zmm31, %%zmm5\n vpopcntq %%zmm5, %%zmm5\n vpaddq %%zmm5, %%zmm21, %%zmm21\n"
      "vpandq %%zmm30, %%zmm31, %%zmm6\n vpopcntq %%zmm6, %%zmm6\n vpaddq %%zmm6, %%zmm22, %%zmm22\n"
      "vpandq %%zmm30, %%zmm31, %%zmm7\n vpopcntq %%zmm7, %%zmm7\n vpaddq %%zmm7, %%zmm23, %%zmm23\n"
      "vpandq %%zmm30, %%zmm31, %%zmm8\n vpopcntq %%zmm8, %%zmm8\n vpaddq %%zmm8, %%zmm16, %%zmm16\n"
      "vpandq %%zmm30, %%zmm31, %%zmm9\n vpopcntq %%zmm9, %%zmm9\n vpaddq %%zmm9, %%zmm17, %%zmm17\n"
      "vpandq %%zmm30, %%zmm31, %%zmm10\n vpopcntq %%zmm10, %%zmm10\n vpaddq %%zmm10, %%zmm18, %%zmm18\n"
      "vpandq %%zmm30, %%zmm31, %%zmm11\n vpopcntq %%zmm11, %%zmm11\n vpaddq %%zmm11, %%zmm19, %%zmm19\n"
      "vpandq %%zmm30, %%zmm31, %%zmm12\n vpopcntq %%zmm12, %%zmm12\n vpaddq %%zmm12, %%zmm20, %%zmm20\n"
      "vpandq %%zmm30, %%zmm31, %%zmm13\n vpopcntq %%zmm13, %%zmm13\n vpaddq %%zmm13, %%zmm21, %%zmm21\n"
      "vpandq %%zmm30, %%zmm31, %%zmm14\n vpopcntq %%zmm14, %%zmm14\n vpaddq %%zmm14, %%zmm22, %%zmm22\n"
      "vpandq %%zmm30, %%zmm31, %%zmm15\n vpopcntq %%zmm15, %%zmm15\n vpaddq %%zmm15, %%zmm23, %%zmm23\n"

                   "dec %[k]\n jnz 1b\n" : [k] "+r"(k) : [x] "r"(x) : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory");
}
// carry-save op mix without dependencies
static void csa_nodeps(long k) {
  const uint64_t* x = buf;
  __asm__ volatile("1:\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm16\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm20\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm0\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm8, %%zmm8\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm17\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm21\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm1\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm9, %%zmm9\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm18\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm22\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm2\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm10, %%zmm10\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm19\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm23\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm3\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm11, %%zmm11\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm16\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm20\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm4\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm12, %%zmm12\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm17\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm21\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm5\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm13, %%zmm13\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm18\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm22\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm6\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm14, %%zmm14\n"
      "vpternlogq $0x78, %%zmm28, %%zmm24, %%zmm19\n vpternlogq $0x78, %%zmm29, %%zmm25, %%zmm23\n vpternlogq $0x74, %%zmm28, %%zmm29, %%zmm7\n vpopcntq %%zmm30, %%zmm26\n vpaddq %%zmm31, %%zmm15, %%zmm15\n"

                   "dec %[k]\n jnz 1b\n" : [k] "+r"(k) : [x] "r"(x) : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory");
}
// carry-save step, popcount at once
static void csa(long k) {
  const uint64_t* x = buf;
  __asm__ volatile("1:\n"
      "vmovdqa64 %%zmm0, %%zmm16\n vpternlogq $0x78, 0(%[x])%{1to8%}, %%zmm24, %%zmm16\n vmovdqa64 %%zmm16, %%zmm20\n vpternlogq $0x78, 64(%[x])%{1to8%}, %%zmm25, %%zmm20\n vpternlogq $0x74, %%zmm20, %%zmm16, %%zmm0\n vpopcntq %%zmm0, %%zmm0\n vpaddq %%zmm0, %%zmm8, %%zmm8\n vmovdqa64 %%zmm20, %%zmm0\n"
      "vmovdqa64 %%zmm1, %%zmm17\n vpternlogq $0x78, 8(%[x])%{1to8%}, %%zmm24, %%zmm17\n vmovdqa64 %%zmm17, %%zmm21\n vpternlogq $0x78, 72(%[x])%{1to8%}, %%zmm25, %%zmm21\n vpternlogq $0x74, %%zmm21, %%zmm17, %%zmm1\n vpopcntq %%zmm1, %%zmm1\n vpaddq %%zmm1, %%zmm9, %%zmm9\n vmovdqa64 %%zmm21, %%zmm1\n"
      "vmovdqa64 %%zmm2, %%zmm18\n vpternlogq $0x78, 16(%[x])%{1to8%}, %%zmm24, %%zmm18\n vmovdqa64 %%zmm18, %%zmm22\n vpternlogq $0x78, 80(%[x])%{1to8%}, %%zmm25, %%zmm22\n vpternlogq $0x74, %%zmm22, %%zmm18, %%zmm2\n vpopcntq %%zmm2, %%zmm2\n vpaddq %%zmm2, %%zmm10, %%zmm10\n vmovdqa64 %%zmm22, %%zmm2\n"
      "vmovdqa64 %%zmm3, %%zmm19\n vpternlogq $0x78, 24(%[x])%{1to8%}, %%zmm24, %%zmm19\n vmovdqa64 %%zmm19, %%zmm23\n vpternlogq $0x78, 88(%[x])%{1to8%}, %%zmm25, %%zmm23\n vpternlogq $0x74, %%zmm23, %%zmm19, %%zmm3\n vpopcntq %%zmm3, %%zmm3\n vpaddq %%zmm3, %%zmm11, %%zmm11\n vmovdqa64 %%zmm23, %%zmm3\n"
      "vmovdqa64 %%zmm4, %%zmm16\n vpternlogq $0x78, 32(%[x])%{1to8%}, %%zmm24, %%zmm16\n vmovdqa64 %%zmm16, %%zmm20\n vpternlogq $0x78, 96(%[x])%{1to8%}, %%zmm25, %%zmm20\n vpternlogq $0x74, %%zmm20, %%zmm16, %%zmm4\n vpopcntq %%zmm4, %%zmm4\n vpaddq %%zmm4, %%zmm12, %%zmm12\n vmovdqa64 %%zmm20, %%zmm4\n"
      "vmovdqa64 %%zmm5, %%zmm17\n vpternlogq $0x78, 40(%[x])%{1to8%}, %%zmm24, %%zmm17\n vmovdqa64 %%zmm17, %%zmm21\n vpternlogq $0x78, 104(%[x])%{1to8%}, %%zmm25, %%zmm21\n vpternlogq $0x74, %%zmm21, %%zmm17, %%zmm5\n vpopcntq %%zmm5, %%zmm5\n vpaddq %%zmm5, %%zmm13, %%zmm13\n vmovdqa64 %%zmm21, %%zmm5\n"
      "vmovdqa64 %%zmm6, %%zmm18\n vpternlogq $0x78, 48(%[x])%{1to8%}, %%zmm24, %%zmm18\n vmovdqa64 %%zmm18, %%zmm22\n vpternlogq $0x78, 112(%[x])%{1to8%}, %%zmm25, %%zmm22\n vpternlogq $0x74, %%zmm22, %%zmm18, %%zmm6\n vpopcntq %%zmm6, %%zmm6\n vpaddq %%zmm6, %%zmm14, %%zmm14\n vmovdqa64 %%zmm22, %%zmm6\n"
      "vmovdqa64 %%zmm7, %%zmm19\n vpternlogq $0x78, 56(%[x])%{1to8%}, %%zmm24, %%zmm19\n vmovdqa64 %%zmm19, %%zmm23\n vpternlogq $0x78, 120(%[x])%{1to8%}, %%zmm25, %%zmm23\n vpternlogq $0x74, %%zmm23, %%zmm19, %%zmm7\n vpopcntq %%zmm7, %%zmm7\n vpaddq %%zmm7, %%zmm15, %%zmm15\n vmovdqa64 %%zmm23, %%zmm7\n"

                   "dec %[k]\n jnz 1b\n" : [k] "+r"(k) : [x] "r"(x) : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory");
}
// carry-save, popcount one step later (32 words per iteration)
static void csa_late2(long k) {
  const uint64_t* x = buf;
  __asm__ volatile("1:\n"
      "vmovdqu64 (%[x]), %%zmm24\n vmovdqu64 64(%[x]), %%zmm25\n"
      "vpopcntq %%zmm8, %%zmm29\n vpaddq %%zmm29, %%zmm16, %%zmm16\n vmovdqa64 %%zmm0, %%zmm26\n vpternlogq $0x78, 0(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm8\n vpternlogq $0x78, 64(%[x])%{1to8%}, %%zmm25, %%zmm8\n vpternlogq $0x74, %%zmm8, %%zmm26, %%zmm0\n"
      "vpopcntq %%zmm9, %%zmm30\n vpaddq %%zmm30, %%zmm17, %%zmm17\n vmovdqa64 %%zmm1, %%zmm27\n vpternlogq $0x78, 8(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm9\n vpternlogq $0x78, 72(%[x])%{1to8%}, %%zmm25, %%zmm9\n vpternlogq $0x74, %%zmm9, %%zmm27, %%zmm1\n"
      "vpopcntq %%zmm10, %%zmm31\n vpaddq %%zmm31, %%zmm18, %%zmm18\n vmovdqa64 %%zmm2, %%zmm28\n vpternlogq $0x78, 16(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm10\n vpternlogq $0x78, 80(%[x])%{1to8%}, %%zmm25, %%zmm10\n vpternlogq $0x74, %%zmm10, %%zmm28, %%zmm2\n"
      "vpopcntq %%zmm11, %%zmm29\n vpaddq %%zmm29, %%zmm19, %%zmm19\n vmovdqa64 %%zmm3, %%zmm26\n vpternlogq $0x78, 24(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm11\n vpternlogq $0x78, 88(%[x])%{1to8%}, %%zmm25, %%zmm11\n vpternlogq $0x74, %%zmm11, %%zmm26, %%zmm3\n"
      "vpopcntq %%zmm12, %%zmm30\n vpaddq %%zmm30, %%zmm20, %%zmm20\n vmovdqa64 %%zmm4, %%zmm27\n vpternlogq $0x78, 32(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm12\n vpternlogq $0x78, 96(%[x])%{1to8%}, %%zmm25, %%zmm12\n vpternlogq $0x74, %%zmm12, %%zmm27, %%zmm4\n"
      "vpopcntq %%zmm13, %%zmm31\n vpaddq %%zmm31, %%zmm21, %%zmm21\n vmovdqa64 %%zmm5, %%zmm28\n vpternlogq $0x78, 40(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm13\n vpternlogq $0x78, 104(%[x])%{1to8%}, %%zmm25, %%zmm13\n vpternlogq $0x74, %%zmm13, %%zmm28, %%zmm5\n"
      "vpopcntq %%zmm14, %%zmm29\n vpaddq %%zmm29, %%zmm22, %%zmm22\n vmovdqa64 %%zmm6, %%zmm26\n vpternlogq $0x78, 48(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm14\n vpternlogq $0x78, 112(%[x])%{1to8%}, %%zmm25, %%zmm14\n vpternlogq $0x74, %%zmm14, %%zmm26, %%zmm6\n"
      "vpopcntq %%zmm15, %%zmm30\n vpaddq %%zmm30, %%zmm23, %%zmm23\n vmovdqa64 %%zmm7, %%zmm27\n vpternlogq $0x78, 56(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm15\n vpternlogq $0x78, 120(%[x])%{1to8%}, %%zmm25, %%zmm15\n vpternlogq $0x74, %%zmm15, %%zmm27, %%zmm7\n"
      "vmovdqu64 128(%[x]), %%zmm24\n vmovdqu64 192(%[x]), %%zmm25\n"
      "vpopcntq %%zmm0, %%zmm29\n vpaddq %%zmm29, %%zmm16, %%zmm16\n vmovdqa64 %%zmm8, %%zmm26\n vpternlogq $0x78, 128(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm0\n vpternlogq $0x78, 192(%[x])%{1to8%}, %%zmm25, %%zmm0\n vpternlogq $0x74, %%zmm0, %%zmm26, %%zmm8\n"
      "vpopcntq %%zmm1, %%zmm30\n vpaddq %%zmm30, %%zmm17, %%zmm17\n vmovdqa64 %%zmm9, %%zmm27\n vpternlogq $0x78, 136(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm1\n vpternlogq $0x78, 200(%[x])%{1to8%}, %%zmm25, %%zmm1\n vpternlogq $0x74, %%zmm1, %%zmm27, %%zmm9\n"
      "vpopcntq %%zmm2, %%zmm31\n vpaddq %%zmm31, %%zmm18, %%zmm18\n vmovdqa64 %%zmm10, %%zmm28\n vpternlogq $0x78, 144(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm2\n vpternlogq $0x78, 208(%[x])%{1to8%}, %%zmm25, %%zmm2\n vpternlogq $0x74, %%zmm2, %%zmm28, %%zmm10\n"
      "vpopcntq %%zmm3, %%zmm29\n vpaddq %%zmm29, %%zmm19, %%zmm19\n vmovdqa64 %%zmm11, %%zmm26\n vpternlogq $0x78, 152(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm3\n vpternlogq $0x78, 216(%[x])%{1to8%}, %%zmm25, %%zmm3\n vpternlogq $0x74, %%zmm3, %%zmm26, %%zmm11\n"
      "vpopcntq %%zmm4, %%zmm30\n vpaddq %%zmm30, %%zmm20, %%zmm20\n vmovdqa64 %%zmm12, %%zmm27\n vpternlogq $0x78, 160(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm4\n vpternlogq $0x78, 224(%[x])%{1to8%}, %%zmm25, %%zmm4\n vpternlogq $0x74, %%zmm4, %%zmm27, %%zmm12\n"
      "vpopcntq %%zmm5, %%zmm31\n vpaddq %%zmm31, %%zmm21, %%zmm21\n vmovdqa64 %%zmm13, %%zmm28\n vpternlogq $0x78, 168(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm5\n vpternlogq $0x78, 232(%[x])%{1to8%}, %%zmm25, %%zmm5\n vpternlogq $0x74, %%zmm5, %%zmm28, %%zmm13\n"
      "vpopcntq %%zmm6, %%zmm29\n vpaddq %%zmm29, %%zmm22, %%zmm22\n vmovdqa64 %%zmm14, %%zmm26\n vpternlogq $0x78, 176(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm6\n vpternlogq $0x78, 240(%[x])%{1to8%}, %%zmm25, %%zmm6\n vpternlogq $0x74, %%zmm6, %%zmm26, %%zmm14\n"
      "vpopcntq %%zmm7, %%zmm30\n vpaddq %%zmm30, %%zmm23, %%zmm23\n vmovdqa64 %%zmm15, %%zmm27\n vpternlogq $0x78, 184(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm7\n vpternlogq $0x78, 248(%[x])%{1to8%}, %%zmm25, %%zmm7\n vpternlogq $0x74, %%zmm7, %%zmm27, %%zmm15\n"

                   "dec %[k]\n jnz 1b\n" : [k] "+r"(k) : [x] "r"(x) : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory");
}
static void lat_tern(long k) {
  __asm__ volatile("1:\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "vpternlogq $0x96, %%zmm1, %%zmm2, %%zmm0\n" "dec %[k]\n jnz 1b\n" : [k] "+r"(k) :: "rax", "zmm0", "zmm1", "zmm2", "cc");
}
static void lat_pop(long k) {
  __asm__ volatile("1:\n" "vpopcntq %%zmm0, %%zmm0\n" "vpopcntq %%zmm0, %%zmm0\n" "vpopcntq %%zmm0, %%zmm0\n" "vpopcntq %%zmm0, %%zmm0\n" "vpopcntq %%zmm0, %%zmm0\n" "vpopcntq %%zmm0, %%zmm0\n" "vpopcntq %%zmm0, %%zmm0\n" "vpopcntq %%zmm0, %%zmm0\n" "dec %[k]\n jnz 1b\n" : [k] "+r"(k) :: "rax", "zmm0", "zmm1", "zmm2", "cc");
}
static void lat_add(long k) {
  __asm__ volatile("1:\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "vpaddq %%zmm1, %%zmm0, %%zmm0\n" "dec %[k]\n jnz 1b\n" : [k] "+r"(k) :: "rax", "zmm0", "zmm1", "zmm2", "cc");
}
static void lat_scalar(long k) {
  __asm__ volatile("1:\n" "add $1, %%rax\n" "add $1, %%rax\n" "add $1, %%rax\n" "add $1, %%rax\n" "add $1, %%rax\n" "add $1, %%rax\n" "add $1, %%rax\n" "add $1, %%rax\n" "dec %[k]\n jnz 1b\n" : [k] "+r"(k) :: "rax", "zmm0", "zmm1", "zmm2", "cc");
}

static double best(void (*f)(long), long k) {
  double b = 1e9;
  for (int r = 0; r < 15; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f(k);
    b = std::min(b, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return b;
}

int main() {
  const long k = 200000;
  for (int rep = 0; rep < 3; ++rep) {
    const double lim = best(limit, k), cyc = best(lat_scalar, 1000000) / 8e6;
    std::printf("words/cycle at the limit %.2f | fraction of the limit: and+popcnt+add %.2f, csa no deps %.2f, "
                "csa %.2f, csa late pop %.2f | latency (cycles): vpternlogq %.1f vpopcntq %.1f vpaddq %.1f\n",
                16 * k / lim * cyc, lim / best(and_pop_add, k), lim / best(csa_nodeps, k), lim / best(csa, k),
                2 * lim / best(csa_late2, k), best(lat_tern, 1000000) / 8e6 / cyc,
                best(lat_pop, 1000000) / 8e6 / cyc, best(lat_add, 1000000) / 8e6 / cyc);
  }
}
