// The AVX-512 VNNI GEMM micro-kernel: R rows (1..6) x 64 columns of C in R x 4 zmm accumulators, in
// inline asm (gcc 12 keeps 24 intrinsic accumulators in memory however the code is written: it stores
// them back every k step, 4x slower). Register use: zmm0-23 accumulators (row r: 4r..4r+3), zmm24-27 one
// k4 step of the weight panel (256 bytes), zmm28-29 activation broadcasts, zmm30 the K-segment shift.
// Rows 0-2 are addressed from a, rows 3-5 from a + 3 lda. Only R rows are read: a tail of M needs no
// zero-padded activation rows, and a tile of fewer rows spends no vpdpbusd on padding. The asm is
// assembled from per-row macros (LB_<kind><row>, chained into LB_<kind>ROWS<R>).
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
#define LB_S0 "vmovdqa64 %%zmm0, 0(%[c])\n" "vmovdqa64 %%zmm1, 64(%[c])\n" "vmovdqa64 %%zmm2, 128(%[c])\n" "vmovdqa64 %%zmm3, 192(%[c])\n"
#define LB_H0 "vpslld %%xmm30, %%zmm0, %%zmm0\n" "vpslld %%xmm30, %%zmm1, %%zmm1\n" "vpslld %%xmm30, %%zmm2, %%zmm2\n" "vpslld %%xmm30, %%zmm3, %%zmm3\n"
#define LB_R1(O) LB_ROW(#O "(%[a],%[lda],1)", "29", "4", "5", "6", "7")
#define LB_Z1 "vpxord %%zmm4, %%zmm4, %%zmm4\n" "vpxord %%zmm5, %%zmm5, %%zmm5\n" "vpxord %%zmm6, %%zmm6, %%zmm6\n" "vpxord %%zmm7, %%zmm7, %%zmm7\n"
#define LB_S1 "vmovdqa64 %%zmm4, 256(%[c])\n" "vmovdqa64 %%zmm5, 320(%[c])\n" "vmovdqa64 %%zmm6, 384(%[c])\n" "vmovdqa64 %%zmm7, 448(%[c])\n"
#define LB_H1 "vpslld %%xmm30, %%zmm4, %%zmm4\n" "vpslld %%xmm30, %%zmm5, %%zmm5\n" "vpslld %%xmm30, %%zmm6, %%zmm6\n" "vpslld %%xmm30, %%zmm7, %%zmm7\n"
#define LB_R2(O) LB_ROW(#O "(%[a],%[lda],2)", "28", "8", "9", "10", "11")
#define LB_Z2 "vpxord %%zmm8, %%zmm8, %%zmm8\n" "vpxord %%zmm9, %%zmm9, %%zmm9\n" "vpxord %%zmm10, %%zmm10, %%zmm10\n" "vpxord %%zmm11, %%zmm11, %%zmm11\n"
#define LB_S2 "vmovdqa64 %%zmm8, 512(%[c])\n" "vmovdqa64 %%zmm9, 576(%[c])\n" "vmovdqa64 %%zmm10, 640(%[c])\n" "vmovdqa64 %%zmm11, 704(%[c])\n"
#define LB_H2 "vpslld %%xmm30, %%zmm8, %%zmm8\n" "vpslld %%xmm30, %%zmm9, %%zmm9\n" "vpslld %%xmm30, %%zmm10, %%zmm10\n" "vpslld %%xmm30, %%zmm11, %%zmm11\n"
#define LB_R3(O) LB_ROW(#O "(%[a3])", "29", "12", "13", "14", "15")
#define LB_Z3 "vpxord %%zmm12, %%zmm12, %%zmm12\n" "vpxord %%zmm13, %%zmm13, %%zmm13\n" "vpxord %%zmm14, %%zmm14, %%zmm14\n" "vpxord %%zmm15, %%zmm15, %%zmm15\n"
#define LB_S3 "vmovdqa64 %%zmm12, 768(%[c])\n" "vmovdqa64 %%zmm13, 832(%[c])\n" "vmovdqa64 %%zmm14, 896(%[c])\n" "vmovdqa64 %%zmm15, 960(%[c])\n"
#define LB_H3 "vpslld %%xmm30, %%zmm12, %%zmm12\n" "vpslld %%xmm30, %%zmm13, %%zmm13\n" "vpslld %%xmm30, %%zmm14, %%zmm14\n" "vpslld %%xmm30, %%zmm15, %%zmm15\n"
#define LB_R4(O) LB_ROW(#O "(%[a3],%[lda],1)", "28", "16", "17", "18", "19")
#define LB_Z4 "vpxord %%zmm16, %%zmm16, %%zmm16\n" "vpxord %%zmm17, %%zmm17, %%zmm17\n" "vpxord %%zmm18, %%zmm18, %%zmm18\n" "vpxord %%zmm19, %%zmm19, %%zmm19\n"
#define LB_S4 "vmovdqa64 %%zmm16, 1024(%[c])\n" "vmovdqa64 %%zmm17, 1088(%[c])\n" "vmovdqa64 %%zmm18, 1152(%[c])\n" "vmovdqa64 %%zmm19, 1216(%[c])\n"
#define LB_H4 "vpslld %%xmm30, %%zmm16, %%zmm16\n" "vpslld %%xmm30, %%zmm17, %%zmm17\n" "vpslld %%xmm30, %%zmm18, %%zmm18\n" "vpslld %%xmm30, %%zmm19, %%zmm19\n"
#define LB_R5(O) LB_ROW(#O "(%[a3],%[lda],2)", "29", "20", "21", "22", "23")
#define LB_Z5 "vpxord %%zmm20, %%zmm20, %%zmm20\n" "vpxord %%zmm21, %%zmm21, %%zmm21\n" "vpxord %%zmm22, %%zmm22, %%zmm22\n" "vpxord %%zmm23, %%zmm23, %%zmm23\n"
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
// int32 output of row r: accumulators + corr (zmm24-27: the 64 columns' corrections), stored to out row r
// with the store instruction ST (vmovdqu64, or vmovntdq for a large 64-byte aligned output)
#define LB_EA(ST, ADDR, A, B, C, D) \
  "vpaddd %%zmm24, %%zmm" A ", %%zmm" A "\n vpaddd %%zmm25, %%zmm" B ", %%zmm" B "\n" \
  "vpaddd %%zmm26, %%zmm" C ", %%zmm" C "\n vpaddd %%zmm27, %%zmm" D ", %%zmm" D "\n" \
  ST " %%zmm" A ", 0" ADDR "\n " ST " %%zmm" B ", 64" ADDR "\n " ST " %%zmm" C ", 128" ADDR "\n " ST " %%zmm" D ", 192" ADDR "\n"
