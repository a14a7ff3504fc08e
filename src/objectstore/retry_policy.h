// Retry policy shared by the S3 client (per HTTP request) and RetryingStore (per store call):
// bounded attempts, exponential backoff with full jitter
// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
#pragma once

#include <cstdint>
#include <functional>
#include <random>

#include "common/status.h"

namespace sluice::objectstore {

struct RetryPolicy {
  int max_attempts = 5;  // including the first; 1 = no retry
  int64_t initial_backoff_ms = 100;
  int64_t max_backoff_ms = 10'000;
};

// Sleeps for the given milliseconds. Production sleeps; tests record the delays instead.
using SleepFn = std::function<void(int64_t ms)>;
SleepFn RealSleep();

// Errors worth another attempt: a peer that is temporarily unreachable or failing (Unavailable:
// 5xx, dropped connections, timeouts) or throttling us (ResourceExhausted: 429, SlowDown).
// Everything else (403, 404, bad input) fails the same way again.
bool IsRetryable(const Status& status);

// Delay before retry number `retry` (1 for the first retry): uniform in
// [0, min(max_backoff_ms, initial_backoff_ms * 2^(retry-1))].
int64_t FullJitterDelayMs(const RetryPolicy& policy, int retry, std::mt19937_64& rng);

}  // namespace sluice::objectstore
