#include "threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit {

namespace {

class Pool {
 public:
  void run(int n_tasks, const std::function<void(int)>& fn) {
    std::lock_guard<std::mutex> serial(call_mutex_);
    grow(n_tasks - 1);
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_tasks_ = n_tasks;
      pending_.store(n_tasks - 1);
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    fn(0);
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
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
  void grow(int n) {
    while (int(workers_.size()) < n) {
      const int id = int(workers_.size()) + 1;  // worker i runs task i
      // the generation is read here, before run() advances it: a thread that starts late must still
      // see this call as new
      workers_.emplace_back([this, id, seen = generation_.load()] { loop(id, seen); });
    }
  }

  void loop(int id, unsigned seen) {
    for (;;) {
      // spin ~50 us for the next call before sleeping
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
      }
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_.load() != seen; });
      }
      seen = generation_.load();
      if (stop_) return;
      if (id < n_tasks_) {
        (*fn_)(id);
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::mutex call_mutex_, m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_tasks_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<unsigned> generation_{0};
  bool stop_ = false;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction order
  return *p;
}

}  // namespace

void parallel_for(int n_tasks, const std::function<void(int)>& fn) {
  if (n_tasks <= 1) {
    if (n_tasks == 1) fn(0);
    return;
  }
  pool().run(n_tasks, fn);
}

}  // namespace lowbit