#define LB_E0(ST) LB_EA(ST, "(%[o])", "0", "1", "2", "3")
#define LB_E1(ST) LB_EA(ST, "(%[o],%[ldo],1)", "4", "5", "6", "7")
#define LB_E2(ST) LB_EA(ST, "(%[o],%[ldo],2)", "8", "9", "10", "11")
#define LB_E3(ST) LB_EA(ST, "(%[o3])", "12", "13", "14", "15")
#define LB_E4(ST) LB_EA(ST, "(%[o3],%[ldo],1)", "16", "17", "18", "19")
#define LB_E5(ST) LB_EA(ST, "(%[o3],%[ldo],2)", "20", "21", "22", "23")
#define LB_EROWS1(ST) LB_E0(ST)
#define LB_EROWS2(ST) LB_EROWS1(ST) LB_E1(ST)
#define LB_EROWS3(ST) LB_EROWS2(ST) LB_E2(ST)
#define LB_EROWS4(ST) LB_EROWS3(ST) LB_E3(ST)
#define LB_EROWS5(ST) LB_EROWS4(ST) LB_E4(ST)
#define LB_EROWS6(ST) LB_EROWS5(ST) LB_E5(ST)
// prefetch the weights 16 k4 steps (4 KiB) ahead, 8 lines per loop iteration (two k4 steps): at small M,
// where the panel comes from L3 for the first tile, it measured 5-15% faster than no prefetch here
#define LB_PFW \
  "prefetcht0 4096(%[b])\n prefetcht0 4160(%[b])\n prefetcht0 4224(%[b])\n prefetcht0 4288(%[b])\n" \
  "prefetcht0 4352(%[b])\n prefetcht0 4416(%[b])\n prefetcht0 4480(%[b])\n prefetcht0 4544(%[b])\n"
