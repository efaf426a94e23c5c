// Standalone A/B of GEMV (M = 1) read patterns on the k4n64 layout (branch gemv, issue 3): the one-stream
// loop that was the kernel (base), the probe's read loop (read), software prefetch at several hints and
// distances, 2-8 panels side by side (2p..8p, 4asm: the asm loop), 4q (the kernel: four streams over
// quarters of the panels, each running on from panel to panel), two K halves of one panel
// (2h), four k4 steps per iteration (k4x). Every variant is checked against base, then all are timed in
// rounds (medians of 20 ms samples). Not part of the build:
//   g++ -O3 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mfma -mbmi2 -o /tmp/ab tools/gemv_streams_ab.cpp
//   /tmp/ab 4096 4096 9                 # K N repeats: 16 MiB, L3-hot
//   /tmp/ab 8192 8192 7 ",4p,nta_8k,"   # only these variants (and base); OFF=16: weights 16 bytes off a line
#include <immintrin.h>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <chrono>
#include <string>
#include <sys/mman.h>
constexpr int64_t kPanel = 64;
using Fn = void (*)(const uint8_t*, const int8_t*, int64_t, int64_t, int32_t*);

// baseline: intrinsics, 2 k4 steps/iter
template <int PF, int HINT, int DIST>
static inline void gemv_panel_i(const uint8_t* a, const int8_t* b, int64_t k4, __m512i* out) {
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
  int64_t k = 0;
  for (; k + 2 <= k4; k += 2) {
    const int8_t* bk = b + k * kPanel * 4;
    if constexpr (PF == 8)
      for (int l = 0; l < 8; ++l) _mm_prefetch(reinterpret_cast<const char*>(bk + DIST + 64 * l), (_mm_hint)HINT);
    if constexpr (PF == 1)
      _mm_prefetch(reinterpret_cast<const char*>(bk + DIST + (k & 6) * 64 * 4 / 2), (_mm_hint)HINT);
    int32_t x0, x1;
    std::memcpy(&x0, a + k * 4, 4);
    std::memcpy(&x1, a + k * 4 + 4, 4);
    const __m512i v0 = _mm512_set1_epi32(x0), v1 = _mm512_set1_epi32(x1);
    c0 = _mm512_dpbusd_epi32(c0, v0, _mm512_loadu_si512(bk));
    c1 = _mm512_dpbusd_epi32(c1, v0, _mm512_loadu_si512(bk + 64));
    c2 = _mm512_dpbusd_epi32(c2, v0, _mm512_loadu_si512(bk + 128));
    c3 = _mm512_dpbusd_epi32(c3, v0, _mm512_loadu_si512(bk + 192));
    d0 = _mm512_dpbusd_epi32(d0, v1, _mm512_loadu_si512(bk + 256));
    d1 = _mm512_dpbusd_epi32(d1, v1, _mm512_loadu_si512(bk + 320));
    d2 = _mm512_dpbusd_epi32(d2, v1, _mm512_loadu_si512(bk + 384));
    d3 = _mm512_dpbusd_epi32(d3, v1, _mm512_loadu_si512(bk + 448));
  }
  out[0] = _mm512_add_epi32(c0, d0);
  out[1] = _mm512_add_epi32(c1, d1);
  out[2] = _mm512_add_epi32(c2, d2);
  out[3] = _mm512_add_epi32(c3, d3);
}

template <int PF, int HINT, int DIST>
static void gemv_i(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  for (int64_t p = 0; p < panels; ++p) {
    __m512i c[4];
    gemv_panel_i<PF, HINT, DIST>(a, b + p * k4 * 256, k4, c);
    for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + p * 64 + 16 * j, c[j]);
  }
}

