// DeliveryWorker: moves one stream partition's journal records into the object store.
//
// Contract (design.md §5.4–5.6):
// - Reads from the partition's "delivery" checkpoint, batches by the stream's BufferingHints
//   (size before compression, or the oldest record's age reaching the interval).
// - A batch's boundaries [first, end) are committed durably as the consumer's batch intent
//   (journal::BatchIntent) BEFORE any output is produced, so that after a crash the same batch is
//   rebuilt: same objects, same keys, same bytes.
// - Each output object is put with retries (exponential backoff with full jitter), per error:
//   transient errors (unavailable, throttled, a full disk) until the stream's retry duration; a
//   denial or a missing bucket for at most 5 minutes; a request the store refuses the same way
//   every time (an invalid key) not at all. Then the batch goes to error output. The checkpoint
//   moves past the batch only after every output is durable or in error output.
// - Stop(): stops waiting for more data, delivers what is buffered (unless the store keeps
// failing),
//   and returns. The thread never throws.
// - Idle costs no thread: the worker's thread exists while records wait or are buffered, and
//   exits when it has caught up (the journal's data listener starts it again).
// Thread safety: at most one thread per worker; Start/Stop from the owner's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/on_demand_thread.h"
#include "common/retrier.h"
#include "common/status.h"
#include "config/stream_config.h"
#include "journal/journal.h"
#include "objectstore/object_store.h"
#include "observe/metrics.h"
#include "pipeline/error_output.h"
#include "pipeline/object_key.h"
#include "pipeline/output.h"
#include "streams/service.h"
#include "transform/row_set.h"

namespace sluice::pipeline {

// The records of one decided batch, in offset order.
struct Batch {
  BatchId id;
  uint64_t version = 1;   // the stream version the batch was decided under
  int64_t oldest_ms = 0;  // oldest arrival time in the batch
  std::vector<journal::StoredRecord> records;
  size_t bytes = 0;
};

// What building a batch yields: its output objects and, from builders that produce rows and
// were asked to keep them (TransformBuilder for a warehouse), the batch's Ok rows, typed, in
// arrival order, each with the index in Batch::records of its source record.
struct BuiltBatch {
  std::vector<OutputObject> outputs;
  std::optional<transform::RowSet> rows;
  // Source records the staged objects hold (those the processors returned Ok); unset: every
  // record of the batch.
  std::optional<uint64_t> staged_records;
};

// Turns a batch into its output objects (and rows). MUST be deterministic: the same batch yields
// the same objects byte for byte and the same rows (redelivery after a crash relies on it).
class BatchBuilder {
 public:
  virtual ~BatchBuilder() = default;
  virtual Result<BuiltBatch> Build(const Batch& batch) = 0;
  // The stream's error output (under its error prefix, in `errors`): where a batch goes that
  // could not be delivered within the retry duration, and the builder's own failed records.
  const ErrorOutputWriter& error_output() const { return error_output_; }

 protected:
  BatchBuilder(const KeyMaker& keys, objectstore::ObjectStore* errors)
      : error_output_(keys, errors) {}

 private:
  ErrorOutputWriter error_output_;
};

// Runs after a batch's objects are durable and before the checkpoint moves (warehouse loading).
// Must be idempotent per batch id. Retried like puts (with the same `built`).
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  virtual Status Deliver(const Batch& batch, const BuiltBatch& built) = 0;
  // How long a failing Deliver is retried before the batch goes to error output.
  virtual uint32_t RetryDurationS() const = 0;
  // False for errors that retrying cannot fix (bad config, missing table): the batch goes to
  // error output at once.
  virtual bool IsRetryable(const Status& status) const = 0;
};

// How long (ms) a failed object put is retried before its batch goes to error output: the
// stream's retry duration for transient errors, at most 5 minutes for a denial or a missing
// bucket, 0 for InvalidArgument (the store refuses the same request the same way every time).
int64_t StoreRetryBudgetMs(const Status& st, uint32_t retry_duration_s);

