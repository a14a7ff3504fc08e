// Retrier: the one retry loop of the code base (delivery worker, S3 multipart parts, the
// `sluice put` sender). Exponential backoff with jitter
// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), a per-error time
// budget measured on a Clock, an optional attempt limit, and cancellation.
//
// Contract of Run: `op` runs at least once. After a failed attempt the Retrier, in this order,
// stops when it is cancelled (kCancelled), when the error's budget is 0 (kNotRetryable), when the
// attempt limit is reached (kAttemptsSpent), or when the budget is used up (kBudgetSpent);
// otherwise it sleeps BackoffMs(n) through the sleep seam and tries again. The budget counts from
// the first attempt's start, on clock.MonotonicMs(). With last_attempt_at_budget, a sleep that
// would end past the budget is cut to end at it and one last attempt runs there (Firehose's
// "retry for the whole duration"); without it, the Retrier gives up instead of sleeping past it.
// Thread safety: Run may be called from several threads at once (the jitter RNG is behind a
// mutex); the cancel and sleep functions must then be thread-safe too.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <random>

#include "common/clock.h"
#include "common/status.h"

namespace sluice {

struct RetryPolicy {
  // Backoff before retry n (1 = the first retry): d = min(max_backoff_ms, initial * 2^(n-1)),
  // then jittered: uniform in [0, d] (kFull) or in [d/2, d] (kEqual).
  int64_t initial_backoff_ms = 100;
  int64_t max_backoff_ms = 30'000;
  enum class Jitter { kFull, kEqual };
  Jitter jitter = Jitter::kFull;
  uint32_t max_attempts = 0;  // including the first; 0 = no limit by count
  bool last_attempt_at_budget = true;
};

// How long an error may be retried, in ms from the first attempt: 0 = not retryable,
// kRetryForever = no time limit (only cancellation or the attempt limit stop it).
using RetryBudget = std::function<int64_t(const Status& error)>;
inline constexpr int64_t kRetryForever = std::numeric_limits<int64_t>::max();

// Every error gets the same budget.
RetryBudget FixedBudget(int64_t budget_ms);

class Retrier {
 public:
  using SleepFn = std::function<void(int64_t ms)>;
  using CancelFn = std::function<bool()>;
  // Called after every failed attempt, before the decision: the error, the attempt number
  // (1-based) and the budget the error was given.
  using FailureFn = std::function<void(const Status& error, uint32_t attempt, int64_t budget_ms)>;

  enum class Stop { kSucceeded, kCancelled, kNotRetryable, kAttemptsSpent, kBudgetSpent };
  struct Outcome {
    Status status;  // OK, or the last attempt's error
    uint32_t attempts = 0;
    Stop stop = Stop::kSucceeded;
    bool ok() const { return status.ok(); }
  };

  // `cancelled` (may be null) is asked after each failure; `sleep` (null: sleep the calling
  // thread for real) is the seam tests replace with one that advances a ManualClock.
  Retrier(RetryPolicy policy, Clock& clock, CancelFn cancelled = nullptr, SleepFn sleep = nullptr,
          uint64_t seed = std::random_device{}());
  Retrier(const Retrier&) = delete;
  Retrier& operator=(const Retrier&) = delete;

  Outcome Run(const std::function<Status()>& op, const RetryBudget& budget,
              const FailureFn& on_failure = nullptr);

  // The jittered delay before retry number `retry` (1 = the first retry).
  int64_t BackoffMs(uint32_t retry);

  const RetryPolicy& policy() const { return policy_; }

 private:
  const RetryPolicy policy_;
  Clock& clock_;
  CancelFn cancelled_;
  SleepFn sleep_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // GUARDED_BY(rng_mu_)
};

}  // namespace sluice
