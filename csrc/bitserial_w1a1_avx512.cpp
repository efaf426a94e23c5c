// AVX-512 W1A1 bit-serial GEMM for the rows-interleaved layout with carry-save accumulation: fewer
// vector ops per 512 binary multiply-adds than AND + vpopcntq + vpaddq.
//
// Why: on Zen 5 (measured, lowbit's probe loops) the vector ALUs run 4 ops/cycle and vpopcntq 2/cycle, so
// AND + popcount (2 ops per 512 products) runs at 2 words/cycle (the "AND+popcount limit") but a kernel
// that also adds each count (3 ops) cannot pass 4/3 words/cycle = 67% of it. Here each output keeps a
// 512-bit "ones" vector o beside its count c and takes two products p1 = x1 & y1, p2 = x2 & y2 per step
// with a full adder whose ANDs are folded into vpternlogq:
//   u = o ^ (x1 & y1),  s = u ^ (x2 & y2),  carry = (o & ~u) | (u & ~s)  (= majority(o, p1, p2)),
//   o = s,  c += popcount(carry)
// so o + p1 + p2 = s + 2 carry bit by bit: 3 ternlogs + 1 popcount + 1 add per two words = 2.5 ops per
// word (ceiling 80% of the AND+popcount limit; popcounts drop to 0.25 per word). The result is
// 2 c + popcount(o). XNOR (bipolar) uses x ^ y, the same adder with the xor3 ternlog.
//
// Tile: one group of 8 activation rows x one group of 8 weight rows (8 outputs per zmm lane set): 8 ones
// + 8 counts + 2 weight words in registers; activation words are embedded broadcasts (%{1to8%}) folded into
// the ternlogs. K chunks as in bitserial_rows_avx512.cpp.
#include <immintrin.h>

#include <algorithm>

#include "bitserial.h"

