// A small persistent thread pool: kernels split their work into n tasks and run them here, the
// calling thread doing task 0. Workers spin briefly before sleeping, so back-to-back kernel calls
// (GEMV in a model) do not pay a thread start or a futex wake each time.
#pragma once
#include <functional>

namespace lowbit {

// Runs fn(0) .. fn(n_tasks - 1), each exactly once, and returns when all are done. Tasks must not
// call parallel_for themselves. Calls from several Python threads are serialised.
void parallel_for(int n_tasks, const std::function<void(int)>& fn);

}  // namespace lowbit
