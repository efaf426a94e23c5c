// Standalone A/B of the 3-bit codebook GEMV's tile loop (branch w3cb, issue 4): the kernel
// (csrc/codebook_gemv_avx512_asm.h) against variants from tools/gen_codebook_w3ab.py, interleaved in one
// process. N x K random codes, full 4-row tiles, one table per row, 1 thread; the weights rotate over
// copies of >= 160 MiB (cold) or COPIES=1 (hot; REPS calls per timed sample). Variants marked exact are
// checked bit for bit against the kernel first (the others drop or fake work to price it). Prints medians
// (and ranges) of per-round medians, % of the DRAM figure and core cycles per 16 weights (the clock from a
// dependent-add loop, measured once after the rounds: on a loaded machine it reads low).
// OFF=n: all data n bytes off a cache line (base@16, v_l0@16: 16 more). Not part of the build (-march only
// lets the assembler take the AVX-512 extensions; the loops are inline asm):
//   python tools/gen_codebook_w3ab.py /tmp/w3cb/w3ab_asm.h
//   g++ -O2 -std=c++17 -march=icelake-server -Icsrc -DVAR_ASM='"/tmp/w3cb/w3ab_asm.h"' -o /tmp/w3cb/ab
//       tools/codebook_w3ab.cpp   (one line)
//   /tmp/w3cb/ab N K rounds [",v_nofold,v_l2,"] [DRAM GB/s]   (hot L1: COPIES=1 REPS=2000 ... 16 1920)
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codebook_gemv.h"
#include "codebook_gemv_avx512_asm.h"
#include VAR_ASM

using namespace lowbit;
using Fn = void (*)(const char*, const float*, const float*, double*, int64_t, int64_t);

static int N, K;
static int64_t chunks, chunk, tiles;
static std::vector<float> tabs, x;
static std::vector<double> acc;

static void run(Fn f, const uint32_t* d) {
  std::memset(acc.data(), 0, acc.size() * 8);
  for (int64_t c0 = 0; c0 < chunks; c0 += kCbBlockChunks) {
    const int64_t len = std::min(kCbBlockChunks, chunks - c0);
    f(reinterpret_cast<const char*>(d + cb_word_index(3, N, K, 0, c0)), x.data() + c0 * chunk, tabs.data(),
      acc.data(), tiles, len);
  }
}

static const uint32_t* shifted(const uint32_t* d, int off) {
  return reinterpret_cast<const uint32_t*>(reinterpret_cast<const char*>(d) + off);
}

static double clock_hz() {
  int64_t n = 20000000, v = 0;
  const auto t0 = std::chrono::steady_clock::now();
  __asm__ volatile("1:\n add $1, %[v]\n add $1, %[v]\n add $1, %[v]\n add $1, %[v]\n dec %[n]\n jnz 1b\n"
                   : [n] "+r"(n), [v] "+r"(v)::"cc");
  return 4 * 20000000.0 / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int main(int argc, char** argv) {
  N = argc > 1 ? atoi(argv[1]) : 8192;
  K = argc > 2 ? atoi(argv[2]) : 8192;
  const int rounds = argc > 3 ? atoi(argv[3]) : 9;
  const std::string only = argc > 4 ? argv[4] : "";
  const double dram = argc > 5 ? atof(argv[5]) : 36.9;
  chunk = cb_chunk(3);
  chunks = cb_kpad(3, K) / chunk;
  tiles = N / 4;
  const int64_t words = N * cb_row_words(3, K), bytes = words * 4;
  const int copies = getenv("COPIES") ? atoi(getenv("COPIES")) : int(std::max<int64_t>(2, (160ll << 20) / bytes + 1));
  const int reps = getenv("REPS") ? atoi(getenv("REPS")) : 1;
  const int off = getenv("OFF") ? atoi(getenv("OFF")) : 0;  // bytes off a cache line (numpy copies: 16)
  std::mt19937 rng(1);
  std::vector<uint32_t*> data(static_cast<size_t>(copies));
  for (auto& d : data) {
    const size_t huge = 2 << 20, size = (size_t(bytes) + 4096 + huge) / huge * huge;
    d = static_cast<uint32_t*>(std::aligned_alloc(huge, size));
    if (!getenv("NOHUGE")) madvise(d, size, MADV_HUGEPAGE);  // NOHUGE=1: 4 KiB pages
    for (int64_t i = 0; i < words + 1024; ++i) d[i] = rng();
    d = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(d) + off);
  }
  tabs.resize(size_t(N) * 32);  // [tiles][8][16]: T0 of the 4 rows, then spare tables for variants
  x.resize(size_t(cb_kpad(3, K)));
  acc.resize(size_t(N) * 4);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : tabs) v = u(rng);
  for (size_t i = 0; i < tabs.size(); ++i) tabs[i] = tabs[i / 16 * 16 + i % 8];  // 3-bit tables: stored twice
  for (auto& v : x) v = u(rng);
  struct V {
    std::string name;
    Fn f;
    bool exact;
    std::vector<double> t;
    int off = 0;  // bytes off a cache line (numpy's copies of a big array are 16 off)
  };
  std::vector<V> vs = {{"base", cb_tiles_asm3, true, {}}};
