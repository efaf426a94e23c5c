// Standalone A/B of read patterns for the codebook GEMV's tile loop (branch cbstream, issue 4: 2-4 read
// streams instead of one). All run full 4-row tiles, one table per row, N x K random codes, 1 thread:
//   base      the kernel's loop (csrc/codebook_gemv_avx512_asm.h), K-block by K-block: one stream
//   base2     the same again, last in each round (the spread between base and base2 is the noise)
//   lib       lowbit::codebook_gemv itself (build with -DWITH_LIB and the library sources, below)
//   sS        S = 1-4 concurrent streams over the K-block's tiles (contiguous quarters; tile i of each in
//             turn), sS_a0k / _a4k / _a16k: software prefetch off / 4 / 16 KiB ahead instead of 8
//   Sq*       S streams switched every 4 chunks (q8k: prefetcht0 8 KiB ahead, q0k: none, q8kt1: t1, ...)
//   r*        a tile's 4 rows from 4 streams (each K-block as 4 regions of rows 4t + i), 64 bytes each
//   gG        G tiles through all K-blocks, then the next G (tables and sums stay in L1)
//   bcC/obcC  K-blocks of C chunks instead of 12 (a layout change; here the read order only)
//   off16..   the base loop on data 16-48 bytes off a cache line
//   read1/4   a vpaddq read loop over the same bytes as one / four streams
// Weights rotate over copies of >= 160 MiB (cold; COPIES=1 for hot). Every variant that computes the real
// layout is checked bit for bit against base, then all are timed in interleaved rounds (medians of
// 2 x copies calls per sample, medians of the samples). Not part of the build:
//   python tools/gen_codebook_streams.py /tmp/cbs/var_asm.h
//   g++ -O2 -std=c++17 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mfma -Icsrc
//       -DVAR_ASM='"/tmp/cbs/var_asm.h"' [-DWITH_LIB] -o /tmp/cbs/ab tools/codebook_streams_ab.cpp
//       [csrc/codebook_gemv.cpp csrc/codebook_gemv_avx512.cpp csrc/threads.cpp csrc/cpu.cpp -lpthread] (one line)
//   /tmp/cbs/ab 3 8192 8192 9 36.9 ",s2,s4,2q8k,r2k,base2," [gap]
//     bits N K rounds [DRAM GB/s for the % column] [only these variants] [gap tiles between streams]
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codebook_gemv.h"
#include "codebook_gemv_avx512_asm.h"
#include VAR_ASM

using namespace lowbit;
using AsmS = void (*)(const char*, const float*, const float*, double*, int64_t, int64_t, int64_t, int64_t);
using AsmR = void (*)(const char*, const float*, const float*, double*, int64_t, int64_t, int64_t);

static int B, N, K, GAP = 0;
static int64_t chunks, chunk, tiles;
static std::vector<float> tabs, x;
static std::vector<double> acc;

static const char* block_ptr(const uint32_t* d, int64_t c0) {
  return reinterpret_cast<const char*>(d + cb_word_index(B, N, K, 0, c0));
}

// the kernel's loop: per K-block one call over all tiles
static void run_base(const uint32_t* d) {
  std::memset(acc.data(), 0, acc.size() * 8);
  for (int64_t c0 = 0; c0 < chunks; c0 += kCbBlockChunks) {
    const int64_t len = std::min(kCbBlockChunks, chunks - c0);
    if (B == 3) cb_tiles_asm3(block_ptr(d, c0), x.data() + c0 * chunk, tabs.data(), acc.data(), tiles, len);
    else cb_tiles_asm4(block_ptr(d, c0), x.data() + c0 * chunk, tabs.data(), acc.data(), tiles, len);
  }
}

// S streams of q tiles starting q + GAP tiles apart; the tiles between and after them as one stream each.
// quads: the loop that switches every 4 chunks (K-blocks whose chunks are not a multiple of 4: one stream)
static void run_streams(AsmS f, AsmS f1, bool quads, int S, const uint32_t* d) {
  std::memset(acc.data(), 0, acc.size() * 8);
  const int64_t gap = S > 1 ? GAP : 0, q = (tiles - (S - 1) * gap) / S, stride = q + gap;
  for (int64_t c0 = 0; c0 < chunks; c0 += kCbBlockChunks) {
    const int64_t len = std::min(kCbBlockChunks, chunks - c0);
    const char* p = block_ptr(d, c0);
    const float* xb = x.data() + c0 * chunk;
    if (quads && len % 4) {
      f1(p, xb, tabs.data(), acc.data(), tiles, len, 1, 0);
      continue;
    }
    f(p, xb, tabs.data(), acc.data(), q, len, S, stride);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t a = s * stride + q, e = s + 1 < S ? (s + 1) * stride : tiles;
      if (a < e) f1(p + a * len * 256, xb, tabs.data() + a * 64, acc.data() + a * 16, e - a, len, 1, 0);
    }
  }
}