namespace lowbit {

namespace {

// vpternlogq immediates, inputs (a, b, c) = bits (0xF0, 0xCC, 0xAA)
constexpr int kAndXor = 0x78;   // a ^ (b & c)
constexpr int kXor3 = 0x96;     // a ^ b ^ c
constexpr int kCarry = 0x74;    // (a & ~b) | (b & ~c)
constexpr int kAnd3 = 0x80;     // a & b & c (half adder carry, odd last word)
constexpr int64_t kWeightTileBytes = 32 * 1024;  // 8 weight rows x a K chunk, about L1

#define LOWBIT_W1_LOAD "vmovdqa64 0(%[st]), %%zmm0\n""vmovdqa64 64(%[st]), %%zmm1\n""vmovdqa64 128(%[st]), %%zmm2\n""vmovdqa64 192(%[st]), %%zmm3\n""vmovdqa64 256(%[st]), %%zmm4\n""vmovdqa64 320(%[st]), %%zmm5\n""vmovdqa64 384(%[st]), %%zmm6\n""vmovdqa64 448(%[st]), %%zmm7\n""vmovdqa64 512(%[st]), %%zmm8\n""vmovdqa64 576(%[st]), %%zmm9\n""vmovdqa64 640(%[st]), %%zmm10\n""vmovdqa64 704(%[st]), %%zmm11\n""vmovdqa64 768(%[st]), %%zmm12\n""vmovdqa64 832(%[st]), %%zmm13\n""vmovdqa64 896(%[st]), %%zmm14\n""vmovdqa64 960(%[st]), %%zmm15\n"
#define LOWBIT_W1_STORE "vmovdqa64 %%zmm0, 0(%[st])\n""vmovdqa64 %%zmm1, 64(%[st])\n""vmovdqa64 %%zmm2, 128(%[st])\n""vmovdqa64 %%zmm3, 192(%[st])\n""vmovdqa64 %%zmm4, 256(%[st])\n""vmovdqa64 %%zmm5, 320(%[st])\n""vmovdqa64 %%zmm6, 384(%[st])\n""vmovdqa64 %%zmm7, 448(%[st])\n""vmovdqa64 %%zmm8, 512(%[st])\n""vmovdqa64 %%zmm9, 576(%[st])\n""vmovdqa64 %%zmm10, 640(%[st])\n""vmovdqa64 %%zmm11, 704(%[st])\n""vmovdqa64 %%zmm12, 768(%[st])\n""vmovdqa64 %%zmm13, 832(%[st])\n""vmovdqa64 %%zmm14, 896(%[st])\n""vmovdqa64 %%zmm15, 960(%[st])\n"
#define LOWBIT_W1_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

template <bool kXor>
void tile(const BitPlanes& a, const BitPlanes& w, int64_t g, int64_t h, int64_t t0, int64_t nt, bool first,
          bool last, int64_t k, int32_t* out) {
  constexpr int kFa = kXor ? kXor3 : kAndXor;
  const int64_t M = a.rows, N = w.rows, words = a.words;
  const uint64_t* yp = w.data + (h * words + t0) * 8;
  const long long* xp = reinterpret_cast<const long long*>(a.data + (g * words + t0) * 8);
#define X(r) __m512i o##r = _mm512_setzero_si512(), c##r = _mm512_setzero_si512();
  LOWBIT_W1_ALL(X)
#undef X
  int64_t t = nt & ~int64_t(1);
  // the pairs loop in asm: gcc, left to itself, adds a move per ternlog and keeps o and c in 8+8+8 zmm
  if (t > 0) {
    const long long* xq = xp;
    const uint64_t* yq = yp;
    int64_t pairs = t / 2;
    // o0..o7 in zmm0-7 and c0..c7 in zmm8-15 for the loop (too many operands to pass them in registers)
    alignas(64) __m512i st[16] = {o0, o1, o2, o3, o4, o5, o6, o7, c0, c1, c2, c3, c4, c5, c6, c7};
    __asm__ volatile(
        LOWBIT_W1_LOAD
        "1:\n vmovdqu64 (%[y]), %%zmm16\n vmovdqu64 64(%[y]), %%zmm17\n"
        "vmovdqa64 %%zmm0, %%zmm18\n vpternlogq %[fa], 0(%[x])%{1to8%}, %%zmm16, %%zmm18\n vmovdqa64 %%zmm18, %%zmm22\n vpternlogq %[fa], 64(%[x])%{1to8%}, %%zmm17, %%zmm22\n vpternlogq $0x74, %%zmm22, %%zmm18, %%zmm0\n vpopcntq %%zmm0, %%zmm0\n vpaddq %%zmm0, %%zmm8, %%zmm8\n vmovdqa64 %%zmm22, %%zmm0\n"
        "vmovdqa64 %%zmm1, %%zmm19\n vpternlogq %[fa], 8(%[x])%{1to8%}, %%zmm16, %%zmm19\n vmovdqa64 %%zmm19, %%zmm23\n vpternlogq %[fa], 72(%[x])%{1to8%}, %%zmm17, %%zmm23\n vpternlogq $0x74, %%zmm23, %%zmm19, %%zmm1\n vpopcntq %%zmm1, %%zmm1\n vpaddq %%zmm1, %%zmm9, %%zmm9\n vmovdqa64 %%zmm23, %%zmm1\n"
        "vmovdqa64 %%zmm2, %%zmm20\n vpternlogq %[fa], 16(%[x])%{1to8%}, %%zmm16, %%zmm20\n vmovdqa64 %%zmm20, %%zmm24\n vpternlogq %[fa], 80(%[x])%{1to8%}, %%zmm17, %%zmm24\n vpternlogq $0x74, %%zmm24, %%zmm20, %%zmm2\n vpopcntq %%zmm2, %%zmm2\n vpaddq %%zmm2, %%zmm10, %%zmm10\n vmovdqa64 %%zmm24, %%zmm2\n"
        "vmovdqa64 %%zmm3, %%zmm21\n vpternlogq %[fa], 24(%[x])%{1to8%}, %%zmm16, %%zmm21\n vmovdqa64 %%zmm21, %%zmm25\n vpternlogq %[fa], 88(%[x])%{1to8%}, %%zmm17, %%zmm25\n vpternlogq $0x74, %%zmm25, %%zmm21, %%zmm3\n vpopcntq %%zmm3, %%zmm3\n vpaddq %%zmm3, %%zmm11, %%zmm11\n vmovdqa64 %%zmm25, %%zmm3\n"
        "vmovdqa64 %%zmm4, %%zmm18\n vpternlogq %[fa], 32(%[x])%{1to8%}, %%zmm16, %%zmm18\n vmovdqa64 %%zmm18, %%zmm22\n vpternlogq %[fa], 96(%[x])%{1to8%}, %%zmm17, %%zmm22\n vpternlogq $0x74, %%zmm22, %%zmm18, %%zmm4\n vpopcntq %%zmm4, %%zmm4\n vpaddq %%zmm4, %%zmm12, %%zmm12\n vmovdqa64 %%zmm22, %%zmm4\n"
        "vmovdqa64 %%zmm5, %%zmm19\n vpternlogq %[fa], 40(%[x])%{1to8%}, %%zmm16, %%zmm19\n vmovdqa64 %%zmm19, %%zmm23\n vpternlogq %[fa], 104(%[x])%{1to8%}, %%zmm17, %%zmm23\n vpternlogq $0x74, %%zmm23, %%zmm19, %%zmm5\n vpopcntq %%zmm5, %%zmm5\n vpaddq %%zmm5, %%zmm13, %%zmm13\n vmovdqa64 %%zmm23, %%zmm5\n"
        "vmovdqa64 %%zmm6, %%zmm20\n vpternlogq %[fa], 48(%[x])%{1to8%}, %%zmm16, %%zmm20\n vmovdqa64 %%zmm20, %%zmm24\n vpternlogq %[fa], 112(%[x])%{1to8%}, %%zmm17, %%zmm24\n vpternlogq $0x74, %%zmm24, %%zmm20, %%zmm6\n vpopcntq %%zmm6, %%zmm6\n vpaddq %%zmm6, %%zmm14, %%zmm14\n vmovdqa64 %%zmm24, %%zmm6\n"
        "vmovdqa64 %%zmm7, %%zmm21\n vpternlogq %[fa], 56(%[x])%{1to8%}, %%zmm16, %%zmm21\n vmovdqa64 %%zmm21, %%zmm25\n vpternlogq %[fa], 120(%[x])%{1to8%}, %%zmm17, %%zmm25\n vpternlogq $0x74, %%zmm25, %%zmm21, %%zmm7\n vpopcntq %%zmm7, %%zmm7\n vpaddq %%zmm7, %%zmm15, %%zmm15\n vmovdqa64 %%zmm25, %%zmm7\n"
        "add $128, %[x]\n add $128, %[y]\n dec %[n]\n jnz 1b\n"
        LOWBIT_W1_STORE
        : [x] "+r"(xq), [y] "+r"(yq), [n] "+r"(pairs)
        : [fa] "i"(kFa), [st] "r"(st)
        : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10",
          "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "cc", "memory");
    o0 = st[0], o1 = st[1], o2 = st[2], o3 = st[3], o4 = st[4], o5 = st[5], o6 = st[6], o7 = st[7];
    c0 = st[8], c1 = st[9], c2 = st[10], c3 = st[11], c4 = st[12], c5 = st[13], c6 = st[14], c7 = st[15];
  }
  if (t < nt) {  // odd last word: a half adder (o ^ p, carry o & p); XNOR: o ^ x ^ y, carry o & (x ^ y)
    const __m512i y1 = _mm512_loadu_si512(yp + t * 8);
#define X(r)                                                                                            \
  {                                                                                                     \
    const __m512i x = _mm512_set1_epi64(xp[t * 8 + r]);                                                 \
    const __m512i cr = kXor ? _mm512_and_si512(o##r, _mm512_xor_si512(x, y1))                           \
                            : _mm512_ternarylogic_epi64(o##r, y1, x, kAnd3);                            \
    c##r = _mm512_add_epi64(c##r, _mm512_popcnt_epi64(cr));                                             \
    o##r = _mm512_ternarylogic_epi64(o##r, y1, x, kFa);                                                 \
  }
    LOWBIT_W1_ALL(X)
#undef X
  }
  const int64_t n = h * 8;
  const __mmask8 mask = __mmask8((1u << std::min<int64_t>(8, N - n)) - 1);
  auto store = [&](int r, __m512i o, __m512i c) {
    const int64_t m = g * 8 + r;
    if (m >= M) return;
    __m256i v = _mm512_cvtepi64_epi32(_mm512_add_epi64(_mm512_slli_epi64(c, 1), _mm512_popcnt_epi64(o)));
    int32_t* dst = out + m * N + n;
    if (!first) v = _mm256_add_epi32(v, _mm256_maskz_loadu_epi32(mask, dst));
    if (kXor && last) v = _mm256_sub_epi32(_mm256_set1_epi32(int32_t(k)), _mm256_slli_epi32(v, 1));
    _mm256_mask_storeu_epi32(dst, mask, v);
  };
#define X(r) store(r, o##r, c##r);
  LOWBIT_W1_ALL(X)
#undef X
}
#undef LOWBIT_W1_ALL

template <bool kXor>
void run(const BitPlanes& a, const BitPlanes& w, int64_t k, int32_t* out) {
  const int64_t words = a.words, groups_a = (a.rows + 7) / 8, groups_w = (w.rows + 7) / 8;
  const int64_t most = std::max<int64_t>(2, kWeightTileBytes / 64);  // equal K chunks of whole word pairs
  const int64_t chunks = (words + most - 1) / most, kc = ((words + chunks - 1) / chunks + 1) & ~int64_t(1);
  for (int64_t t0 = 0; t0 < words; t0 += kc) {
    const int64_t nt = std::min(kc, words - t0);
    for (int64_t h = 0; h < groups_w; ++h)  // a weight group's chunk stays in L1, activations from L2
      for (int64_t g = 0; g < groups_a; ++g) tile<kXor>(a, w, g, h, t0, nt, t0 == 0, t0 + kc >= words, k, out);
  }
}

}  // namespace

void bitserial_w1a1_rows_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (bipolar) run<true>(a, w, k, out);
  else run<false>(a, w, k, out);
}

}  // namespace lowbit