// Counters a worker exposes (read by metrics and tests).
struct WorkerStats {
  std::atomic<uint64_t> batches_delivered{0};
  std::atomic<uint64_t> records_delivered{0};
  std::atomic<uint64_t> bytes_delivered{0};
  std::atomic<uint64_t> put_failures{0};
  std::atomic<uint64_t> redelivered_batches{0};
  std::atomic<uint64_t> error_output_batches{0};  // batches diverted to error output
  std::atomic<int64_t> last_delivery_ms{0};
};

struct WorkerOptions {
  // The stream version new batches are cut under (config::StreamState::version; in object names).
  uint64_t version = 1;
  // Where round 1 kept the batch intent (the file batch.intent); a pending one there is taken over
  // at start. Empty: none to look for.
  std::string state_dir;
  Clock* clock = &Clock::System();
  // Apply the delivery stream's journal retention to the shard after each batch. Off for a shard
  // of a Kinesis stream: its own retention applies there (streams::Service).
  bool apply_retention = true;
  // Backoff between failed attempts: min(max_backoff, initial * 2^n) with full jitter.
  int64_t initial_backoff_ms = 100;
  int64_t max_backoff_ms = 30'000;
  // Stop(): how long to keep delivering the backlog before returning (the rest stays durable in
  // the journal for the next start).
  int64_t stop_drain_ms = 30'000;
  // Sleep seam for tests (default: interruptible wait on the worker's condition variable).
  std::function<void(int64_t ms)> sleep_for_test;
};

class DeliveryWorker {
 public:
  // Delivers what `consumer` (a named consumer of one shard of the stream's ingest stream) reads.
  DeliveryWorker(config::StreamConfig stream, std::unique_ptr<streams::Consumer> consumer,
                 std::unique_ptr<BatchBuilder> builder, BatchSink* sink, WorkerOptions options);
  // The same, as the consumer kConsumer of journal partition `log` (tests).
  DeliveryWorker(const config::StreamConfig& stream, uint32_t partition, journal::PartitionLog* log,
                 std::unique_ptr<BatchBuilder> builder, BatchSink* sink, WorkerOptions options);
  ~DeliveryWorker();
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;

  void Start();
  // Flushes buffered records (when the store cooperates; for at most stop_drain_ms) and joins the
  // thread. Idempotent.
  void Stop();
  // Stops after the batch in progress, without delivering the rest of what is buffered: for a
  // configuration change, whose new worker continues from the checkpoint (nothing is lost; the
  // records are durable in the journal). Joins the thread.
  void Handover();
  // Stops without flushing (used when a stream is deleted).
  void Abort();
  const WorkerStats& stats() const { return stats_; }
  // True while the worker has a thread (it has records to deliver, or caught up moments ago).
  bool has_thread() const { return thread_.running(); }
  // Synchronously delivers everything durable now (tests and `flush` paths). REQUIRES: not started.
  Status DrainForTest();

  static constexpr char kConsumer[] = "delivery";
  // How long a caught-up worker's thread waits for more records before it exits.
  static constexpr int64_t kIdleLingerMs = 1000;

