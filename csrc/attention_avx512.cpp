// Attention of one (sequence, head) for head widths d = 32 and 64 (AVX-512 VNNI), in blocks of
// query rows: q k^T, the integer softmax and p v run on a block while its scores and probabilities are in
// L1. The generic path (attention.cpp) runs each product as a whole GEMM with a 6 x 64 tile; at d = 32
// that tile sees 8 k-steps per call and half of its 64 columns idle in p v, and the packing and the
// [T, T] int32 scores in memory cost more than the products. Same integers as the generic path.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "attention.h"
#include "intops.h"
#include "intops_extra.h"
#include "simd_avx512.h"

namespace lowbit {

namespace {

constexpr int64_t kQkRows = 6;  // q k^T tile: 6 query rows x 64 keys (24 accumulators)

// 6 query rows x 64 keys, d4 steps: out[r][0..63] = sum_st q[st][r] . w[st][0..63] + corr[0..63], rows
// ldo bytes apart. q: [d4][6] dwords (q + 128); w: step st at w + st * wstep (64 keys x 4 bytes).
// Inline asm: gcc 12 keeps a tile's 24 accumulators in memory however the intrinsics are written.
inline void qk_tile(const uint32_t* q, const int8_t* w, int64_t wstep, int64_t d4, const int32_t* corr, int32_t* out,
                    int64_t ldo) {
  int32_t* out3 = reinterpret_cast<int32_t*>(reinterpret_cast<char*>(out) + 3 * ldo);
  __asm__ volatile(
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t" "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t" "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t" "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t" "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t" "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t" "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t" "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t" "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
      "vpxord %%zmm24, %%zmm24, %%zmm24\n\t" "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"
      "vpxord %%zmm26, %%zmm26, %%zmm26\n\t" "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"
      "vpxord %%zmm28, %%zmm28, %%zmm28\n\t" "vpxord %%zmm29, %%zmm29, %%zmm29\n\t"
      "vpxord %%zmm30, %%zmm30, %%zmm30\n\t" "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      "vmovdqu64 (%[w]), %%zmm0\n\t" "vmovdqu64 64(%[w]), %%zmm1\n\t"
      "vmovdqu64 128(%[w]), %%zmm2\n\t" "vmovdqu64 192(%[w]), %%zmm3\n\t"
      "vpbroadcastd 0(%[q]), %%zmm4\n\t"
      "vpdpbusd %%zmm0, %%zmm4, %%zmm8\n\t" "vpdpbusd %%zmm1, %%zmm4, %%zmm9\n\t"
      "vpdpbusd %%zmm2, %%zmm4, %%zmm10\n\t" "vpdpbusd %%zmm3, %%zmm4, %%zmm11\n\t"
      "vpbroadcastd 4(%[q]), %%zmm5\n\t"
      "vpdpbusd %%zmm0, %%zmm5, %%zmm12\n\t" "vpdpbusd %%zmm1, %%zmm5, %%zmm13\n\t"
      "vpdpbusd %%zmm2, %%zmm5, %%zmm14\n\t" "vpdpbusd %%zmm3, %%zmm5, %%zmm15\n\t"
      "vpbroadcastd 8(%[q]), %%zmm4\n\t"
      "vpdpbusd %%zmm0, %%zmm4, %%zmm16\n\t" "vpdpbusd %%zmm1, %%zmm4, %%zmm17\n\t"
      "vpdpbusd %%zmm2, %%zmm4, %%zmm18\n\t" "vpdpbusd %%zmm3, %%zmm4, %%zmm19\n\t"
      "vpbroadcastd 12(%[q]), %%zmm5\n\t"
      "vpdpbusd %%zmm0, %%zmm5, %%zmm20\n\t" "vpdpbusd %%zmm1, %%zmm5, %%zmm21\n\t"
      "vpdpbusd %%zmm2, %%zmm5, %%zmm22\n\t" "vpdpbusd %%zmm3, %%zmm5, %%zmm23\n\t"
      "vpbroadcastd 16(%[q]), %%zmm4\n\t"
      "vpdpbusd %%zmm0, %%zmm4, %%zmm24\n\t" "vpdpbusd %%zmm1, %%zmm4, %%zmm25\n\t"
      "vpdpbusd %%zmm2, %%zmm4, %%zmm26\n\t" "vpdpbusd %%zmm3, %%zmm4, %%zmm27\n\t"
      "vpbroadcastd 20(%[q]), %%zmm5\n\t"
      "vpdpbusd %%zmm0, %%zmm5, %%zmm28\n\t" "vpdpbusd %%zmm1, %%zmm5, %%zmm29\n\t"
      "vpdpbusd %%zmm2, %%zmm5, %%zmm30\n\t" "vpdpbusd %%zmm3, %%zmm5, %%zmm31\n\t"
      "add $24, %[q]\n\t" "add %[ws], %[w]\n\t" "dec %[n]\n\t" "jnz 1b\n\t"
      "vmovdqu64 (%[c]), %%zmm0\n\t" "vmovdqu64 64(%[c]), %%zmm1\n\t"
      "vmovdqu64 128(%[c]), %%zmm2\n\t" "vmovdqu64 192(%[c]), %%zmm3\n\t"
      "vpaddd %%zmm0, %%zmm8, %%zmm8\n\t" "vpaddd %%zmm1, %%zmm9, %%zmm9\n\t"
      "vpaddd %%zmm2, %%zmm10, %%zmm10\n\t" "vpaddd %%zmm3, %%zmm11, %%zmm11\n\t"
      "vpaddd %%zmm0, %%zmm12, %%zmm12\n\t" "vpaddd %%zmm1, %%zmm13, %%zmm13\n\t"
      "vpaddd %%zmm2, %%zmm14, %%zmm14\n\t" "vpaddd %%zmm3, %%zmm15, %%zmm15\n\t"
      "vpaddd %%zmm0, %%zmm16, %%zmm16\n\t" "vpaddd %%zmm1, %%zmm17, %%zmm17\n\t"
      "vpaddd %%zmm2, %%zmm18, %%zmm18\n\t" "vpaddd %%zmm3, %%zmm19, %%zmm19\n\t"
      "vpaddd %%zmm0, %%zmm20, %%zmm20\n\t" "vpaddd %%zmm1, %%zmm21, %%zmm21\n\t"
      "vpaddd %%zmm2, %%zmm22, %%zmm22\n\t" "vpaddd %%zmm3, %%zmm23, %%zmm23\n\t"
      "vpaddd %%zmm0, %%zmm24, %%zmm24\n\t" "vpaddd %%zmm1, %%zmm25, %%zmm25\n\t"
      "vpaddd %%zmm2, %%zmm26, %%zmm26\n\t" "vpaddd %%zmm3, %%zmm27, %%zmm27\n\t"
      "vpaddd %%zmm0, %%zmm28, %%zmm28\n\t" "vpaddd %%zmm1, %%zmm29, %%zmm29\n\t"
      "vpaddd %%zmm2, %%zmm30, %%zmm30\n\t" "vpaddd %%zmm3, %%zmm31, %%zmm31\n\t"
      "vmovdqu64 %%zmm8, (%[o])\n\t" "vmovdqu64 %%zmm9, 64(%[o])\n\t" "vmovdqu64 %%zmm10, 128(%[o])\n\t"
      "vmovdqu64 %%zmm11, 192(%[o])\n\t"
      "vmovdqu64 %%zmm12, (%[o],%[ld],1)\n\t" "vmovdqu64 %%zmm13, 64(%[o],%[ld],1)\n\t"
      "vmovdqu64 %%zmm14, 128(%[o],%[ld],1)\n\t" "vmovdqu64 %%zmm15, 192(%[o],%[ld],1)\n\t"
      "vmovdqu64 %%zmm16, (%[o],%[ld],2)\n\t" "vmovdqu64 %%zmm17, 64(%[o],%[ld],2)\n\t"
      "vmovdqu64 %%zmm18, 128(%[o],%[ld],2)\n\t" "vmovdqu64 %%zmm19, 192(%[o],%[ld],2)\n\t"
      "vmovdqu64 %%zmm20, (%[o3])\n\t" "vmovdqu64 %%zmm21, 64(%[o3])\n\t"
      "vmovdqu64 %%zmm22, 128(%[o3])\n\t" "vmovdqu64 %%zmm23, 192(%[o3])\n\t"
      "vmovdqu64 %%zmm24, (%[o3],%[ld],1)\n\t" "vmovdqu64 %%zmm25, 64(%[o3],%[ld],1)\n\t"
      "vmovdqu64 %%zmm26, 128(%[o3],%[ld],1)\n\t" "vmovdqu64 %%zmm27, 192(%[o3],%[ld],1)\n\t"
      "vmovdqu64 %%zmm28, (%[o3],%[ld],2)\n\t" "vmovdqu64 %%zmm29, 64(%[o3],%[ld],2)\n\t"
      "vmovdqu64 %%zmm30, 128(%[o3],%[ld],2)\n\t" "vmovdqu64 %%zmm31, 192(%[o3],%[ld],2)\n\t"
      : [q] "+r"(q), [w] "+r"(w), [n] "+r"(d4)
      : [ws] "r"(wstep), [c] "r"(corr), [o] "r"(out), [o3] "r"(out3), [ld] "r"(ldo)
      : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10",
        "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20",
        "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30",
        "zmm31", "memory", "cc");
}

// 12 query rows x d = 32: acc[r][0..d) = sum_st p[r][4 st..4 st + 3] . v[st] (v: 4 tokens of each dim per
// dword, 128 bytes per step), p rows ps bytes apart; acc: [12][32] int32.
#define LB_PV_TILE_12X2(INSN)                                                                     \
  const uint8_t* p0 = p + 0 * ps;                                                                 \
  const uint8_t* p3 = p + 3 * ps;                                                                 \
  const uint8_t* p6 = p + 6 * ps;                                                                 \
  const uint8_t* p9 = p + 9 * ps;                                                                 \
  __asm__ volatile(                                                                               \
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t" "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"                     \
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t" "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"               \
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t" "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"               \
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t" "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"               \
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t" "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"               \
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t" "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"               \
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t" "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"               \
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t" "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"               \
      "vpxord %%zmm24, %%zmm24, %%zmm24\n\t" "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"               \
      "vpxord %%zmm26, %%zmm26, %%zmm26\n\t" "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"               \
      "vpxord %%zmm28, %%zmm28, %%zmm28\n\t" "vpxord %%zmm29, %%zmm29, %%zmm29\n\t"               \
      "vpxord %%zmm30, %%zmm30, %%zmm30\n\t" "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"               \
      "1:\n\t"                                                                                    \
      "vmovdqu64 (%[v]), %%zmm0\n\t" "vmovdqu64 64(%[v]), %%zmm1\n\t"                             \
      "vpbroadcastd (%[p0]), %%zmm4\n\t"                                                          \
      INSN " %%zmm0, %%zmm4, %%zmm8\n\t" INSN " %%zmm1, %%zmm4, %%zmm9\n\t"                       \
      "vpbroadcastd (%[p0],%[ps],1), %%zmm5\n\t"                                                  \
      INSN " %%zmm0, %%zmm5, %%zmm10\n\t" INSN " %%zmm1, %%zmm5, %%zmm11\n\t"                     \
      "vpbroadcastd (%[p0],%[ps],2), %%zmm4\n\t"                                                  \
      INSN " %%zmm0, %%zmm4, %%zmm12\n\t" INSN " %%zmm1, %%zmm4, %%zmm13\n\t"                     \
      "vpbroadcastd (%[p3]), %%zmm5\n\t"                                                          \
      INSN " %%zmm0, %%zmm5, %%zmm14\n\t" INSN " %%zmm1, %%zmm5, %%zmm15\n\t"                     \
      "vpbroadcastd (%[p3],%[ps],1), %%zmm4\n\t"                                                  \
      INSN " %%zmm0, %%zmm4, %%zmm16\n\t" INSN " %%zmm1, %%zmm4, %%zmm17\n\t"                     \
      "vpbroadcastd (%[p3],%[ps],2), %%zmm5\n\t"                                                  \
      INSN " %%zmm0, %%zmm5, %%zmm18\n\t" INSN " %%zmm1, %%zmm5, %%zmm19\n\t"                     \
      "vpbroadcastd (%[p6]), %%zmm4\n\t"                                                          \
      INSN " %%zmm0, %%zmm4, %%zmm20\n\t" INSN " %%zmm1, %%zmm4, %%zmm21\n\t"                     \
      "vpbroadcastd (%[p6],%[ps],1), %%zmm5\n\t"                                                  \
      INSN " %%zmm0, %%zmm5, %%zmm22\n\t" INSN " %%zmm1, %%zmm5, %%zmm23\n\t"                     \
      "vpbroadcastd (%[p6],%[ps],2), %%zmm4\n\t"                                                  \
      INSN " %%zmm0, %%zmm4, %%zmm24\n\t" INSN " %%zmm1, %%zmm4, %%zmm25\n\t"                     \
      "vpbroadcastd (%[p9]), %%zmm5\n\t"                                                          \
      INSN " %%zmm0, %%zmm5, %%zmm26\n\t" INSN " %%zmm1, %%zmm5, %%zmm27\n\t"                     \
      "vpbroadcastd (%[p9],%[ps],1), %%zmm4\n\t"                                                  \
      INSN " %%zmm0, %%zmm4, %%zmm28\n\t" INSN " %%zmm1, %%zmm4, %%zmm29\n\t"                     \
      "vpbroadcastd (%[p9],%[ps],2), %%zmm5\n\t"                                                  \
      INSN " %%zmm0, %%zmm5, %%zmm30\n\t" INSN " %%zmm1, %%zmm5, %%zmm31\n\t"                     \
      "add $4, %[p0]\n\t" "add $4, %[p3]\n\t" "add $4, %[p6]\n\t" "add $4, %[p9]\n\t"             \
      "add $128, %[v]\n\t" "dec %[n]\n\t" "jnz 1b\n\t"                                            \
      "vmovdqu64 %%zmm8, (%[acc])\n\t" "vmovdqu64 %%zmm9, 64(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm10, 128(%[acc])\n\t" "vmovdqu64 %%zmm11, 192(%[acc])\n\t"                   \
      "vmovdqu64 %%zmm12, 256(%[acc])\n\t" "vmovdqu64 %%zmm13, 320(%[acc])\n\t"                   \
      "vmovdqu64 %%zmm14, 384(%[acc])\n\t" "vmovdqu64 %%zmm15, 448(%[acc])\n\t"                   \
      "vmovdqu64 %%zmm16, 512(%[acc])\n\t" "vmovdqu64 %%zmm17, 576(%[acc])\n\t"                   \
      "vmovdqu64 %%zmm18, 640(%[acc])\n\t" "vmovdqu64 %%zmm19, 704(%[acc])\n\t"                   \
      "vmovdqu64 %%zmm20, 768(%[acc])\n\t" "vmovdqu64 %%zmm21, 832(%[acc])\n\t"                   \
      "vmovdqu64 %%zmm22, 896(%[acc])\n\t" "vmovdqu64 %%zmm23, 960(%[acc])\n\t"                   \
      "vmovdqu64 %%zmm24, 1024(%[acc])\n\t" "vmovdqu64 %%zmm25, 1088(%[acc])\n\t"                 \
      "vmovdqu64 %%zmm26, 1152(%[acc])\n\t" "vmovdqu64 %%zmm27, 1216(%[acc])\n\t"                 \
      "vmovdqu64 %%zmm28, 1280(%[acc])\n\t" "vmovdqu64 %%zmm29, 1344(%[acc])\n\t"                 \
      "vmovdqu64 %%zmm30, 1408(%[acc])\n\t" "vmovdqu64 %%zmm31, 1472(%[acc])\n\t"                 \
      : [p0] "+r"(p0), [p3] "+r"(p3), [p6] "+r"(p6), [p9] "+r"(p9), [v] "+r"(v), [n] "+r"(steps)  \
      : [ps] "r"(ps), [acc] "r"(acc)                                                              \
      : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10",  \
        "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", \
        "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", \
        "zmm31", "memory", "cc");
inline void pv_tile_12x2(const uint8_t* p, int64_t ps, const int8_t* v, int64_t steps, int32_t* acc) {
  LB_PV_TILE_12X2("vpdpbusd");
}
// the same on int16 pairs (vpdpwssd): p rows hold int16 weights (2 tokens per dword), v 2 tokens of each dim per
// dword: Log-Int-Softmax's weights 2^(14 - k) exceed uint8
inline void pv_tile_12x2_w(const uint8_t* p, int64_t ps, const int8_t* v, int64_t steps, int32_t* acc) {
  LB_PV_TILE_12X2("vpdpwssd");
}

// 6 query rows x d = 64: acc[r][0..d) = sum_st p[r][4 st..4 st + 3] . v[st] (v: 4 tokens of each dim per
// dword, 256 bytes per step), p rows ps bytes apart; acc: [6][64] int32.
#define LB_PV_TILE_6X4(INSN)                                                                            \
  const uint8_t* p0 = p + 0 * ps;                                                                       \
  const uint8_t* p3 = p + 3 * ps;                                                                       \
  __asm__ volatile(                                                                                     \
      "vpxord %%zmm8, %%zmm8, %%zmm8\n\t" "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"                           \
      "vpxord %%zmm10, %%zmm10, %%zmm10\n\t" "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"                     \
      "vpxord %%zmm12, %%zmm12, %%zmm12\n\t" "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"                     \
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t" "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"                     \
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t" "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"                     \
      "vpxord %%zmm18, %%zmm18, %%zmm18\n\t" "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"                     \
      "vpxord %%zmm20, %%zmm20, %%zmm20\n\t" "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"                     \
      "vpxord %%zmm22, %%zmm22, %%zmm22\n\t" "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"                     \
      "vpxord %%zmm24, %%zmm24, %%zmm24\n\t" "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"                     \
      "vpxord %%zmm26, %%zmm26, %%zmm26\n\t" "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"                     \
      "vpxord %%zmm28, %%zmm28, %%zmm28\n\t" "vpxord %%zmm29, %%zmm29, %%zmm29\n\t"                     \
      "vpxord %%zmm30, %%zmm30, %%zmm30\n\t" "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"                     \
      "1:\n\t"                                                                                          \
      "vmovdqu64 (%[v]), %%zmm0\n\t" "vmovdqu64 64(%[v]), %%zmm1\n\t" "vmovdqu64 128(%[v]), %%zmm2\n\t" \
      "vmovdqu64 192(%[v]), %%zmm3\n\t"                                                                 \
      "vpbroadcastd (%[p0]), %%zmm4\n\t"                                                                \
      INSN " %%zmm0, %%zmm4, %%zmm8\n\t" INSN " %%zmm1, %%zmm4, %%zmm9\n\t"                             \
      INSN " %%zmm2, %%zmm4, %%zmm10\n\t" INSN " %%zmm3, %%zmm4, %%zmm11\n\t"                           \
      "vpbroadcastd (%[p0],%[ps],1), %%zmm5\n\t"                                                        \
      INSN " %%zmm0, %%zmm5, %%zmm12\n\t" INSN " %%zmm1, %%zmm5, %%zmm13\n\t"                           \
      INSN " %%zmm2, %%zmm5, %%zmm14\n\t" INSN " %%zmm3, %%zmm5, %%zmm15\n\t"                           \
      "vpbroadcastd (%[p0],%[ps],2), %%zmm4\n\t"                                                        \
      INSN " %%zmm0, %%zmm4, %%zmm16\n\t" INSN " %%zmm1, %%zmm4, %%zmm17\n\t"                           \
      INSN " %%zmm2, %%zmm4, %%zmm18\n\t" INSN " %%zmm3, %%zmm4, %%zmm19\n\t"                           \
      "vpbroadcastd (%[p3]), %%zmm5\n\t"                                                                \
      INSN " %%zmm0, %%zmm5, %%zmm20\n\t" INSN " %%zmm1, %%zmm5, %%zmm21\n\t"                           \
      INSN " %%zmm2, %%zmm5, %%zmm22\n\t" INSN " %%zmm3, %%zmm5, %%zmm23\n\t"                           \
      "vpbroadcastd (%[p3],%[ps],1), %%zmm4\n\t"                                                        \
      INSN " %%zmm0, %%zmm4, %%zmm24\n\t" INSN " %%zmm1, %%zmm4, %%zmm25\n\t"                           \
      INSN " %%zmm2, %%zmm4, %%zmm26\n\t" INSN " %%zmm3, %%zmm4, %%zmm27\n\t"                           \
      "vpbroadcastd (%[p3],%[ps],2), %%zmm5\n\t"                                                        \
      INSN " %%zmm0, %%zmm5, %%zmm28\n\t" INSN " %%zmm1, %%zmm5, %%zmm29\n\t"                           \
      INSN " %%zmm2, %%zmm5, %%zmm30\n\t" INSN " %%zmm3, %%zmm5, %%zmm31\n\t"                           \
      "add $4, %[p0]\n\t" "add $4, %[p3]\n\t" "add $256, %[v]\n\t" "dec %[n]\n\t"                       \
      "jnz 1b\n\t"                                                                                      \
      "vmovdqu64 %%zmm8, (%[acc])\n\t" "vmovdqu64 %%zmm9, 64(%[acc])\n\t"                               \
      "vmovdqu64 %%zmm10, 128(%[acc])\n\t" "vmovdqu64 %%zmm11, 192(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm12, 256(%[acc])\n\t" "vmovdqu64 %%zmm13, 320(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm14, 384(%[acc])\n\t" "vmovdqu64 %%zmm15, 448(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm16, 512(%[acc])\n\t" "vmovdqu64 %%zmm17, 576(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm18, 640(%[acc])\n\t" "vmovdqu64 %%zmm19, 704(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm20, 768(%[acc])\n\t" "vmovdqu64 %%zmm21, 832(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm22, 896(%[acc])\n\t" "vmovdqu64 %%zmm23, 960(%[acc])\n\t"                         \
      "vmovdqu64 %%zmm24, 1024(%[acc])\n\t" "vmovdqu64 %%zmm25, 1088(%[acc])\n\t"                       \
      "vmovdqu64 %%zmm26, 1152(%[acc])\n\t" "vmovdqu64 %%zmm27, 1216(%[acc])\n\t"                       \
      "vmovdqu64 %%zmm28, 1280(%[acc])\n\t" "vmovdqu64 %%zmm29, 1344(%[acc])\n\t"                       \
      "vmovdqu64 %%zmm30, 1408(%[acc])\n\t" "vmovdqu64 %%zmm31, 1472(%[acc])\n\t"                       \
      : [p0] "+r"(p0), [p3] "+r"(p3), [v] "+r"(v), [n] "+r"(steps)                                      \
      : [ps] "r"(ps), [acc] "r"(acc)                                                                    \
      : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10",        \
        "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20",       \
        "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30",       \
        "zmm31", "memory", "cc");
inline void pv_tile_6x4(const uint8_t* p, int64_t ps, const int8_t* v, int64_t steps, int32_t* acc) {
  LB_PV_TILE_6X4("vpdpbusd");
}
// the same on int16 pairs (vpdpwssd): p rows hold int16 weights (2 tokens per dword), v 2 tokens of each dim per
// dword: Log-Int-Softmax's weights 2^(14 - k) exceed uint8
inline void pv_tile_6x4_w(const uint8_t* p, int64_t ps, const int8_t* v, int64_t steps, int32_t* acc) {
  LB_PV_TILE_6X4("vpdpwssd");
}



struct Scratch {
  std::vector<int8_t> kp;       // [d/4][Tk][4]: step s of key j at (s Tk + j) 4, keys padded to Tk (64 | Tk)
  std::vector<int32_t> kcorr;   // [Tk]: bias[j] - 128 sum_c k[j, c] (q is read as q + 128, unsigned)
  std::vector<int8_t> vp;       // [T4][d][4]: tokens 4s..4s+3 of dim c at (s d + c) 4, zero past T
  std::vector<int32_t> scores;  // [rows][Tk]
  std::vector<uint8_t> p;       // [rows][4 T4], zero past T
  std::vector<uint32_t> qu;     // [rows / 6][d/4][6]: q + 128 as dwords, in qk_tile's order
  std::vector<int16_t> vw;      // Log-Int-Softmax: [T2][d][2] tokens 2s, 2s + 1 of dim c, zero past T
  std::vector<int16_t> pw;      // Log-Int-Softmax: [rows][2 T2] weights 2^(14 - k), zero where k = 15 or past T
};

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// K_h packed in 4-dim steps for qk_tile, and the correction for reading q as unsigned
void pack_keys(const int8_t* k, int64_t row, int64_t T, int64_t d, const int32_t* bias, Scratch& s, int64_t Tk) {
  const int64_t d4 = d / 4;
  s.kp.assign(size_t(d4 * Tk * 4), 0);
  s.kcorr.assign(size_t(Tk), 0);
  for (int64_t j = 0; j < T; ++j) {
    const int8_t* kj = k + j * row;
    int32_t sum = 0;
    for (int64_t c = 0; c < d; ++c) sum += kj[c];
    s.kcorr[size_t(j)] = (bias ? bias[j] : 0) - 128 * sum;
    for (int64_t st = 0; st < d4; ++st) std::memcpy(&s.kp[size_t((st * Tk + j) * 4)], kj + 4 * st, 4);
  }
}

// V_h packed as the p v tile's operand: 4 tokens' values of one dim per dword
void pack_values(const int8_t* v, int64_t row, int64_t T, int64_t d, Scratch& s) {
  const int64_t T4 = (T + 3) / 4;
  s.vp.resize(size_t(T4 * d * 4));
  const __m128i zero = _mm_setzero_si128();
  for (int64_t st = 0; st < T4; ++st) {
    for (int64_t c = 0; c < d; c += 16) {
      __m128i r[4];
      for (int t = 0; t < 4; ++t) {
        const int64_t tok = 4 * st + t;
        r[t] = tok < T ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(v + tok * row + c)) : zero;
      }
      const __m128i a_lo = _mm_unpacklo_epi8(r[0], r[1]), a_hi = _mm_unpackhi_epi8(r[0], r[1]);
      const __m128i b_lo = _mm_unpacklo_epi8(r[2], r[3]), b_hi = _mm_unpackhi_epi8(r[2], r[3]);
      __m128i* out = reinterpret_cast<__m128i*>(&s.vp[size_t((st * d + c) * 4)]);
      _mm_storeu_si128(out + 0, _mm_unpacklo_epi16(a_lo, b_lo));
      _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(a_lo, b_lo));
      _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(a_hi, b_hi));
      _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(a_hi, b_hi));
    }
  }
}

