// lowbit._C's probe functions: time the loops of probe.h in C++ (no Python overhead inside a sample).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "probe.h"
#include "threads.h"

namespace nb = nanobind;

namespace lowbit {

void vnni_peak_loop(int64_t iters);

namespace {

bool has_feature(const char* name) {
  for (const auto& f : cpu_features())
    if (f == name) return true;
  return false;
}

using Loop = void (*)(int64_t);

Loop compute_loop(const std::string& which) {
#if defined(__x86_64__)
  if (which == "clock") return probe::clock_loop;
  if (which == "fp32_avx2" && has_feature("avx2") && has_feature("fma")) return probe::fma_avx2_loop;
  if (which == "fp32_avx512" && has_feature("avx512f")) return probe::fma_avx512_loop;
  if (which == "int8_vnni512" && has_feature("avx512vnni")) return vnni_peak_loop;
  if (which == "popcount_avx512" && has_feature("avx512vpopcntdq")) return probe::popcount_avx512_loop;
  if (which == "int32_avx512" && has_feature("avx512f")) return probe::int32_avx512_loop;
  if (which == "popcount_acc_avx512" && has_feature("avx512vpopcntdq")) return probe::popcount_acc_avx512_loop;
  if (which == "lookup_avx512" && has_feature("avx512bw")) return probe::shuffle_avx512_loop;
#endif
  throw Error("which: '" + which + "' is not a probe loop this CPU can run");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Wall time of `threads` threads each running loop(iters) at once.
double compute_seconds(const std::string& which, int64_t iters, int threads) {
  require(iters >= 1 && iters <= (int64_t(1) << 40), "iters: expected 1 <= iters <= 2^40");
  require(threads >= 1 && threads <= 1024, "threads: expected 1..1024");
  const Loop loop = compute_loop(which);
  nb::gil_scoped_release release;
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(threads, [&](int) { loop(iters); }, true);
  return seconds_since(t0);
}

// Wall time of `threads` threads each reading its own `bytes` buffer `passes` times.
double read_seconds(int64_t bytes, int64_t passes, int threads) {
  require(bytes >= 256 && bytes % 256 == 0 && bytes <= (int64_t(1) << 34),
          "bytes: expected a multiple of 256 in [256, 2^34]");
  require(passes >= 1, "passes: expected >= 1");
  require(threads >= 1 && threads <= 1024, "threads: expected 1..1024");
#if defined(__x86_64__)
  const bool wide = has_feature("avx512f");
  require(wide || has_feature("avx2"), "read_seconds: this CPU has neither AVX-512 nor AVX2");
  // page-aligned: new[] starts 16 bytes into a line, so every 64-byte load would straddle two lines
  // and the L1 figure would read at half the core's rate
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<uint8_t, Free>> bufs;
  for (int t = 0; t < threads; ++t) {
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(4096, size_t(bytes + 4095) / 4096 * 4096));
    if (p == nullptr) throw Error("bytes: could not allocate the read buffer");
    bufs.emplace_back(p);
    std::memset(p, 1, size_t(bytes));  // touch every page before timing
  }
  std::vector<int64_t> sink(static_cast<size_t>(threads));
  nb::gil_scoped_release release;
  auto run = [&](int t, int64_t p) {
    sink[size_t(t)] += wide ? probe::read_avx512(bufs[size_t(t)].get(), bytes, p)
                            : probe::read_avx2(bufs[size_t(t)].get(), bytes, p);
  };
  parallel_for(threads, [&](int t) { run(t, 1); }, true);  // warm the caches this working set fits
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for(threads, [&](int t) { run(t, passes); }, true);
  return seconds_since(t0);
#else
  (void)bytes, (void)passes, (void)threads;
  throw Error("read_seconds: only x86 has a read probe so far");
#endif
}

}  // namespace

void bind_probe(nb::module_& m) {
  m.def("probe_compute_seconds", &compute_seconds, nb::arg("which"), nb::arg("iters"), nb::arg("threads") = 1,
        "Seconds for `threads` threads to run a register-only probe loop iters times (see csrc/probe.h).");
  m.def("probe_read_seconds", &read_seconds, nb::arg("bytes"), nb::arg("passes"), nb::arg("threads") = 1,
        "Seconds for `threads` threads to read their own `bytes` buffer `passes` times (caches warmed).");
}

}  // namespace lowbit