// the same in the last 16 k4 steps of a tile, for the next tile's first 4 KiB: b + back + 4096 is where
// the next tile starts (back = -(panel bytes) when it runs over the same panel, 0 when it starts the next
// one). Without it each tile's first k4 steps waited on L2 (+1% at 1024^3, interleaved A/B).
#define LB_PFW_BACK \
  "prefetcht0 4096(%[b],%[back],1)\n prefetcht0 4160(%[b],%[back],1)\n prefetcht0 4224(%[b],%[back],1)\n" \
  "prefetcht0 4288(%[b],%[back],1)\n prefetcht0 4352(%[b],%[back],1)\n prefetcht0 4416(%[b],%[back],1)\n" \
  "prefetcht0 4480(%[b],%[back],1)\n prefetcht0 4544(%[b],%[back],1)\n"
// prefetch 256 bytes at pf into L2, then pf += pfs (the driver's share of the next panel, or pfs = 0)
#define LB_PFL2 \
  "prefetcht1 0(%[pf])\n prefetcht1 64(%[pf])\n prefetcht1 128(%[pf])\n prefetcht1 192(%[pf])\n" \
  "add %[pfs], %[pf]\n"
#define LB_TILE_CLOBBERS \
  "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", \
  "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30"

// prefetch of the second half of LB_MAIN's four k4 steps (LB_PFW's 8 lines, 512 bytes further on)
#define LB_PFW2 \
  "prefetcht0 4608(%[b])\n prefetcht0 4672(%[b])\n prefetcht0 4736(%[b])\n prefetcht0 4800(%[b])\n" \
  "prefetcht0 4864(%[b])\n prefetcht0 4928(%[b])\n prefetcht0 4992(%[b])\n prefetcht0 5056(%[b])\n"
// the main loop of the tiles: k = the count of k4 step pairs, an odd pair first, then four k4 steps per
// iteration (two per iteration measured 2.5-4.5% slower at 16 x 4096 x 4096, the same at 1024^3)
#define LB_MAIN(N) "test $1, %[k]\n jz 6f\n" LB_W(0) LB_RROWS##N(0) LB_PFW LB_W(256) LB_RROWS##N(4) LB_PFL2 \
                   "add $512, %[b]\n add $8, %[a]\n add $8, %[a3]\n" \
                   "6:\n shr $1, %[k]\n jz 2f\n" \
                   ".p2align 5\n1:\n" LB_W(0) LB_RROWS##N(0) LB_PFW LB_W(256) LB_RROWS##N(4) LB_PFL2 \
                   LB_W(512) LB_RROWS##N(8) LB_PFW2 LB_W(768) LB_RROWS##N(12) LB_PFL2 \
                   "add $1024, %[b]\n add $16, %[a]\n add $16, %[a3]\n dec %[k]\n jnz 1b\n"
