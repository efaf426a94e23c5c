// Same-process A/B of the low-bit fields GEMV at M = 1 (issue 4, branch w4cold): the library's whole call
// (lowbit::lowbit_gemv, "lib"; float output with per-row scales and COMB rows per output, "libf") against a
// copy of the driver from another commit ("old", "oldf", namespace lowbit::old), bare read-pattern
// variants of the stream kernel (S streams x U lines of each in turn, prefetch D bytes ahead with hint
// t0/t1/t2/nta; "sub": the last field as all - the others; "x80": 4-bit with the byte as vpdpbusd's s8
// memory operand, i.e. a layout with every byte XOR 0x80, timing only), the int8 GEMV's four-stream asm loop
// over int8 weights of the same shape ("int8") and over the low-bit copies' bytes ("r8": the int8 read
// pattern on the same bytes). Interleaved rounds of 20 ms samples (each after 10 ms of untimed calls),
// medians, and per-round ratios to the first variant and to int8 (median [quartiles]); cold: the calls
// rotate over copies totalling >= 128 MiB (2 MiB pages, 64-byte aligned; "@16": copies 16 bytes off a line).
// Every variant is checked against "base", "lib" against "old". Not part of the build:
//   mkdir -p /tmp/lbold && for f in csrc/lowbit_gemv*; do git show main:$f | sed -e \
//     's/^namespace lowbit {/namespace lowbit { namespace old {/' -e 's|^}  // namespace lowbit|} }  // namespace lowbit|' \
//     > /tmp/lbold/$(basename $f); done
//   F="-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mavx512vbmi -mavx512vpopcntdq -mfma -mbmi2"
//   g++ -O3 $F -Icsrc -I/tmp -o /tmp/lbab tools/lowbit_fields_ab.cpp csrc/lowbit_gemv.cpp \
//     csrc/lowbit_gemv_avx512.cpp csrc/lowbit_gemv_trits.cpp csrc/lowbit_gemv_trits_avx512.cpp csrc/cpu.cpp \
//     csrc/threads.cpp /tmp/lbold/*.cpp -lpthread
//   /tmp/lbab 8192 8192 cold 31 4 old lib int8 r8     # K N cold|hot rounds bits variants...
//   COMB=3 /tmp/lbab 8192 24576 cold 31 1 oldf libf   # BCQ-3 shape: float output, 3 rows per output
#include <immintrin.h>
#include <sys/mman.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>
#include "lowbit_gemv.h"
#include "lbold/lowbit_gemv.h"

static inline __m512i bcast4(const uint8_t* p) { int32_t v; std::memcpy(&v, p, 4); return _mm512_set1_epi32(v); }

template <int H> static inline void pf(const void* p) {
  if constexpr (H == 0) _mm_prefetch((const char*)p, _MM_HINT_T0);
  else if constexpr (H == 1) _mm_prefetch((const char*)p, _MM_HINT_T1);
  else if constexpr (H == 2) _mm_prefetch((const char*)p, _MM_HINT_T2);
  else if constexpr (H == 3) _mm_prefetch((const char*)p, _MM_HINT_NTA);
}

