// The AVX-512 VNNI GEMM micro-kernel: R rows (1..6) x 64 columns of C in R x 4 zmm accumulators, in
// inline asm (gcc 12 keeps 24 intrinsic accumulators in memory however the code is written: it stores
// them back every k step, 4x slower). Register use: zmm0-23 accumulators (row r: 4r..4r+3), zmm24-27 one
// k4 step of the weight panel (256 bytes), zmm28-29 activation broadcasts, zmm30 the K-segment shift.
// Rows 0-2 are addressed from a, rows 3-5 from a + 3 lda. Only R rows are read: a tail of M needs no
// zero-padded activation rows, and a tile of fewer rows spends no vpdpbusd on padding.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace lowbit {
namespace tile_avx512 {

// one k4 step of the weights at byte offset OFF
#define LB_W(OFF) \
  "vmovdqu64 " #OFF "+0(%[b]), %%zmm24\n vmovdqu64 " #OFF "+64(%[b]), %%zmm25\n" \
  "vmovdqu64 " #OFF "+128(%[b]), %%zmm26\n vmovdqu64 " #OFF "+192(%[b]), %%zmm27\n"
// one row's k4 step: broadcast its 4 activation bytes at ADDR, 4 vpdpbusd into accumulators C0-C3
#define LB_ROW(ADDR, X, C0, C1, C2, C3) \
  "vpbroadcastd " ADDR ", %%zmm" X "\n" \
  "vpdpbusd %%zmm24, %%zmm" X ", %%zmm" C0 "\n vpdpbusd %%zmm25, %%zmm" X ", %%zmm" C1 "\n" \
  "vpdpbusd %%zmm26, %%zmm" X ", %%zmm" C2 "\n vpdpbusd %%zmm27, %%zmm" X ", %%zmm" C3 "\n"
#define LB_R0(O) LB_ROW(#O "(%[a])", "28", "0", "1", "2", "3")
#define LB_Z0 "vpxord %%zmm0, %%zmm0, %%zmm0\n" "vpxord %%zmm1, %%zmm1, %%zmm1\n" "vpxord %%zmm2, %%zmm2, %%zmm2\n" "vpxord %%zmm3, %%zmm3, %%zmm3\n"
#define LB_L0 "vmovdqa64 0(%[c]), %%zmm0\n" "vmovdqa64 64(%[c]), %%zmm1\n" "vmovdqa64 128(%[c]), %%zmm2\n" "vmovdqa64 192(%[c]), %%zmm3\n"
#define LB_S0 "vmovdqa64 %%zmm0, 0(%[c])\n" "vmovdqa64 %%zmm1, 64(%[c])\n" "vmovdqa64 %%zmm2, 128(%[c])\n" "vmovdqa64 %%zmm3, 192(%[c])\n"
#define LB_H0 "vpslld %%xmm30, %%zmm0, %%zmm0\n" "vpslld %%xmm30, %%zmm1, %%zmm1\n" "vpslld %%xmm30, %%zmm2, %%zmm2\n" "vpslld %%xmm30, %%zmm3, %%zmm3\n"
#define LB_R1(O) LB_ROW(#O "(%[a],%[lda],1)", "29", "4", "5", "6", "7")
#define LB_Z1 "vpxord %%zmm4, %%zmm4, %%zmm4\n" "vpxord %%zmm5, %%zmm5, %%zmm5\n" "vpxord %%zmm6, %%zmm6, %%zmm6\n" "vpxord %%zmm7, %%zmm7, %%zmm7\n"
#define LB_L1 "vmovdqa64 256(%[c]), %%zmm4\n" "vmovdqa64 320(%[c]), %%zmm5\n" "vmovdqa64 384(%[c]), %%zmm6\n" "vmovdqa64 448(%[c]), %%zmm7\n"
#define LB_S1 "vmovdqa64 %%zmm4, 256(%[c])\n" "vmovdqa64 %%zmm5, 320(%[c])\n" "vmovdqa64 %%zmm6, 384(%[c])\n" "vmovdqa64 %%zmm7, 448(%[c])\n"
#define LB_H1 "vpslld %%xmm30, %%zmm4, %%zmm4\n" "vpslld %%xmm30, %%zmm5, %%zmm5\n" "vpslld %%xmm30, %%zmm6, %%zmm6\n" "vpslld %%xmm30, %%zmm7, %%zmm7\n"
#define LB_R2(O) LB_ROW(#O "(%[a],%[lda],2)", "28", "8", "9", "10", "11")
#define LB_Z2 "vpxord %%zmm8, %%zmm8, %%zmm8\n" "vpxord %%zmm9, %%zmm9, %%zmm9\n" "vpxord %%zmm10, %%zmm10, %%zmm10\n" "vpxord %%zmm11, %%zmm11, %%zmm11\n"
#define LB_L2 "vmovdqa64 512(%[c]), %%zmm8\n" "vmovdqa64 576(%[c]), %%zmm9\n" "vmovdqa64 640(%[c]), %%zmm10\n" "vmovdqa64 704(%[c]), %%zmm11\n"
#define LB_S2 "vmovdqa64 %%zmm8, 512(%[c])\n" "vmovdqa64 %%zmm9, 576(%[c])\n" "vmovdqa64 %%zmm10, 640(%[c])\n" "vmovdqa64 %%zmm11, 704(%[c])\n"
#define LB_H2 "vpslld %%xmm30, %%zmm8, %%zmm8\n" "vpslld %%xmm30, %%zmm9, %%zmm9\n" "vpslld %%xmm30, %%zmm10, %%zmm10\n" "vpslld %%xmm30, %%zmm11, %%zmm11\n"
#define LB_R3(O) LB_ROW(#O "(%[a3])", "29", "12", "13", "14", "15")
#define LB_Z3 "vpxord %%zmm12, %%zmm12, %%zmm12\n" "vpxord %%zmm13, %%zmm13, %%zmm13\n" "vpxord %%zmm14, %%zmm14, %%zmm14\n" "vpxord %%zmm15, %%zmm15, %%zmm15\n"
#define LB_L3 "vmovdqa64 768(%[c]), %%zmm12\n" "vmovdqa64 832(%[c]), %%zmm13\n" "vmovdqa64 896(%[c]), %%zmm14\n" "vmovdqa64 960(%[c]), %%zmm15\n"
#define LB_S3 "vmovdqa64 %%zmm12, 768(%[c])\n" "vmovdqa64 %%zmm13, 832(%[c])\n" "vmovdqa64 %%zmm14, 896(%[c])\n" "vmovdqa64 %%zmm15, 960(%[c])\n"
#define LB_H3 "vpslld %%xmm30, %%zmm12, %%zmm12\n" "vpslld %%xmm30, %%zmm13, %%zmm13\n" "vpslld %%xmm30, %%zmm14, %%zmm14\n" "vpslld %%xmm30, %%zmm15, %%zmm15\n"
#define LB_R4(O) LB_ROW(#O "(%[a3],%[lda],1)", "28", "16", "17", "18", "19")
#define LB_Z4 "vpxord %%zmm16, %%zmm16, %%zmm16\n" "vpxord %%zmm17, %%zmm17, %%zmm17\n" "vpxord %%zmm18, %%zmm18, %%zmm18\n" "vpxord %%zmm19, %%zmm19, %%zmm19\n"
#define LB_L4 "vmovdqa64 1024(%[c]), %%zmm16\n" "vmovdqa64 1088(%[c]), %%zmm17\n" "vmovdqa64 1152(%[c]), %%zmm18\n" "vmovdqa64 1216(%[c]), %%zmm19\n"
#define LB_S4 "vmovdqa64 %%zmm16, 1024(%[c])\n" "vmovdqa64 %%zmm17, 1088(%[c])\n" "vmovdqa64 %%zmm18, 1152(%[c])\n" "vmovdqa64 %%zmm19, 1216(%[c])\n"
#define LB_H4 "vpslld %%xmm30, %%zmm16, %%zmm16\n" "vpslld %%xmm30, %%zmm17, %%zmm17\n" "vpslld %%xmm30, %%zmm18, %%zmm18\n" "vpslld %%xmm30, %%zmm19, %%zmm19\n"
#define LB_R5(O) LB_ROW(#O "(%[a3],%[lda],2)", "29", "20", "21", "22", "23")
#define LB_Z5 "vpxord %%zmm20, %%zmm20, %%zmm20\n" "vpxord %%zmm21, %%zmm21, %%zmm21\n" "vpxord %%zmm22, %%zmm22, %%zmm22\n" "vpxord %%zmm23, %%zmm23, %%zmm23\n"
#define LB_L5 "vmovdqa64 1280(%[c]), %%zmm20\n" "vmovdqa64 1344(%[c]), %%zmm21\n" "vmovdqa64 1408(%[c]), %%zmm22\n" "vmovdqa64 1472(%[c]), %%zmm23\n"
#define LB_S5 "vmovdqa64 %%zmm20, 1280(%[c])\n" "vmovdqa64 %%zmm21, 1344(%[c])\n" "vmovdqa64 %%zmm22, 1408(%[c])\n" "vmovdqa64 %%zmm23, 1472(%[c])\n"
#define LB_H5 "vpslld %%xmm30, %%zmm20, %%zmm20\n" "vpslld %%xmm30, %%zmm21, %%zmm21\n" "vpslld %%xmm30, %%zmm22, %%zmm22\n" "vpslld %%xmm30, %%zmm23, %%zmm23\n"
#define LB_RROWS1(O) LB_R0(O)
#define LB_RROWS2(O) LB_RROWS1(O) LB_R1(O)
#define LB_RROWS3(O) LB_RROWS2(O) LB_R2(O)
#define LB_RROWS4(O) LB_RROWS3(O) LB_R3(O)
#define LB_RROWS5(O) LB_RROWS4(O) LB_R4(O)
#define LB_RROWS6(O) LB_RROWS5(O) LB_R5(O)
#define LB_ZROWS1 LB_Z0
#define LB_ZROWS2 LB_ZROWS1 LB_Z1
#define LB_ZROWS3 LB_ZROWS2 LB_Z2
#define LB_ZROWS4 LB_ZROWS3 LB_Z3
#define LB_ZROWS5 LB_ZROWS4 LB_Z4
#define LB_ZROWS6 LB_ZROWS5 LB_Z5
#define LB_LROWS1 LB_L0
#define LB_LROWS2 LB_LROWS1 LB_L1
#define LB_LROWS3 LB_LROWS2 LB_L2
#define LB_LROWS4 LB_LROWS3 LB_L3
#define LB_LROWS5 LB_LROWS4 LB_L4
#define LB_LROWS6 LB_LROWS5 LB_L5
#define LB_SROWS1 LB_S0
#define LB_SROWS2 LB_SROWS1 LB_S1
#define LB_SROWS3 LB_SROWS2 LB_S2
#define LB_SROWS4 LB_SROWS3 LB_S3
#define LB_SROWS5 LB_SROWS4 LB_S4
#define LB_SROWS6 LB_SROWS5 LB_S5
#define LB_HROWS1 LB_H0
#define LB_HROWS2 LB_HROWS1 LB_H1
#define LB_HROWS3 LB_HROWS2 LB_H2
#define LB_HROWS4 LB_HROWS3 LB_H3
#define LB_HROWS5 LB_HROWS4 LB_H4
#define LB_HROWS6 LB_HROWS5 LB_H5
#define LB_TILE_CLOBBERS \
  "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", \
  "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30"

// acc = A[R rows] x panel over k4 steps, accumulators zeroed in registers (not loaded: one tile's
// start then does not wait on the previous tile's stores). Two k4 steps per loop iteration.
#define LB_TILE(N) \
  __asm__ volatile(LB_ZROWS##N "test %[k], %[k]\n jz 2f\n" \
                   "1:\n" LB_W(0) LB_RROWS##N(0) LB_W(256) LB_RROWS##N(4) \
                   "add $512, %[b]\n add $8, %[a]\n add $8, %[a3]\n dec %[k]\n jnz 1b\n" \
                   "2:\n test %[odd], %[odd]\n jz 3f\n" LB_W(0) LB_RROWS##N(0) "3:\n" LB_SROWS##N \
                   : [a] "+r"(a), [a3] "+r"(a3), [b] "+r"(b), [k] "+r"(k2) \
                   : [lda] "r"(lda), [c] "r"(acc), [odd] "r"(odd) \
                   : LB_TILE_CLOBBERS)

// The same over K segments (csrc/gemm.h): lens[s] k4 steps, then every accumulator << shifts[s], all in
// registers (one tile call per segment would store and reload the accumulators each time).
#define LB_TILE_SEGMENTS(N) \
  __asm__ volatile(LB_ZROWS##N \
                   "2:\n movslq (%[lens]), %[k]\n test %[k], %[k]\n jz 3f\n" \
                   "1:\n" LB_W(0) LB_RROWS##N(0) \
                   "add $256, %[b]\n add $4, %[a]\n add $4, %[a3]\n dec %[k]\n jnz 1b\n" \
                   "3:\n vmovd (%[sh]), %%xmm30\n" LB_HROWS##N \
                   "add $4, %[lens]\n add $4, %[sh]\n dec %[n]\n jnz 2b\n" LB_SROWS##N \
                   : [a] "+r"(a), [a3] "+r"(a3), [b] "+r"(b), [k] "+r"(k), [lens] "+r"(lens), \
                     [sh] "+r"(shifts), [n] "+r"(nseg) \
                   : [lda] "r"(lda), [c] "r"(acc) \
                   : LB_TILE_CLOBBERS)

// acc[R x 4] = A[R rows, 4 k4 bytes each step] x the k4n64 panel b.
// acc[R x 4] = A[R rows, 4 k4 bytes each step] x the k4n64 panel b.
template <int R>
inline void tile(const uint8_t* a, int64_t lda, const int8_t* b, int64_t k4, __m512i* acc) {
  static_assert(R >= 1 && R <= 6);
  const uint8_t* a3 = R > 3 ? a + 3 * lda : a;
  int64_t k2 = k4 / 2;
  const int64_t odd = k4 & 1;
  if constexpr (R == 1) LB_TILE(1);
  else if constexpr (R == 2) LB_TILE(2);
  else if constexpr (R == 3) LB_TILE(3);
  else if constexpr (R == 4) LB_TILE(4);
  else if constexpr (R == 5) LB_TILE(5);
  else LB_TILE(6);
}

// The same with K segments: nseg >= 1 segments of lens[s] k4 steps each.
template <int R>
inline void tile_segments(const uint8_t* a, int64_t lda, const int8_t* b, const int32_t* lens,
                          const int32_t* shifts, int64_t nseg, __m512i* acc) {
  static_assert(R >= 1 && R <= 6);
  const uint8_t* a3 = R > 3 ? a + 3 * lda : a;
  int64_t k = 0;
  if constexpr (R == 1) LB_TILE_SEGMENTS(1);
  else if constexpr (R == 2) LB_TILE_SEGMENTS(2);
  else if constexpr (R == 3) LB_TILE_SEGMENTS(3);
  else if constexpr (R == 4) LB_TILE_SEGMENTS(4);
  else if constexpr (R == 5) LB_TILE_SEGMENTS(5);
  else LB_TILE_SEGMENTS(6);
}

// Rows [0, rows) with 1 <= rows <= 6 (the tile height is a compile-time constant of the asm).
inline void tile_rows(int rows, const uint8_t* a, int64_t lda, const int8_t* b, int64_t k4, __m512i* acc) {
  switch (rows) {
    case 1: tile<1>(a, lda, b, k4, acc); break;
    case 2: tile<2>(a, lda, b, k4, acc); break;
    case 3: tile<3>(a, lda, b, k4, acc); break;
    case 4: tile<4>(a, lda, b, k4, acc); break;
    case 5: tile<5>(a, lda, b, k4, acc); break;
    default: tile<6>(a, lda, b, k4, acc); break;
  }
}

inline void tile_segments_rows(int rows, const uint8_t* a, int64_t lda, const int8_t* b, const int32_t* lens,
                               const int32_t* shifts, int64_t nseg, __m512i* acc) {
  switch (rows) {
    case 1: tile_segments<1>(a, lda, b, lens, shifts, nseg, acc); break;
    case 2: tile_segments<2>(a, lda, b, lens, shifts, nseg, acc); break;
    case 3: tile_segments<3>(a, lda, b, lens, shifts, nseg, acc); break;
    case 4: tile_segments<4>(a, lda, b, lens, shifts, nseg, acc); break;
    case 5: tile_segments<5>(a, lda, b, lens, shifts, nseg, acc); break;
    default: tile_segments<6>(a, lda, b, lens, shifts, nseg, acc); break;
  }
}

}  // namespace tile_avx512
}  // namespace lowbit