// two panels at once (two streams)
template <int PF, int HINT, int DIST>
static void gemv_2p(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  int64_t p = 0;
  for (; p + 2 <= panels; p += 2) {
    const int8_t* b0 = b + p * k4 * 256;
    const int8_t* b1 = b0 + k4 * 256;
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
    for (int64_t k = 0; k < k4; ++k) {
      const int8_t* x = b0 + k * 256;
      const int8_t* y = b1 + k * 256;
      if constexpr (PF == 8) {
        for (int l = 0; l < 4; ++l) _mm_prefetch((const char*)(x + DIST + 64 * l), (_mm_hint)HINT);
        for (int l = 0; l < 4; ++l) _mm_prefetch((const char*)(y + DIST + 64 * l), (_mm_hint)HINT);
      }
      int32_t x0;
      std::memcpy(&x0, a + k * 4, 4);
      const __m512i v0 = _mm512_set1_epi32(x0);
      c0 = _mm512_dpbusd_epi32(c0, v0, _mm512_loadu_si512(x));
      c1 = _mm512_dpbusd_epi32(c1, v0, _mm512_loadu_si512(x + 64));
      c2 = _mm512_dpbusd_epi32(c2, v0, _mm512_loadu_si512(x + 128));
      c3 = _mm512_dpbusd_epi32(c3, v0, _mm512_loadu_si512(x + 192));
      d0 = _mm512_dpbusd_epi32(d0, v0, _mm512_loadu_si512(y));
      d1 = _mm512_dpbusd_epi32(d1, v0, _mm512_loadu_si512(y + 64));
      d2 = _mm512_dpbusd_epi32(d2, v0, _mm512_loadu_si512(y + 128));
      d3 = _mm512_dpbusd_epi32(d3, v0, _mm512_loadu_si512(y + 192));
    }
    _mm512_storeu_si512(out + p * 64 + 0, c0); _mm512_storeu_si512(out + p * 64 + 16, c1);
    _mm512_storeu_si512(out + p * 64 + 32, c2); _mm512_storeu_si512(out + p * 64 + 48, c3);
    _mm512_storeu_si512(out + p * 64 + 64, d0); _mm512_storeu_si512(out + p * 64 + 80, d1);
    _mm512_storeu_si512(out + p * 64 + 96, d2); _mm512_storeu_si512(out + p * 64 + 112, d3);
  }
  for (; p < panels; ++p) {
    __m512i c[4];
    gemv_panel_i<0, 0, 0>(a, b + p * k4 * 256, k4, c);
    for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + p * 64 + 16 * j, c[j]);
  }
}

// same panel, K halves (two streams within a panel)
static void gemv_2h(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  const int64_t h = k4 / 2;
  for (int64_t p = 0; p < panels; ++p) {
    const int8_t* b0 = b + p * k4 * 256;
    const int8_t* b1 = b0 + h * 256;
    const uint8_t* a1 = a + h * 4;
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
    for (int64_t k = 0; k < h; ++k) {
      const int8_t* x = b0 + k * 256;
      const int8_t* y = b1 + k * 256;
      int32_t x0, x1;
      std::memcpy(&x0, a + k * 4, 4);
      std::memcpy(&x1, a1 + k * 4, 4);
      const __m512i v0 = _mm512_set1_epi32(x0), v1 = _mm512_set1_epi32(x1);
      c0 = _mm512_dpbusd_epi32(c0, v0, _mm512_loadu_si512(x));
      c1 = _mm512_dpbusd_epi32(c1, v0, _mm512_loadu_si512(x + 64));
      c2 = _mm512_dpbusd_epi32(c2, v0, _mm512_loadu_si512(x + 128));
      c3 = _mm512_dpbusd_epi32(c3, v0, _mm512_loadu_si512(x + 192));
      d0 = _mm512_dpbusd_epi32(d0, v1, _mm512_loadu_si512(y));
      d1 = _mm512_dpbusd_epi32(d1, v1, _mm512_loadu_si512(y + 64));
      d2 = _mm512_dpbusd_epi32(d2, v1, _mm512_loadu_si512(y + 128));
      d3 = _mm512_dpbusd_epi32(d3, v1, _mm512_loadu_si512(y + 192));
    }
    _mm512_storeu_si512(out + p * 64 + 0, _mm512_add_epi32(c0, d0));
    _mm512_storeu_si512(out + p * 64 + 16, _mm512_add_epi32(c1, d1));
    _mm512_storeu_si512(out + p * 64 + 32, _mm512_add_epi32(c2, d2));
    _mm512_storeu_si512(out + p * 64 + 48, _mm512_add_epi32(c3, d3));
  }
}


