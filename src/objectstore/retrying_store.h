// RetryingStore: decorates any ObjectStore with bounded retries, exponential backoff and full
// jitter for retryable errors (IsRetryable: Unavailable, ResourceExhausted). Non-retryable errors
// and the last attempt's error are returned unchanged, with "after N attempts" added when retried.
//
// Put stays idempotent under retries because the ObjectStore contract makes Put replace the key
// atomically. Thread safety: as the wrapped store; the jitter RNG is behind a mutex.
#pragma once

#include <memory>
#include <random>

#include "common/mutex.h"
#include "objectstore/object_store.h"
#include "objectstore/retry_policy.h"

namespace sluice::objectstore {

class RetryingStore : public ObjectStore {
 public:
  RetryingStore(std::unique_ptr<ObjectStore> inner, RetryPolicy policy, SleepFn sleep = RealSleep(),
                uint64_t seed = std::random_device{}());

  Status Put(const std::string& key, std::string_view data) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return inner_->Describe(); }

 private:
  template <typename Fn>
  auto Retry(Fn&& fn) -> decltype(fn());
  int64_t NextDelayMs(int retry) SLUICE_EXCLUDES(rng_mu_);

  std::unique_ptr<ObjectStore> inner_;
  RetryPolicy policy_;
  SleepFn sleep_;
  Mutex rng_mu_;
  std::mt19937_64 rng_ SLUICE_GUARDED_BY(rng_mu_);
};

}  // namespace sluice::objectstore
