#include "objectstore/retry_policy.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace sluice::objectstore {

SleepFn RealSleep() {
  return [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
}

bool IsRetryable(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kResourceExhausted;
}

int64_t FullJitterDelayMs(const RetryPolicy& policy, int retry, std::mt19937_64& rng) {
  int64_t cap = policy.initial_backoff_ms;
  for (int i = 1; i < retry && cap < policy.max_backoff_ms; ++i) cap *= 2;
  cap = std::clamp<int64_t>(cap, 0, policy.max_backoff_ms);
  std::uniform_int_distribution<int64_t> dist(0, cap);
  return dist(rng);
}

}  // namespace sluice::objectstore
