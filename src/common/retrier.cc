#include "common/retrier.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

namespace sluice {

RetryBudget FixedBudget(int64_t budget_ms) {
  return [budget_ms](const Status&) { return budget_ms; };
}

Retrier::Retrier(RetryPolicy policy, Clock& clock, CancelFn cancelled, SleepFn sleep, uint64_t seed)
    : policy_(policy),
      clock_(clock),
      cancelled_(std::move(cancelled)),
      sleep_(std::move(sleep)),
      rng_(seed) {
  if (!sleep_) {
    sleep_ = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  }
}

int64_t Retrier::BackoffMs(uint32_t retry) {
  const int64_t base = std::max<int64_t>(1, policy_.initial_backoff_ms);
  const int64_t cap = std::max(policy_.max_backoff_ms, base);
  int64_t d = base;
  for (uint32_t i = 1; i < retry && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  std::lock_guard<std::mutex> lock(rng_mu_);
  if (policy_.jitter == RetryPolicy::Jitter::kEqual) {
    const double top = static_cast<double>(d);
    std::uniform_real_distribution<double> jitter(top / 2, top);
    return static_cast<int64_t>(jitter(rng_));
  }
  std::uniform_int_distribution<int64_t> jitter(0, d);
  return jitter(rng_);
}

Retrier::Outcome Retrier::Run(const std::function<Status()>& op, const RetryBudget& budget,
                              const FailureFn& on_failure) {
  const int64_t started = clock_.MonotonicMs();
  Outcome outcome;
  for (uint32_t attempt = 1;; ++attempt) {
    outcome.attempts = attempt;
    outcome.status = op();
    if (outcome.status.ok()) {
      outcome.stop = Stop::kSucceeded;
      return outcome;
    }
    const int64_t budget_ms = budget ? budget(outcome.status) : 0;
    if (on_failure) on_failure(outcome.status, attempt, budget_ms);
    if (cancelled_ && cancelled_()) {
      outcome.stop = Stop::kCancelled;
      return outcome;
    }
    if (budget_ms <= 0) {
      outcome.stop = Stop::kNotRetryable;
      return outcome;
    }
    if (policy_.max_attempts > 0 && attempt >= policy_.max_attempts) {
      outcome.stop = Stop::kAttemptsSpent;
      return outcome;
    }
    const int64_t elapsed = clock_.MonotonicMs() - started;
    int64_t delay = BackoffMs(attempt);
    if (budget_ms != kRetryForever) {
      const int64_t left = budget_ms - elapsed;
      const bool spent = policy_.last_attempt_at_budget ? left <= 0 : delay > left;
      if (spent) {
        outcome.stop = Stop::kBudgetSpent;
        return outcome;
      }
      delay = std::min(delay, left);
    }
    sleep_(delay);
  }
}

}  // namespace sluice
