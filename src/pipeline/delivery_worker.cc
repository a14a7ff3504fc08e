#include "pipeline/delivery_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "common/crc32c.h"
#include "common/file_util.h"
#include "pipeline/metrics.h"

namespace sluice::pipeline {
namespace {

constexpr size_t kReadChunkRecords = 1000;

constexpr int64_t kPollMs = 200;
// How long a denial or a missing bucket is retried (at most the stream's retry duration).
constexpr int64_t kPersistentErrorRetryMs = 300'000;

}  // namespace

DeliveryWorker::DeliveryWorker(const config::StreamConfig& stream, uint32_t partition,
                               journal::PartitionLog* log, std::unique_ptr<BatchBuilder> builder,
                               BatchSink* sink, WorkerOptions options)
    : DeliveryWorker(stream,
                     std::make_unique<streams::Consumer>(stream.name, partition, kConsumer, log),
                     std::move(builder), sink, std::move(options)) {}

DeliveryWorker::DeliveryWorker(config::StreamConfig stream,
                               std::unique_ptr<streams::Consumer> consumer,
                               std::unique_ptr<BatchBuilder> builder, BatchSink* sink,
                               WorkerOptions options)
    : stream_(std::move(stream)),
      partition_(consumer->shard()),
      log_(std::move(consumer)),
      builder_(std::move(builder)),
      sink_(sink),
      options_(std::move(options)),
      drain_ms_(options_.stop_drain_ms),
      retrier_(
          RetryPolicy{options_.initial_backoff_ms, options_.max_backoff_ms}, *options_.clock,
          [this] { return aborting_.load() || stopping_.load(); },
          [this](int64_t ms) { SleepMs(ms); }),
      metrics_(stream_.name, partition_) {
  collector_id_ = observe::Registry::Default().AddCollector([this] {
    const int64_t oldest = oldest_undelivered_ms_.load(std::memory_order_relaxed);
    metrics_.freshness.Set(
        oldest == 0
            ? 0.0
            : static_cast<double>(std::max<int64_t>(options_.clock->NowMs() - oldest, 0)) / 1000.0);
  });
}

DeliveryWorker::MetricHandles::MetricHandles(const std::string& stream, uint32_t partition)
    : s3_bytes(Metrics().delivery_to_s3_bytes.With({stream, std::to_string(partition)})),
      s3_records(Metrics().delivery_to_s3_records.With({stream, std::to_string(partition)})),
      s3_success(Metrics().delivery_to_s3_success.With({stream, std::to_string(partition)})),
      s3_failures(Metrics().delivery_to_s3_failures.With({stream, std::to_string(partition)})),
      s3_objects(Metrics().delivery_to_s3_object_count.With({stream, std::to_string(partition)})),
      backup_bytes(Metrics().backup_to_s3_bytes.With({stream, std::to_string(partition)})),
      backup_records(Metrics().backup_to_s3_records.With({stream, std::to_string(partition)})),
      backup_success(Metrics().backup_to_s3_success.With({stream, std::to_string(partition)})),
      backup_failures(Metrics().backup_to_s3_failures.With({stream, std::to_string(partition)})),
      retries_s3(Metrics().retries.With({stream, "s3"})),
      retries_backup(Metrics().retries.With({stream, "backup"})),
      retries_warehouse(Metrics().retries.With({stream, "warehouse"})),
      retries_error_output(Metrics().retries.With({stream, "error_output"})),
      freshness(Metrics().delivery_to_s3_data_freshness.With({stream, std::to_string(partition)})) {
}

DeliveryWorker::~DeliveryWorker() {
  Abort();
  observe::Registry::Default().RemoveCollector(collector_id_);
}

void DeliveryWorker::Start() {
  started_ = true;
  log_->SetDataListener([this] { thread_.Wake(); });
  // A thread now only if there is something to do: a batch decided before a restart, or records
  // past the checkpoint. An idle stream holds no thread until records arrive.
  if (HasWork()) thread_.Wake();
}

bool DeliveryWorker::HasWork() const {
  journal::ConsumerState committed = log_->Committed();
  return log_->End() > committed.next || committed.intent || LegacyIntentExists();
}

void DeliveryWorker::Stop() {
  stop_requested_ms_ = options_.clock->MonotonicMs();
  stopping_ = true;
  cv_.NotifyAll();
  if (!started_ || finished_) return;
  log_->SetDataListener(nullptr);
  // One more pass delivers what is buffered; an idle worker (no thread, nothing past the
  // checkpoint) has nothing to flush.
  if (thread_.running() || HasWork()) thread_.Wake();
  thread_.Join();
  finished_ = true;  // the log may be gone after this (a deleted stream): never touch it again
}

void DeliveryWorker::Handover() {
  drain_ms_ = -1;
  Stop();
}

void DeliveryWorker::Abort() {
  aborting_ = true;
  stopping_ = true;
  cv_.NotifyAll();
  if (!started_ || finished_) return;
  log_->SetDataListener(nullptr);
  thread_.Join();
  finished_ = true;
}

std::string DeliveryWorker::LegacyIntentPath() const {
  return options_.state_dir.empty() ? std::string() : fs::Join(options_.state_dir, "batch.intent");
}

bool DeliveryWorker::LegacyIntentExists() const {
  return !options_.state_dir.empty() && fs::Exists(LegacyIntentPath());
}

void DeliveryWorker::SleepMs(int64_t ms) {
  if (options_.sleep_for_test) {
    options_.sleep_for_test(ms);
    return;
  }
  // Interrupted by Stop/Abort (which notify without the mutex: the flags are atomics, and a
  // missed notification costs at most this one sleep).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  MutexLock lock(mu_);
  while (!aborting_.load() && !stopping_.load()) {
    if (cv_.WaitUntil(mu_, deadline)) break;
  }
}

int64_t StoreRetryBudgetMs(const Status& st, uint32_t retry_duration_s) {
  const int64_t full = int64_t{retry_duration_s} * 1000;
  switch (st.code()) {
    // The store refuses this request and will refuse it the same way again (an invalid key, a
    // malformed request): retrying cannot help, the records go to error output at once.
    case StatusCode::kInvalidArgument: return 0;
    // Access denied, no such bucket: a configuration an operator may be fixing right now, so a
    // few minutes of retries; a denial that does not change goes to error output then, not after
    // a day.
    case StatusCode::kFailedPrecondition:
    case StatusCode::kNotFound: return std::min(full, kPersistentErrorRetryMs);
    // Unavailable, throttled, a full or failing disk: transient, retried for the whole duration.
    default: return full;
  }
}

Retrier::Outcome DeliveryWorker::WithRetries(const std::string& what,
                                             const std::function<Status()>& op,
                                             const RetryBudget& budget, observe::Counter* failures,
                                             observe::Counter* retries) {
  // A stopping worker gives up after one failure (the Retrier is cancelled): the batch stays in
  // the journal and its intent is kept, so the next start redelivers it identically.
  return retrier_.Run(op, budget, [&](const Status& st, uint32_t attempt, int64_t budget_ms) {
    stats_.put_failures++;
    if (failures != nullptr) failures->Inc();
    if (retries != nullptr) retries->Inc();
    spdlog::warn("stream {} partition {}: {} failed (attempt {}{}): {}", stream_.name, partition_,
                 what, attempt, budget_ms == 0 ? ", not retryable" : "", st.ToString());
  });
}

Status DeliveryWorker::WriteIntent(const Batch& b) {
  return log_->Commit(journal::ConsumerState{
      journal::Offset{b.id.first},
      journal::BatchIntent{journal::Offset{b.id.end}, b.version, b.oldest_ms}});
}

Status DeliveryWorker::MigrateLegacyIntent() {
  // Before the intent was consumer state, it was the file <state_dir>/batch.intent, one line:
  // "sluice-batch-intent v1 <first> <end> <version> <oldest_ms> <masked crc32c, hex>". A pending
  // one is taken over once (committed as the consumer's intent), then the file goes.
  if (!LegacyIntentExists()) return Status::Ok();
  const std::string path = LegacyIntentPath();
  SLUICE_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
  uint64_t first = 0, end = 0, version = 0;
  int64_t oldest = 0;
  unsigned crc = 0;
  char magic[32], ver[8];
  int n = std::sscanf(text.c_str(), "%31s %7s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNd64 " %x",
                      magic, ver, &first, &end, &version, &oldest, &crc);
  size_t body_len = text.rfind(' ');
  if (n != 7 || std::string(magic) != "sluice-batch-intent" || body_len == std::string::npos ||
      crc32c::Unmask(crc) != crc32c::Value(text.data(), body_len)) {
    return Status::Corruption(
        path + ": batch intent is damaged; delete it to redeliver from the checkpoint");
  }
  journal::ConsumerState committed = log_->Committed();
  if (first == committed.next.value && end > first && end <= log_->End().value &&
      !committed.intent) {
    SLUICE_RETURN_IF_ERROR(log_->Commit(journal::ConsumerState{
        committed.next, journal::BatchIntent{journal::Offset{end}, version, oldest}}));
    spdlog::info("stream {} partition {}: took over the pending batch intent of {}", stream_.name,
                 partition_, path);
  }
  return fs::RemoveFile(path);
}

Status DeliveryWorker::LoadPendingIntent(Batch& b, bool& found) {
  found = false;
  SLUICE_RETURN_IF_ERROR(MigrateLegacyIntent());
  journal::ConsumerState committed = log_->Committed();
  if (!committed.intent) return Status::Ok();
  b.id = BatchId{stream_.name, partition_, committed.next.value, committed.intent->end.value};
  b.version = committed.intent->version;
  b.oldest_ms = committed.intent->oldest_ms;
  found = true;
  return Status::Ok();
}

Status DeliveryWorker::ReadRange(Batch& b) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<journal::Reader> reader, log_->NewReader());
  SLUICE_RETURN_IF_ERROR(reader->Seek(journal::Offset{b.id.first}));
  b.records.clear();
  b.bytes = 0;
  uint64_t want = b.id.end - b.id.first;
  while (b.records.size() < want) {
    SLUICE_ASSIGN_OR_RETURN(
        size_t n, reader->Next(std::min<uint64_t>(kReadChunkRecords, want - b.records.size()),
                               64u << 20, b.records));
    if (n == 0) {
      return Status::Corruption("stream " + stream_.name + " partition " +
                                std::to_string(partition_) + ": batch " + b.id.ToString() +
                                " is no longer fully in the journal");
    }
  }
  b.records.resize(want);
  for (const auto& r : b.records) b.bytes += r.data.size();
  return Status::Ok();
}