// NP panels at once, one k4 step each per iteration
template <int NP, int PF, int HINT, int DIST>
static void gemv_np(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  int64_t p = 0;
  const int64_t pb = k4 * 256;
  for (; p + NP <= panels; p += NP) {
    const int8_t* b0 = b + p * pb;
    __m512i c[NP][4];
    for (int q = 0; q < NP; ++q) for (int j = 0; j < 4; ++j) c[q][j] = _mm512_setzero_si512();
    for (int64_t k = 0; k < k4; ++k) {
      int32_t x0;
      std::memcpy(&x0, a + k * 4, 4);
      const __m512i v0 = _mm512_set1_epi32(x0);
      for (int q = 0; q < NP; ++q) {
        const int8_t* x = b0 + q * pb + k * 256;
        if constexpr (PF) if ((k & 3) == 0) for (int l = 0; l < 16; ++l) _mm_prefetch((const char*)(x + DIST + 64 * l), (_mm_hint)HINT);
        for (int j = 0; j < 4; ++j) c[q][j] = _mm512_dpbusd_epi32(c[q][j], v0, _mm512_loadu_si512(x + 64 * j));
      }
    }
    for (int q = 0; q < NP; ++q) for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + (p + q) * 64 + 16 * j, c[q][j]);
  }
  for (; p < panels; ++p) {
    __m512i c[4];
    gemv_panel_i<0, 0, 0>(a, b + p * k4 * 256, k4, c);
    for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + p * 64 + 16 * j, c[j]);
  }
}

// 4 k4 steps per iteration (1 KiB), 16 chains? no: 8 chains, 4 steps
static void gemv_k4x(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  for (int64_t p = 0; p < panels; ++p) {
    const int8_t* bp = b + p * k4 * 256;
    __m512i c[8];
    for (int j = 0; j < 8; ++j) c[j] = _mm512_setzero_si512();
    for (int64_t k = 0; k < k4; k += 4) {
      const int8_t* bk = bp + k * 256;
      for (int s = 0; s < 4; ++s) {
        int32_t x0; std::memcpy(&x0, a + (k + s) * 4, 4);
        const __m512i v0 = _mm512_set1_epi32(x0);
        for (int j = 0; j < 4; ++j) c[(s & 1) * 4 + j] = _mm512_dpbusd_epi32(c[(s & 1) * 4 + j], v0, _mm512_loadu_si512(bk + s * 256 + 64 * j));
      }
    }
    for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + p * 64 + 16 * j, _mm512_add_epi32(c[j], c[j + 4]));
  }
}


#define Z4(r, base) "vpdpbusd (%[" #base "]), %%zmm16, %%zmm" #r "0\n"
template <int UNROLL>
static inline void gemv4_asm(const uint8_t* a, const int8_t* b, int64_t pb, int64_t k4, int32_t* out) {
  const int8_t *b0 = b, *b1 = b + pb, *b2 = b + 2 * pb, *b3 = b + 3 * pb;
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n vmovdqa64 %%zmm0, %%zmm1\n vmovdqa64 %%zmm0, %%zmm2\n vmovdqa64 %%zmm0, %%zmm3\n"
      "vmovdqa64 %%zmm0, %%zmm4\n vmovdqa64 %%zmm0, %%zmm5\n vmovdqa64 %%zmm0, %%zmm6\n vmovdqa64 %%zmm0, %%zmm7\n"
      "vmovdqa64 %%zmm0, %%zmm8\n vmovdqa64 %%zmm0, %%zmm9\n vmovdqa64 %%zmm0, %%zmm10\n vmovdqa64 %%zmm0, %%zmm11\n"
      "vmovdqa64 %%zmm0, %%zmm12\n vmovdqa64 %%zmm0, %%zmm13\n vmovdqa64 %%zmm0, %%zmm14\n vmovdqa64 %%zmm0, %%zmm15\n"
      "test %[k], %[k]\n jz 2f\n"
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
      "2:\n"
      "vmovdqu64 %%zmm0, (%[o])\n vmovdqu64 %%zmm1, 64(%[o])\n vmovdqu64 %%zmm2, 128(%[o])\n vmovdqu64 %%zmm3, 192(%[o])\n"
      "vmovdqu64 %%zmm4, 256(%[o])\n vmovdqu64 %%zmm5, 320(%[o])\n vmovdqu64 %%zmm6, 384(%[o])\n vmovdqu64 %%zmm7, 448(%[o])\n"
      "vmovdqu64 %%zmm8, 512(%[o])\n vmovdqu64 %%zmm9, 576(%[o])\n vmovdqu64 %%zmm10, 640(%[o])\n vmovdqu64 %%zmm11, 704(%[o])\n"
      "vmovdqu64 %%zmm12, 768(%[o])\n vmovdqu64 %%zmm13, 832(%[o])\n vmovdqu64 %%zmm14, 896(%[o])\n vmovdqu64 %%zmm15, 960(%[o])\n"
      : [a] "+r"(a), [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2), [b3] "+r"(b3), [k] "+r"(k4)
      : [o] "r"(out)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16");
}
static void gemv_4asm(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  for (int64_t p = 0; p < panels; p += 4) gemv4_asm<1>(a, b + p * k4 * 256, k4 * 256, k4, out + p * 64);
}


