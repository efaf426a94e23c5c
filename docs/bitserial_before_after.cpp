// Before/after for the AVX-512 bit-serial kernels, one process, interleaved, best of 15 (the shared
// machine's noise hits medians hard): the first kernel (main at c0900d2, 2x4 tile, intrinsics) against
// this branch's planes kernel (3x8 asm tile) in both planes layouts and the rows-interleaved kernel, with
// the AND+popcount probe loop timed in the same loop. Random bits (speed does not depend on them).
// Build from the repository root after the selftest build (build/native-selftest):
//   git show c0900d2:csrc/bitserial_avx512.cpp | sed 's/namespace lowbit {/namespace oldbs {/; s/"bitserial.h"/"oldbs.h"/' > /tmp/oldbs.cpp
//   git show c0900d2:csrc/bitserial.h | sed 's/namespace lowbit {/namespace oldbs { using lowbit::Isa;/' > /tmp/oldbs.h
//   g++ -O3 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vpopcntdq -Icsrc -I/tmp -c /tmp/oldbs.cpp -o /tmp/oldbs.o
//   g++ -O2 -std=c++17 -Icsrc -I/tmp docs/bitserial_before_after.cpp /tmp/oldbs.o build/native-selftest/liblowbit_kernels.a -lpthread -o /tmp/ab
//   /tmp/ab 256 4096 4096 [p q]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include <algorithm>
#include "bitserial.h"
#include "oldbs.h"
#include "probe.h"
using namespace lowbit;
static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
int main(int argc, char** argv) {
  int64_t M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]), p = argc > 4 ? atoi(argv[4]) : 1, q = argc > 5 ? atoi(argv[5]) : 1;
  int64_t blocks = (K + 511) / 512;
  std::mt19937_64 rng(1);
  const int64_t words = (K + 63) / 64;
  std::vector<uint64_t> a(q * M * blocks * 8), w(p * N * blocks * 8), ai(a.size()), wi(w.size());
  std::vector<uint64_t> ar(q * (M + 7) / 8 * 8 * words), wr(p * (N + 7) / 8 * 8 * words);
  for (auto& v : ar) v = rng(); for (auto& v : wr) v = rng();
  for (auto& v : a) v = rng(); for (auto& v : w) v = rng();
  BitPlanes pa = make_planes(a.data(), q, M, blocks, BsLayout::planes_outer), pw = make_planes(w.data(), p, N, blocks, BsLayout::planes_outer);
  BitPlanes pai = make_planes(ai.data(), q, M, blocks, BsLayout::planes_interleaved), pwi = make_planes(wi.data(), p, N, blocks, BsLayout::planes_interleaved);
  BitPlanes par = make_planes(ar.data(), q, M, words, BsLayout::rows_interleaved), pwr = make_planes(wr.data(), p, N, words, BsLayout::rows_interleaved);
  oldbs::BitPlanes oa{a.data(), q, M, blocks * 8}, ow{w.data(), p, N, blocks * 8};
  std::vector<int32_t> out(M * N);
  int reps = std::max<int64_t>(1, int64_t(1e9 / double(M * K * N * p * q)));
  double b_new = 1e9, b_int = 1e9, b_old = 1e9, b_rows = 1e9, bl = 1e9, bla = 1e9;
  for (int t = 0; t < 15; ++t) {
    double t0 = now();
    for (int r = 0; r < reps; ++r) bitserial_gemm_avx512(pa, pw, false, K, out.data());
    b_new = std::min(b_new, (now() - t0) / reps);
    t0 = now();
    for (int r = 0; r < reps; ++r) bitserial_gemm_avx512(pai, pwi, false, K, out.data());
    b_int = std::min(b_int, (now() - t0) / reps);
    t0 = now();
    for (int r = 0; r < reps; ++r) oldbs::bitserial_gemm_avx512(oa, ow, false, K, out.data());
    b_old = std::min(b_old, (now() - t0) / reps);
    t0 = now();
    for (int r = 0; r < reps; ++r) bitserial_rows_avx512(par, pwr, false, K, out.data());
    b_rows = std::min(b_rows, (now() - t0) / reps);
    t0 = now(); probe::popcount_avx512_loop(100000); bl = std::min(bl, now() - t0);
    t0 = now(); probe::popcount_acc_avx512_loop(100000); bla = std::min(bla, now() - t0);
  }
  double lim = 100000.0 * 24 * 512 / bl / 1e9, work = double(M) * K * N * p * q / 1e9;
  const double lim_acc = 100000.0 * 24 * 512 / bla / 1e9;
  std::printf("%ldx%ldx%ld w%lda%ld, %% of AND+popcount %.0f (AND+popcount+add loop: %.0f%%): old planes-outer %.1f%%  "
              "planes-outer %.1f%%  planes-interleaved %.1f%%  rows-interleaved %.1f%%\n", M, K, N, p, q, lim,
              100 * lim_acc / lim, 100 * work / b_old / lim, 100 * work / b_new / lim, 100 * work / b_int / lim,
              100 * work / b_rows / lim);
}
