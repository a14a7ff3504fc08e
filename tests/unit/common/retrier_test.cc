#include "common/retrier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sluice {
namespace {

// A Retrier on a manual clock whose sleeps advance the clock and are recorded.
class RetrierTest : public ::testing::Test {
 protected:
  Retrier Make(RetryPolicy policy, Retrier::CancelFn cancel = nullptr) {
    return Retrier(
        policy, clock_, std::move(cancel),
        [this](int64_t ms) {
          sleeps_.push_back(ms);
          clock_.AdvanceMs(ms);
        },
        /*seed=*/7);
  }
  // An operation that fails `failures` times with `error`, then succeeds.
  std::function<Status()> FailTimes(int failures, Status error = Status::Unavailable("503")) {
    return [this, failures, error] {
      ++calls_;
      return calls_ <= failures ? error : Status::Ok();
    };
  }

  ManualClock clock_{1'000'000};
  std::vector<int64_t> sleeps_;
  int calls_ = 0;
};

TEST_F(RetrierTest, RetriesUntilTheOperationSucceeds) {
  Retrier r = Make({});
  Retrier::Outcome out = r.Run(FailTimes(3), FixedBudget(60'000));
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.stop, Retrier::Stop::kSucceeded);
  EXPECT_EQ(out.attempts, 4u);
  EXPECT_EQ(calls_, 4);
  EXPECT_EQ(sleeps_.size(), 3u);
}

TEST_F(RetrierTest, ABudgetOfZeroMeansOneAttemptAndNoSleep) {
  Retrier r = Make({});
  Retrier::Outcome out = r.Run(FailTimes(100, Status::InvalidArgument("bad key")), FixedBudget(0));
  EXPECT_EQ(out.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.stop, Retrier::Stop::kNotRetryable);
  EXPECT_EQ(out.attempts, 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(RetrierTest, TheBudgetIsChosenPerErrorFromTheLatestFailure) {
  int calls = 0;
  // Transient for three attempts, then a denial whose budget (500 ms) is already used up.
  auto op = [&] {
    ++calls;
    return calls <= 3 ? Status::Unavailable("503") : Status::FailedPrecondition("403");
  };
  auto budget = [](const Status& s) -> int64_t {
    return s.code() == StatusCode::kFailedPrecondition ? 500 : 3'600'000;
  };
  RetryPolicy policy;
  policy.initial_backoff_ms = 400;
  policy.jitter = RetryPolicy::Jitter::kEqual;  // each sleep >= 200 ms: three exceed 500 ms
  Retrier r = Make(policy);
  Retrier::Outcome out = r.Run(op, budget);
  EXPECT_EQ(out.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(out.stop, Retrier::Stop::kBudgetSpent);
  EXPECT_EQ(out.attempts, 4u);
}

TEST_F(RetrierTest, SleepsAreCutToTheBudgetAndALastAttemptRunsAtIt) {
  RetryPolicy policy;
  policy.initial_backoff_ms = 1'000;
  policy.max_backoff_ms = 1'000;
  policy.jitter = RetryPolicy::Jitter::kEqual;  // 500..1000 ms each
  Retrier r = Make(policy);
  const int64_t start = clock_.MonotonicMs();
  Retrier::Outcome out = r.Run(FailTimes(1'000), FixedBudget(2'500));
  EXPECT_EQ(out.stop, Retrier::Stop::kBudgetSpent);
  EXPECT_EQ(clock_.MonotonicMs() - start, 2'500) << "the last sleep ends exactly at the budget";
  EXPECT_GE(out.attempts, 4u);
}

TEST_F(RetrierTest, WithoutLastAttemptAtBudgetItGivesUpRatherThanSleepPastIt) {
  RetryPolicy policy;
  policy.initial_backoff_ms = 1'000;
  policy.max_backoff_ms = 1'000;
  policy.jitter = RetryPolicy::Jitter::kEqual;
  policy.last_attempt_at_budget = false;
  Retrier r = Make(policy);
  const int64_t start = clock_.MonotonicMs();
  Retrier::Outcome out = r.Run(FailTimes(1'000), FixedBudget(2'500));
  EXPECT_EQ(out.stop, Retrier::Stop::kBudgetSpent);
  EXPECT_LE(clock_.MonotonicMs() - start, 2'500);
  for (int64_t s : sleeps_) EXPECT_GE(s, 500);
}

TEST_F(RetrierTest, TheAttemptLimitStopsBeforeTheBudget) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  Retrier r = Make(policy);
  Retrier::Outcome out = r.Run(FailTimes(100), FixedBudget(kRetryForever));
  EXPECT_EQ(out.stop, Retrier::Stop::kAttemptsSpent);
  EXPECT_EQ(out.attempts, 3u);
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(RetrierTest, RetryForeverIgnoresTheClock) {
  Retrier r = Make({});
  clock_.AdvanceMs(int64_t{1} << 40);
  Retrier::Outcome out = r.Run(FailTimes(50), FixedBudget(kRetryForever));
  EXPECT_TRUE(out.ok());
  EXPECT_EQ(out.attempts, 51u);
}

TEST_F(RetrierTest, FullJitterBackoffStaysWithinTheDoublingCap) {
  RetryPolicy policy;
  policy.initial_backoff_ms = 100;
  policy.max_backoff_ms = 1'000;
  Retrier r = Make(policy);
  for (int round = 0; round < 200; ++round) {
    for (uint32_t retry = 1; retry <= 8; ++retry) {
      const int64_t cap = std::min<int64_t>(1'000, int64_t{100} << (retry - 1));
      const int64_t d = r.BackoffMs(retry);
      EXPECT_GE(d, 0);
      EXPECT_LE(d, cap) << "retry " << retry;
    }
  }
}

TEST_F(RetrierTest, EqualJitterBackoffStaysInTheUpperHalf) {
  RetryPolicy policy;
  policy.initial_backoff_ms = 100;
  policy.max_backoff_ms = 5'000;
  policy.jitter = RetryPolicy::Jitter::kEqual;
  Retrier r = Make(policy);
  bool varied = false;
  int64_t first = r.BackoffMs(3);
  for (int round = 0; round < 200; ++round) {
    const int64_t d = r.BackoffMs(3);  // cap 400
    EXPECT_GE(d, 200);
    EXPECT_LE(d, 400);
    varied = varied || d != first;
    const int64_t capped = r.BackoffMs(40);  // far past the cap: stays at 2500..5000
    EXPECT_GE(capped, 2'500);
    EXPECT_LE(capped, 5'000);
  }
  EXPECT_TRUE(varied) << "jitter spreads the delays";
}

TEST_F(RetrierTest, CancellationStopsAfterTheFailedAttemptWithoutSleeping) {
  std::atomic<bool> stop{false};
  Retrier r = Make({}, [&] { return stop.load(); });
  int calls = 0;
  Retrier::Outcome out = r.Run(
      [&] {
        if (++calls == 2) stop = true;
        return Status::Unavailable("503");
      },
      FixedBudget(kRetryForever));
  EXPECT_EQ(out.stop, Retrier::Stop::kCancelled);
  EXPECT_EQ(out.attempts, 2u);
  EXPECT_EQ(sleeps_.size(), 1u);
}

TEST_F(RetrierTest, FailuresAreReportedWithAttemptAndBudget) {
  Retrier r = Make({});
  std::vector<std::pair<uint32_t, int64_t>> seen;
  (void)r.Run(FailTimes(2), FixedBudget(9'000),
              [&](const Status& s, uint32_t attempt, int64_t budget) {
                EXPECT_EQ(s.code(), StatusCode::kUnavailable);
                seen.emplace_back(attempt, budget);
              });
  EXPECT_EQ(seen, (std::vector<std::pair<uint32_t, int64_t>>{{1, 9'000}, {2, 9'000}}));
}

TEST(RetrierRealTime, TheDefaultSleepWaitsOnTheThread) {
  RetryPolicy policy;
  policy.initial_backoff_ms = 20;
  policy.max_backoff_ms = 20;
  policy.jitter = RetryPolicy::Jitter::kEqual;
  Retrier r(policy, Clock::System());
  int calls = 0;
  const int64_t start = Clock::System().MonotonicMs();
  Retrier::Outcome out = r.Run(
      [&] { return ++calls < 3 ? Status::Unavailable("x") : Status::Ok(); }, FixedBudget(60'000));
  EXPECT_TRUE(out.ok());
  EXPECT_GE(Clock::System().MonotonicMs() - start, 20);  // two sleeps of at least 10 ms
}

TEST(RetrierThreads, ConcurrentRunsShareOneRetrier) {
  RetryPolicy policy;
  policy.initial_backoff_ms = 1;
  policy.max_backoff_ms = 2;
  Retrier r(policy, Clock::System());
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      int calls = 0;
      if (r.Run([&] { return ++calls < 4 ? Status::Unavailable("x") : Status::Ok(); },
                FixedBudget(60'000))
              .ok()) {
        ++succeeded;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 4);
}

}  // namespace
}  // namespace sluice