// acc = A[R rows] x panel over k4 steps, accumulators zeroed in registers (not loaded: one tile's
// start then does not wait on the previous tile's stores). Two k4 steps per loop iteration: km iterations
// prefetching the panel 16 k4 steps ahead (LB_PFW), then kt = min(k4 / 2, 8) prefetching the next tile's
// start (LB_PFW_BACK). The in/out
// operands are early-clobber ("+&r"): they change before the inputs' last use, and an input of equal value
// (pf and acc are both cbuf past the first tiles; k and pfs can both be 0) must not share their register.
#define LB_TILE(N) \
  __asm__ volatile(LB_ZROWS##N LB_MAIN(N) \
                   "2:\n test %[kt], %[kt]\n jz 5f\n" \
                   "4:\n" LB_W(0) LB_RROWS##N(0) LB_PFW_BACK LB_W(256) LB_RROWS##N(4) LB_PFL2 \
                   "add $512, %[b]\n add $8, %[a]\n add $8, %[a3]\n dec %[kt]\n jnz 4b\n" \
                   "5:\n test %[odd], %[odd]\n jz 3f\n" LB_W(0) LB_RROWS##N(0) "3:\n" LB_SROWS##N \
                   : [a] "+&r"(a), [a3] "+&r"(a3), [b] "+&r"(b), [k] "+&r"(km), [kt] "+&r"(kt), [pf] "+&r"(pf) \
                   : [lda] "r"(lda), [c] "r"(acc), [odd] "r"(odd), [pfs] "r"(pfs), [back] "r"(back) \
                   : LB_TILE_CLOBBERS)

// LB_TILE with the int32 epilogue in registers: out rows (stride ldo bytes) = acc + corr[0, 64), stored
// with ST. Two loops: km iterations prefetching the panel 16 k4 steps ahead, then kt = min(k4 / 2, 8)
// iterations prefetching the next tile's start (LB_PFW_BACK).
#define LB_TILE_S32(N, ST) \
  __asm__ volatile(LB_ZROWS##N LB_MAIN(N) \
                   "2:\n test %[kt], %[kt]\n jz 5f\n" \
                   "4:\n" LB_W(0) LB_RROWS##N(0) LB_PFW_BACK LB_W(256) LB_RROWS##N(4) LB_PFL2 \
                   "add $512, %[b]\n add $8, %[a]\n add $8, %[a3]\n dec %[kt]\n jnz 4b\n" \
                   "5:\n test %[odd], %[odd]\n jz 3f\n" LB_W(0) LB_RROWS##N(0) "3:\n" \
                   "vmovdqu64 0(%[corr]), %%zmm24\n vmovdqu64 64(%[corr]), %%zmm25\n" \
                   "vmovdqu64 128(%[corr]), %%zmm26\n vmovdqu64 192(%[corr]), %%zmm27\n" LB_EROWS##N(ST) \
                   : [a] "+&r"(a), [a3] "+&r"(a3), [b] "+&r"(b), [k] "+&r"(km), [kt] "+&r"(kt), [pf] "+&r"(pf) \
                   : [lda] "r"(lda), [odd] "r"(odd), [o] "r"(out), [o3] "r"(o3), [ldo] "r"(ldo), [corr] "r"(corr), \
                     [pfs] "r"(pfs), [back] "r"(back) \
                   : LB_TILE_CLOBBERS)

// The same over K segments (csrc/gemm.h): lens[s] k4 steps, then every accumulator << shifts[s], all in
// registers (one tile call per segment would store and reload the accumulators each time). An odd step
// first, then two k4 steps per loop iteration with the weight prefetch, as LB_TILE.
#define LB_TILE_SEGMENTS(N) \
  __asm__ volatile(LB_ZROWS##N \
                   "2:\n movslq (%[lens]), %[k]\n test $1, %[k]\n jz 4f\n" LB_W(0) LB_RROWS##N(0) \
                   "add $256, %[b]\n add $4, %[a]\n add $4, %[a3]\n" \
                   "4:\n shr $1, %[k]\n jz 3f\n" \
                   "1:\n" LB_W(0) LB_RROWS##N(0) LB_PFW LB_W(256) LB_RROWS##N(4) LB_PFL2 \
                   "add $512, %[b]\n add $8, %[a]\n add $8, %[a3]\n dec %[k]\n jnz 1b\n" \
                   "3:\n vmovd (%[sh]), %%xmm30\n" LB_HROWS##N \
                   "add $4, %[lens]\n add $4, %[sh]\n dec %[n]\n jnz 2b\n" LB_SROWS##N \
                   : [a] "+&r"(a), [a3] "+&r"(a3), [b] "+&r"(b), [k] "+&r"(k), [lens] "+&r"(lens), \
                     [sh] "+&r"(shifts), [n] "+&r"(nseg), [pf] "+&r"(pf) \
                   : [lda] "r"(lda), [c] "r"(acc), [pfs] "r"(pfs) \
                   : LB_TILE_CLOBBERS)

