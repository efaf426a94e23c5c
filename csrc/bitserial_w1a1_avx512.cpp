// AVX-512 W1A1 bit-serial GEMM for the rows-interleaved layout with carry-save accumulation: fewer
// vector ops per 512 binary multiply-adds than AND + vpopcntq + vpaddq.
//
// Why: on Zen 5 (measured with docs/bitserial_csa_probe.cpp) the vector ALUs run 4 ops/cycle, vpopcntq
// 2/cycle, and vpternlogq / vpopcntq / vpaddq have 2-cycle latency. AND + popcount (2 ops per 512
// products) runs at 2 words/cycle (the "AND+popcount limit"), but a kernel that also adds each count (3 ops
// per word) cannot pass 4/3 words/cycle = 67% of it. Here each output keeps a 512-bit "ones" vector o
// beside its count c and takes two products p1 = x1 & y1, p2 = x2 & y2 per step through a full adder
// whose ANDs are folded into vpternlogq:
//   u = o ^ (x1 & y1),  s = u ^ (x2 & y2),  carry = (o & ~u) | (u & ~s)  (= majority(o, p1, p2)),
//   o = s,  c += popcount(carry)
// so o + p1 + p2 = s + 2 carry bit by bit: 3 ternlogs + 1 popcount + 1 add per two words (2.5 ops per
// word: at most 80% of the AND+popcount limit). The result is 2 c + popcount(o). XNOR (bipolar) uses
// x ^ y: the same adder with the xor3 ternlog.
//
// vpternlogq overwrites its first input, so a step copies o and u (2 register moves, which Zen 5 mostly
// renames away), and a carry is counted one step later (the popcount then never waits on the ternlog
// chain: measured 0.59 -> 0.69 of the limit in the probe's register-only loops). The state therefore
// alternates between two registers per output: a loop iteration is two steps (4 K words) in asm, with
// zmm0-7 / zmm8-15 = state / pending carry, zmm16-23 = counts (gcc, given intrinsics, added a move per
// ternlog and kept everything on the edge of spilling). Tile: one group of 8 activation rows x one group
// of 8 weight rows; activation words are embedded broadcasts ({1to8}) of the ternlogs.
#include <immintrin.h>

#include <algorithm>

#include "bitserial.h"