// V_h as int16 pairs for the vpdpwssd p v tile: tokens 2s and 2s + 1 of one dim per dword
void pack_value_pairs(const int8_t* v, int64_t row, int64_t T, int64_t d, Scratch& s) {
  const int64_t T2 = (T + 1) / 2;
  s.vw.assign(size_t(T2 * d * 2), 0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < d; ++c) s.vw[size_t(((t / 2) * d + c) * 2 + t % 2)] = v[t * row + c];
}

// Log-Int-Softmax codes k (rows at stride ks) -> p v weights 2^(14 - k), 0 for k = 15
void lis_weights(const uint8_t* k, int64_t ks, int64_t rows, int64_t T, int16_t* w, int64_t ws) {
  const __m512i one = _mm512_set1_epi16(1), top = _mm512_set1_epi16(14), zero_code = _mm512_set1_epi16(15);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < T; j += 32) {
      const __mmask32 m = T - j >= 32 ? ~__mmask32(0) : (__mmask32(1) << (T - j)) - 1;
      const __m512i kk = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, k + r * ks + j));
      const __mmask32 live = _mm512_cmplt_epu16_mask(kk, zero_code);
      _mm512_mask_storeu_epi16(w + r * ws + j, m, _mm512_maskz_sllv_epi16(live, one, _mm512_sub_epi16(top, kk)));
    }
}

