// A small persistent thread pool: kernels split their work into n tasks and run them here, the calling
// thread taking tasks too (all of them, if no worker comes in time). Workers spin briefly before
// sleeping, so back-to-back kernel calls (a model's layers) do not pay a thread start or a futex wake.
#pragma once
#include <functional>

namespace lowbit {

// Runs fn(0) .. fn(n_tasks - 1), each exactly once, and returns when all are done. Tasks must not
// call parallel_for themselves. Calls from several Python threads are serialised.
// one_per_thread: every task on its own thread, run concurrently (machine probes measuring all cores);
// otherwise any thread may run several tasks.
void parallel_for(int n_tasks, const std::function<void(int)>& fn, bool one_per_thread = false);

}  // namespace lowbit
