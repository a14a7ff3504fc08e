#include "pipeline/delivery_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>

#include "common/crc32c.h"
#include "common/file_util.h"
#include "transform/error_record.h"

namespace sluice::pipeline {
namespace {

constexpr size_t kReadChunkRecords = 1000;

// The errorCode of an error record, in Firehose's "<Destination>.<Problem>" style
// (S3.AccessDenied, ...); the errorMessage carries the store's or database's own text.
std::string ErrorCodeFor(const std::string& error_type, const Status& cause) {
  const bool store = error_type == "delivery-failed";
  switch (cause.code()) {
    case StatusCode::kFailedPrecondition:
      return store ? "S3.AccessDenied" : "Warehouse.AccessDenied";
    case StatusCode::kNotFound: return store ? "S3.NoSuchBucket" : "Warehouse.TableNotFound";
    case StatusCode::kInvalidArgument:
      return store ? "S3.InvalidRequest" : "Warehouse.InvalidRequest";
    case StatusCode::kUnavailable:
      return store ? "S3.ServiceUnavailable" : "Warehouse.ConnectionFailed";
    default: return std::string(store ? "S3." : "Warehouse.") + StatusCodeName(cause.code());
  }
}
constexpr int64_t kPollMs = 200;
// How long a denial or a missing bucket is retried (at most the stream's retry duration).
constexpr int64_t kPersistentErrorRetryMs = 300'000;

}  // namespace

DeliveryWorker::DeliveryWorker(config::StreamConfig stream, uint32_t partition,
                               journal::PartitionLog* log, std::unique_ptr<BatchBuilder> builder,
                               BatchSink* sink, WorkerOptions options)
    : stream_(std::move(stream)),
      partition_(partition),
      log_(log),
      builder_(std::move(builder)),
      sink_(sink),
      options_(std::move(options)),
      drain_ms_(options_.stop_drain_ms) {}

DeliveryWorker::~DeliveryWorker() {
  Abort();
}

void DeliveryWorker::Start() {
  started_ = true;
  log_->SetDataListener([this] { thread_.Wake(); });
  // A thread now only if there is something to do: a batch decided before a restart, or records
  // past the checkpoint. An idle stream holds no thread until records arrive.
  if (HasWork()) thread_.Wake();
}

bool DeliveryWorker::HasWork() const {
  return log_->End() > log_->Checkpoint(kConsumer) || fs::Exists(IntentPath());
}

void DeliveryWorker::Stop() {
  stop_requested_ms_ = options_.clock->MonotonicMs();
  stopping_ = true;
  cv_.notify_all();
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
  cv_.notify_all();
  if (!started_ || finished_) return;
  log_->SetDataListener(nullptr);
  thread_.Join();
  finished_ = true;
}

std::string DeliveryWorker::IntentPath() const {
  return fs::Join(options_.state_dir, "batch.intent");
}

void DeliveryWorker::SleepMs(int64_t ms) {
  if (options_.sleep_for_test) {
    options_.sleep_for_test(ms);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms),
               [this] { return aborting_.load() || stopping_.load(); });
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

Status DeliveryWorker::WithRetries(const std::string& what, const std::function<Status()>& op,
                                   uint32_t* attempts, bool unbounded,
                                   const std::function<int64_t(const Status&)>& budget_ms_for) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t started = options_.clock->MonotonicMs();
  int64_t backoff = options_.initial_backoff_ms;
  for (uint32_t attempt = 1;; ++attempt) {
    if (attempts != nullptr) *attempts = attempt;
    Status st = op();
    if (st.ok()) return st;
    stats_.put_failures++;
    int64_t elapsed = options_.clock->MonotonicMs() - started;
    const int64_t budget_ms =
        budget_ms_for ? budget_ms_for(st) : int64_t{stream_.retry_duration_s} * 1000;
    spdlog::warn("stream {} partition {}: {} failed (attempt {}{}): {}", stream_.name, partition_,
                 what, attempt, !unbounded && budget_ms == 0 ? ", not retryable" : "",
                 st.ToString());
    // A stopping worker gives up after one failure: the batch stays in the journal and its
    // intent is kept, so the next start redelivers it identically.
    if (aborting_ || stopping_ || (!unbounded && elapsed >= budget_ms)) return st;
    std::uniform_int_distribution<int64_t> jitter(0, backoff);
    SleepMs(unbounded ? jitter(rng) : std::min(jitter(rng), budget_ms - elapsed));
    backoff = std::min(options_.max_backoff_ms, backoff * 2);
  }
}

