// Microbenchmarks that measure the machine's limits for `lowbit probe` (the roofline's ceilings).
// Each runs a fixed amount of work on registers or on a buffer and returns nothing: the caller times
// it. Compute loops keep 16+ independent chains so that throughput, not latency, is measured.
#pragma once
#include <cstdint>

namespace lowbit::probe {

// iters x 16 dependent scalar adds: 16 cycles per iteration, so iters * 16 / seconds is the clock.
void clock_loop(int64_t iters);
// iters x 24 fp32 FMAs on 16-lane zmm (AVX-512) or 8-lane ymm (AVX2): 2 x lanes flops each.
void fma_avx512_loop(int64_t iters);
void fma_avx2_loop(int64_t iters);
// iters x 24 vpopcntq on zmm + 24 vpandq (AND+popcount: 512 binary multiply-adds per pair).
void popcount_avx512_loop(int64_t iters);
// iters x 24 vpaddd on zmm (16 int32 lane operations each): the simple vector integer op rate.
void int32_avx512_loop(int64_t iters);
// The same plus a vpaddq of each count into an accumulator (24 AND+popcount+add triples).
void popcount_acc_avx512_loop(int64_t iters);
// iters x 24 vpshufb on zmm (64 table lookups each).
void shuffle_avx512_loop(int64_t iters);
// Reads `bytes` (a multiple of 256) from buf `passes` times with 512-bit (or 256-bit) loads.
int64_t read_avx512(const uint8_t* buf, int64_t bytes, int64_t passes);
int64_t read_avx2(const uint8_t* buf, int64_t bytes, int64_t passes);

}  // namespace lowbit::probe