namespace lowbit {

namespace {

// vpternlogq immediates, inputs (a, b, c) = bits (0xF0, 0xCC, 0xAA)
constexpr int kAndXor = 0x78;  // a ^ (b & c)
constexpr int kXor3 = 0x96;    // a ^ b ^ c
constexpr int kCarry = 0x74;   // (a & ~b) | (b & ~c)
constexpr int kAnd3 = 0x80;    // a & b & c (half adder carry, odd last word)
constexpr int64_t kWeightTileBytes = 32 * 1024;  // 8 weight rows x a K chunk, about L1

#define LOWBIT_W1_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

// 4-word steps, in place on st = [state x 8, pending carry x 8, count x 8]
template <int kFa>
inline void quads(const long long* x, const uint64_t* y, int64_t n, __m512i* st) {
  __asm__ volatile(
    "vmovdqa64 0(%[st]), %%zmm0\n" "vmovdqa64 64(%[st]), %%zmm1\n" "vmovdqa64 128(%[st]), %%zmm2\n" "vmovdqa64 192(%[st]), %%zmm3\n" "vmovdqa64 256(%[st]), %%zmm4\n" "vmovdqa64 320(%[st]), %%zmm5\n" "vmovdqa64 384(%[st]), %%zmm6\n" "vmovdqa64 448(%[st]), %%zmm7\n" "vmovdqa64 512(%[st]), %%zmm8\n" "vmovdqa64 576(%[st]), %%zmm9\n" "vmovdqa64 640(%[st]), %%zmm10\n" "vmovdqa64 704(%[st]), %%zmm11\n" "vmovdqa64 768(%[st]), %%zmm12\n" "vmovdqa64 832(%[st]), %%zmm13\n" "vmovdqa64 896(%[st]), %%zmm14\n" "vmovdqa64 960(%[st]), %%zmm15\n" "vmovdqa64 1024(%[st]), %%zmm16\n" "vmovdqa64 1088(%[st]), %%zmm17\n" "vmovdqa64 1152(%[st]), %%zmm18\n" "vmovdqa64 1216(%[st]), %%zmm19\n" "vmovdqa64 1280(%[st]), %%zmm20\n" "vmovdqa64 1344(%[st]), %%zmm21\n" "vmovdqa64 1408(%[st]), %%zmm22\n" "vmovdqa64 1472(%[st]), %%zmm23\n"
    "1:\n vmovdqu64 (%[y]), %%zmm24\n vmovdqu64 64(%[y]), %%zmm25\n"
    "vpopcntq %%zmm8, %%zmm29\n vpaddq %%zmm29, %%zmm16, %%zmm16\n vmovdqa64 %%zmm0, %%zmm26\n vpternlogq %[fa], 0(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm8\n vpternlogq %[fa], 64(%[x])%{1to8%}, %%zmm25, %%zmm8\n vpternlogq $0x74, %%zmm8, %%zmm26, %%zmm0\n"
    "vpopcntq %%zmm9, %%zmm30\n vpaddq %%zmm30, %%zmm17, %%zmm17\n vmovdqa64 %%zmm1, %%zmm27\n vpternlogq %[fa], 8(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm9\n vpternlogq %[fa], 72(%[x])%{1to8%}, %%zmm25, %%zmm9\n vpternlogq $0x74, %%zmm9, %%zmm27, %%zmm1\n"
    "vpopcntq %%zmm10, %%zmm31\n vpaddq %%zmm31, %%zmm18, %%zmm18\n vmovdqa64 %%zmm2, %%zmm28\n vpternlogq %[fa], 16(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm10\n vpternlogq %[fa], 80(%[x])%{1to8%}, %%zmm25, %%zmm10\n vpternlogq $0x74, %%zmm10, %%zmm28, %%zmm2\n"
    "vpopcntq %%zmm11, %%zmm29\n vpaddq %%zmm29, %%zmm19, %%zmm19\n vmovdqa64 %%zmm3, %%zmm26\n vpternlogq %[fa], 24(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm11\n vpternlogq %[fa], 88(%[x])%{1to8%}, %%zmm25, %%zmm11\n vpternlogq $0x74, %%zmm11, %%zmm26, %%zmm3\n"
    "vpopcntq %%zmm12, %%zmm30\n vpaddq %%zmm30, %%zmm20, %%zmm20\n vmovdqa64 %%zmm4, %%zmm27\n vpternlogq %[fa], 32(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm12\n vpternlogq %[fa], 96(%[x])%{1to8%}, %%zmm25, %%zmm12\n vpternlogq $0x74, %%zmm12, %%zmm27, %%zmm4\n"
    "vpopcntq %%zmm13, %%zmm31\n vpaddq %%zmm31, %%zmm21, %%zmm21\n vmovdqa64 %%zmm5, %%zmm28\n vpternlogq %[fa], 40(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm13\n vpternlogq %[fa], 104(%[x])%{1to8%}, %%zmm25, %%zmm13\n vpternlogq $0x74, %%zmm13, %%zmm28, %%zmm5\n"
    "vpopcntq %%zmm14, %%zmm29\n vpaddq %%zmm29, %%zmm22, %%zmm22\n vmovdqa64 %%zmm6, %%zmm26\n vpternlogq %[fa], 48(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm14\n vpternlogq %[fa], 112(%[x])%{1to8%}, %%zmm25, %%zmm14\n vpternlogq $0x74, %%zmm14, %%zmm26, %%zmm6\n"
    "vpopcntq %%zmm15, %%zmm30\n vpaddq %%zmm30, %%zmm23, %%zmm23\n vmovdqa64 %%zmm7, %%zmm27\n vpternlogq %[fa], 56(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm15\n vpternlogq %[fa], 120(%[x])%{1to8%}, %%zmm25, %%zmm15\n vpternlogq $0x74, %%zmm15, %%zmm27, %%zmm7\n"
    "vmovdqu64 128(%[y]), %%zmm24\n vmovdqu64 192(%[y]), %%zmm25\n"
    "vpopcntq %%zmm0, %%zmm29\n vpaddq %%zmm29, %%zmm16, %%zmm16\n vmovdqa64 %%zmm8, %%zmm26\n vpternlogq %[fa], 128(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm0\n vpternlogq %[fa], 192(%[x])%{1to8%}, %%zmm25, %%zmm0\n vpternlogq $0x74, %%zmm0, %%zmm26, %%zmm8\n"
    "vpopcntq %%zmm1, %%zmm30\n vpaddq %%zmm30, %%zmm17, %%zmm17\n vmovdqa64 %%zmm9, %%zmm27\n vpternlogq %[fa], 136(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm1\n vpternlogq %[fa], 200(%[x])%{1to8%}, %%zmm25, %%zmm1\n vpternlogq $0x74, %%zmm1, %%zmm27, %%zmm9\n"
    "vpopcntq %%zmm2, %%zmm31\n vpaddq %%zmm31, %%zmm18, %%zmm18\n vmovdqa64 %%zmm10, %%zmm28\n vpternlogq %[fa], 144(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm2\n vpternlogq %[fa], 208(%[x])%{1to8%}, %%zmm25, %%zmm2\n vpternlogq $0x74, %%zmm2, %%zmm28, %%zmm10\n"
    "vpopcntq %%zmm3, %%zmm29\n vpaddq %%zmm29, %%zmm19, %%zmm19\n vmovdqa64 %%zmm11, %%zmm26\n vpternlogq %[fa], 152(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm3\n vpternlogq %[fa], 216(%[x])%{1to8%}, %%zmm25, %%zmm3\n vpternlogq $0x74, %%zmm3, %%zmm26, %%zmm11\n"
    "vpopcntq %%zmm4, %%zmm30\n vpaddq %%zmm30, %%zmm20, %%zmm20\n vmovdqa64 %%zmm12, %%zmm27\n vpternlogq %[fa], 160(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm4\n vpternlogq %[fa], 224(%[x])%{1to8%}, %%zmm25, %%zmm4\n vpternlogq $0x74, %%zmm4, %%zmm27, %%zmm12\n"
    "vpopcntq %%zmm5, %%zmm31\n vpaddq %%zmm31, %%zmm21, %%zmm21\n vmovdqa64 %%zmm13, %%zmm28\n vpternlogq %[fa], 168(%[x])%{1to8%}, %%zmm24, %%zmm28\n vmovdqa64 %%zmm28, %%zmm5\n vpternlogq %[fa], 232(%[x])%{1to8%}, %%zmm25, %%zmm5\n vpternlogq $0x74, %%zmm5, %%zmm28, %%zmm13\n"
    "vpopcntq %%zmm6, %%zmm29\n vpaddq %%zmm29, %%zmm22, %%zmm22\n vmovdqa64 %%zmm14, %%zmm26\n vpternlogq %[fa], 176(%[x])%{1to8%}, %%zmm24, %%zmm26\n vmovdqa64 %%zmm26, %%zmm6\n vpternlogq %[fa], 240(%[x])%{1to8%}, %%zmm25, %%zmm6\n vpternlogq $0x74, %%zmm6, %%zmm26, %%zmm14\n"
    "vpopcntq %%zmm7, %%zmm30\n vpaddq %%zmm30, %%zmm23, %%zmm23\n vmovdqa64 %%zmm15, %%zmm27\n vpternlogq %[fa], 184(%[x])%{1to8%}, %%zmm24, %%zmm27\n vmovdqa64 %%zmm27, %%zmm7\n vpternlogq %[fa], 248(%[x])%{1to8%}, %%zmm25, %%zmm7\n vpternlogq $0x74, %%zmm7, %%zmm27, %%zmm15\n"
    "add $256, %[x]\n add $256, %[y]\n dec %[n]\n jnz 1b\n"
    "vmovdqa64 %%zmm0, 0(%[st])\n" "vmovdqa64 %%zmm1, 64(%[st])\n" "vmovdqa64 %%zmm2, 128(%[st])\n" "vmovdqa64 %%zmm3, 192(%[st])\n" "vmovdqa64 %%zmm4, 256(%[st])\n" "vmovdqa64 %%zmm5, 320(%[st])\n" "vmovdqa64 %%zmm6, 384(%[st])\n" "vmovdqa64 %%zmm7, 448(%[st])\n" "vmovdqa64 %%zmm8, 512(%[st])\n" "vmovdqa64 %%zmm9, 576(%[st])\n" "vmovdqa64 %%zmm10, 640(%[st])\n" "vmovdqa64 %%zmm11, 704(%[st])\n" "vmovdqa64 %%zmm12, 768(%[st])\n" "vmovdqa64 %%zmm13, 832(%[st])\n" "vmovdqa64 %%zmm14, 896(%[st])\n" "vmovdqa64 %%zmm15, 960(%[st])\n" "vmovdqa64 %%zmm16, 1024(%[st])\n" "vmovdqa64 %%zmm17, 1088(%[st])\n" "vmovdqa64 %%zmm18, 1152(%[st])\n" "vmovdqa64 %%zmm19, 1216(%[st])\n" "vmovdqa64 %%zmm20, 1280(%[st])\n" "vmovdqa64 %%zmm21, 1344(%[st])\n" "vmovdqa64 %%zmm22, 1408(%[st])\n" "vmovdqa64 %%zmm23, 1472(%[st])\n"
    : [x] "+r"(x), [y] "+r"(y), [n] "+r"(n)
    : [fa] "i"(kFa), [st] "r"(st)
    : "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc", "memory");
}

template <bool kXor>
void tile(const BitPlanes& a, const BitPlanes& w, int64_t g, int64_t h, int64_t t0, int64_t nt, bool first,
          bool last, int64_t k, int32_t* out) {
  constexpr int kFa = kXor ? kXor3 : kAndXor;
  const int64_t M = a.rows, N = w.rows, words = a.words;
  const uint64_t* yp = w.data + (h * words + t0) * 8;
  const long long* xp = reinterpret_cast<const long long*>(a.data + (g * words + t0) * 8);
  alignas(64) __m512i st[24];
  for (auto& v : st) v = _mm512_setzero_si512();
  int64_t t = nt & ~int64_t(3);
  if (t > 0) quads<kFa>(xp, yp, t / 4, st);
#define X(r) __m512i o##r = st[r], c##r = _mm512_add_epi64(st[16 + r], _mm512_popcnt_epi64(st[8 + r]));
  LOWBIT_W1_ALL(X)
#undef X
  if (t + 2 <= nt) {  // a last pair: one step with intrinsics
    const __m512i y1 = _mm512_loadu_si512(yp + t * 8), y2 = _mm512_loadu_si512(yp + t * 8 + 8);
#define X(r)                                                                                          \
  {                                                                                                   \
    const __m512i u = _mm512_ternarylogic_epi64(o##r, y1, _mm512_set1_epi64(xp[t * 8 + r]), kFa);      \
    const __m512i s = _mm512_ternarylogic_epi64(u, y2, _mm512_set1_epi64(xp[t * 8 + 8 + r]), kFa);     \
    c##r = _mm512_add_epi64(c##r, _mm512_popcnt_epi64(_mm512_ternarylogic_epi64(o##r, u, s, kCarry))); \
    o##r = s;                                                                                         \
  }
    LOWBIT_W1_ALL(X)
#undef X
    t += 2;
  }
  if (t < nt) {  // odd last word: a half adder (o ^ p, carry o & p); XNOR: o ^ x ^ y, carry o & (x ^ y)
    const __m512i y1 = _mm512_loadu_si512(yp + t * 8);
#define X(r)                                                                                  \
  {                                                                                           \
    const __m512i x = _mm512_set1_epi64(xp[t * 8 + r]);                                       \
    const __m512i cr = kXor ? _mm512_and_si512(o##r, _mm512_xor_si512(x, y1))                 \
                            : _mm512_ternarylogic_epi64(o##r, y1, x, kAnd3);                  \
    c##r = _mm512_add_epi64(c##r, _mm512_popcnt_epi64(cr));                                   \
    o##r = _mm512_ternarylogic_epi64(o##r, y1, x, kFa);                                       \
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
  const int64_t most = kWeightTileBytes / 64;  // K words per chunk: equal chunks, multiples of 4 words
  const int64_t chunks = (words + most - 1) / most, kc = ((words + chunks - 1) / chunks + 3) & ~int64_t(3);
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