// row streams: each K-block read as 4 regions (row i of every tile); the data is not laid out so: speed only
static void run_rows(AsmR f, const uint32_t* d) {
  std::memset(acc.data(), 0, acc.size() * 8);
  for (int64_t c0 = 0; c0 < chunks; c0 += kCbBlockChunks) {
    const int64_t len = std::min(kCbBlockChunks, chunks - c0);
    f(block_ptr(d, c0), x.data() + c0 * chunk, tabs.data(), acc.data(), tiles, len, tiles * len * 64);
  }
}

// G tiles through all K-blocks, then the next G
static void run_groups(int64_t G, const uint32_t* d) {
  std::memset(acc.data(), 0, acc.size() * 8);
  for (int64_t g0 = 0; g0 < tiles; g0 += G) {
    const int64_t gn = std::min(G, tiles - g0);
    for (int64_t c0 = 0; c0 < chunks; c0 += kCbBlockChunks) {
      const int64_t len = std::min(kCbBlockChunks, chunks - c0);
      const char* p = reinterpret_cast<const char*>(d + cb_word_index(B, N, K, 4 * g0, c0));
      if (B == 3) cb_tiles_asm3(p, x.data() + c0 * chunk, tabs.data() + g0 * 64, acc.data() + g0 * 16, gn, len);
      else cb_tiles_asm4(p, x.data() + c0 * chunk, tabs.data() + g0 * 64, acc.data() + g0 * 16, gn, len);
    }
  }
}

// K-blocks of C chunks (block b at word c0 N 16, as the layout would put it): obc = the kernel's loop,
// bc = the streams loop with one stream
static void run_blocks(int64_t C, bool streams_loop, const uint32_t* d) {
  std::memset(acc.data(), 0, acc.size() * 8);
  for (int64_t c0 = 0; c0 < chunks; c0 += C) {
    const int64_t len = std::min(C, chunks - c0);
    const char* p = reinterpret_cast<const char*>(d + c0 * N * 16);
    if (streams_loop) (B == 3 ? cb_streams_asm3 : cb_streams_asm4)(p, x.data() + c0 * chunk, tabs.data(), acc.data(), tiles, len, 1, 0);
    else if (B == 3) cb_tiles_asm3(p, x.data() + c0 * chunk, tabs.data(), acc.data(), tiles, len);
    else cb_tiles_asm4(p, x.data() + c0 * chunk, tabs.data(), acc.data(), tiles, len);
  }
}

static volatile int64_t sink;
static void read_streams(const uint32_t* data, int64_t bytes, int S) {
  const char* p = reinterpret_cast<const char*>(data);
  const int64_t part = bytes / S / 256 * 256;
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t o = 0; o < part; o += 256)
    for (int s = 0; s < S; ++s) {
      const char* q = p + s * part + o;
      a0 = _mm512_add_epi64(a0, _mm512_load_si512(q));
      a1 = _mm512_add_epi64(a1, _mm512_load_si512(q + 64));
      a2 = _mm512_add_epi64(a2, _mm512_load_si512(q + 128));
      a3 = _mm512_add_epi64(a3, _mm512_load_si512(q + 192));
    }
  sink = _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
}

int main(int argc, char** argv) {
  B = argc > 1 ? atoi(argv[1]) : 3;
  N = argc > 2 ? atoi(argv[2]) : 8192;
  K = argc > 3 ? atoi(argv[3]) : 8192;
  const int rounds = argc > 4 ? atoi(argv[4]) : 11;
  const double dram = argc > 5 ? atof(argv[5]) : 36.9;
  const std::string only = argc > 6 ? argv[6] : "";
  GAP = argc > 7 ? atoi(argv[7]) : 0;
  if (N % 4 || (B != 3 && B != 4)) return std::printf("bits 3 or 4, N a multiple of 4\n"), 1;
  chunk = cb_chunk(B);
  chunks = cb_kpad(B, K) / chunk;
  tiles = N / 4;
  const int64_t words = N * cb_row_words(B, K), bytes = words * 4;
  const int copies = getenv("COPIES") ? atoi(getenv("COPIES")) : int(std::max<int64_t>(2, (160ll << 20) / bytes + 1));
  std::mt19937 rng(1);
  std::vector<uint32_t*> data(static_cast<size_t>(copies));
  for (auto& d : data) {
    const size_t huge = 2 << 20, size = (size_t(bytes) + 64 + huge) / huge * huge;
    d = static_cast<uint32_t*>(std::aligned_alloc(huge, size));
    madvise(d, size, MADV_HUGEPAGE);
    for (int64_t i = 0; i < words; ++i) d[i] = rng();
  }
  tabs.resize(size_t(N) * 16);
  x.resize(size_t(cb_kpad(B, K)));
  acc.resize(size_t(N) * 4);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : tabs) v = u(rng);
  for (auto& v : x) v = u(rng);

  struct V {
    std::string name;
    std::function<void(const uint32_t*)> f;
    bool same = true;  // computes the real layout: checked against base
    std::vector<double> t;
  };
  std::vector<V> vs;
  vs.push_back({"base", run_base});
  const AsmS s1 = B == 3 ? cb_streams_asm3 : cb_streams_asm4;
  for (int S = 1; S <= 4; ++S) vs.push_back({"s" + std::to_string(S), [=](const uint32_t* d) { run_streams(s1, s1, false, S, d); }});
  const std::pair<const char*, AsmS> sv[] = {{"a0k", B == 3 ? cb_streams_asm3_a0k : cb_streams_asm4_a0k},
                                             {"a4k", B == 3 ? cb_streams_asm3_a4k : cb_streams_asm4_a4k},
                                             {"a16k", B == 3 ? cb_streams_asm3_a16k : cb_streams_asm4_a16k}};
  for (int S : {1, 2, 4})
    for (const auto& [n, f] : sv)
      vs.push_back({"s" + std::to_string(S) + "_" + n, [=, f = f](const uint32_t* d) { run_streams(f, s1, false, S, d); }});
