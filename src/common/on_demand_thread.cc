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
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = true;
    if (running_) {
      cv_.notify_one();
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
    std::lock_guard<std::mutex> lock(mu_);
    joining_ = true;
    cv_.notify_one();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  joining_ = false;
}

bool OnDemandThread::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void OnDemandThread::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!pending_ && !joining_) {
      cv_.wait_for(lock, std::chrono::milliseconds(linger_ms_),
                   [this] { return pending_ || joining_; });
    }
    if (!pending_) {
      running_ = false;
      return;
    }
    pending_ = false;
    lock.unlock();
    drain_();
    lock.lock();
  }
}

}  // namespace sluice