// S streams, U lines of each in turn; prefetch D bytes ahead (0 none); SUB: last field = all - others
template <int B, int S, int U, int D, int H, bool SUB>
void ks(const uint8_t* const* blocks, int64_t s0, int64_t s1, const uint8_t* x, int32_t* const* raws) {
  constexpr int F = 8 / B;
  __m512i acc[S][F], mask[F];
  const uint8_t* bp[S];
  for (int i = 0; i < S; ++i) bp[i] = blocks[i];
  for (int f = 0; f < F; ++f) mask[f] = _mm512_set1_epi8(char(((1 << B) - 1) << (B * f)));
  for (int i = 0; i < S; ++i) for (int f = 0; f < F; ++f) acc[i][f] = _mm512_setzero_si512();
  for (int64_t s = s0; s < s1; s += U) {
    __m512i xb[U];
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) xb[u] = bcast4(x + (s + u) * 4);
#pragma GCC unroll 8
    for (int i = 0; i < S; ++i)
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) {
        const __m512i wv = _mm512_loadu_si512(bp[i] + (s + u) * 64);
        if constexpr (D > 0) pf<H>(bp[i] + (s + u) * 64 + D);
#pragma GCC unroll 8
        for (int f = 0; f < F; ++f) {
          const __m512i wf = (SUB && f == F - 1) ? wv : _mm512_and_si512(wv, mask[f]);
          acc[i][f] = _mm512_dpbusd_epi32(acc[i][f], wf, xb[u]);
        }
      }
  }
  for (int i = 0; i < S; ++i) {
    if constexpr (SUB) for (int f = 0; f < F - 1; ++f) acc[i][F - 1] = _mm512_sub_epi32(acc[i][F - 1], acc[i][f]);
    for (int f = 0; f < F; ++f) _mm512_storeu_si512(raws[i] + 16 * f, _mm512_srai_epi32(acc[i][f], B * f));
  }
}

// XOR-0x80 layout prototype (4-bit only): x as u8, the byte as s8 memory operand; lo = byte & 15
template <int S, int U, int D>
void kx(const uint8_t* const* blocks, int64_t s0, int64_t s1, const uint8_t* x, int32_t* const* raws) {
  __m512i lo[S], al[S];
  const __m512i m = _mm512_set1_epi8(0x0F);
  const uint8_t* bp[S];
  for (int i = 0; i < S; ++i) { bp[i] = blocks[i]; lo[i] = al[i] = _mm512_setzero_si512(); }
  for (int64_t s = s0; s < s1; s += U) {
    __m512i xb[U];
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) xb[u] = bcast4(x + (s + u) * 4);
#pragma GCC unroll 8
    for (int i = 0; i < S; ++i)
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) {
        const uint8_t* p = bp[i] + (s + u) * 64;
        if constexpr (D > 0) _mm_prefetch((const char*)(p + D), _MM_HINT_T0);
        al[i] = _mm512_dpbusd_epi32(al[i], xb[u], _mm512_loadu_si512(p));
        lo[i] = _mm512_dpbusd_epi32(lo[i], xb[u], _mm512_and_si512(_mm512_loadu_si512(p), m));
      }
  }
  for (int i = 0; i < S; ++i) {
    _mm512_storeu_si512(raws[i], lo[i]);
    _mm512_storeu_si512(raws[i] + 16, al[i]);
  }
}

