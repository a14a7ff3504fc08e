#include "common/on_demand_thread.h"

#include <chrono>
#include <utility>

namespace sluice {

OnDemandThread::OnDemandThread(std::function<void()> drain, int64_t linger_ms)
    : drain_(std::move(drain)), linger_ms_(linger_ms) {}

OnDemandThread::~OnDemandThread() {
  Join();
}

void OnDemandThread::Wake() {
  std::thread finished;
  {
    MutexLock lock(mu_);
    pending_ = true;
    if (running_) {
      cv_.NotifyOne();
      return;
    }
    // The previous thread has left Loop (running_ is false) and only needs joining.
    finished = std::move(thread_);
    running_ = true;
    thread_ = std::thread([this] { Loop(); });
  }
  if (finished.joinable()) finished.join();
}

void OnDemandThread::Join() {
  std::thread t;
  {
    MutexLock lock(mu_);
    joining_ = true;
    cv_.NotifyOne();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
  MutexLock lock(mu_);
  joining_ = false;
}

bool OnDemandThread::running() const {
  MutexLock lock(mu_);
  return running_;
}

void OnDemandThread::Loop() {
  MutexLock lock(mu_);
  for (;;) {
    const auto linger_until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(linger_ms_);
    while (!pending_ && !joining_) {
      if (cv_.WaitUntil(mu_, linger_until)) break;
    }
    if (!pending_) {
      running_ = false;
      return;
    }
    pending_ = false;
    lock.Unlock();
    drain_();
    lock.Lock();
  }
}

}  // namespace sluice