// 4 streams, 4 k steps per iteration, one prefetch per stream per k step (line s of the step D ahead)
template <int HINT, int DIST>
static void gemv_4pf(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  const int64_t pb = k4 * 256;
  for (int64_t p = 0; p < panels; p += 4) {
    const int8_t* b0 = b + p * pb;
    __m512i c[4][4];
    for (int q = 0; q < 4; ++q) for (int j = 0; j < 4; ++j) c[q][j] = _mm512_setzero_si512();
    for (int64_t k = 0; k < k4; k += 4) {
      for (int s = 0; s < 4; ++s) {
        int32_t x0; std::memcpy(&x0, a + (k + s) * 4, 4);
        const __m512i v0 = _mm512_set1_epi32(x0);
        for (int q = 0; q < 4; ++q) {
          const int8_t* x = b0 + q * pb + (k + s) * 256;
          _mm_prefetch((const char*)(b0 + q * pb + k * 256 + DIST + 64 * s), (_mm_hint)HINT);
          for (int j = 0; j < 4; ++j) c[q][j] = _mm512_dpbusd_epi32(c[q][j], v0, _mm512_loadu_si512(x + 64 * j));
        }
      }
    }
    for (int q = 0; q < 4; ++q) for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + (p + q) * 64 + 16 * j, c[q][j]);
  }
}


// 4 streams over 4 contiguous quarters of the panels: each stream runs on from panel to panel
static void gemv_4q(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  const int64_t q = panels / 4, pb = k4 * 256;
  for (int64_t i = 0; i < q; ++i) {
    alignas(64) int32_t tmp[256];
    gemv4_asm<1>(a, b + i * pb, q * pb, k4, tmp);
    for (int s = 0; s < 4; ++s) std::memcpy(out + (s * q + i) * 64, tmp + 64 * s, 256);
  }
  for (int64_t p = 4 * q; p < panels; ++p) {
    __m512i c[4];
    gemv_panel_i<0, 0, 0>(a, b + p * pb, k4, c);
    for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + p * 64 + 16 * j, c[j]);
  }
}