// acc[R x 4] = A[R rows, 4 k4 bytes each step] x the k4n64 panel b. back: see LB_PFW_BACK.
template <int R>
inline void tile(const uint8_t* a, int64_t lda, const int8_t* b, int64_t k4, __m512i* acc, const int8_t* pf,
                 int64_t pfs, int64_t back) {
  static_assert(R >= 1 && R <= 6);
  const uint8_t* a3 = R > 3 ? a + 3 * lda : a;
  const int64_t k2 = k4 / 2, odd = k4 & 1;
  int64_t kt = k2 < 8 ? k2 : 8, km = k2 - kt;
  if constexpr (R == 1) LB_TILE(1);
  else if constexpr (R == 2) LB_TILE(2);
  else if constexpr (R == 3) LB_TILE(3);
  else if constexpr (R == 4) LB_TILE(4);
  else if constexpr (R == 5) LB_TILE(5);
  else LB_TILE(6);
}

// The same with the int32 epilogue fused: out[r][0, 64) = acc[r] + corr[0, 64) (row stride ldo bytes).
// back: see LB_PFW_BACK. Nt: non-temporal stores (out and ldo 64-byte aligned).
template <int R, bool Nt>
inline void tile_s32(const uint8_t* a, int64_t lda, const int8_t* b, int64_t k4, int32_t* out, int64_t ldo,
                     const int32_t* corr, const int8_t* pf, int64_t pfs, int64_t back) {
  static_assert(R >= 1 && R <= 6);
  const uint8_t* a3 = R > 3 ? a + 3 * lda : a;
  int32_t* o3 = R > 3 ? reinterpret_cast<int32_t*>(reinterpret_cast<char*>(out) + 3 * ldo) : out;
  const int64_t k2 = k4 / 2, odd = k4 & 1;
  int64_t kt = k2 < 8 ? k2 : 8, km = k2 - kt;
#define LB_S32_CASES(ST) \
  if constexpr (R == 1) LB_TILE_S32(1, ST); \
  else if constexpr (R == 2) LB_TILE_S32(2, ST); \
  else if constexpr (R == 3) LB_TILE_S32(3, ST); \
  else if constexpr (R == 4) LB_TILE_S32(4, ST); \
  else if constexpr (R == 5) LB_TILE_S32(5, ST); \
  else LB_TILE_S32(6, ST);
  if constexpr (Nt) {
    LB_S32_CASES("vmovntdq")
  } else {
    LB_S32_CASES("vmovdqu64")
  }
#undef LB_S32_CASES
}