// D16 = d / 16 = 2 or 4: blocks of R = 24 / D16 query rows (the p v tile), two or one q k^T tiles each.
// kLis: `softmax` writes Log-Int-Softmax codes, and p v sums V 2^(14 - k) in int16 pairs.
template <int D16, bool kLis>
void head(const int8_t* qkv, int64_t b, int64_t h, int64_t T, int64_t H, const int32_t* bias,
          const RowSoftmax& softmax, int32_t m0, int32_t shift, int8_t* ctx, Scratch& s) {
  constexpr int64_t d = 16 * D16, d4 = d / 4, R = 24 / D16;
  static_assert(R % kQkRows == 0, "a block is whole q k^T tiles");
  const int64_t row = 3 * H, Tk = round_up(T, 64), T4 = (T + 3) / 4, ps = 4 * T4;
  const int8_t* base = qkv + b * T * row + h * d;
  const int64_t T2 = (T + 1) / 2;
  pack_keys(base + H, row, T, d, bias ? bias + b * T : nullptr, s, Tk);
  if (kLis) {
    pack_value_pairs(base + 2 * H, row, T, d, s);
    s.pw.assign(size_t(R * 2 * T2), 0);
  } else {
    pack_values(base + 2 * H, row, T, d, s);
  }
  s.scores.resize(size_t(R * Tk));
  s.p.assign(size_t(R * ps), 0);
  s.qu.resize(size_t(R * d4));
  alignas(64) int32_t acc[R * d];
  const __m512i m = _mm512_set1_epi32(m0), sh = _mm512_set1_epi32(shift), zp = _mm512_setzero_si512();
  const __m512i lo = _mm512_set1_epi64(-127), hi = _mm512_set1_epi64(127);
  for (int64_t i0 = 0; i0 < T; i0 += R) {
    const int64_t rows = std::min<int64_t>(R, T - i0);
    for (int64_t r = 0; r < R; ++r) {  // rows past T repeat the last row: computed, never stored
      const int8_t* q = base + std::min(i0 + r, T - 1) * row;
      uint32_t* qu = s.qu.data() + (r / kQkRows) * d4 * kQkRows + r % kQkRows;
      for (int64_t st = 0; st < d4; ++st) {
        uint32_t word;
        std::memcpy(&word, q + 4 * st, 4);
        qu[st * kQkRows] = word ^ 0x80808080u;
      }
    }
    for (int64_t g = 0; g < R / kQkRows; ++g)
      for (int64_t c0 = 0; c0 < Tk; c0 += 64)
        qk_tile(s.qu.data() + g * d4 * kQkRows, s.kp.data() + c0 * 4, Tk * 4, d4, s.kcorr.data() + c0,
                s.scores.data() + g * kQkRows * Tk + c0, Tk * 4);
    if (Tk == T) {
      softmax(s.scores.data(), R, T, s.p.data());
    } else {
      for (int64_t r = 0; r < R; ++r) softmax(s.scores.data() + r * Tk, 1, T, s.p.data() + r * ps);
    }
    if (kLis) {
      lis_weights(s.p.data(), Tk == T ? T : ps, R, T, s.pw.data(), 2 * T2);
      const auto* pw = reinterpret_cast<const uint8_t*>(s.pw.data());
      const auto* vw = reinterpret_cast<const int8_t*>(s.vw.data());
      if (D16 == 2) pv_tile_12x2_w(pw, 4 * T2, vw, T2, acc);
      else pv_tile_6x4_w(pw, 4 * T2, vw, T2, acc);
    } else if (D16 == 2) {
      pv_tile_12x2(s.p.data(), ps, s.vp.data(), T4, acc);
    } else {
      pv_tile_6x4(s.p.data(), ps, s.vp.data(), T4, acc);
    }
    int8_t* out = ctx + (b * T + i0) * H + h * d;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t z = 0; z < D16; ++z) {
        const __m512i q = avx512::requant16(_mm512_load_si512(acc + r * d + 16 * z), m, sh, lo, hi, zp);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r * H + 16 * z), _mm512_cvtsepi32_epi8(q));
      }
  }
}

}  // namespace

