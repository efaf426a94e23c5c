// AVX-512 VPOPCNTDQ bit-serial GEMM for both layouts (strides in bitserial.h).
//
// Register tile: 3 activation rows x 8 weight rows = 24 zmm accumulators (64-bit lanes); per 512-bit K
// block the 3 activation words stay in registers and each weight word is loaded once and used 3 times,
// so a block costs 11 loads for 24 AND/XOR + vpopcntq + vpaddq triples. Plane pairs are summed by Horner's
// rule over the shift s = i + j (highest first: acc = 2 acc, then add every pair with i + j = s), so one
// set of accumulators serves all p x q pairs and the shifts cost (p + q - 2) vpsllq per accumulator per
// tile. Each activation row's 8 accumulators are reduced once per tile (a transpose-and-add tree) into 8
// int32 outputs. Tiles: weights outer, activations inner (the activation planes are re-read from L2).
#include <immintrin.h>

#include <algorithm>

#include "bitserial.h"

namespace lowbit {

namespace {

constexpr int R = 3, C = 8;
// K chunks only when a chunk's activation planes would not even fit in about twice the L2: measured on
// Zen 4, cutting K to keep them in L2 (or a weight tile in L1) was slower at every shape tried (the
// prefetchers follow whole rows better than chunks of rows), so this is a guard for very large M x K.
constexpr int64_t kActBudget = 2 * 1024 * 1024;

template <bool kXor>
inline __m512i op(__m512i x, __m512i y) {
  return kXor ? _mm512_xor_si512(x, y) : _mm512_and_si512(x, y);
}

// The 8 lane sums of c0..c7 in one vector, [sum c0, ..., sum c7]: a transpose-and-add tree (21 ops).
inline __m512i reduce8(__m512i c0, __m512i c1, __m512i c2, __m512i c3, __m512i c4, __m512i c5, __m512i c6,
                       __m512i c7) {
  auto pair = [](__m512i x, __m512i y) {  // [x01, y01, x23, y23, ...] per 128-bit lane
    return _mm512_add_epi64(_mm512_unpacklo_epi64(x, y), _mm512_unpackhi_epi64(x, y));
  };
  auto quad = [](__m512i x, __m512i y) {  // lanes (0, 2) + lanes (1, 3) of each operand
    return _mm512_add_epi64(_mm512_shuffle_i64x2(x, y, 0x88), _mm512_shuffle_i64x2(x, y, 0xDD));
  };
  const __m512i v0123 = quad(pair(c0, c1), pair(c2, c3)), v4567 = quad(pair(c4, c5), pair(c6, c7));
  return quad(v0123, v4567);
}

struct Chunk {
  int64_t b0, nb;  // first block and number of blocks
  bool first, last;
};

// One pass over one plane pair (i, j) for the asm tile below; byte strides.
struct Pass {
  const uint64_t *x0, *x1, *x2, *y;
  int64_t wrow, as, ws, nb, shift;  // shift: double the accumulators before this pass (Horner)
};
static_assert(sizeof(Pass) == 72, "the asm reads Pass by offsets");

// A full 3 x 8 tile in one asm block, the 24 accumulators in zmm0-23 throughout (gcc, left to itself,
// spills them or reloads each weight word from a stack copy): per pass and K block 3 activation loads, 8
// weight loads (rows y + c * wrow, addressed from two bases), 24 op + vpopcntq + vpaddq; then each
// activation row's 8 accumulators are reduced (reduce8's tree) and the 3 x 8 sums stored to `sums`.
#define LOWBIT_BS_ASM(OP)                                                                  \
  __asm__ volatile(                                                                       \
      "mov %[d], %%r12\n mov %[np], %%r13\n" \
      "vpxorq %%zmm0, %%zmm0, %%zmm0\n vpxorq %%zmm1, %%zmm1, %%zmm1\n vpxorq %%zmm2, %%zmm2, %%zmm2\n vpxorq %%zmm3, %%zmm3, %%zmm3\n vpxorq %%zmm4, %%zmm4, %%zmm4\n vpxorq %%zmm5, %%zmm5, %%zmm5\n vpxorq %%zmm6, %%zmm6, %%zmm6\n vpxorq %%zmm7, %%zmm7, %%zmm7\n vpxorq %%zmm8, %%zmm8, %%zmm8\n vpxorq %%zmm9, %%zmm9, %%zmm9\n vpxorq %%zmm10, %%zmm10, %%zmm10\n vpxorq %%zmm11, %%zmm11, %%zmm11\n vpxorq %%zmm12, %%zmm12, %%zmm12\n vpxorq %%zmm13, %%zmm13, %%zmm13\n vpxorq %%zmm14, %%zmm14, %%zmm14\n vpxorq %%zmm15, %%zmm15, %%zmm15\n vpxorq %%zmm16, %%zmm16, %%zmm16\n vpxorq %%zmm17, %%zmm17, %%zmm17\n vpxorq %%zmm18, %%zmm18, %%zmm18\n vpxorq %%zmm19, %%zmm19, %%zmm19\n vpxorq %%zmm20, %%zmm20, %%zmm20\n vpxorq %%zmm21, %%zmm21, %%zmm21\n vpxorq %%zmm22, %%zmm22, %%zmm22\n vpxorq %%zmm23, %%zmm23, %%zmm23\n " \
      "2:\n mov 0(%%r12), %%rax\n mov 8(%%r12), %%rbx\n mov 16(%%r12), %%rcx\n mov 24(%%r12), %%rdx\n" \
      "mov 32(%%r12), %%rsi\n mov 56(%%r12), %%r9\n lea (%%rsi,%%rsi,2), %%r10\n lea (%%rdx,%%rsi,4), %%r11\n" \
      "cmpq $0, 64(%%r12)\n je 3f\n" \
      "vpsllq $1, %%zmm0, %%zmm0\n vpsllq $1, %%zmm1, %%zmm1\n vpsllq $1, %%zmm2, %%zmm2\n vpsllq $1, %%zmm3, %%zmm3\n vpsllq $1, %%zmm4, %%zmm4\n vpsllq $1, %%zmm5, %%zmm5\n vpsllq $1, %%zmm6, %%zmm6\n vpsllq $1, %%zmm7, %%zmm7\n vpsllq $1, %%zmm8, %%zmm8\n vpsllq $1, %%zmm9, %%zmm9\n vpsllq $1, %%zmm10, %%zmm10\n vpsllq $1, %%zmm11, %%zmm11\n vpsllq $1, %%zmm12, %%zmm12\n vpsllq $1, %%zmm13, %%zmm13\n vpsllq $1, %%zmm14, %%zmm14\n vpsllq $1, %%zmm15, %%zmm15\n vpsllq $1, %%zmm16, %%zmm16\n vpsllq $1, %%zmm17, %%zmm17\n vpsllq $1, %%zmm18, %%zmm18\n vpsllq $1, %%zmm19, %%zmm19\n vpsllq $1, %%zmm20, %%zmm20\n vpsllq $1, %%zmm21, %%zmm21\n vpsllq $1, %%zmm22, %%zmm22\n vpsllq $1, %%zmm23, %%zmm23\n " \
      "3:\n" \
      "1:\n vmovdqu64 (%%rax), %%zmm24\n vmovdqu64 (%%rbx), %%zmm25\n vmovdqu64 (%%rcx), %%zmm26\n" \
      "vmovdqu64 (%%rdx), %%zmm27\n" OP " %%zmm27, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm0, %%zmm0\n" OP " %%zmm27, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm8, %%zmm8\n" OP " %%zmm27, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm16, %%zmm16\n" \
      "vmovdqu64 (%%rdx,%%rsi,1), %%zmm31\n" OP " %%zmm31, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm1, %%zmm1\n" OP " %%zmm31, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm9, %%zmm9\n" OP " %%zmm31, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm17, %%zmm17\n" \
      "vmovdqu64 (%%rdx,%%rsi,2), %%zmm27\n" OP " %%zmm27, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm2, %%zmm2\n" OP " %%zmm27, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm10, %%zmm10\n" OP " %%zmm27, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm18, %%zmm18\n" \
      "vmovdqu64 (%%rdx,%%r10,1), %%zmm31\n" OP " %%zmm31, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm3, %%zmm3\n" OP " %%zmm31, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm11, %%zmm11\n" OP " %%zmm31, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm19, %%zmm19\n" \
      "vmovdqu64 (%%rdx,%%rsi,4), %%zmm27\n" OP " %%zmm27, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm4, %%zmm4\n" OP " %%zmm27, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm12, %%zmm12\n" OP " %%zmm27, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm20, %%zmm20\n" \
      "vmovdqu64 (%%r11,%%rsi,1), %%zmm31\n" OP " %%zmm31, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm5, %%zmm5\n" OP " %%zmm31, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm13, %%zmm13\n" OP " %%zmm31, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm21, %%zmm21\n" \
      "vmovdqu64 (%%r11,%%rsi,2), %%zmm27\n" OP " %%zmm27, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm6, %%zmm6\n" OP " %%zmm27, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm14, %%zmm14\n" OP " %%zmm27, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm22, %%zmm22\n" \
      "vmovdqu64 (%%r11,%%r10,1), %%zmm31\n" OP " %%zmm31, %%zmm24, %%zmm28\n vpopcntq %%zmm28, %%zmm28\n vpaddq %%zmm28, %%zmm7, %%zmm7\n" OP " %%zmm31, %%zmm25, %%zmm29\n vpopcntq %%zmm29, %%zmm29\n vpaddq %%zmm29, %%zmm15, %%zmm15\n" OP " %%zmm31, %%zmm26, %%zmm30\n vpopcntq %%zmm30, %%zmm30\n vpaddq %%zmm30, %%zmm23, %%zmm23\n" \
      "add 40(%%r12), %%rax\n add 40(%%r12), %%rbx\n add 40(%%r12), %%rcx\n add 48(%%r12), %%rdx\n add 48(%%r12), %%r11\n" \
      "dec %%r9\n jnz 1b\n add $72, %%r12\n dec %%r13\n jnz 2b\n" \
      "vpunpcklqdq %%zmm1, %%zmm0, %%zmm31\n vpunpckhqdq %%zmm1, %%zmm0, %%zmm24\n vpaddq %%zmm31, %%zmm24, %%zmm24\n vpunpcklqdq %%zmm3, %%zmm2, %%zmm31\n vpunpckhqdq %%zmm3, %%zmm2, %%zmm25\n vpaddq %%zmm31, %%zmm25, %%zmm25\n vpunpcklqdq %%zmm5, %%zmm4, %%zmm31\n vpunpckhqdq %%zmm5, %%zmm4, %%zmm26\n vpaddq %%zmm31, %%zmm26, %%zmm26\n vpunpcklqdq %%zmm7, %%zmm6, %%zmm31\n vpunpckhqdq %%zmm7, %%zmm6, %%zmm27\n vpaddq %%zmm31, %%zmm27, %%zmm27\n vshufi64x2 $0x88, %%zmm25, %%zmm24, %%zmm31\n vshufi64x2 $0xDD, %%zmm25, %%zmm24, %%zmm28\n vpaddq %%zmm31, %%zmm28, %%zmm28\n vshufi64x2 $0x88, %%zmm27, %%zmm26, %%zmm31\n vshufi64x2 $0xDD, %%zmm27, %%zmm26, %%zmm29\n vpaddq %%zmm31, %%zmm29, %%zmm29\n vshufi64x2 $0x88, %%zmm29, %%zmm28, %%zmm31\n vshufi64x2 $0xDD, %%zmm29, %%zmm28, %%zmm30\n vpaddq %%zmm31, %%zmm30, %%zmm30\n vmovdqu64 %%zmm30, 0(%[o])\n" \
      "vpunpcklqdq %%zmm9, %%zmm8, %%zmm31\n vpunpckhqdq %%zmm9, %%zmm8, %%zmm24\n vpaddq %%zmm31, %%zmm24, %%zmm24\n vpunpcklqdq %%zmm11, %%zmm10, %%zmm31\n vpunpckhqdq %%zmm11, %%zmm10, %%zmm25\n vpaddq %%zmm31, %%zmm25, %%zmm25\n vpunpcklqdq %%zmm13, %%zmm12, %%zmm31\n vpunpckhqdq %%zmm13, %%zmm12, %%zmm26\n vpaddq %%zmm31, %%zmm26, %%zmm26\n vpunpcklqdq %%zmm15, %%zmm14, %%zmm31\n vpunpckhqdq %%zmm15, %%zmm14, %%zmm27\n vpaddq %%zmm31, %%zmm27, %%zmm27\n vshufi64x2 $0x88, %%zmm25, %%zmm24, %%zmm31\n vshufi64x2 $0xDD, %%zmm25, %%zmm24, %%zmm28\n vpaddq %%zmm31, %%zmm28, %%zmm28\n vshufi64x2 $0x88, %%zmm27, %%zmm26, %%zmm31\n vshufi64x2 $0xDD, %%zmm27, %%zmm26, %%zmm29\n vpaddq %%zmm31, %%zmm29, %%zmm29\n vshufi64x2 $0x88, %%zmm29, %%zmm28, %%zmm31\n vshufi64x2 $0xDD, %%zmm29, %%zmm28, %%zmm30\n vpaddq %%zmm31, %%zmm30, %%zmm30\n vmovdqu64 %%zmm30, 64(%[o])\n" \
      "vpunpcklqdq %%zmm17, %%zmm16, %%zmm31\n vpunpckhqdq %%zmm17, %%zmm16, %%zmm24\n vpaddq %%zmm31, %%zmm24, %%zmm24\n vpunpcklqdq %%zmm19, %%zmm18, %%zmm31\n vpunpckhqdq %%zmm19, %%zmm18, %%zmm25\n vpaddq %%zmm31, %%zmm25, %%zmm25\n vpunpcklqdq %%zmm21, %%zmm20, %%zmm31\n vpunpckhqdq %%zmm21, %%zmm20, %%zmm26\n vpaddq %%zmm31, %%zmm26, %%zmm26\n vpunpcklqdq %%zmm23, %%zmm22, %%zmm31\n vpunpckhqdq %%zmm23, %%zmm22, %%zmm27\n vpaddq %%zmm31, %%zmm27, %%zmm27\n vshufi64x2 $0x88, %%zmm25, %%zmm24, %%zmm31\n vshufi64x2 $0xDD, %%zmm25, %%zmm24, %%zmm28\n vpaddq %%zmm31, %%zmm28, %%zmm28\n vshufi64x2 $0x88, %%zmm27, %%zmm26, %%zmm31\n vshufi64x2 $0xDD, %%zmm27, %%zmm26, %%zmm29\n vpaddq %%zmm31, %%zmm29, %%zmm29\n vshufi64x2 $0x88, %%zmm29, %%zmm28, %%zmm31\n vshufi64x2 $0xDD, %%zmm29, %%zmm28, %%zmm30\n vpaddq %%zmm31, %%zmm30, %%zmm30\n vmovdqu64 %%zmm30, 128(%[o])\n" \
      :                                                                                   \
      : [d] "r"(desc), [np] "r"(npass), [o] "r"(sums)                                      \
      : "rax", "rbx", "rcx", "rdx", "rsi", "r9", "r10", "r11", "r12", "r13", "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory")

// The 24 accumulators are named variables (an array of 24 zmm is kept on the stack by gcc).
#define LOWBIT_BS_ROW(X, r) X(r, 0) X(r, 1) X(r, 2) X(r, 3) X(r, 4) X(r, 5) X(r, 6) X(r, 7)
#define LOWBIT_BS_ALL(X) LOWBIT_BS_ROW(X, 0) LOWBIT_BS_ROW(X, 1) LOWBIT_BS_ROW(X, 2)

// Writes a tile's 3 x 8 sums (int64) as int32: added to what earlier K chunks left, and after the last
// chunk turned into K - 2 sum for the XOR form.
template <bool kXor>
inline void store_tile(const int64_t (&sums)[R][C], int64_t M, int64_t N, int64_t m, int64_t n, const Chunk& ch,
                       int64_t k, int32_t* out) {
  const int cols = int(std::min<int64_t>(C, N - n));
  const __mmask8 mask = __mmask8((1u << cols) - 1);
  for (int r = 0; r < R && m + r < M; ++r) {
    __m256i v = _mm512_cvtepi64_epi32(_mm512_load_si512(sums[r]));
    int32_t* o = out + (m + r) * N + n;
    if (!ch.first) v = _mm256_add_epi32(v, _mm256_maskz_loadu_epi32(mask, o));
    if (kXor && ch.last) v = _mm256_sub_epi32(_mm256_set1_epi32(int32_t(k)), _mm256_slli_epi32(v, 1));
    _mm256_mask_storeu_epi32(o, mask, v);
  }
}

// Any tile (the last columns of W included, rows clamped), with intrinsics.
template <bool kXor>
void tile_generic(const BitPlanes& a, const BitPlanes& w, int64_t m, int64_t n, const Chunk& ch, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows, p = w.bits, q = a.bits, as = a.block, ws = w.block, nb = ch.nb;
#define X(r, c) __m512i s##r##c = _mm512_setzero_si512();
  LOWBIT_BS_ALL(X)
#undef X
  for (int64_t s = p + q - 2; s >= 0; --s) {
    if (s != p + q - 2) {  // Horner: everything so far has one more factor of 2 than the pairs to come
#define X(r, c) s##r##c = _mm512_slli_epi64(s##r##c, 1);
      LOWBIT_BS_ALL(X)
#undef X
    }
    for (int64_t i = std::max<int64_t>(0, s - (q - 1)); i <= std::min(p - 1, s); ++i) {
      const int64_t j = s - i;
      // rows past the end repeat the last row (their results are not stored), so every tile is full
      const uint64_t* x0 = plane_row(a, j, m) + ch.b0 * as;
      const uint64_t* x1 = plane_row(a, j, std::min(m + 1, M - 1)) + ch.b0 * as;
      const uint64_t* x2 = plane_row(a, j, std::min(m + 2, M - 1)) + ch.b0 * as;
      const uint64_t* yc[C];
      for (int c = 0; c < C; ++c) yc[c] = plane_row(w, i, std::min(n + c, N - 1)) + ch.b0 * ws;
      for (int64_t b = 0; b < nb; ++b) {
        const __m512i v0 = _mm512_loadu_si512(x0 + b * as), v1 = _mm512_loadu_si512(x1 + b * as),
                      v2 = _mm512_loadu_si512(x2 + b * as);
#define Y(c)                                                                            \
  {                                                                                     \
    const __m512i y = _mm512_loadu_si512(yc[c] + b * ws);                               \
    s0##c = _mm512_add_epi64(s0##c, _mm512_popcnt_epi64(op<kXor>(v0, y)));              \
    s1##c = _mm512_add_epi64(s1##c, _mm512_popcnt_epi64(op<kXor>(v1, y)));              \
    s2##c = _mm512_add_epi64(s2##c, _mm512_popcnt_epi64(op<kXor>(v2, y)));              \
  }
        Y(0) Y(1) Y(2) Y(3) Y(4) Y(5) Y(6) Y(7)
#undef Y
      }
    }
  }
  alignas(64) int64_t sums[R][C];
  _mm512_store_si512(sums[0], reduce8(s00, s01, s02, s03, s04, s05, s06, s07));
  _mm512_store_si512(sums[1], reduce8(s10, s11, s12, s13, s14, s15, s16, s17));
  _mm512_store_si512(sums[2], reduce8(s20, s21, s22, s23, s24, s25, s26, s27));
  store_tile<kXor>(sums, M, N, m, n, ch, k, out);
}

// A full tile (n + 8 <= N): the asm block.
template <bool kXor>
void tile_asm(const BitPlanes& a, const BitPlanes& w, int64_t m, int64_t n, const Chunk& ch, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows, p = w.bits, q = a.bits, as = a.block, ws = w.block;
  Pass desc[64];
  int64_t npass = 0;
  for (int64_t s = p + q - 2; s >= 0; --s)
    for (int64_t i = std::max<int64_t>(0, s - (q - 1)); i <= std::min(p - 1, s); ++i) {
      const int64_t j = s - i;
      desc[npass] = Pass{plane_row(a, j, m) + ch.b0 * as, plane_row(a, j, std::min(m + 1, M - 1)) + ch.b0 * as,
                         plane_row(a, j, std::min(m + 2, M - 1)) + ch.b0 * as, plane_row(w, i, n) + ch.b0 * ws,
                         w.row * 8, as * 8, ws * 8, ch.nb,
                         int64_t(npass > 0 && i == std::max<int64_t>(0, s - (q - 1)))};
      ++npass;
    }
  alignas(64) int64_t sums[R][C];
  if (kXor) LOWBIT_BS_ASM("vpxorq");
  else LOWBIT_BS_ASM("vpandq");
  store_tile<kXor>(sums, M, N, m, n, ch, k, out);
}
#undef LOWBIT_BS_ALL
#undef LOWBIT_BS_ROW

template <bool kXor>
void run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t M = a.rows, N = w.rows, blocks = a.blocks;
  const int64_t most = std::max<int64_t>(1, kActBudget / (M * a.bits * 64));  // equal K chunks
  const int64_t chunks = (blocks + most - 1) / most, kc = (blocks + chunks - 1) / chunks;
  for (int64_t b0 = 0; b0 < blocks; b0 += kc) {
    const Chunk ch{b0, std::min(kc, blocks - b0), b0 == 0, b0 + kc >= blocks};
    // n outer, m inner: a weight tile (8 rows, this chunk) stays in L1 while the activation rows (L2)
    // pass by, so every weight line is read from memory once.
    for (int64_t n = 0; n < N; n += C)
      for (int64_t m = 0; m < M; m += R) {
        if (n + C <= N) tile_asm<kXor>(a, w, m, n, ch, k, out);
        else tile_generic<kXor>(a, w, m, n, ch, k, out);
      }
  }
}

}  // namespace

void bitserial_gemm_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (bipolar) run<true>(a, w, k, out);
  else run<false>(a, w, k, out);
}

}  // namespace lowbit
