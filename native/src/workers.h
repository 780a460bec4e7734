// The addon's worker threads, shared by the convolution blocks (kernels.cc) and the large float32
// products (sgemm.cc).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace perennial {

// Worker threads kept between calls. Starting a thread per call cost about as much as the work of
// a small batch (convBlocks at batch 48: 1.2 ms on one thread, a median 1.2-1.4 ms on two with
// fresh threads), and so did waking a sleeping one on this kind of virtual machine. So a helper
// that finishes spins for up to kSpin before it sleeps: a training step's convolutions come a few
// milliseconds apart and find the helpers awake (OpenBLAS's own threads wait the same way).
// Run(helpers, f) runs f on the calling thread and on `helpers` pool threads; f takes its work
// from a shared counter, so a helper that comes late finds nothing left. Once its own f returns,
// the caller withdraws the tickets not yet taken and waits for the helpers still inside f. Calls
// are serialised (Node worker threads could share this addon).
class WorkerPool {
 public:
  void Run(int helpers, const std::function<void()>& f) {
    std::lock_guard<std::mutex> one(run_);
    {
      std::lock_guard<std::mutex> l(mu_);
      // Detached, never joined: the pool lives as long as the process.
      while (size_ < helpers) { std::thread(&WorkerPool::Loop, this).detach(); size_++; }
      task_.store(&f);
      tickets_.store(helpers);
    }
    wake_.notify_all();
    f();
    tickets_.store(0);
    while (running_.load() != 0) std::this_thread::yield();
  }

 private:
  static constexpr std::chrono::microseconds kSpin{3000};
  // Claims a ticket; running_ is raised first so that the caller cannot return between the claim
  // and the call.
  bool Claim() {
    if (tickets_.load(std::memory_order_relaxed) <= 0) return false;  // read-only while idle: no cache-line traffic
    running_.fetch_add(1);
    int t = tickets_.load();
    while (t > 0) if (tickets_.compare_exchange_weak(t, t - 1)) return true;
    running_.fetch_sub(1);
    return false;
  }
  void Loop() {
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      bool got = false;
      while (!(got = Claim()) && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      if (!got) {
        std::unique_lock<std::mutex> l(mu_);
        wake_.wait(l, [&] { return tickets_.load() > 0; });
        continue;
      }
      (*task_.load())();
      running_.fetch_sub(1);
    }
  }
  std::mutex run_, mu_;
  std::condition_variable wake_;
  std::atomic<const std::function<void()>*> task_{nullptr};
  std::atomic<int> tickets_{0}, running_{0};
  int size_ = 0;
};

inline WorkerPool& Pool() {
  static WorkerPool* pool = new WorkerPool();  // never destroyed: its threads are detached
  return *pool;
}

// Runs f(lo, hi) over [0, n) cut into up to `workers` contiguous ranges whose ends are multiples of
// `align` (except n), on the pool, each range at least `minPer` long; serially where one range is
// all there is. Which range a unit lands in does not change what is computed for it.
inline void ParallelRanges(size_t n, size_t align, size_t minPer, int workers, const std::function<void(size_t, size_t)>& f) {
  const size_t units = (n + align - 1) / align;
  size_t parts = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(1, workers)), n / std::max<size_t>(1, minPer)));
  parts = std::min(parts, std::max<size_t>(1, units));
  if (parts == 1) {
    f(0, n);
    return;
  }
  std::atomic<size_t> next{0};
  const std::function<void()> work = [&]() {
    for (size_t t; (t = next.fetch_add(1)) < parts;) {
      const size_t lo = std::min(n, units * t / parts * align), hi = std::min(n, units * (t + 1) / parts * align);
      if (lo < hi) f(lo, hi);
    }
  };
  Pool().Run(static_cast<int>(parts) - 1, work);
}

}  // namespace perennial