bool attention_head_fits(int64_t d) { return d == 32 || d == 64; }

void attention_head_avx512(const int8_t* qkv, int64_t b, int64_t h, int64_t T, int64_t H, int64_t d,
                           const int32_t* bias, const RowSoftmax& softmax, int32_t m0, int32_t shift, int8_t* ctx) {
  thread_local Scratch s;
  if (d == 32) return head<2, false>(qkv, b, h, T, H, bias, softmax, m0, shift, ctx, s);
  return head<4, false>(qkv, b, h, T, H, bias, softmax, m0, shift, ctx, s);
}

void attention_fq_head_avx512(const int8_t* qkv, int64_t b, int64_t h, int64_t T, int64_t H, int64_t d,
                              const int32_t* bias, const AttentionSoftmax& sm, int32_t m0, int32_t shift,
                              int8_t* ctx) {
  thread_local Scratch s;
  const RowSoftmax lis = [&](int32_t* q, int64_t rows, int64_t n, uint8_t* k) {
    round_scores(q, rows * n, sm.score_shift);
    log_int_softmax(Isa::avx512, q, rows, n, sm.sp, k);
  };
  if (d == 32) return head<2, true>(qkv, b, h, T, H, bias, lis, m0, shift, ctx, s);
  return head<4, true>(qkv, b, h, T, H, bias, lis, m0, shift, ctx, s);
}

}  // namespace lowbit
