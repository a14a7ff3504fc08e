#include "pipeline/delivery_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <thread>

#include "common/crc32c.h"
#include "common/file_util.h"
#include "journal/journal.h"
#include "objectstore/file_store.h"

namespace sluice::pipeline {
namespace {

// A store that fails its first `failures` puts (with `error`), then delegates.
class FlakyStore : public objectstore::ObjectStore {
 public:
  FlakyStore(objectstore::ObjectStore* inner, int failures,
             Status error = Status::Unavailable("injected: 503 Slow Down"))
      : inner_(inner), failures_(failures), error_(std::move(error)) {}
  Status Put(const std::string& key, std::string_view data) override {
    ++attempts;
    if (on_put) on_put();
    if (failures_ > 0) {
      --failures_;
      return error_;
    }
    return inner_->Put(key, data);
  }
  Result<std::string> Get(const std::string& key) override { return inner_->Get(key); }
  Result<std::vector<std::string>> List(const std::string& p) override { return inner_->List(p); }
  Status Delete(const std::string& key) override { return inner_->Delete(key); }
  std::string Describe() const override { return "flaky"; }
  int attempts = 0;
  std::function<void()> on_put;

 private:
  objectstore::ObjectStore* inner_;
  int failures_;
  Status error_;
};

// A partition log whose consumer commits fail while `fail_commits` > 0 (fault injection for the
// batch intent and the checkpoint); everything else goes to the real log.
class FailingCommitLog : public journal::PartitionLog {
 public:
  explicit FailingCommitLog(journal::PartitionLog* inner) : inner_(inner) {}
  using journal::PartitionLog::Append;
  void Append(std::shared_ptr<const journal::RecordBatch> batch, uint32_t shard, int64_t arrival_ms,
              journal::AppendCallback done) override {
    inner_->Append(std::move(batch), shard, arrival_ms, std::move(done));
  }
  journal::Offset End() const override { return inner_->End(); }
  journal::Offset Begin() const override { return inner_->Begin(); }
  bool WaitForData(journal::Offset after, int64_t timeout_ms) override {
    return inner_->WaitForData(after, timeout_ms);
  }
  void SetDataListener(const std::string& key, std::function<void()> listener) override {
    inner_->SetDataListener(key, std::move(listener));
  }
  Result<std::unique_ptr<journal::Reader>> NewReader() override { return inner_->NewReader(); }
  Status RemoveConsumer(const std::string& consumer) override {
    return inner_->RemoveConsumer(consumer);
  }
  Status Commit(const std::string& consumer, const journal::ConsumerState& state) override {
    ++commits;
    if (fail_commits > 0) {
      --fail_commits;
      return Status::IoError("injected: checkpoint write failed");
    }
    return inner_->Commit(consumer, state);
  }
  journal::ConsumerState Committed(const std::string& consumer) const override {
    return inner_->Committed(consumer);
  }
  Result<size_t> ApplyRetention(const journal::Retention& retention) override {
    return inner_->ApplyRetention(retention);
  }
  std::atomic<int> fail_commits{0};
  std::atomic<int> commits{0};

 private:
  journal::PartitionLog* inner_;
};

class DeliveryWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/dw_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + root_).c_str());
    stream_.name = "orders";
    stream_.staged.url = "file://" + root_ + "/bucket";
    stream_.buffering.size_mb = 1;
    stream_.buffering.interval_s = 0;
    stream_.retry_duration_s = 3600;
    store_ = std::make_unique<objectstore::FileObjectStore>(root_ + "/bucket");
    Reopen();
  }

  void Reopen(uint64_t segment_bytes = 64ull << 20) {
    journal_.reset();
    journal::Options o;
    o.dir = root_ + "/journal";
    o.clock = &clock_;
    o.segment_bytes = segment_bytes;
    auto j = journal::Journal::Open(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(j).value();
    log_ = *journal_->Partition("orders", 0);
  }

  void Append(std::vector<std::string> records) {
    std::promise<Result<journal::AppendResult>> p;
    log_->Append(std::move(records), clock_.NowMs(),
                 [&p](const Result<journal::AppendResult>& r) { p.set_value(r); });
    auto r = p.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::unique_ptr<DeliveryWorker> MakeWorker(objectstore::ObjectStore* store,
                                             objectstore::ObjectStore* errors = nullptr) {
    WorkerOptions wo;
    wo.state_dir = root_ + "/delivery/orders/0";
    wo.clock = &clock_;
    wo.sleep_for_test = [this](int64_t ms) { clock_.AdvanceMs(ms); };
    auto keys = KeyMaker::Create(stream_);
    EXPECT_TRUE(keys.ok());
    return std::make_unique<DeliveryWorker>(
        stream_, 0, log_, std::make_unique<ConcatBuilder>(*keys, store, errors), nullptr, wo);
  }

  std::vector<std::string> Objects() { return *store_->List(""); }

  std::string root_;
  ManualClock clock_{1535365805123};
  config::StreamConfig stream_;
  std::unique_ptr<objectstore::FileObjectStore> store_;
  std::unique_ptr<journal::Journal> journal_;
  journal::PartitionLog* log_ = nullptr;
};

TEST_F(DeliveryWorkerTest, ConcatenatesRecordsAsSentIntoOneObject) {
  Append({"{\"a\":1}", "{\"a\":2}\n", "x"});
  auto w = MakeWorker(store_.get());
  ASSERT_TRUE(w->DrainForTest().ok());
  auto keys = Objects();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].rfind("2018/08/27/10/orders-1-2018-08-27-10-30-05-", 0), 0u) << keys[0];
  EXPECT_EQ(*store_->Get(keys[0]), "{\"a\":1}{\"a\":2}\nx");
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 3u);
}