Status DeliveryWorker::WriteIntent(const Batch& b) {
  char body[160];
  std::snprintf(body, sizeof body,
                "sluice-batch-intent v1 %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64, b.id.first,
                b.id.end, b.version, b.oldest_ms);
  char line[200];
  std::snprintf(line, sizeof line, "%s %08x\n", body, crc32c::Mask(crc32c::Value(body)));
  return fs::WriteFileAtomically(IntentPath(), line);
}

Status DeliveryWorker::LoadPendingIntent(Batch& b, bool& found) {
  found = false;
  auto text = fs::ReadFile(IntentPath());
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return Status::Ok();
    return text.status();
  }
  uint64_t first = 0, end = 0, version = 0;
  int64_t oldest = 0;
  unsigned crc = 0;
  char magic[32], ver[8];
  int n = std::sscanf(text->c_str(), "%31s %7s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNd64 " %x",
                      magic, ver, &first, &end, &version, &oldest, &crc);
  size_t body_len = text->rfind(' ');
  if (n != 7 || std::string(magic) != "sluice-batch-intent" || body_len == std::string::npos ||
      crc32c::Unmask(crc) != crc32c::Value(text->data(), body_len)) {
    return Status::Corruption(
        IntentPath() + ": batch intent is damaged; delete it to redeliver from the checkpoint");
  }
  journal::Offset checkpoint = log_->Checkpoint(kConsumer);
  if (first != checkpoint.value || end <= first) return Status::Ok();  // already delivered
  b.id = BatchId{stream_.name, partition_, first, end};
  b.version = version;
  b.oldest_ms = oldest;
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
    batch.version = stream_.version;
    batch.id = BatchId{stream_.name, partition_, batch.records.front().offset.value,
                       batch.records.back().offset.value + 1};
    batch.oldest_ms = batch.records.front().arrival_ms;
    for (const auto& r : batch.records) batch.oldest_ms = std::min(batch.oldest_ms, r.arrival_ms);
    return true;
  }
}

Status DeliveryWorker::DeliverBatch(const Batch& batch) {
  SLUICE_RETURN_IF_ERROR(
      WithRetries("recording batch " + batch.id.ToString(), [&] { return WriteIntent(batch); }));
  auto built = builder_->Build(batch);
  if (!built.ok()) {
    // A batch whose objects cannot even be named or built the same way every time (an invalid
    // key from a partition key value): error output now, instead of retrying forever.
    if (built.status().code() != StatusCode::kInvalidArgument) return built.status();
    SLUICE_RETURN_IF_ERROR(DivertToErrorOutput(batch, "delivery-failed", built.status(), 1));
    return Checkpoint(batch, {});
  }
  BuiltBatch built_batch = std::move(built).value();
  const std::vector<OutputObject>& outputs = built_batch.outputs;
  bool diverted = false;
  const auto store_budget = [this](const Status& st) {
    return StoreRetryBudgetMs(st, stream_.retry_duration_s);
  };
  for (const OutputObject& out : outputs) {
    uint32_t attempts = 0;
    Status st = WithRetries(
        "put " + out.store->Describe() + "/" + out.key,
        [&] { return out.store->Put(out.key, out.data); }, &attempts, false, store_budget);
    if (!st.ok()) {
      if (stopping_ || aborting_) return st;
      SLUICE_RETURN_IF_ERROR(DivertToErrorOutput(batch, "delivery-failed", st, attempts));
      diverted = true;
      break;
    }
  }
  if (sink_ != nullptr && !diverted) {
    uint32_t attempts = 0;
    Status st = WithRetries(
        "loading batch " + batch.id.ToString(), [&] { return sink_->Deliver(batch, built_batch); },
        &attempts, false,
        [this](const Status& s) {
          return sink_->IsRetryable(s) ? int64_t{sink_->RetryDurationS()} * 1000 : 0;
        });
    if (!st.ok()) {
      if (stopping_ || aborting_) return st;
      SLUICE_RETURN_IF_ERROR(DivertToErrorOutput(batch, "warehouse-failed", st, attempts));
    }
  }
  return Checkpoint(batch, outputs);
}

