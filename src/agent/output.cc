#include "agent/output.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "agent/spool.h"
#include "client/record_sender.h"
#include "common/clock.h"

namespace sluice::agent {
namespace {

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Output::Output(OutputConfig config, std::vector<journal::PartitionLog*> logs)
    : config_(std::move(config)), rng_(std::random_device{}()) {
  for (auto* log : logs) sources_.push_back(Source{log, nullptr, {}});
}

Output::~Output() {
  for (auto& s : sources_) s.log->SetDataListener("output-" + config_.name, nullptr);
}

Status Output::Start() {
  SLUICE_ASSIGN_OR_RETURN(
      client_, client::AwsJsonClient::Create(config_.api, config_.endpoint, config_.region,
                                             config_.request_timeout_s));
  for (auto& s : sources_) {
    const journal::ConsumerState state = s.log->Committed(config_.name);
    s.next = std::max(state.next, s.log->Begin());
    if (state.intent && state.intent->end > s.next) {
      const uint64_t n = state.intent->end.value - s.next.value;
      counters_.resent_after_crash.fetch_add(n);
      spdlog::warn(
          "output {}: resending {} record(s) whose delivery was not confirmed before the agent "
          "stopped (possible duplicates)",
          config_.name, n);
    }
    SLUICE_ASSIGN_OR_RETURN(s.reader, s.log->NewReader());
    SLUICE_RETURN_IF_ERROR(s.reader->Seek(s.next));
    s.log->SetDataListener("output-" + config_.name, [this] {
      std::lock_guard<std::mutex> lock(mu_);
      data_ = true;
      cv_.notify_all();
    });
  }
  return Status::Ok();
}

uint64_t Output::Backlog() const {
  uint64_t n = 0;
  for (const auto& s : sources_) n += s.log->End().value - std::min(s.log->End(), s.next).value;
  return n;
}

std::string Output::PartitionKey(std::string_view data) {
  if (!config_.partition_key_field.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (!parser.parse(data.data(), data.size()).get(doc)) {
      simdjson::dom::element v = doc;
      bool ok = true;
      size_t start = 0;
      const std::string& path = config_.partition_key_field;
      while (ok && start <= path.size()) {
        size_t dot = path.find('.', start);
        if (dot == std::string::npos) dot = path.size();
        ok = !v.at_key(std::string_view(path).substr(start, dot - start)).get(v);
        start = dot + 1;
      }
      if (ok) {
        std::string key;
        std::string_view s;
        if (!v.get(s)) {
          key = std::string(s);
        } else if (v.is_number() || v.is_bool()) {
          key = simdjson::minify(v);
        }
        if (!key.empty() && key.size() <= client::kKinesisMaxPartitionKeyChars) return key;
      }
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(SplitMix(rng_)));
  return buf;
}

void Output::Sleep(int64_t ms, const std::atomic<bool>& hard_stop) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!hard_stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(ms, 50)));
  }
}

Result<size_t> Output::SendOne(Source& src, const std::atomic<bool>& hard_stop) {
  std::vector<journal::StoredRecord> stored;
  const size_t max_bytes = client::MaxBatchBytes(config_.api);
  SLUICE_ASSIGN_OR_RETURN(size_t n,
                          src.reader->Next(config_.max_batch_records, max_bytes / 2, stored));
  if (n == 0) return 0;
  std::vector<client::OutgoingRecord> batch;
  batch.reserve(n);
  size_t bytes = 0;
  for (const auto& r : stored) {
    SLUICE_ASSIGN_OR_RETURN(Envelope e, DecodeEnvelope(r.data));
    client::OutgoingRecord rec;
    rec.data = std::string(e.data);
    if (config_.api == client::AwsApi::kKinesis) rec.partition_key = PartitionKey(rec.data);
    const size_t size = rec.data.size() + rec.partition_key.size();
    if (!batch.empty() && bytes + size > max_bytes) break;
    bytes += size;
    batch.push_back(std::move(rec));
  }
  const journal::Offset end = src.next.Next(batch.size());
  if (batch.size() < n) SLUICE_RETURN_IF_ERROR(src.reader->Seek(end));
  SLUICE_RETURN_IF_ERROR(src.log->Commit(
      config_.name, journal::ConsumerState{src.next, journal::BatchIntent{end, 0, 0}}));
  std::vector<size_t> pending(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) pending[i] = i;
  int64_t backoff = config_.backoff_base_ms;
  std::string last_logged;
  while (!pending.empty()) {
    if (hard_stop.load()) return Status::Cancelled("stopped before the batch was acknowledged");
    counters_.requests.fetch_add(1);
    client::PutAttempt a =
        client::PutBatchOnce(*client_, config_.api, config_.stream, batch, pending);
    std::vector<size_t> still;
    std::string error;
    if (a.kind == client::PutAttempt::Kind::kAnswered) {
      for (size_t k = 0; k < pending.size(); ++k) {
        if (!a.entry_errors[k].empty()) {
          still.push_back(pending[k]);
          error = a.entry_errors[k];
        }
      }
      counters_.sent.fetch_add(pending.size() - still.size());
      counters_.last_success_ms.store(Clock::System().NowMs());
      if (still.size() < pending.size()) backoff = config_.backoff_base_ms;
    } else {
      still = pending;
      error = a.error;
    }
    if (still.empty()) break;
    counters_.retried.fetch_add(still.size());
    int64_t wait = backoff;
    if (a.kind == client::PutAttempt::Kind::kFatal) wait = config_.backoff_max_ms;
    if (error != last_logged) {
      spdlog::warn("output {}: {} of {} record(s) not accepted, retrying: {}", config_.name,
                   still.size(), batch.size(), error);
      last_logged = error;
    }
    // Equal jitter: uniform in [wait/2, wait].
    const int64_t jittered =
        wait / 2 + static_cast<int64_t>(SplitMix(rng_) % static_cast<uint64_t>(wait / 2 + 1));
    Sleep(jittered, hard_stop);
    backoff = std::min(backoff * 2, config_.backoff_max_ms);
    pending = std::move(still);
  }
  if (!last_logged.empty()) spdlog::info("output {}: delivering again", config_.name);
  SLUICE_RETURN_IF_ERROR(src.log->CommitCheckpoint(config_.name, end));
  src.next = end;
  return batch.size();
}

bool Output::Run(const std::atomic<bool>& stop, const std::atomic<bool>& hard_stop) {
  while (!hard_stop.load()) {
    size_t sent = 0;
    for (auto& src : sources_) {
      Result<size_t> r = SendOne(src, hard_stop);
      if (!r.ok()) {
        if (r.status().code() == StatusCode::kCancelled) break;
        spdlog::error("output {}: {}", config_.name, r.status().ToString());
        Sleep(config_.backoff_max_ms, hard_stop);
        continue;
      }
      sent += *r;
    }
    if (sent > 0) continue;
    if (stop.load()) break;  // drained
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return data_ || stop.load(); });
    data_ = false;
  }
  const uint64_t left = Backlog();
  if (left > 0) {
    spdlog::warn("output {}: stopped with {} record(s) still in the spool (sent on the next start)",
                 config_.name, left);
  }
  return left == 0;
}

}  // namespace sluice::agent