Result<bool> DeliveryWorker::NextBatch(Batch& batch, bool flush_all) {
  const size_t size_limit = static_cast<size_t>(stream_.buffering.size_mb) << 20;
  const int64_t interval_ms = static_cast<int64_t>(stream_.buffering.interval_s) * 1000;
  for (;;) {
    while (pending_bytes_ < size_limit) {
      size_t before = pending_.size();
      SLUICE_ASSIGN_OR_RETURN(
          size_t n, reader_->Next(kReadChunkRecords, size_limit - pending_bytes_, pending_));
      if (n == 0) break;
      for (size_t i = before; i < pending_.size(); ++i) pending_bytes_ += pending_[i].data.size();
      next_read_ = pending_.back().offset.Next();
    }
    if (!pending_.empty() && oldest_undelivered_ms_.load(std::memory_order_relaxed) == 0) {
      oldest_undelivered_ms_.store(pending_.front().arrival_ms, std::memory_order_relaxed);
    }
    bool stopping = stopping_.load() || flush_all;
    if (pending_.empty()) {
      if (stopping) return false;
      log_->WaitForData(next_read_, kPollMs);
      if (stopping_) continue;  // one more read, then deliver or return
      return false;
    }
    int64_t oldest = pending_.front().arrival_ms;
    int64_t now = options_.clock->NowMs();
    bool ready = pending_bytes_ >= size_limit || stopping || now - oldest >= interval_ms;
    if (!ready) {
      int64_t wait = std::min<int64_t>(kPollMs, oldest + interval_ms - now);
      log_->WaitForData(next_read_, std::max<int64_t>(wait, 1));
      if (log_->End() <= next_read_ && options_.clock->NowMs() - oldest < interval_ms &&
          !stopping_) {
        return false;  // let Run re-check stop flags, then come back
      }
      continue;
    }
    // Cut: records in order while the batch stays within the size hint (at least one).
    size_t take = 0, bytes = 0;
    while (take < pending_.size() &&
           (take == 0 || bytes + pending_[take].data.size() <= size_limit)) {
      bytes += pending_[take].data.size();
      ++take;
    }
    batch = Batch{};
    batch.records.assign(std::make_move_iterator(pending_.begin()),
                         std::make_move_iterator(pending_.begin() + static_cast<long>(take)));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(take));
    pending_bytes_ -= bytes;
    batch.bytes = bytes;
    batch.version = options_.version;
    batch.id = BatchId{stream_.name, partition_, batch.records.front().offset.value,
                       batch.records.back().offset.value + 1};
    batch.oldest_ms = batch.records.front().arrival_ms;
    for (const auto& r : batch.records) batch.oldest_ms = std::min(batch.oldest_ms, r.arrival_ms);
    return true;
  }
}