TEST_F(DeliveryWorkerTest, RetentionMbBoundsTheDeliveredDataKept) {
  stream_.retention_mb = 1;
  Reopen(300 << 10);  // each 400 KiB record fills a segment
  std::string big(400 * 1024, 'x');
  for (int i = 0; i < 6; ++i) Append({big});  // one commit group each: segments 0-5
  auto w = MakeWorker(store_.get());
  ASSERT_TRUE(w->DrainForTest().ok());
  // Retention ran after the first batch (records 0-1, 0.8 MiB delivered: within 1 MiB).
  EXPECT_EQ(log_->Begin().value, 0u);
  clock_.AdvanceMs(61'000);  // retention runs at most once a minute
  Append({"tail"});          // segment 6
  ASSERT_TRUE(w->DrainForTest().ok());
  // Everything is delivered: the oldest segments go until at most 1 MiB of delivered data is
  // left (two 400 KiB segments); the active segment stays.
  EXPECT_EQ(log_->Begin().value, 4u);
  EXPECT_EQ(log_->End().value, 7u);
}

TEST_F(DeliveryWorkerTest, SizeHintSplitsBatches) {
  std::string big(400 * 1024, 'x');
  Append({big, big, big, big, big});  // 2 MB with a 1 MB hint: 3 objects (2 + 2 + 1 records)
  auto w = MakeWorker(store_.get());
  ASSERT_TRUE(w->DrainForTest().ok());
  auto keys = Objects();
  ASSERT_EQ(keys.size(), 3u);
  size_t total = 0;
  for (const auto& k : keys) {
    auto data = *store_->Get(k);
    EXPECT_LE(data.size(), 1u << 20);
    total += data.size();
  }
  EXPECT_EQ(total, 5 * big.size());
}

TEST_F(DeliveryWorkerTest, RedeliveryAfterCrashWritesSameKeyAndBytes) {
  Append({"r1", "r2", "r3"});
  journal::ConsumerState crash_state;
  FlakyStore recording(store_.get(), 0);
  recording.on_put = [&] { crash_state = log_->Committed(DeliveryWorker::kConsumer); };
  // Simulate a crash after the object was written but before the checkpoint moved: deliver with a
  // store that accepts the put, then roll the checkpoint back as if it was never committed.
  // The consumer state at the moment of the crash is what was committed when the object was put.
  auto w = MakeWorker(&recording);
  ASSERT_TRUE(w->DrainForTest().ok());
  ASSERT_TRUE(crash_state.intent) << "the batch is decided durably before its object is put";
  EXPECT_EQ(crash_state.next, journal::Offset{0});
  EXPECT_EQ(crash_state.intent->end, journal::Offset{3});
  auto first = Objects();
  ASSERT_EQ(first.size(), 1u);
  std::string bytes = *store_->Get(first[0]);
  ASSERT_TRUE(log_->Commit(DeliveryWorker::kConsumer, crash_state).ok());
  ASSERT_TRUE(store_->Delete(first[0]).ok());
  Append({"r4"});  // arrives after the crash: must not join the decided batch
  clock_.AdvanceMs(3'600'000);
  auto again = MakeWorker(store_.get());
  ASSERT_TRUE(again->DrainForTest().ok());
  EXPECT_EQ(again->stats().redelivered_batches.load(), 1u);
  auto keys = Objects();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_TRUE(std::find(keys.begin(), keys.end(), first[0]) != keys.end())
      << "same key after redelivery";
  EXPECT_EQ(*store_->Get(first[0]), bytes);
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 4u);
}

