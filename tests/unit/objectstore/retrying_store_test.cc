#include "objectstore/retrying_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "objectstore/file_store.h"
#include "testutil/objectstore_faulty_store.h"

namespace sluice::objectstore {
namespace {

class RetryingStoreTest : public ::testing::Test {
 protected:
  RetryingStoreTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "retrying_store.XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    file_store_ = std::make_unique<FileObjectStore>(dir_);
    auto faulty = std::make_unique<testutil::FaultyObjectStore>(file_store_.get());
    faulty_ = faulty.get();
    policy_.max_attempts = 4;
    policy_.initial_backoff_ms = 100;
    policy_.max_backoff_ms = 250;
    store_ = std::make_unique<RetryingStore>(
        std::move(faulty), policy_, [this](int64_t ms) { sleeps_.push_back(ms); }, /*seed=*/7);
  }
  ~RetryingStoreTest() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::unique_ptr<FileObjectStore> file_store_;
  testutil::FaultyObjectStore* faulty_;
  RetryPolicy policy_;
  std::vector<int64_t> sleeps_;
  std::unique_ptr<RetryingStore> store_;
};

TEST_F(RetryingStoreTest, RetriesUnavailableUntilItSucceeds) {
  faulty_->FailNext(3);
  ASSERT_TRUE(store_->Put("a/b.json", "hello").ok());
  EXPECT_EQ(faulty_->calls(), 4);
  EXPECT_EQ(*file_store_->Get("a/b.json"), "hello");
  ASSERT_EQ(sleeps_.size(), 3u);
  // Full jitter: each delay lies in [0, min(max, initial * 2^(retry-1))].
  EXPECT_LE(sleeps_[0], 100);
  EXPECT_LE(sleeps_[1], 200);
  EXPECT_LE(sleeps_[2], 250);
  for (int64_t ms : sleeps_) EXPECT_GE(ms, 0);
}

TEST_F(RetryingStoreTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  faulty_->FailNext(10);
  Status s = store_->Put("k", "v");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "injected: 500 InternalError (after 4 attempts)");
  EXPECT_EQ(faulty_->calls(), 4);
  EXPECT_EQ(sleeps_.size(), 3u);
  EXPECT_EQ(faulty_->passed_through(), 0);
}

TEST_F(RetryingStoreTest, ThrottlingIsRetriedToo) {
  faulty_->FailNext(1, Status::ResourceExhausted("injected: 503 SlowDown"));
  ASSERT_TRUE(store_->Put("k", "v").ok());
  EXPECT_EQ(faulty_->calls(), 2);
}

TEST_F(RetryingStoreTest, NonRetryableErrorsAreReturnedAtOnce) {
  faulty_->FailNext(1, Status::FailedPrecondition("injected: 403 AccessDenied"));
  Status s = store_->Put("k", "v");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "injected: 403 AccessDenied");
  EXPECT_EQ(faulty_->calls(), 1);
  EXPECT_TRUE(sleeps_.empty());

  auto missing = store_->Get("does/not/exist");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(faulty_->calls(), 2);
}

TEST_F(RetryingStoreTest, HungCallsTimeOutAndAreRetried) {
  ASSERT_TRUE(file_store_->Put("k", "v").ok());
  faulty_->HangNext(2, /*bound_ms=*/20);  // each hang ends as a timeout after 20 ms
  auto value = store_->Get("k");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, "v");
  EXPECT_EQ(faulty_->calls(), 3);
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(RetryingStoreTest, ReleasedHangFailsAtOnceAndIsRetried) {
  ASSERT_TRUE(file_store_->Put("k", "v").ok());
  faulty_->HangNext(1, /*bound_ms=*/30'000);
  faulty_->ReleaseHangs();  // released before it starts: the hang ends immediately
  auto value = store_->Get("k");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(faulty_->calls(), 2);
}

TEST_F(RetryingStoreTest, ListAndDeleteGoThroughTheRetries) {
  ASSERT_TRUE(store_->Put("p/1", "x").ok());
  faulty_->FailNext(2);
  auto keys = store_->List("p/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, std::vector<std::string>{"p/1"});
  faulty_->FailNext(1);
  ASSERT_TRUE(store_->Delete("p/1").ok());
  EXPECT_FALSE(file_store_->Get("p/1").ok());
}

TEST(FullJitterTest, CapsGrowExponentiallyUpToTheMaximum) {
  RetryPolicy policy{10, 100, 1000};
  std::mt19937_64 rng(1);
  int64_t max_seen[8] = {};
  for (int i = 0; i < 2000; ++i) {
    for (int retry = 1; retry <= 7; ++retry) {
      max_seen[retry] = std::max(max_seen[retry], FullJitterDelayMs(policy, retry, rng));
    }
  }
  // Upper bounds are 100, 200, 400, 800, 1000, 1000, 1000; with 2000 draws each is nearly reached.
  const int64_t caps[8] = {0, 100, 200, 400, 800, 1000, 1000, 1000};
  for (int retry = 1; retry <= 7; ++retry) {
    EXPECT_LE(max_seen[retry], caps[retry]);
    EXPECT_GE(max_seen[retry], caps[retry] * 9 / 10);
  }
}

}  // namespace
}  // namespace sluice::objectstore