// int8 reference: gemv_panels4 copy (k4n64, 4 streams, asm)
static void int8_panels4(const uint8_t* a, const int8_t* b, int64_t stride, int64_t k4, int32_t* out) {
  const int8_t *b0 = b, *b1 = b + stride, *b2 = b1 + stride, *b3 = b2 + stride;
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n vmovdqa64 %%zmm0, %%zmm1\n vmovdqa64 %%zmm0, %%zmm2\n"
      "vmovdqa64 %%zmm0, %%zmm3\n vmovdqa64 %%zmm0, %%zmm4\n vmovdqa64 %%zmm0, %%zmm5\n"
      "vmovdqa64 %%zmm0, %%zmm6\n vmovdqa64 %%zmm0, %%zmm7\n vmovdqa64 %%zmm0, %%zmm8\n"
      "vmovdqa64 %%zmm0, %%zmm9\n vmovdqa64 %%zmm0, %%zmm10\n vmovdqa64 %%zmm0, %%zmm11\n"
      "vmovdqa64 %%zmm0, %%zmm12\n vmovdqa64 %%zmm0, %%zmm13\n vmovdqa64 %%zmm0, %%zmm14\n"
      "vmovdqa64 %%zmm0, %%zmm15\n"
      "1:\n"
      "vpbroadcastd (%[a]), %%zmm16\n"
      "vpdpbusd (%[b0]), %%zmm16, %%zmm0\n vpdpbusd 64(%[b0]), %%zmm16, %%zmm1\n"
      "vpdpbusd 128(%[b0]), %%zmm16, %%zmm2\n vpdpbusd 192(%[b0]), %%zmm16, %%zmm3\n"
      "vpdpbusd (%[b1]), %%zmm16, %%zmm4\n vpdpbusd 64(%[b1]), %%zmm16, %%zmm5\n"
      "vpdpbusd 128(%[b1]), %%zmm16, %%zmm6\n vpdpbusd 192(%[b1]), %%zmm16, %%zmm7\n"
      "vpdpbusd (%[b2]), %%zmm16, %%zmm8\n vpdpbusd 64(%[b2]), %%zmm16, %%zmm9\n"
      "vpdpbusd 128(%[b2]), %%zmm16, %%zmm10\n vpdpbusd 192(%[b2]), %%zmm16, %%zmm11\n"
      "vpdpbusd (%[b3]), %%zmm16, %%zmm12\n vpdpbusd 64(%[b3]), %%zmm16, %%zmm13\n"
      "vpdpbusd 128(%[b3]), %%zmm16, %%zmm14\n vpdpbusd 192(%[b3]), %%zmm16, %%zmm15\n"
      "add $4, %[a]\n add $256, %[b0]\n add $256, %[b1]\n add $256, %[b2]\n add $256, %[b3]\n"
      "dec %[k]\n jnz 1b\n"
      "vmovdqu64 %%zmm0, (%[o])\n vmovdqu64 %%zmm1, 64(%[o])\n vmovdqu64 %%zmm2, 128(%[o])\n"
      "vmovdqu64 %%zmm3, 192(%[o])\n vmovdqu64 %%zmm4, 256(%[o])\n vmovdqu64 %%zmm5, 320(%[o])\n"
      "vmovdqu64 %%zmm6, 384(%[o])\n vmovdqu64 %%zmm7, 448(%[o])\n vmovdqu64 %%zmm8, 512(%[o])\n"
      "vmovdqu64 %%zmm9, 576(%[o])\n vmovdqu64 %%zmm10, 640(%[o])\n vmovdqu64 %%zmm11, 704(%[o])\n"
      "vmovdqu64 %%zmm12, 768(%[o])\n vmovdqu64 %%zmm13, 832(%[o])\n vmovdqu64 %%zmm14, 896(%[o])\n"
      "vmovdqu64 %%zmm15, 960(%[o])\n"
      : [a] "+r"(a), [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2), [b3] "+r"(b3), [k] "+r"(k4)
      : [o] "r"(out)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16");
}

using KFn = void (*)(const uint8_t* const*, int64_t, int64_t, const uint8_t*, int32_t* const*);
struct Var { int S; KFn fn; };

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

static uint8_t* alloc(size_t bytes, int off) {
  uint8_t* p = (uint8_t*)aligned_alloc(2 << 20, (bytes + (4 << 20)) & ~size_t((2 << 20) - 1));
  madvise(p, bytes + (2 << 20), MADV_HUGEPAGE);
  return p + off;
}