TEST_F(DeliveryWorkerTest, ARoundOneIntentFileIsTakenOverOnceAndRemoved) {
  Append({"r1", "r2", "r3"});
  // What round 1 wrote before crashing mid-batch: the batch [0, 2), version 1.
  const std::string dir = root_ + "/delivery/orders/0";
  ASSERT_TRUE(fs::CreateDirs(dir).ok());
  char body[160];
  std::snprintf(body, sizeof body, "sluice-batch-intent v1 0 2 1 %lld",
                static_cast<long long>(clock_.NowMs()));
  char line[200];
  std::snprintf(line, sizeof line, "%s %08x\n", body, crc32c::Mask(crc32c::Value(body)));
  ASSERT_TRUE(fs::WriteFileAtomically(dir + "/batch.intent", line).ok());
  auto w = MakeWorker(store_.get());
  ASSERT_TRUE(w->DrainForTest().ok());
  EXPECT_EQ(w->stats().redelivered_batches.load(), 1u);
  EXPECT_FALSE(fs::Exists(dir + "/batch.intent"));
  // The decided batch [0, 2) is one object, the rest another.
  auto keys = Objects();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(*store_->Get(keys[0]) + *store_->Get(keys[1]) == "r1r2r3" ||
                *store_->Get(keys[1]) + *store_->Get(keys[0]) == "r1r2r3",
            true);
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 3u);
}

TEST_F(DeliveryWorkerTest, NoOutputIsWrittenBeforeTheBatchIntentIsDurable) {
  Append({"r1", "r2"});
  FailingCommitLog failing(log_);
  failing.fail_commits = 3;  // the intent's first three commits fail
  FlakyStore watching(store_.get(), 0);
  watching.on_put = [&] {
    // The put comes only after the intent is committed: a crash now rebuilds this batch.
    EXPECT_EQ(failing.fail_commits.load(), 0);
    EXPECT_TRUE(log_->Committed(DeliveryWorker::kConsumer).intent);
  };
  WorkerOptions wo;
  wo.clock = &clock_;
  wo.sleep_for_test = [this](int64_t ms) { clock_.AdvanceMs(ms); };
  auto keys = KeyMaker::Create(stream_);
  ASSERT_TRUE(keys.ok());
  DeliveryWorker w(stream_, 0, &failing, std::make_unique<ConcatBuilder>(*keys, &watching), nullptr,
                   wo);
  ASSERT_TRUE(w.DrainForTest().ok());
  EXPECT_EQ(watching.attempts, 1);
  EXPECT_EQ(failing.commits.load(), 5);  // 3 failed + the intent + the checkpoint
  auto objects = Objects();
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(*store_->Get(objects[0]), "r1r2");
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 2u);
  EXPECT_FALSE(log_->Committed(DeliveryWorker::kConsumer).intent);
}

TEST_F(DeliveryWorkerTest, AFailedCheckpointRedeliversTheSameBatchNotANewOne) {
  Append({"r1", "r2"});
  FailingCommitLog failing(log_);
  auto keys = KeyMaker::Create(stream_);
  ASSERT_TRUE(keys.ok());
  WorkerOptions wo;
  wo.clock = &clock_;
  // The checkpoint after the put fails until the worker gives up (it is stopping): the intent
  // stays, so the next worker rebuilds exactly that batch, even with more records waiting.
  std::unique_ptr<DeliveryWorker> w;
  FlakyStore stopping(store_.get(), 0);
  stopping.on_put = [&] {
    failing.fail_commits = 1000;
    w->Abort();
  };
  wo.sleep_for_test = [this](int64_t ms) { clock_.AdvanceMs(ms); };
  w = std::make_unique<DeliveryWorker>(
      stream_, 0, &failing, std::make_unique<ConcatBuilder>(*keys, &stopping), nullptr, wo);
  EXPECT_FALSE(w->DrainForTest().ok());
  w.reset();
  ASSERT_TRUE(log_->Committed(DeliveryWorker::kConsumer).intent);
  auto first = Objects();
  ASSERT_EQ(first.size(), 1u);
  Append({"r3"});
  auto again = MakeWorker(store_.get());
  ASSERT_TRUE(again->DrainForTest().ok());
  EXPECT_EQ(again->stats().redelivered_batches.load(), 1u);
  auto objects = Objects();
  ASSERT_EQ(objects.size(), 2u);  // the same key rewritten, plus r3's batch
  EXPECT_EQ(*store_->Get(first[0]), "r1r2");
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 3u);
}

