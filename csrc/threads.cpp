#include "threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lowbit {

namespace {

// Tasks are claimed from one atomic ticket, (call, n_tasks, next index) packed in 64 bits, by the calling
// thread and the workers alike: when a worker is slow to wake (another process holds the other core), the
// caller runs the remaining tasks itself instead of waiting for it. A task's work does not depend on who
// runs it, so results stay independent of the thread count.
class Pool {
 public:
  void run(int n_tasks, const std::function<void(int)>& fn, bool one_per_thread) {
    std::lock_guard<std::mutex> serial(call_mutex_);
    grow(n_tasks - 1);
    fn_ = &fn;
    per_thread_ = one_per_thread ? 1 : kAll;
    done_.store(0, std::memory_order_relaxed);
    call_ = (call_ + 1) & kCallMask;
    ticket_.store(pack(call_, uint64_t(n_tasks), 0), std::memory_order_release);
    {
      std::lock_guard<std::mutex> lk(m_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    while (done_.load(std::memory_order_acquire) != n_tasks) std::this_thread::yield();
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  static constexpr uint64_t kCallMask = (uint64_t(1) << 24) - 1;
  static constexpr int kAll = 1 << 30;
  static uint64_t pack(uint64_t call, uint64_t n, uint64_t next) { return call << 40 | n << 20 | next; }

  // Claims and runs tasks of the current call until none is left. A successful claim (next < n on the
  // ticket of a call) means that call has not finished, so fn_ is still that call's function.
  void work() {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    for (int taken = 0; taken < per_thread_;) {
      const uint64_t n = (t >> 20) & 0xFFFFF, next = t & 0xFFFFF;
      if (next >= n) return;
      if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        (*fn_)(int(next));
        ++taken;
        done_.fetch_add(1, std::memory_order_release);
        t = ticket_.load(std::memory_order_acquire);
      }
    }
  }

  void grow(int n) {
    while (int(workers_.size()) < n) {
      // the generation is read here, before run() advances it: a thread that starts late must still
      // see this call as new
      workers_.emplace_back([this, seen = generation_.load()] { loop(seen); });
    }
  }

  void loop(unsigned seen) {
    for (;;) {
      // spin ~200 us for the next call before sleeping (a model's kernels come in quick succession)
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_.load() != seen; });
      }
      seen = generation_.load();
      if (stop_) return;
      work();
    }
  }

  std::mutex call_mutex_, m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* fn_ = nullptr;
  int per_thread_ = kAll;  // tasks one thread may take in this call (1: each task on its own thread)
  uint64_t call_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};
  std::atomic<unsigned> generation_{0};
  bool stop_ = false;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction order
  return *p;
}

}  // namespace

void parallel_for(int n_tasks, const std::function<void(int)>& fn, bool one_per_thread) {
  if (n_tasks > (1 << 20) - 1) throw std::invalid_argument("threads: expected fewer than 2^20 tasks");
  if (n_tasks <= 1) {
    if (n_tasks == 1) fn(0);
    return;
  }
  pool().run(n_tasks, fn, one_per_thread);
}

}  // namespace lowbit