void DeliveryWorker::CountPut(const Batch& batch, const OutputObject& out) {
  switch (out.kind) {
    case OutputKind::kStaged:
      metrics_.s3_bytes.Inc(out.data.size());
      metrics_.s3_success.Inc();
      metrics_.s3_objects.Inc();
      break;
    case OutputKind::kRaw:
      metrics_.backup_bytes.Inc(out.data.size());
      metrics_.backup_records.Inc(batch.records.size());
      metrics_.backup_success.Inc();
      break;
    case OutputKind::kErrors:
      // Error records are JSON lines: one line per failed record.
      Metrics()
          .error_output_records
          .With({stream_.name, std::string(ToString(
                                   out.error_type.value_or(ErrorOutputType::kProcessingFailed)))})
          .Inc(static_cast<uint64_t>(std::count(out.data.begin(), out.data.end(), '\n')));
      break;
  }
}

Status DeliveryWorker::DeliverBatch(const Batch& batch) {
  oldest_undelivered_ms_.store(batch.oldest_ms, std::memory_order_relaxed);
  const RetryBudget stream_budget = FixedBudget(int64_t{stream_.retry_duration_s} * 1000);
  SLUICE_RETURN_IF_ERROR(WithRetries(
                             "recording batch " + batch.id.ToString(),
                             [&] { return WriteIntent(batch); }, stream_budget)
                             .status);
  auto built = builder_->Build(batch);
  if (!built.ok()) {
    // A batch whose objects cannot even be named or built the same way every time (an invalid
    // key from a partition key value): error output now, instead of retrying forever.
    if (built.status().code() != StatusCode::kInvalidArgument) return built.status();
    SLUICE_RETURN_IF_ERROR(
        DivertToErrorOutput(batch, ErrorOutputType::kDeliveryFailed, built.status(), 1));
    return Checkpoint(batch, {});
  }
  BuiltBatch built_batch = std::move(built).value();
  const uint64_t staged_records = built_batch.staged_records.value_or(batch.records.size());
  const std::vector<OutputObject>& outputs = built_batch.outputs;
  bool diverted = false;
  const auto store_budget = [this](const Status& st) {
    return StoreRetryBudgetMs(st, stream_.retry_duration_s);
  };
  for (const OutputObject& out : outputs) {
    observe::Counter* failures = nullptr;
    observe::Counter* retries = &metrics_.retries_error_output;
    if (out.kind == OutputKind::kStaged) {
      failures = &metrics_.s3_failures;
      retries = &metrics_.retries_s3;
    } else if (out.kind == OutputKind::kRaw) {
      failures = &metrics_.backup_failures;
      retries = &metrics_.retries_backup;
    }
    Retrier::Outcome put = WithRetries(
        "put " + out.store->Describe() + "/" + out.key,
        [&] { return out.store->Put(out.key, out.data); }, store_budget, failures, retries);
    if (put.ok()) CountPut(batch, out);
    if (!put.ok()) {
      if (stopping_ || aborting_) return put.status;
      SLUICE_RETURN_IF_ERROR(
          DivertToErrorOutput(batch, ErrorOutputType::kDeliveryFailed, put.status, put.attempts));
      diverted = true;
      break;
    }
  }
  if (!diverted) metrics_.s3_records.Inc(staged_records);
  if (sink_ != nullptr && !diverted) {
    Retrier::Outcome load = WithRetries(
        "loading batch " + batch.id.ToString(), [&] { return sink_->Deliver(batch, built_batch); },
        [this](const Status& s) {
          return sink_->IsRetryable(s) ? int64_t{sink_->RetryDurationS()} * 1000 : 0;
        },
        nullptr, &metrics_.retries_warehouse);
    if (!load.ok()) {
      if (stopping_ || aborting_) return load.status;
      SLUICE_RETURN_IF_ERROR(DivertToErrorOutput(batch, ErrorOutputType::kWarehouseFailed,
                                                 load.status, load.attempts));
    }
  }
  return Checkpoint(batch, outputs);
}