TEST_F(DeliveryWorkerTest, StoreFailuresAreRetriedAndNothingIsLost) {
  Append({"a", "b"});
  FlakyStore flaky(store_.get(), 3);
  auto w = MakeWorker(&flaky);
  ASSERT_TRUE(w->DrainForTest().ok());
  EXPECT_EQ(flaky.attempts, 4);
  EXPECT_EQ(w->stats().put_failures.load(), 3u);
  auto keys = Objects();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(*store_->Get(keys[0]), "ab");
}

TEST_F(DeliveryWorkerTest, AfterRetryDurationTheBatchGoesToErrorOutputAndTheStreamMovesOn) {
  stream_.retry_duration_s = 2;
  stream_.error_output_prefix = "errors/!{firehose:error-output-type}/";
  Append({"a", "b"});
  FlakyStore flaky(store_.get(), 1000);
  objectstore::FileObjectStore errors(root_ + "/errors");
  auto w = MakeWorker(&flaky, &errors);
  ASSERT_TRUE(w->DrainForTest().ok());
  EXPECT_GT(flaky.attempts, 1) << "retried before giving up";
  EXPECT_EQ(w->stats().error_output_batches.load(), 1u);
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 2u);
  auto keys = *errors.List("");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].rfind("errors/delivery-failed/2018/08/27/10/orders-1-", 0), 0u) << keys[0];
  std::string body = *errors.Get(keys[0]);
  // One Firehose error record per source record, with the original bytes in base64.
  EXPECT_NE(body.find("\"rawData\":\"YQ==\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"rawData\":\"Yg==\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"errorCode\":\"S3.ServiceUnavailable\""), std::string::npos) << body;
  EXPECT_NE(body.find("injected: 503 Slow Down"), std::string::npos) << body;
}

TEST_F(DeliveryWorkerTest, ErrorOutputIsRetriedUntilItSucceeds) {
  stream_.retry_duration_s = 1;
  Append({"a"});
  FlakyStore staged(store_.get(), 1000);
  objectstore::FileObjectStore errors_dir(root_ + "/errors");
  FlakyStore errors(&errors_dir, 5);  // fails long past the retry duration, then recovers
  auto w = MakeWorker(&staged, &errors);
  ASSERT_TRUE(w->DrainForTest().ok());
  EXPECT_EQ(errors.attempts, 6);
  EXPECT_EQ(errors_dir.List("")->size(), 1u);
}

TEST_F(DeliveryWorkerTest, RunningWorkerDeliversAndStopFlushes) {
  stream_.buffering.interval_s = 900;  // only Stop() can flush this
  auto w = MakeWorker(store_.get());
  w->Start();
  Append({"one", "two"});
  w->Stop();
  auto keys = Objects();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(*store_->Get(keys[0]), "onetwo");
}

TEST_F(DeliveryWorkerTest, StopDoesNotDrainABacklogPastTheDrainTimeAndNothingIsLost) {
  stream_.buffering.interval_s = 900;
  Append({"a", "b", "c"});
  WorkerOptions wo;
  wo.state_dir = root_ + "/delivery/orders/0";
  wo.clock = &clock_;
  wo.stop_drain_ms = -1;  // the drain time is already used up when Stop() is called
  auto keys = KeyMaker::Create(stream_);
  DeliveryWorker w(stream_, 0, log_, std::make_unique<ConcatBuilder>(*keys, store_.get()), nullptr,
                   wo);
  w.Stop();   // asked to stop before it runs: deterministic
  w.Start();  // recovers, sees the drain time used up, returns
  w.Stop();   // joins
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 0u)
      << "the backlog stays in the journal";
  auto next = MakeWorker(store_.get());
  ASSERT_TRUE(next->DrainForTest().ok());
  ASSERT_EQ(Objects().size(), 1u);
  EXPECT_EQ(*store_->Get(Objects()[0]), "abc");
}