Status DeliveryWorker::Checkpoint(const Batch& batch, const std::vector<OutputObject>& outputs) {
  SLUICE_RETURN_IF_ERROR(WithRetries("checkpoint " + batch.id.ToString(), [&] {
    return log_->CommitCheckpoint(kConsumer, journal::Offset{batch.id.end});
  }));
  // Retention: delete delivered segments older than the stream's retention, or past its size (an
  // equal share per partition), at most once a minute.
  const int64_t now = options_.clock->MonotonicMs();
  if (now - last_retention_ms_ >= 60'000 || last_retention_ms_ == 0) {
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
  stats_.batches_delivered++;
  stats_.records_delivered += batch.records.size();
  stats_.bytes_delivered += batch.bytes;
  stats_.last_delivery_ms = options_.clock->NowMs();
  spdlog::debug("stream {} partition {}: delivered batch {} ({} records, {} bytes, {} objects)",
                stream_.name, partition_, batch.id.ToString(), batch.records.size(), batch.bytes,
                outputs.size());
  return Status::Ok();
}

Status DeliveryWorker::DivertToErrorOutput(const Batch& batch, const std::string& error_type,
                                           const Status& cause, uint32_t attempts) {
  spdlog::error(
      "stream {} partition {}: batch {} ({} records) failed after {} attempt(s) (retry duration "
      "{} s); writing it to error output as {}: {}",
      stream_.name, partition_, batch.id.ToString(), batch.records.size(), attempts,
      error_type == "warehouse-failed" && sink_ != nullptr ? sink_->RetryDurationS()
                                                           : stream_.retry_duration_s,
      error_type, cause.ToString());
  SLUICE_ASSIGN_OR_RETURN(
      OutputObject out,
      builder_->BuildErrorOutput(batch, error_type, ErrorCodeFor(error_type, cause),
                                 cause.message(), options_.clock->NowMs(), attempts));
  SLUICE_RETURN_IF_ERROR(WithRetries(
      "error output " + out.store->Describe() + "/" + out.key,
      [&] { return out.store->Put(out.key, out.data); }, nullptr, /*unbounded=*/true));
  stats_.error_output_batches++;
  return Status::Ok();
}

Status DeliveryWorker::DrainForTest() {
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(options_.state_dir));
  Batch pending;
  bool found = false;
  SLUICE_RETURN_IF_ERROR(LoadPendingIntent(pending, found));
  if (found) {
    SLUICE_RETURN_IF_ERROR(ReadRange(pending));
    SLUICE_RETURN_IF_ERROR(DeliverBatch(pending));
    stats_.redelivered_batches++;
  }
  SLUICE_ASSIGN_OR_RETURN(reader_, log_->NewReader());
  next_read_ = log_->Checkpoint(kConsumer);
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
    Status st = fs::CreateDirs(options_.state_dir);
    Batch pending;
    bool found = false;
    if (st.ok()) st = LoadPendingIntent(pending, found);
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
        next_read_ = log_->Checkpoint(kConsumer);
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

Result<OutputObject> BatchBuilder::BuildErrorOutput(const Batch& batch,
                                                    const std::string& error_type,
                                                    const std::string& error_code,
                                                    const std::string& error_message,
                                                    int64_t now_ms, uint32_t attempts) const {
  OutputObject out;
  out.store = errors_;
  out.kind = error_type;
  SLUICE_ASSIGN_OR_RETURN(
      out.key, error_keys_.ErrorKey(batch.id, batch.version, batch.oldest_ms, error_type));
  for (const auto& r : batch.records) {
    transform::ErrorRecord e;
    e.attempts_made = attempts;
    e.arrival_ms = r.arrival_ms;
    e.error_code = error_code;
    e.error_message = error_message;
    e.attempt_ending_ms = now_ms;
    e.raw_data = r.data;
    transform::AppendErrorRecord(e, out.data);
  }
  return out;
}

Result<BuiltBatch> ConcatBuilder::Build(const Batch& batch) {
  OutputObject out;
  out.store = staged_;
  out.kind = "staged";
  SLUICE_ASSIGN_OR_RETURN(out.key, keys_.StagedKey(batch.id, batch.version, batch.oldest_ms));
  out.data.reserve(batch.bytes);
  for (const auto& r : batch.records) out.data += r.data;
  BuiltBatch built;
  built.outputs.push_back(std::move(out));
  return built;
}

}  // namespace sluice::pipeline