// the probe read pattern (sum only)
static void readonly(const uint8_t* a, const int8_t* b, int64_t k4, int64_t panels, int32_t* out) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  const int64_t bytes = k4 * 256 * panels;
  for (int64_t i = 0; i < bytes; i += 256) {
    s0 = _mm512_add_epi64(s0, _mm512_loadu_si512(b + i));
    s1 = _mm512_add_epi64(s1, _mm512_loadu_si512(b + i + 64));
    s2 = _mm512_add_epi64(s2, _mm512_loadu_si512(b + i + 128));
    s3 = _mm512_add_epi64(s3, _mm512_loadu_si512(b + i + 192));
  }
  _mm512_storeu_si512(out, _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int main(int argc, char** argv) {
  int64_t K = argc > 1 ? atoll(argv[1]) : 4096, N = argc > 2 ? atoll(argv[2]) : 4096;
  int reps = argc > 3 ? atoi(argv[3]) : 15;
  int64_t k4 = K / 4, panels = N / 64;
  size_t bytes = size_t(K) * N;
  int off = getenv("OFF") ? atoi(getenv("OFF")) : 0; int8_t* b = (int8_t*)aligned_alloc(2 << 20, bytes + (2 << 20)); if (getenv("HUGE")) printf("madvise %d\n", madvise(b, bytes + (2<<20), MADV_HUGEPAGE)); b += off;
  uint8_t* a = (uint8_t*)aligned_alloc(64, K);
  for (size_t i = 0; i < bytes; ++i) b[i] = int8_t(rand());
  for (int64_t i = 0; i < K; ++i) a[i] = uint8_t(rand());
  std::vector<int32_t> ref(N), out(N);
  struct V { std::string name; Fn fn; };
  std::vector<V> vs = {
    {"base", gemv_i<0, 0, 0>},
    {"read", readonly},
    {"t0_1k", gemv_i<8, _MM_HINT_T0, 1024>},
    {"t0_2k", gemv_i<8, _MM_HINT_T0, 2048>},
    {"t0_4k", gemv_i<8, _MM_HINT_T0, 4096>},
    {"t1_2k", gemv_i<8, _MM_HINT_T1, 2048>},
    {"t1_4k", gemv_i<8, _MM_HINT_T1, 4096>},
    {"t1_8k", gemv_i<8, _MM_HINT_T1, 8192>},
    {"t2_4k", gemv_i<8, _MM_HINT_T2, 4096>},
    {"nta_8k", gemv_i<8, _MM_HINT_NTA, 8192>},
    {"2p", gemv_2p<0, 0, 0>},
    {"2p_t1_2k", gemv_2p<8, _MM_HINT_T1, 2048>},
    {"2h", gemv_2h},
    {"3p", gemv_np<3, 0, 0, 0>},
    {"4p", gemv_np<4, 0, 0, 0>},
    {"6p", gemv_np<6, 0, 0, 0>},
    {"4p_t0_1k", gemv_np<4, 1, _MM_HINT_T0, 1024>},
    {"k4x", gemv_k4x},
    {"2p_nta_8k", gemv_np<2, 1, _MM_HINT_NTA, 8192>},
    {"4p_nta_4k", gemv_np<4, 1, _MM_HINT_NTA, 4096>},
    {"4p_nta_8k", gemv_np<4, 1, _MM_HINT_NTA, 8192>},
    {"8p", gemv_np<8, 0, 0, 0>},
    {"4asm", gemv_4asm},
    {"4q", gemv_4q},
    {"4pf_t0_1k", gemv_4pf<_MM_HINT_T0, 1024>},
    {"4pf_t0_2k", gemv_4pf<_MM_HINT_T0, 2048>},
    {"4pf_t1_2k", gemv_4pf<_MM_HINT_T1, 2048>},
    {"4pf_t1_4k", gemv_4pf<_MM_HINT_T1, 4096>},
    {"4pf_t1_8k", gemv_4pf<_MM_HINT_T1, 8192>},
    {"4pf_t1_16k", gemv_4pf<_MM_HINT_T1, 16384>},
    {"4pf_nta_1k", gemv_4pf<_MM_HINT_NTA, 1024>},
    {"2p_nta_16k", gemv_np<2, 1, _MM_HINT_NTA, 16384>},
    {"4p_nta_16k", gemv_np<4, 1, _MM_HINT_NTA, 16384>},
    {"4p_t2_4k", gemv_np<4, 1, _MM_HINT_T2, 4096>},
    {"4p_nta_2k", gemv_np<4, 1, _MM_HINT_NTA, 2048>},
  };
  if (argc > 4) { std::vector<V> keep; for (auto& v : vs) if (strstr(argv[4], (","+v.name+",").c_str()) || v.name=="base") keep.push_back(v); vs = keep; }
  vs[0].fn(a, b, k4, panels, ref.data());
  for (auto& v : vs) {
    if (v.name == "read") continue;
    std::fill(out.begin(), out.end(), 0);
    v.fn(a, b, k4, panels, out.data());
    if (out != ref) printf("MISMATCH %s\n", v.name.c_str());
  }
  std::vector<std::vector<double>> t(vs.size());
  for (int r = 0; r < reps; ++r)
    for (size_t i = 0; i < vs.size(); ++i) {
      for (int w = 0; w < 2; ++w) vs[i].fn(a, b, k4, panels, out.data());
      int n = 0; double t0 = now(), el;
      do { vs[i].fn(a, b, k4, panels, out.data()); ++n; el = now() - t0; } while (el < 0.02);
      t[i].push_back(el / n);
    }
  if (getenv("HUGE")) system("grep AnonHuge /proc/meminfo");
  double base = 0;
  for (size_t i = 0; i < vs.size(); ++i) {
    auto s = t[i]; std::sort(s.begin(), s.end());
    double med = s[s.size() / 2];
    if (i == 0) base = med;
    printf("%-10s %8.1f us %7.1f GB/s %7.1f GOP/s  %.3fx\n", vs[i].name.c_str(), med * 1e6, bytes / med / 1e9,
           2.0 * K * N / med / 1e9, base / med);
  }
}
