// A small persistent thread pool: kernels split their work into n tasks and run them here, the calling
// thread taking tasks too (all of them, if no worker comes in time). Workers spin briefly before
// sleeping, so back-to-back kernel calls (a model's layers) do not pay a thread start or a futex wake.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

namespace lowbit {

// Runs fn(0) .. fn(n_tasks - 1), each exactly once, and returns when all are done. Tasks must not
// call parallel_for themselves. Calls from several Python threads are serialised.
// one_per_thread: every task on its own thread, run concurrently (machine probes measuring all cores);
// otherwise any thread may run several tasks.
void parallel_for(int n_tasks, const std::function<void(int)>& fn, bool one_per_thread = false);

// fn(r0, r1) over contiguous blocks of [0, rows), one per thread (rows of at least 8 each): for row-wise
// ops whose rows are independent.
inline void for_row_blocks(int64_t rows, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(threads, rows / 8));
  if (t == 1) return fn(0, rows);
  parallel_for(int(t), [&](int i) { fn(rows * i / t, rows * (i + 1) / t); });
}

}  // namespace lowbit
