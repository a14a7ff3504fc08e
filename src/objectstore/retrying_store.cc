#include "objectstore/retrying_store.h"

#include <type_traits>
#include <utility>

namespace sluice::objectstore {
namespace {

const Status& StatusOf(const Status& s) {
  return s;
}
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace

RetryingStore::RetryingStore(std::unique_ptr<ObjectStore> inner, RetryPolicy policy, SleepFn sleep,
                             uint64_t seed)
    : inner_(std::move(inner)), policy_(policy), sleep_(std::move(sleep)), rng_(seed) {}

int64_t RetryingStore::NextDelayMs(int retry) {
  MutexLock lock(rng_mu_);
  return FullJitterDelayMs(policy_, retry, rng_);
}

template <typename Fn>
auto RetryingStore::Retry(Fn&& fn) -> decltype(fn()) {
  int attempts = std::max(1, policy_.max_attempts);
  for (int attempt = 1;; ++attempt) {
    auto result = fn();
    const Status& status = StatusOf(result);
    if (status.ok() || !IsRetryable(status)) return result;
    if (attempt >= attempts) {
      if (attempt == 1) return result;
      return Status(status.code(),
                    status.message() + " (after " + std::to_string(attempt) + " attempts)");
    }
    sleep_(NextDelayMs(attempt));
  }
}

Status RetryingStore::Put(const std::string& key, std::string_view data) {
  return Retry([&] { return inner_->Put(key, data); });
}

Result<std::string> RetryingStore::Get(const std::string& key) {
  return Retry([&] { return inner_->Get(key); });
}

Result<std::vector<std::string>> RetryingStore::List(const std::string& prefix) {
  return Retry([&] { return inner_->List(prefix); });
}

Status RetryingStore::Delete(const std::string& key) {
  return Retry([&] { return inner_->Delete(key); });
}

}  // namespace sluice::objectstore