template <int B> std::map<std::string, Var> variants() {
  std::map<std::string, Var> v;
  v["base"] = {2, ks<B, 2, 4, 4096, 0, false>};
  v["2x2k"] = {2, ks<B, 2, 4, 2048, 0, false>};
  v["2x3k"] = {2, ks<B, 2, 4, 3072, 0, false>};
  v["2x6k"] = {2, ks<B, 2, 4, 6144, 0, false>};
  v["2x4k_nta"] = {2, ks<B, 2, 4, 4096, 3, false>};
  v["2x4k_t1"] = {2, ks<B, 2, 4, 4096, 1, false>};
  v["2x4k_t2"] = {2, ks<B, 2, 4, 4096, 2, false>};
  v["2x8_4k"] = {2, ks<B, 2, 8, 4096, 0, false>};
  v["3x4k"] = {3, ks<B, 3, 4, 4096, 0, false>};
  v["3x3k"] = {3, ks<B, 3, 4, 3072, 0, false>};
  v["4x2k"] = {4, ks<B, 4, 4, 2048, 0, false>};
  v["4x3k"] = {4, ks<B, 4, 4, 3072, 0, false>};
  if constexpr (B == 4) {
    v["x80"] = {2, kx<2, 4, 4096>};
    v["x80_4x0"] = {4, kx<4, 4, 0>};
    v["x80_4x2k"] = {4, kx<4, 4, 2048>};
    v["x80_2x0"] = {2, kx<2, 4, 0>};
  }
  v["one8k"] = {1, ks<B, 1, 4, 8192, 0, false>};
  v["sub"] = {2, ks<B, 2, 4, 4096, 0, true>};
  v["sub_1x8k"] = {1, ks<B, 1, 4, 8192, 0, true>};
  v["sub_2x2k"] = {2, ks<B, 2, 4, 2048, 0, true>};
  v["sub_2x8k"] = {2, ks<B, 2, 4, 8192, 0, true>};
  v["sub_2x0"] = {2, ks<B, 2, 4, 0, 0, true>};
  v["sub_2x4k_t1"] = {2, ks<B, 2, 4, 4096, 1, true>};
  v["sub_2x4k_t2"] = {2, ks<B, 2, 4, 4096, 2, true>};
  v["sub_2x4k_nta"] = {2, ks<B, 2, 4, 4096, 3, true>};
  v["sub_2x8k_nta"] = {2, ks<B, 2, 4, 8192, 3, true>};
  v["sub_2x8k_t1"] = {2, ks<B, 2, 4, 8192, 1, true>};
  v["sub_4x0"] = {4, ks<B, 4, 4, 0, 0, true>};
  v["sub_4x2k"] = {4, ks<B, 4, 4, 2048, 0, true>};
  v["sub_4x4k"] = {4, ks<B, 4, 4, 4096, 0, true>};
  v["sub_4x1_0"] = {4, ks<B, 4, 1, 0, 0, true>};
  v["sub_4x2_0"] = {4, ks<B, 4, 2, 0, 0, true>};
  v["sub_4x2k_t1"] = {4, ks<B, 4, 4, 2048, 1, true>};
  v["sub_4x4k_t2"] = {4, ks<B, 4, 4, 4096, 2, true>};
  return v;
}

