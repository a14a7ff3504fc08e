// OnDemandThread: a thread that exists only while there is work, so that what is idle costs no
// thread (10,000 idle streams must not hold 20,000 threads).
//
// Wake() makes `drain` run (again) after the call: it starts a thread when none is running, or
// records that the running one must drain once more. `drain` does whatever work is available and
// returns; the thread then waits up to `linger_ms` for another Wake() (so a busy owner keeps its
// thread), and exits. Join() waits until no drain is running; Wake() after Join() starts a new
// thread again.
//
// Thread safety: Wake and Join from any thread, including from inside `drain` (Wake only; Join
// from inside `drain` would deadlock). `drain` never runs twice at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace sluice {

class OnDemandThread {
 public:
  OnDemandThread(std::function<void()> drain, int64_t linger_ms);
  ~OnDemandThread();  // Join()
  OnDemandThread(const OnDemandThread&) = delete;
  OnDemandThread& operator=(const OnDemandThread&) = delete;

  void Wake();
  void Join();
  // True while a thread exists (draining or lingering). For tests and metrics.
  bool running() const;

 private:
  void Loop();

  const std::function<void()> drain_;
  const int64_t linger_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;    // GUARDED_BY(mu_)
  bool running_ = false;  // GUARDED_BY(mu_): thread_ is draining or lingering
  bool pending_ = false;  // GUARDED_BY(mu_): a Wake() not yet served by a drain
  bool joining_ = false;  // GUARDED_BY(mu_): Join() asks a lingering thread to exit now
};

}  // namespace sluice