#define W3AB_V(n, e) vs.push_back({#n, n, e, {}});
  W3AB_VARIANTS
  vs.push_back({"base@16", cb_tiles_asm3, false, {}, 16});
  vs.push_back({"v_l0@16", v_l0, false, {}, 16});
  vs.push_back({"base2", cb_tiles_asm3, true, {}});
  if (!only.empty())
    vs.erase(std::remove_if(vs.begin() + 1, vs.end(), [&](const V& v) { return only.find("," + v.name + ",") == std::string::npos; }),
             vs.end());
  run(cb_tiles_asm3, data[0]);
  const std::vector<double> ref = acc;
  for (auto& v : vs) {
    if (!v.exact) continue;
    std::fill(acc.begin(), acc.end(), -1.0);
    run(v.f, data[0]);
    if (std::memcmp(acc.data(), ref.data(), acc.size() * 8) != 0) return std::printf("MISMATCH %s\n", v.name.c_str()), 1;
  }
  int next = 0;
  for (int r = 0; r < rounds; ++r)
    for (auto& v : vs) {
      for (int i = 0; i < copies * reps; ++i) run(v.f, shifted(data[size_t(next++ % copies)], v.off));
      std::vector<double> ts;
      for (int i = 0; i < std::max(2 * copies, 5); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int j = 0; j < reps; ++j) run(v.f, shifted(data[size_t(next++ % copies)], v.off));
        ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
      }
      std::sort(ts.begin(), ts.end());
      v.t.push_back(ts[ts.size() / 2]);
    }
  const double hz = clock_hz();
  std::printf("off %d: ", off);
  std::printf("3-bit N %d K %d: %.2f MiB x %d copies, %d reps, %d rounds, %% of %.1f GB/s, clock %.2f GHz\n", N, K,
              bytes / 1048576.0, copies, reps, rounds, dram, hz / 1e9);
  double base = 0;
  const double units = double(N) * cb_kpad(3, K) / 16;
  for (auto& v : vs) {
    std::sort(v.t.begin(), v.t.end());
    const double med = v.t[v.t.size() / 2];
    if (base == 0) base = med;
    std::printf("%-12s %9.4f ms %6.1f%% [%5.1f, %5.1f]  %.3f cyc/16 [%.3f, %.3f]  %.3fx base\n", v.name.c_str(), med * 1e3,
                100 * bytes / med / 1e9 / dram, 100 * bytes / v.t.back() / 1e9 / dram, 100 * bytes / v.t[0] / 1e9 / dram,
                med * hz / units, v.t[0] * hz / units, v.t.back() * hz / units, base / med);
  }
}