int main(int argc, char** argv) {
  const int64_t K = atoll(argv[1]), N = atoll(argv[2]);
  const bool cold = std::string(argv[3]) == "cold";
  const int rounds = atoi(argv[4]);
  const int B = atoi(argv[5]);
  std::vector<std::string> names;
  for (int i = 6; i < argc; ++i) names.push_back(argv[i]);
  const int off = getenv("OFF") ? atoi(getenv("OFF")) : 0;
  std::map<std::string, Var> all = B == 4 ? variants<4>() : B == 2 ? variants<2>() : variants<1>();
  const int64_t F = 8 / B, R = 16 * F, blocks = (N + R - 1) / R, bb = K / 4 * 64, bytes = blocks * bb;
  const int64_t need = cold ? (int64_t(128) << 20) : 0;
  const int ncop = std::max<int64_t>(1, (need + bytes - 1) / bytes);
  std::vector<uint8_t*> cop;
  srand(1);
  for (int c = 0; c < ncop; ++c) {
    uint8_t* p = alloc(bytes, off);
    uint64_t st = 0x9E3779B97F4A7C15ull * uint64_t(c + 1);  // xorshift: rand() per byte took seconds
    for (int64_t i = 0; i < bytes; ++i) {
      st ^= st << 13, st ^= st >> 7, st ^= st << 17;
      p[i] = uint8_t(st >> 32);
    }
    cop.push_back(p);
  }
  std::vector<uint8_t*> cop16;
  for (int c = 0; c < ncop; ++c) { uint8_t* p = alloc(bytes, 16); memcpy(p, cop[c], bytes); cop16.push_back(p); }
  // int8 copies: N x K bytes
  const int64_t bytes8 = N * K;
  const int ncop8 = std::max<int64_t>(1, (need + bytes8 - 1) / bytes8);
  std::vector<uint8_t*> cop8;
  for (int c = 0; c < ncop8; ++c) { uint8_t* p = alloc(bytes8, 0); memset(p, c + 1, bytes8); cop8.push_back(p); }
  std::vector<uint8_t> x(K);
  for (auto& v : x) v = uint8_t(rand());
  std::vector<int32_t> out(blocks * R + 1024), ref;
  std::vector<int64_t> out64(blocks * R + 1024);
  auto run = [&](const Var& v, const uint8_t* w) {
    const int S = v.S;
    const int64_t len = blocks / S;
    const uint8_t* blk[8];
    int32_t raw[8 * 128];
    int32_t* raws[8];
    for (int i = 0; i < S; ++i) raws[i] = raw + i * R;
    for (int64_t j = 0; j < len; ++j) {
      for (int i = 0; i < S; ++i) blk[i] = w + (i * len + j) * bb;
      v.fn(blk, 0, K / 4, x.data(), raws);
      for (int i = 0; i < S; ++i) {  // epilogue like the driver's finish
        const int64_t r0 = (i * len + j) * R;
        for (int64_t r = 0; r < R; ++r) out64[r0 + r] = int64_t(raws[i][r]) * 3 - 7 * int64_t(r0 + r);
      }
    }
    for (int64_t b = S * len; b < blocks; ++b) {
      blk[0] = w + b * bb;
      all["one8k"].fn(blk, 0, K / 4, x.data(), raws);
    }
  };
  auto run8 = [&](const uint8_t* w) {
    const int64_t panels = N / 64, q = panels / 4, k4 = K / 4, pb = k4 * 256;
    int32_t o[256];
    for (int64_t i = 0; i < q; ++i) {
      int8_panels4(x.data(), (const int8_t*)w + i * pb, q * pb, k4, o);
      for (int r = 0; r < 256; ++r) out64[i * 256 + r] = int64_t(o[r]) * 3 - 7 * r;
    }
  };
  std::vector<int32_t> rowsum(N, 5);
  std::vector<int32_t> outlib(N);
  auto runlib = [&](const uint8_t* w) {
    lowbit::LbWeight lw{w, lowbit::LbLayout::fields, B, N, K, rowsum.data(), K, 1, 0};
    lowbit::LbCall c{x.data(), false, 1, 128, nullptr, nullptr, 1, outlib.data(), 1};
    lowbit::lowbit_gemv(lowbit::Isa::avx512, lw, c);
  };
  // the int8 loop over the low-bit copies' bytes (same access pattern as int8, half the bytes at w4)
  auto runr8 = [&](const uint8_t* w) {
    const int64_t k4 = 8192 / 4, pb = k4 * 256, panels = bytes / pb, q = panels / 4;
    int32_t o[256];
    for (int64_t i = 0; i < q; ++i) {
      int8_panels4(x.data(), (const int8_t*)w + i * pb, q * pb, k4, o);
      for (int r = 0; r < 256; ++r) out64[i * 256 + r] = int64_t(o[r]) * 3 - 7 * r;
    }
  };
  auto runold = [&](const uint8_t* w) {
    lowbit::old::LbWeight lw{w, lowbit::old::LbLayout::fields, B, N, K, rowsum.data(), K, 1, 0};
    lowbit::old::LbCall c{x.data(), false, 1, 128, nullptr, nullptr, 1, outlib.data(), 1};
    lowbit::old::lowbit_gemv(lowbit::Isa::avx512, lw, c);
  };
  { runold(cop[0]); std::vector<int32_t> o1 = outlib; runlib(cop[0]);
    if (o1 != outlib) { printf("LIB MISMATCH\n"); return 1; } }
  std::vector<float> scl(N, 0.03f), ascl(1, 0.5f), outf(N);
  const int comb = getenv("COMB") ? atoi(getenv("COMB")) : 3;
  auto runlibf = [&](const uint8_t* w) {
    lowbit::LbWeight lw{w, lowbit::LbLayout::fields, B, N, K, rowsum.data(), K, 2, -1};
    lowbit::LbCall c{x.data(), false, 1, 128, scl.data(), ascl.data(), comb, outf.data(), 1};
    lowbit::lowbit_gemv(lowbit::Isa::avx512, lw, c);
  };
  auto runoldf = [&](const uint8_t* w) {
    lowbit::old::LbWeight lw{w, lowbit::old::LbLayout::fields, B, N, K, rowsum.data(), K, 2, -1};
    lowbit::old::LbCall c{x.data(), false, 1, 128, scl.data(), ascl.data(), comb, outf.data(), 1};
    lowbit::old::lowbit_gemv(lowbit::Isa::avx512, lw, c);
  };
  { runoldf(cop[0]); std::vector<float> o1 = outf; runlibf(cop[0]);
    if (o1 != outf) { printf("LIBF MISMATCH\n"); return 1; } }
  // correctness vs base
  {
    Var base = all["base"];
    run(base, cop[0]);
    std::vector<int64_t> r0(out64.begin(), out64.begin() + blocks * R);
    for (auto& n : names) {
      if (n == "int8" || n == "lib" || n == "old" || n == "libf" || n == "oldf" || n == "r8" || n.find("@") != std::string::npos) continue;
      if (!all.count(n)) { printf("no variant %s\n", n.c_str()); return 1; }
      if (B != 4 && all[n].S * 0) {}
      run(all[n], cop[0]);
      if (n.substr(0, 3) != "x80" && !std::equal(r0.begin(), r0.end(), out64.begin())) { printf("MISMATCH %s\n", n.c_str()); return 1; }
    }
  }
  std::map<std::string, std::vector<double>> samp;
  size_t ci = 0, ci8 = 0;
  for (int r = 0; r < rounds; ++r) {
    for (auto& n : names) {
      auto call = [&]() {
        if (n == "int8") run8(cop8[ci8++ % ncop8]);
        else if (n == "lib") runlib(cop[ci++ % ncop]);
        else if (n == "old") runold(cop[ci++ % ncop]);
        else if (n == "libf") runlibf(cop[ci++ % ncop]);
        else if (n == "oldf") runoldf(cop[ci++ % ncop]);
        else if (n == "r8") runr8(cop[ci++ % ncop]);
        else if (n.size() > 3 && n.substr(n.size() - 3) == "@16") {
          const std::string b = n.substr(0, n.size() - 3);
          if (b == "lib") runlib(cop16[ci++ % ncop]);
          else if (b == "old") runold(cop16[ci++ % ncop]); else run(all[b], cop16[ci++ % ncop]);
        }
        else run(all[n], cop[ci++ % ncop]);
      };
      double t_end = now() + 0.01;
      while (now() < t_end) call();
      int cnt = 0; double t0 = now(), el;
      while (true) { call(); ++cnt; el = now() - t0; if (el >= 0.02) break; }
      samp[n].push_back(el / cnt);
    }
  }
  const double dram = 36.9e9;
  // paired: per round, first variant's time / this variant's time (> 1: faster than the first)
  for (auto& n : names) {
    auto s = samp[n]; std::vector<double> pr, r8;
    for (int r = 0; r < rounds; ++r) {
      pr.push_back(samp[names[0]][r] / samp[n][r]);
      if (samp.count("int8")) r8.push_back(samp["int8"][r] / samp[n][r]);
    }
    std::sort(s.begin(), s.end()); std::sort(pr.begin(), pr.end()); std::sort(r8.begin(), r8.end());
    double med = s[s.size() / 2];
    int64_t nb = n == "int8" ? bytes8 : bytes;
    printf("%-14s %8.1f us [%7.1f-%7.1f] %6.1f GB/s %4.0f%%  vs first %.3f [%.3f-%.3f]", n.c_str(), med * 1e6, s[0] * 1e6,
           s.back() * 1e6, nb / med / 1e9, nb / med / dram * 100, pr[pr.size() / 2], pr[pr.size() / 4], pr[pr.size() * 3 / 4]);
    if (!r8.empty() && n != "int8") printf("  /int8 %.2f [%.2f-%.2f]", r8[r8.size() / 2], r8[r8.size() / 4], r8[r8.size() * 3 / 4]);
    printf("\n");
  }
}