#define Q(name) {#name, cb_quads_asm3_##name, cb_quads_asm4_##name}
  struct QV { const char* n; AsmS f3, f4; };
  const QV qv[] = {Q(q8k), Q(q2k), Q(q4k), Q(q8kt1), Q(q16kt1), Q(q0k), Q(q8kt2)};
  for (int S : {1, 2, 3, 4})
    for (const auto& v : qv) {
      const AsmS f = B == 3 ? v.f3 : v.f4;
      vs.push_back({std::to_string(S) + v.n, [=](const uint32_t* d) { run_streams(f, s1, true, S, d); }});
    }
#define R(name) {#name, cb_rows_asm3_##name, cb_rows_asm4_##name}
  struct RV { const char* n; AsmR f3, f4; };
  const RV rv[] = {R(r2k), R(r512), R(r1k), R(r0), R(r2kt1), R(r4kt1), R(r2kh)};
  for (const auto& v : rv) {
    const AsmR f = B == 3 ? v.f3 : v.f4;
    vs.push_back({v.n, [=](const uint32_t* d) { run_rows(f, d); }, false});
  }
  for (int64_t G : {8, 16, 32, 64, 128, 256}) vs.push_back({"g" + std::to_string(G), [=](const uint32_t* d) { run_groups(G, d); }});
  for (int64_t C : {4, 8, 12, 16, 20, 24, 32}) {
    vs.push_back({"bc" + std::to_string(C), [=](const uint32_t* d) { run_blocks(C, true, d); }, C == kCbBlockChunks});
    vs.push_back({"obc" + std::to_string(C), [=](const uint32_t* d) { run_blocks(C, false, d); }, C == kCbBlockChunks});
  }
  for (int off : {16, 32, 48})
    vs.push_back({"off" + std::to_string(off), [=](const uint32_t* d) {
                    run_base(reinterpret_cast<const uint32_t*>(reinterpret_cast<const char*>(d) + off));
                  }, false});
#ifdef WITH_LIB
  std::vector<float> out(static_cast<size_t>(N));
  vs.push_back({"lib", [&](const uint32_t* d) {
                  const CbWeight w{d, B, N, K, tabs.data(), 16, 0, K, nullptr};
                  codebook_gemv(Isa::avx512, w, x.data(), 1, nullptr, out.data(), 1);
                }, false});
#endif
  vs.push_back({"read1", [=](const uint32_t* d) { read_streams(d, bytes, 1); }, false});
  vs.push_back({"read4", [=](const uint32_t* d) { read_streams(d, bytes, 4); }, false});
  vs.push_back({"base2", run_base});
  if (!only.empty())
    vs.erase(std::remove_if(vs.begin() + 1, vs.end(), [&](const V& v) { return only.find("," + v.name + ",") == std::string::npos; }),
             vs.end());

  run_base(data[0]);
  const std::vector<double> ref = acc;
  for (auto& v : vs) {
    if (!v.same) continue;
    std::fill(acc.begin(), acc.end(), -1.0);
    v.f(data[0]);
    if (std::memcmp(acc.data(), ref.data(), acc.size() * 8) != 0) return std::printf("MISMATCH %s\n", v.name.c_str()), 1;
  }
  int next = 0;
  for (int r = 0; r < rounds; ++r)
    for (auto& v : vs) {
      for (int i = 0; i < copies; ++i) v.f(data[size_t(next++ % copies)]);  // warm-up: the other copies out of L3
      std::vector<double> ts;
      for (int i = 0; i < 2 * copies; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        v.f(data[size_t(next++ % copies)]);
        ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ts.begin(), ts.end());
      v.t.push_back(ts[ts.size() / 2]);
    }
  std::printf("bits %d N %d K %d: %.1f MiB x %d copies, %d rounds, %% of %.1f GB/s\n", B, N, K, bytes / 1048576.0, copies,
              rounds, dram);
  double base = 0;
  for (auto& v : vs) {
    std::sort(v.t.begin(), v.t.end());
    const double med = v.t[v.t.size() / 2];
    if (base == 0) base = med;
    std::printf("%-10s %8.3f ms  %6.1f GB/s  %5.1f%%  %.3fx base   (best %.1f%%)\n", v.name.c_str(), med * 1e3, bytes / med / 1e9,
                100 * bytes / med / 1e9 / dram, base / med, 100 * bytes / v.t[0] / 1e9 / dram);
  }
}
