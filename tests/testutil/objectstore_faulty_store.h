// Test helper: an ObjectStore that wraps a real one and injects faults through the interface:
// fail the next N calls with a chosen status (Unavailable by default, like an S3 500), or make
// calls hang until released or until a bound passes (then they fail Unavailable, like a timeout).
// Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "objectstore/object_store.h"

namespace sluice::testutil {

class FaultyObjectStore : public objectstore::ObjectStore {
 public:
  explicit FaultyObjectStore(objectstore::ObjectStore* inner) : inner_(inner) {}

  // The next `n` calls (any operation) fail with `status` without reaching the inner store.
  void FailNext(int n, Status status = Status::Unavailable("injected: 500 InternalError"));
  // The next `n` calls block until ReleaseHangs() or `bound_ms` of real time, then fail
  // Unavailable.
  void HangNext(int n, int bound_ms);
  void ReleaseHangs();
  // Calls made so far, and calls that reached the inner store.
  int calls() const;
  int passed_through() const;

  Status Put(const std::string& key, std::string_view data) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return "faulty(" + inner_->Describe() + ")"; }

 private:
  // A non-OK status when a fault fires for this call.
  Status Inject();

  objectstore::ObjectStore* inner_;  // not owned
  mutable std::mutex mu_;
  std::condition_variable released_;
  int fail_next_ = 0;           // GUARDED_BY(mu_)
  Status fail_status_;          // GUARDED_BY(mu_)
  int hang_next_ = 0;           // GUARDED_BY(mu_)
  int hang_bound_ms_ = 0;       // GUARDED_BY(mu_)
  bool released_flag_ = false;  // GUARDED_BY(mu_)
  int calls_ = 0;               // GUARDED_BY(mu_)
  int passed_ = 0;              // GUARDED_BY(mu_)
};

}  // namespace sluice::testutil