TEST_F(DeliveryWorkerTest, IntervalElapsingTriggersDelivery) {
  stream_.buffering.interval_s = 60;
  auto w = MakeWorker(store_.get());
  w->Start();
  Append({"late"});
  clock_.AdvanceMs(61'000);
  // Bounded wait for the worker thread to notice the interval passed.
  for (int i = 0; i < 500 && w->stats().batches_delivered.load() == 0; ++i) {
    log_->WaitForData(journal::Offset{100}, 10);
  }
  EXPECT_EQ(w->stats().batches_delivered.load(), 1u)
      << "no delivery within 5 s after the interval elapsed";
  w->Stop();
  EXPECT_EQ(Objects().size(), 1u);
}

TEST_F(DeliveryWorkerTest, ARequestTheStoreAlwaysRefusesGoesToErrorOutputAtOnce) {
  // Round 1 retried an invalid key for the whole retry duration (a day by default).
  stream_.retry_duration_s = 86400;
  stream_.error_output_prefix = "errors/!{firehose:error-output-type}/";
  Append({"a"});
  FlakyStore refusing(store_.get(), 1000,
                      Status::InvalidArgument("object key 'x//y' has an empty segment"));
  objectstore::FileObjectStore errors(root_ + "/errors");
  auto w = MakeWorker(&refusing, &errors);
  const int64_t before = clock_.MonotonicMs();
  ASSERT_TRUE(w->DrainForTest().ok());
  EXPECT_EQ(refusing.attempts, 1);
  EXPECT_EQ(clock_.MonotonicMs(), before) << "no backoff for a non-retryable error";
  EXPECT_EQ(w->stats().error_output_batches.load(), 1u);
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 1u);
  auto keys = *errors.List("");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_NE(errors.Get(keys[0])->find("\"errorCode\":\"S3.InvalidRequest\""), std::string::npos);
}

TEST_F(DeliveryWorkerTest, ADenialThatDoesNotChangeIsRetriedMinutesNotADay) {
  stream_.retry_duration_s = 86400;
  stream_.error_output_prefix = "errors/!{firehose:error-output-type}/";
  Append({"a"});
  FlakyStore denying(store_.get(), 1'000'000, Status::FailedPrecondition("403 AccessDenied"));
  objectstore::FileObjectStore errors(root_ + "/errors");
  auto w = MakeWorker(&denying, &errors);
  const int64_t before = clock_.MonotonicMs();
  ASSERT_TRUE(w->DrainForTest().ok());
  EXPECT_GT(denying.attempts, 1);
  EXPECT_LE(clock_.MonotonicMs() - before, 300'000);
  EXPECT_EQ(w->stats().error_output_batches.load(), 1u);
  EXPECT_NE(errors.Get((*errors.List(""))[0])->find("S3.AccessDenied"), std::string::npos);
}

TEST(StoreRetryBudget, TransientErrorsGetTheRetryDurationOthersLessOrNone) {
  EXPECT_EQ(StoreRetryBudgetMs(Status::Unavailable("503"), 86400), 86'400'000);
  EXPECT_EQ(StoreRetryBudgetMs(Status::ResourceExhausted("429"), 86400), 86'400'000);
  EXPECT_EQ(StoreRetryBudgetMs(Status::IoError("No space left on device"), 60), 60'000);
  EXPECT_EQ(StoreRetryBudgetMs(Status::FailedPrecondition("403"), 86400), 300'000);
  EXPECT_EQ(StoreRetryBudgetMs(Status::NotFound("NoSuchBucket"), 10), 10'000);
  EXPECT_EQ(StoreRetryBudgetMs(Status::InvalidArgument("bad key"), 86400), 0);
}

// Polls `done` for up to 30 s (real time): for a background thread's effect, with no threshold
// on how fast it comes.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 3000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST_F(DeliveryWorkerTest, AnIdleWorkerHoldsNoThreadAndRecordsWakeIt) {
  stream_.buffering.interval_s = 0;
  auto w = MakeWorker(store_.get());
  w->Start();
  EXPECT_FALSE(w->has_thread()) << "nothing to deliver: no thread";
  Append({"one"});
  ASSERT_TRUE(Eventually([&] { return Objects().size() == 1; }));
  // Caught up: the thread goes away after its linger.
  ASSERT_TRUE(Eventually([&] { return !w->has_thread(); }));
  Append({"two"});
  ASSERT_TRUE(Eventually([&] { return Objects().size() == 2; }));
  w->Stop();
  EXPECT_FALSE(w->has_thread());
  EXPECT_EQ(log_->Checkpoint(DeliveryWorker::kConsumer).value, 2u);
}

TEST_F(DeliveryWorkerTest, AWorkerStartedWithABacklogDeliversItWithoutNewRecords) {
  Append({"a", "b"});
  auto w = MakeWorker(store_.get());
  w->Start();
  ASSERT_TRUE(Eventually([&] { return log_->Checkpoint(DeliveryWorker::kConsumer).value == 2; }));
  w->Stop();
  EXPECT_EQ(Objects().size(), 1u);
}

}  // namespace
}  // namespace sluice::pipeline
