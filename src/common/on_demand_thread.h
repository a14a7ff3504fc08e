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

#include <cstdint>
#include <functional>
#include <thread>

#include "common/mutex.h"

namespace sluice {

class OnDemandThread {
 public:
  OnDemandThread(std::function<void()> drain, int64_t linger_ms);
  ~OnDemandThread();  // Join()
  OnDemandThread(const OnDemandThread&) = delete;
  OnDemandThread& operator=(const OnDemandThread&) = delete;

  void Wake() SLUICE_EXCLUDES(mu_);
  void Join() SLUICE_EXCLUDES(mu_);
  // True while a thread exists (draining or lingering). For tests and metrics.
  bool running() const SLUICE_EXCLUDES(mu_);

 private:
  void Loop() SLUICE_EXCLUDES(mu_);

  const std::function<void()> drain_;
  const int64_t linger_ms_;
  mutable Mutex mu_;
  CondVar cv_;
  std::thread thread_ SLUICE_GUARDED_BY(mu_);
  bool running_ SLUICE_GUARDED_BY(mu_) = false;  // thread_ is draining or lingering
  bool pending_ SLUICE_GUARDED_BY(mu_) = false;  // a Wake() not yet served by a drain
  bool joining_ SLUICE_GUARDED_BY(mu_) = false;  // Join() asks a lingering thread to exit now
};

}  // namespace sluice