Status DeliveryWorker::Checkpoint(const Batch& batch, const std::vector<OutputObject>& outputs) {
  SLUICE_RETURN_IF_ERROR(WithRetries(
                             "checkpoint " + batch.id.ToString(),
                             [&] {
                               return log_->Commit(journal::ConsumerState{
                                   journal::Offset{batch.id.end}, std::nullopt});
                             },
                             FixedBudget(int64_t{stream_.retry_duration_s} * 1000))
                             .status);
  // Retention: delete delivered segments older than the stream's retention, or past its size (an
  // equal share per partition), at most once a minute.
  const int64_t now = options_.clock->MonotonicMs();
  if (options_.apply_retention && (now - last_retention_ms_ >= 60'000 || last_retention_ms_ == 0)) {
    last_retention_ms_ = now;
    journal::Retention retention;
    retention.max_age_ms = static_cast<int64_t>(stream_.retention_hours) * 3600 * 1000;
    retention.max_delivered_bytes =
        (uint64_t{stream_.retention_mb} << 20) / std::max<uint32_t>(stream_.partitions, 1);
    auto deleted = log_->ApplyRetention(retention);
    if (!deleted.ok()) {
      spdlog::warn("stream {} partition {}: retention failed: {}", stream_.name, partition_,
                   deleted.status().ToString());
    } else if (*deleted > 0) {
      spdlog::info("stream {} partition {}: retention deleted {} segment(s)", stream_.name,
                   partition_, *deleted);
    }
  }
  oldest_undelivered_ms_.store(pending_.empty() ? 0 : pending_.front().arrival_ms,
                               std::memory_order_relaxed);
  stats_.batches_delivered++;
  stats_.records_delivered += batch.records.size();
  stats_.bytes_delivered += batch.bytes;
  stats_.last_delivery_ms = options_.clock->NowMs();
  spdlog::debug("stream {} partition {}: delivered batch {} ({} records, {} bytes, {} objects)",
                stream_.name, partition_, batch.id.ToString(), batch.records.size(), batch.bytes,
                outputs.size());
  return Status::Ok();
}

Status DeliveryWorker::DivertToErrorOutput(const Batch& batch, ErrorOutputType type,
                                           const Status& cause, uint32_t attempts) {
  spdlog::error(
      "stream {} partition {}: batch {} ({} records) failed after {} attempt(s) (retry duration "
      "{} s); writing it to error output as {}: {}",
      stream_.name, partition_, batch.id.ToString(), batch.records.size(), attempts,
      type == ErrorOutputType::kWarehouseFailed && sink_ != nullptr ? sink_->RetryDurationS()
                                                                    : stream_.retry_duration_s,
      ToString(type), cause.ToString());
  const std::string code = ErrorCodeFor(type, cause);
  SLUICE_ASSIGN_OR_RETURN(
      OutputObject out,
      builder_->error_output().ForBatch(
          batch, type, ErrorDetail{attempts, code, cause.message(), options_.clock->NowMs()}));
  SLUICE_RETURN_IF_ERROR(WithRetries(
                             "error output " + out.store->Describe() + "/" + out.key,
                             [&] { return out.store->Put(out.key, out.data); },
                             FixedBudget(kRetryForever), nullptr, &metrics_.retries_error_output)
                             .status);
  stats_.error_output_batches++;
  Metrics()
      .error_output_records.With({stream_.name, std::string(ToString(type))})
      .Inc(batch.records.size());
  return Status::Ok();
}

Status DeliveryWorker::DrainForTest() {
  Batch pending;
  bool found = false;
  SLUICE_RETURN_IF_ERROR(LoadPendingIntent(pending, found));
  if (found) {
    SLUICE_RETURN_IF_ERROR(ReadRange(pending));
    SLUICE_RETURN_IF_ERROR(DeliverBatch(pending));
    stats_.redelivered_batches++;
  }
  SLUICE_ASSIGN_OR_RETURN(reader_, log_->NewReader());
  next_read_ = log_->Committed().next;
  SLUICE_RETURN_IF_ERROR(reader_->Seek(next_read_));
  for (;;) {
    Batch batch;
    SLUICE_ASSIGN_OR_RETURN(bool got, NextBatch(batch, /*flush_all=*/true));
    if (!got) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(DeliverBatch(batch));
  }
}

void DeliveryWorker::Run() {
  // Start-up (at every wake: the previous pass ended caught up, with nothing buffered): recover a
  // batch that was decided but not checkpointed, then follow the log from the checkpoint.
  pending_.clear();
  pending_bytes_ = 0;
  for (;;) {
    Batch pending;
    bool found = false;
    Status st = LoadPendingIntent(pending, found);
    if (st.ok() && found) {
      st = ReadRange(pending);
      if (st.ok()) st = DeliverBatch(pending);
      if (st.ok()) {
        stats_.redelivered_batches++;
        spdlog::info("stream {} partition {}: redelivered batch {} after restart", stream_.name,
                     partition_, pending.id.ToString());
      }
    }
    if (st.ok()) {
      auto reader = log_->NewReader();
      st = reader.status();
      if (st.ok()) {
        reader_ = std::move(reader).value();
        next_read_ = log_->Committed().next;
        st = reader_->Seek(next_read_);
      }
    }
    if (st.ok()) break;
    spdlog::error("stream {} partition {}: delivery cannot start: {}", stream_.name, partition_,
                  st.ToString());
    if (stopping_) return;
    SleepMs(options_.max_backoff_ms);
  }

  Batch batch;
  bool have_batch = false;
  while (!aborting_) {
    if (!have_batch && stopping_ &&
        options_.clock->MonotonicMs() - stop_requested_ms_.load() > drain_ms_.load()) {
      // A large backlog is not drained at shutdown: it is durable in the journal, and the next
      // start (or, after a Handover, the next generation's worker) delivers it.
      if (drain_ms_.load() >= 0) {
        spdlog::warn(
            "stream {} partition {}: stopping with undelivered records still in the journal "
            "(drain time of {} ms used up); they are delivered at the next start",
            stream_.name, partition_, drain_ms_.load());
      }
      return;
    }
    if (!have_batch) {
      auto got = NextBatch(batch, false);
      if (!got.ok()) {
        spdlog::error("stream {} partition {}: reading the journal failed: {}", stream_.name,
                      partition_, got.status().ToString());
        if (stopping_) return;
        SleepMs(options_.max_backoff_ms);
        continue;
      }
      if (!*got) {
        // Caught up with nothing buffered: give the thread back. The journal's data listener
        // wakes this worker again when records arrive; the reader is made anew then.
        if (pending_.empty() && log_->End() <= next_read_) {
          reader_.reset();
          return;
        }
        continue;
      }
      have_batch = true;
    }
    Status st = DeliverBatch(batch);
    if (st.ok()) {
      have_batch = false;
      continue;
    }
    if (stopping_) {
      spdlog::error(
          "stream {} partition {}: stopping with batch {} undelivered (it stays in the journal): "
          "{}",
          stream_.name, partition_, batch.id.ToString(), st.ToString());
      return;
    }
    spdlog::error(
        "stream {} partition {}: batch {} not delivered within {} s; retrying (data is kept): {}",
        stream_.name, partition_, batch.id.ToString(), stream_.retry_duration_s, st.ToString());
    SleepMs(options_.max_backoff_ms);
  }
}

Result<BuiltBatch> ConcatBuilder::Build(const Batch& batch) {
  OutputObject out;
  out.store = staged_;
  out.kind = OutputKind::kStaged;
  SLUICE_ASSIGN_OR_RETURN(out.key, keys_.StagedKey(batch.id, batch.version, batch.oldest_ms));
  out.data.reserve(batch.bytes);
  for (const auto& r : batch.records) out.data += r.data;
  BuiltBatch built;
  built.outputs.push_back(std::move(out));
  return built;
}

}  // namespace sluice::pipeline