// The same with K segments: nseg >= 1 segments of lens[s] k4 steps each.
template <int R>
inline void tile_segments(const uint8_t* a, int64_t lda, const int8_t* b, const int32_t* lens,
                          const int32_t* shifts, int64_t nseg, __m512i* acc, const int8_t* pf, int64_t pfs) {
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
inline void tile_rows(int rows, const uint8_t* a, int64_t lda, const int8_t* b, int64_t k4, __m512i* acc,
                      const int8_t* pf, int64_t pfs, int64_t back) {
  switch (rows) {
    case 1: tile<1>(a, lda, b, k4, acc, pf, pfs, back); break;
    case 2: tile<2>(a, lda, b, k4, acc, pf, pfs, back); break;
    case 3: tile<3>(a, lda, b, k4, acc, pf, pfs, back); break;
    case 4: tile<4>(a, lda, b, k4, acc, pf, pfs, back); break;
    case 5: tile<5>(a, lda, b, k4, acc, pf, pfs, back); break;
    default: tile<6>(a, lda, b, k4, acc, pf, pfs, back); break;
  }
}

template <bool Nt>
inline void tile_s32_rows(int rows, const uint8_t* a, int64_t lda, const int8_t* b, int64_t k4, int32_t* out,
                          int64_t ldo, const int32_t* corr, const int8_t* pf, int64_t pfs, int64_t back) {
  switch (rows) {
    case 1: tile_s32<1, Nt>(a, lda, b, k4, out, ldo, corr, pf, pfs, back); break;
    case 2: tile_s32<2, Nt>(a, lda, b, k4, out, ldo, corr, pf, pfs, back); break;
    case 3: tile_s32<3, Nt>(a, lda, b, k4, out, ldo, corr, pf, pfs, back); break;
    case 4: tile_s32<4, Nt>(a, lda, b, k4, out, ldo, corr, pf, pfs, back); break;
    case 5: tile_s32<5, Nt>(a, lda, b, k4, out, ldo, corr, pf, pfs, back); break;
    default: tile_s32<6, Nt>(a, lda, b, k4, out, ldo, corr, pf, pfs, back); break;
  }
}

inline void tile_segments_rows(int rows, const uint8_t* a, int64_t lda, const int8_t* b, const int32_t* lens,
                               const int32_t* shifts, int64_t nseg, __m512i* acc, const int8_t* pf, int64_t pfs) {
  switch (rows) {
    case 1: tile_segments<1>(a, lda, b, lens, shifts, nseg, acc, pf, pfs); break;
    case 2: tile_segments<2>(a, lda, b, lens, shifts, nseg, acc, pf, pfs); break;
    case 3: tile_segments<3>(a, lda, b, lens, shifts, nseg, acc, pf, pfs); break;
    case 4: tile_segments<4>(a, lda, b, lens, shifts, nseg, acc, pf, pfs); break;
    case 5: tile_segments<5>(a, lda, b, lens, shifts, nseg, acc, pf, pfs); break;
    default: tile_segments<6>(a, lda, b, lens, shifts, nseg, acc, pf, pfs); break;
  }
}

}  // namespace tile_avx512
}  // namespace lowbit

// the asm pieces are local to this header
#undef LB_W
#undef LB_ROW
#undef LB_R0
#undef LB_Z0
#undef LB_S0
#undef LB_H0
#undef LB_R1
#undef LB_Z1
#undef LB_S1
#undef LB_H1
#undef LB_R2
#undef LB_Z2
#undef LB_S2
#undef LB_H2
#undef LB_R3
#undef LB_Z3
#undef LB_S3
#undef LB_H3
#undef LB_R4
#undef LB_Z4
#undef LB_S4
#undef LB_H4
#undef LB_R5
#undef LB_Z5
#undef LB_S5
#undef LB_H5
#undef LB_RROWS1
#undef LB_RROWS2
#undef LB_RROWS3
#undef LB_RROWS4
#undef LB_RROWS5
#undef LB_RROWS6
#undef LB_ZROWS1
#undef LB_ZROWS2
#undef LB_ZROWS3
#undef LB_ZROWS4
#undef LB_ZROWS5
#undef LB_ZROWS6
#undef LB_SROWS1
#undef LB_SROWS2
#undef LB_SROWS3
#undef LB_SROWS4
#undef LB_SROWS5
#undef LB_SROWS6
#undef LB_HROWS1
#undef LB_HROWS2
#undef LB_HROWS3
#undef LB_HROWS4
#undef LB_HROWS5
#undef LB_HROWS6
#undef LB_EA
#undef LB_E0
#undef LB_E1
#undef LB_E2
#undef LB_E3
#undef LB_E4
#undef LB_E5
#undef LB_EROWS1
#undef LB_EROWS2
#undef LB_EROWS3
#undef LB_EROWS4
#undef LB_EROWS5
#undef LB_EROWS6
#undef LB_PFW
#undef LB_PFL2
#undef LB_PFW_BACK
#undef LB_PFW2
#undef LB_MAIN
#undef LB_TILE_CLOBBERS
#undef LB_TILE
#undef LB_TILE_S32
#undef LB_TILE_SEGMENTS