 private:
  // Recovers a pending batch, then delivers until caught up with nothing buffered (returns), or
  // until stopped or aborted.
  void Run();
  bool HasWork() const;
  // Reads the next batch per the buffering hints; returns false if stopping with nothing to do.
  Result<bool> NextBatch(Batch& batch, bool flush_all);
  Status DeliverBatch(const Batch& batch);
  // Writes the batch to error output after its delivery failed for the whole retry duration.
  // Retries until it succeeds or the worker stops: error output is never dropped.
  Status DivertToErrorOutput(const Batch& batch, ErrorOutputType type, const Status& cause,
                             uint32_t attempts);
  // Commits the batch as the consumer's intent (its checkpoint stays at the batch's first record).
  Status WriteIntent(const Batch& batch);
  // The consumer's pending batch, if it has one (after taking over a legacy intent file).
  Status LoadPendingIntent(Batch& batch, bool& found);
  Status MigrateLegacyIntent();
  Status ReadRange(Batch& batch);
  // Moves the checkpoint past a batch whose outputs are all durable (or in error output), then
  // applies retention and counts the batch.
  Status Checkpoint(const Batch& batch, const std::vector<OutputObject>& outputs);
  // Runs `op` through the worker's Retrier: until it succeeds, the worker stops or aborts, or the
  // error's `budget` passes. Counts and logs every failure.
  // `failures` and `retries` (optional metric series) count each failed attempt.
  Retrier::Outcome WithRetries(const std::string& what, const std::function<Status()>& op,
                               const RetryBudget& budget, observe::Counter* failures = nullptr,
                               observe::Counter* retries = nullptr);
  // Counts a batch's successful object put in the metrics of its kind.
  void CountPut(const Batch& batch, const OutputObject& out);
  void SleepMs(int64_t ms);
  std::string LegacyIntentPath() const;
  bool LegacyIntentExists() const;

  config::StreamConfig stream_;
  uint32_t partition_;
  std::unique_ptr<streams::Consumer> log_;
  std::unique_ptr<BatchBuilder> builder_;
  BatchSink* sink_;
  WorkerOptions options_;
  WorkerStats stats_;
  std::unique_ptr<journal::Reader> reader_;
  std::vector<journal::StoredRecord> pending_;  // read but not yet in a batch
  size_t pending_bytes_ = 0;
  journal::Offset next_read_;
  int64_t last_retention_ms_ = 0;
  bool started_ = false;   // Start() was called (owner's thread only)
  bool finished_ = false;  // Stop() or Abort() completed (owner's thread only)
  // Runs Run() while there is work: started by Start() when records wait, by the journal's data
  // listener when records arrive, and by Stop() to flush; exits when caught up.
  OnDemandThread thread_{[this] { Run(); }, kIdleLingerMs};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> stop_requested_ms_{0};
  std::atomic<bool> aborting_{false};
  std::atomic<int64_t> drain_ms_;  // Stop(): how long to keep delivering the backlog
  Mutex mu_;                       // only for cv_: SleepMs waits on it
  CondVar cv_;
  Retrier retrier_;  // cancelled by Stop()/Abort(); sleeps through SleepMs

  // Metric series of this stream partition (pipeline/metrics.h), looked up once.
  struct MetricHandles {
    explicit MetricHandles(const std::string& stream, uint32_t partition);
    observe::Counter &s3_bytes, &s3_records, &s3_success, &s3_failures, &s3_objects;
    observe::Counter &backup_bytes, &backup_records, &backup_success, &backup_failures;
    observe::Counter &retries_s3, &retries_backup, &retries_warehouse, &retries_error_output;
    observe::Gauge& freshness;
  };
  MetricHandles metrics_;
  // Arrival time of the oldest record read but not yet delivered (0: none), for the
  // DataFreshness gauge, which a registry collector computes at scrape time.
  std::atomic<int64_t> oldest_undelivered_ms_{0};
  uint64_t collector_id_ = 0;
};

// The issue-2 builder: concatenates the records as sent (Firehose adds no delimiter) into one
// staged object.
class ConcatBuilder : public BatchBuilder {
 public:
  // `errors` receives error output (the staged store when null).
  ConcatBuilder(KeyMaker keys, objectstore::ObjectStore* staged,
                objectstore::ObjectStore* errors = nullptr)
      : BatchBuilder(keys, errors != nullptr ? errors : staged),
        keys_(std::move(keys)),
        staged_(staged) {}
  Result<BuiltBatch> Build(const Batch& batch) override;

 private:
  KeyMaker keys_;
  objectstore::ObjectStore* staged_;
};

}  // namespace sluice::pipeline
