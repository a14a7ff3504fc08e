#include "cli/cmd_put.h"

#include <simdjson.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "common/base64.h"
#include "common/json_writer.h"
#include "common/status.h"

namespace sluice::cli {
namespace {

// Firehose Direct PUT limits (aws-wire-spec.md §1.4).
constexpr size_t kMaxRecordBytes = 1'024'000;       // 1,000 KiB per record, before base64
constexpr size_t kMaxBatchRecords = 500;            // records per PutRecordBatch
constexpr size_t kMaxBatchBytes = 4 * 1024 * 1024;  // 4 MiB of record data per PutRecordBatch
constexpr const char* kTarget = "X-Amz-Target: Firehose_20150804.PutRecordBatch";
constexpr const char* kContentType = "Content-Type: application/x-amz-json-1.1";

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// "1,234,567".
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

bool ValidStreamName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

struct Record {
  std::string data;
  std::string origin;  // "file:line", for messages
  int attempts = 0;
  std::string last_error;  // "ErrorCode: ErrorMessage" of the last failed attempt
};

// Yields the records of the inputs in order. Thread safety: none.
class RecordReader {
 public:
  RecordReader(std::vector<std::string> names, std::istream* stdin_stream, bool strip_newline)
      : names_(std::move(names)), stdin_(stdin_stream), strip_newline_(strip_newline) {
    if (names_.empty()) names_.push_back("-");
  }

  // Opens every input now, so an unreadable file stops the run before anything is sent.
  Status Open() {
    for (const std::string& name : names_) {
      if (name == "-") {
        if (stdin_ == nullptr) return Status::InvalidArgument("stdin is not available");
        streams_.push_back(nullptr);
        continue;
      }
      auto file = std::make_unique<std::ifstream>(name, std::ios::binary);
      if (!file->is_open()) return Status::FromErrno(name + ": cannot open", errno);
      streams_.push_back(std::move(file));
    }
    return Status::Ok();
  }

  // The next record that fits the record limit, or nullopt at the end of all inputs. Oversized
  // records are reported on `err` and counted in *oversized; read errors in *read_errors.
  std::optional<Record> Next(const std::function<void(const std::string&)>& report,
                             uint64_t* oversized, uint64_t* read_errors) {
    while (current_ < names_.size()) {
      std::istream& in = streams_[current_] ? *streams_[current_] : *stdin_;
      std::string line;
      if (!std::getline(in, line)) {
        if (in.bad()) {
          report(DisplayName() + ": read error after line " + std::to_string(line_number_));
          ++*read_errors;
        }
        ++current_;
        line_number_ = 0;
        continue;
      }
      ++line_number_;
      const bool had_newline = !in.eof();
      if (strip_newline_ || !had_newline) {
        if (strip_newline_ && !line.empty() && line.back() == '\r') line.pop_back();
      } else {
        line.push_back('\n');
      }
      if (line.empty() || line == "\n" || line == "\r\n") continue;
      std::string origin = DisplayName() + ":" + std::to_string(line_number_);
      if (line.size() > kMaxRecordBytes) {
        report(origin + ": record is " + Grouped(line.size()) +
               " bytes, over the 1,000 KiB (1,024,000 byte) Firehose limit; not sent");
        ++*oversized;
        continue;
      }
      return Record{std::move(line), std::move(origin)};
    }
    return std::nullopt;
  }

  // True when every input is a regular file, so CountRecords can pre-scan them.
  bool AllFiles() const {
    return std::none_of(names_.begin(), names_.end(), [](const auto& n) { return n == "-"; });
  }

  // Counts the non-empty lines of every file without keeping them (for the progress total).
  uint64_t CountRecords() const {
    uint64_t count = 0;
    std::vector<char> buffer(1 << 20);
    for (const std::string& name : names_) {
      std::FILE* f = std::fopen(name.c_str(), "rb");
      if (f == nullptr) continue;
      bool line_has_content = false;
      size_t n;
      while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) {
        for (size_t i = 0; i < n; ++i) {
          if (buffer[i] == '\n') {
            count += line_has_content ? 1 : 0;
            line_has_content = false;
          } else if (buffer[i] != '\r') {
            line_has_content = true;
          }
        }
      }
      count += line_has_content ? 1 : 0;
      std::fclose(f);
    }
    return count;
  }

 private:
  std::string DisplayName() const {
    return names_[current_] == "-" ? std::string("<stdin>") : names_[current_];
  }

  std::vector<std::string> names_;
  std::istream* stdin_;
  bool strip_newline_;
  std::vector<std::unique_ptr<std::ifstream>> streams_;  // nullptr entries read stdin_
  size_t current_ = 0;
  uint64_t line_number_ = 0;
};

// A one-line progress bar on a terminal: records acknowledged / total, and the rate.
class ProgressBar {
 public:
  ProgressBar(bool enabled, std::ostream& out) : enabled_(enabled), out_(out) {}

  void SetTotal(uint64_t total) { total_ = total; }

  void Update(uint64_t done, bool force = false) {
    if (!enabled_) return;
    const auto now = SteadyClock::now();
    if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    drawn_ = true;
    const double elapsed = std::max(1e-3, SecondsSince(start_));
    const uint64_t rate = static_cast<uint64_t>(static_cast<double>(done) / elapsed);
    std::string line = "\r\x1b[K";
    if (total_ > 0) {
      constexpr int kWidth = 30;
      const double fraction =
          std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
      const int filled = static_cast<int>(fraction * kWidth);
      line += "[" + std::string(filled, '=') + std::string(kWidth - filled, ' ') + "] ";
      line += Grouped(done) + "/" + Grouped(total_) + " records";
    } else {
      line += Grouped(done) + " records";
    }
    line += "  " + Grouped(rate) + " rec/s";
    out_ << line << std::flush;
  }

  // Removes the bar so that a message can be printed on a clean line; Update redraws it.
  void Clear() {
    if (enabled_ && drawn_) out_ << "\r\x1b[K" << std::flush;
    drawn_ = false;
  }

 private:
  bool enabled_;
  std::ostream& out_;
  uint64_t total_ = 0;
  SteadyClock::time_point start_ = SteadyClock::now();
  SteadyClock::time_point last_draw_;
  bool drawn_ = false;
};

// The outcome of one PutRecordBatch exchange.
struct CallResult {
  enum class Kind { kAnswered, kRetryable, kFatal };
  Kind kind = Kind::kAnswered;
  std::string error;  // for kRetryable and kFatal: what the server or transport said
  // For kAnswered: per request entry, empty when it has a RecordId, else "ErrorCode: message".
  std::vector<std::string> entry_errors;
};

// Extracts "Type: message" from an AWS JSON error body; falls back to the raw body.
std::string DescribeErrorBody(long http_status, const std::string& body, std::string* type_out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string type;
  std::string message;
  if (!parser.parse(body).get(doc)) {
    std::string_view value;
    if (!doc["__type"].get(value) || !doc["code"].get(value)) type = std::string(value);
    if (!doc["message"].get(value) || !doc["Message"].get(value)) message = std::string(value);
  }
  // Clients strip a namespace before '#' and anything after ':' (aws-wire-spec.md §1.2).
  if (auto hash = type.find('#'); hash != std::string::npos) type.erase(0, hash + 1);
  if (auto colon = type.find(':'); colon != std::string::npos) type.erase(colon);
  if (type_out != nullptr) *type_out = type;
  std::string text = type.empty() ? "HTTP " + std::to_string(http_status) : type;
  if (!message.empty()) {
    text += ": " + message;
  } else if (type.empty() && !body.empty()) {
    text += ": " + body.substr(0, 200);
  }
  if (!type.empty()) text += " (HTTP " + std::to_string(http_status) + ")";
  return text;
}

bool IsThrottle(const std::string& type) {
  return type == "ServiceUnavailableException" || type == "ThrottlingException" ||
         type == "Throttling" || type == "ProvisionedThroughputExceededException" ||
         type == "RequestLimitExceeded" || type == "SlowDown";
}

CallResult ParseResponse(const Result<HttpResponse>& response, size_t request_entries) {
  CallResult result;
  if (!response.ok()) {
    result.kind = CallResult::Kind::kRetryable;
    result.error = response.status().message();
    return result;
  }
  if (response->status != 200) {
    std::string type;
    result.error = DescribeErrorBody(response->status, response->body, &type);
    const bool retryable = response->status >= 500 || response->status == 429 || IsThrottle(type);
    result.kind = retryable ? CallResult::Kind::kRetryable : CallResult::Kind::kFatal;
    return result;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array entries;
  if (parser.parse(response->body).get(doc) || doc["RequestResponses"].get(entries) ||
      entries.size() != request_entries) {
    // The records may or may not be durable; sending them again is at-least-once.
    result.kind = CallResult::Kind::kRetryable;
    result.error = "malformed PutRecordBatch response: " + response->body.substr(0, 200);
    return result;
  }
  for (simdjson::dom::element entry : entries) {
    std::string_view value;
    if (!entry["RecordId"].get(value) && !value.empty()) {
      result.entry_errors.emplace_back();
      continue;
    }
    std::string error = "unknown error";
    if (!entry["ErrorCode"].get(value)) error = std::string(value);
    if (!entry["ErrorMessage"].get(value)) error += ": " + std::string(value);
    result.entry_errors.push_back(std::move(error));
  }
  return result;
}

std::string BuildBody(const std::string& stream, const std::vector<Record>& batch,
                      const std::vector<size_t>& pending) {
  std::string body;
  size_t encoded = 64 + stream.size();
  for (size_t i : pending) encoded += 14 + (batch[i].data.size() + 2) / 3 * 4;
  body.reserve(encoded);
  body += "{\"DeliveryStreamName\":";
  json::AppendString(body, stream);
  body += ",\"Records\":[";
  for (size_t k = 0; k < pending.size(); ++k) {
    if (k > 0) body += ',';
    body += "{\"Data\":\"";
    base64::EncodeTo(batch[pending[k]].data, body);
    body += "\"}";
  }
  body += "]}";
  return body;
}

// Sends records in batches and keeps the counts for the summary. Thread safety: none.
class Putter {
 public:
  Putter(const PutOptions& options, HttpClient& client, ProgressBar& progress, std::ostream& err)
      : options_(options),
        client_(client),
        progress_(progress),
        err_(err),
        rng_(std::random_device{}()) {}

  // Sends one batch until every record is acknowledged or its retries are spent. Returns false
  // when the run must stop (a non-retryable error, or the endpoint stayed unreachable); then
  // the records of `batch` not acknowledged are counted in not_sent_.
  bool SendBatch(std::vector<Record>& batch) {
    std::vector<size_t> pending(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) pending[i] = i;
    const auto deadline =
        SteadyClock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(options_.retry_timeout_s * 1000.0));
    bool whole_call_failed = false;
    for (int attempt = 1;; ++attempt) {
      const std::string body = BuildBody(options_.stream, batch, pending);
      ++requests_;
      if (attempt > 1) retried_records_ += pending.size();
      CallResult call = ParseResponse(
          client_.Post(options_.endpoint, {kContentType, kTarget}, body), pending.size());
      for (size_t i : pending) ++batch[i].attempts;
      if (call.kind == CallResult::Kind::kFatal) {
        not_sent_ += pending.size();
        stop_reason_ = call.error;
        return false;
      }
      std::vector<size_t> still_pending;
      if (call.kind == CallResult::Kind::kRetryable) {
        whole_call_failed = true;
        for (size_t i : pending) batch[i].last_error = call.error;
        still_pending = pending;
      } else {
        whole_call_failed = false;
        for (size_t k = 0; k < pending.size(); ++k) {
          if (call.entry_errors[k].empty()) {
            ++delivered_;
          } else {
            batch[pending[k]].last_error = call.entry_errors[k];
            still_pending.push_back(pending[k]);
          }
        }
      }
      progress_.Update(delivered_);
      pending = std::move(still_pending);
      if (pending.empty()) return true;

      const int64_t delay_ms = BackoffMs(attempt);
      const bool out_of_attempts = attempt > options_.max_retries;
      const bool out_of_time = SteadyClock::now() + std::chrono::milliseconds(delay_ms) > deadline;
      if (out_of_attempts || out_of_time) {
        GiveUp(batch, pending,
               out_of_attempts ? "after " + std::to_string(attempt) + " attempts"
                               : "when the retry timeout ran out");
        if (whole_call_failed) {
          stop_reason_ = "the endpoint kept failing; the rest of the input was not sent";
          return false;
        }
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
  }

  uint64_t delivered() const { return delivered_; }
  uint64_t failed() const { return failed_; }
  uint64_t requests() const { return requests_; }
  uint64_t retried_records() const { return retried_records_; }
  uint64_t& not_sent() { return not_sent_; }
  const std::string& stop_reason() const { return stop_reason_; }
  const std::map<std::string, uint64_t>& failures_by_error() const { return failures_by_error_; }

 private:
  // Exponential backoff with jitter: uniform in [d/2, d], d = min(max, base * 2^(attempt-1)).
  int64_t BackoffMs(int attempt) {
    const double base = std::max(1, options_.backoff_base_ms);
    const double cap = std::max(options_.backoff_max_ms, options_.backoff_base_ms);
    const double d = std::min(cap, base * std::pow(2.0, std::min(attempt - 1, 30)));
    std::uniform_real_distribution<double> jitter(d / 2, d);
    return static_cast<int64_t>(jitter(rng_));
  }

  void GiveUp(const std::vector<Record>& batch, const std::vector<size_t>& pending,
              const std::string& when) {
    progress_.Clear();
    std::map<std::string, std::vector<size_t>> by_error;
    for (size_t i : pending) by_error[batch[i].last_error].push_back(i);
    for (const auto& [error, indices] : by_error) {
      failures_by_error_[error] += indices.size();
      err_ << "sluice put: " << Grouped(indices.size()) << " record(s) not delivered " << when
           << ": " << error << " (first: " << batch[indices.front()].origin << ")\n";
    }
    failed_ += pending.size();
  }

  const PutOptions& options_;
  HttpClient& client_;
  ProgressBar& progress_;
  std::ostream& err_;
  std::mt19937_64 rng_;
  uint64_t delivered_ = 0;
  uint64_t failed_ = 0;
  uint64_t not_sent_ = 0;
  uint64_t requests_ = 0;
  uint64_t retried_records_ = 0;
  std::string stop_reason_;
  std::map<std::string, uint64_t> failures_by_error_;
};

std::string ResolveRegion(const std::string& flag) {
  if (!flag.empty()) return flag;
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "us-east-1";
}

}  // namespace

int RunPut(const PutOptions& options, std::istream* stdin_stream, std::ostream& err) {
  if (!ValidStreamName(options.stream)) {
    err << "sluice put: invalid --stream '" << options.stream
        << "': need 1 to 64 characters from [a-zA-Z0-9_.-]\n";
    return kPutExitUsage;
  }
  if (options.max_retries < 0 || options.retry_timeout_s < 0 || options.request_timeout_s <= 0) {
    err << "sluice put: --max-retries and --retry-timeout must be >= 0, --request-timeout > 0\n";
    return kPutExitUsage;
  }
  RecordReader reader(options.files, stdin_stream, options.strip_newline);
  if (Status s = reader.Open(); !s.ok()) {
    err << "sluice put: " << s.message() << "\n";
    return kPutExitUsage;
  }
  auto client_or = HttpClient::Create();
  if (!client_or.ok()) {
    err << "sluice put: " << client_or.status().message() << "\n";
    return kPutExitUsage;
  }
  HttpClient& client = **client_or;
  client.SetSigV4(ResolveRegion(options.region), "firehose", CredentialsFromEnvironment());
  client.SetTimeouts(10'000, static_cast<long>(options.request_timeout_s * 1000.0));

  const bool show_progress =
      options.progress == PutOptions::Progress::kAlways ||
      (options.progress == PutOptions::Progress::kAuto && isatty(STDERR_FILENO) == 1);
  ProgressBar progress(show_progress, err);
  if (show_progress && reader.AllFiles()) progress.SetTotal(reader.CountRecords());

  Putter putter(options, client, progress, err);
  const auto start = SteadyClock::now();
  uint64_t read = 0;
  uint64_t oversized = 0;
  uint64_t read_errors = 0;
  auto report = [&](const std::string& message) {
    progress.Clear();
    err << "sluice put: " << message << "\n";
  };

  std::optional<Record> lookahead;
  bool stopped = false;
  while (!stopped) {
    std::vector<Record> batch;
    size_t batch_bytes = 0;
    while (batch.size() < kMaxBatchRecords) {
      std::optional<Record> record =
          lookahead ? std::move(lookahead) : reader.Next(report, &oversized, &read_errors);
      lookahead.reset();
      if (!record) break;
      if (!batch.empty() && batch_bytes + record->data.size() > kMaxBatchBytes) {
        lookahead = std::move(record);
        break;
      }
      ++read;
      batch_bytes += record->data.size();
      batch.push_back(std::move(*record));
    }
    if (batch.empty()) break;
    stopped = !putter.SendBatch(batch);
  }
  if (stopped) {
    // Count what was left unsent so the summary names every undelivered record.
    if (lookahead) ++putter.not_sent(), ++read;
    auto ignore = [](const std::string&) {};
    while (reader.Next(ignore, &oversized, &read_errors)) ++putter.not_sent(), ++read;
  }
  progress.Update(putter.delivered(), /*force=*/true);
  progress.Clear();

  const uint64_t total = read + oversized;
  const uint64_t undelivered = putter.failed() + putter.not_sent() + oversized;
  const double elapsed = SecondsSince(start);
  if (undelivered == 0 && read_errors == 0) {
    if (!options.quiet) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.2f", elapsed);
      err << "sluice put: delivered " << Grouped(putter.delivered()) << " records to stream '"
          << options.stream << "' in " << seconds << " s (" << Grouped(putter.requests())
          << " requests, " << Grouped(putter.retried_records()) << " records retried)\n";
    }
    return kPutExitOk;
  }
  std::ostringstream summary;
  summary << "sluice put: " << Grouped(undelivered) << " of " << Grouped(total)
          << " records were NOT delivered to stream '" << options.stream << "':";
  const char* sep = " ";
  if (putter.failed() > 0) {
    summary << sep << Grouped(putter.failed()) << " failed after retries";
    sep = ", ";
  }
  if (putter.not_sent() > 0) {
    summary << sep << Grouped(putter.not_sent()) << " not acknowledged when the run stopped";
    sep = ", ";
  }
  if (oversized > 0) {
    summary << sep << Grouped(oversized) << " over the 1,000 KiB record limit";
    sep = ", ";
  }
  if (read_errors > 0) summary << sep << "input read errors in " << read_errors << " input(s)";
  summary << ".";
  if (!putter.stop_reason().empty()) summary << " Stopped because: " << putter.stop_reason() << ".";
  for (const auto& [error, count] : putter.failures_by_error()) {
    summary << "\n  " << Grouped(count) << " x " << error;
  }
  err << summary.str() << "\n";
  return kPutExitUndelivered;
}

CLI::App* AddPutCommand(CLI::App& app, PutOptions& options) {
  CLI::App* put = app.add_subcommand(
      "put",
      "Send newline-delimited records (one line = one record) from files or stdin to a delivery "
      "stream with PutRecordBatch, retrying failed records. Exits 1 if any record was not "
      "delivered.");
  put->add_option("-s,--stream", options.stream, "Delivery stream name")->required();
  put->add_option("--endpoint", options.endpoint, "Firehose API endpoint URL")
      ->capture_default_str();
  put->add_option(
      "--region", options.region,
      "Region for SigV4 signing (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)");
  put->add_flag("--no-newline", options.strip_newline,
                "Strip the trailing newline from each record (default: keep it, since Firehose "
                "adds no delimiter between records)");
  put->add_option("--max-retries", options.max_retries,
                  "Retries per record after the first attempt")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  put->add_option("--retry-timeout", options.retry_timeout_s,
                  "Seconds to keep retrying one batch before giving up on its failed records")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  put->add_option("--backoff-base-ms", options.backoff_base_ms,
                  "First retry delay in ms; doubles per attempt, with jitter")
      ->capture_default_str()
      ->check(CLI::Range(1, 600'000));
  put->add_option("--backoff-max-ms", options.backoff_max_ms, "Largest retry delay in ms")
      ->capture_default_str()
      ->check(CLI::Range(1, 600'000));
  put->add_option("--request-timeout", options.request_timeout_s,
                  "Seconds allowed for one HTTP request")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 3600.0));
  put->add_flag_callback(
      "--progress", [&options] { options.progress = PutOptions::Progress::kAlways; },
      "Always show the progress bar (default: only when stderr is a terminal)");
  put->add_flag_callback(
      "--no-progress", [&options] { options.progress = PutOptions::Progress::kNever; },
      "Never show the progress bar");
  put->add_flag("-q,--quiet", options.quiet, "No summary line when everything was delivered");
  put->add_option("files", options.files, "Input files; none or '-' reads stdin");
  return put;
}

}  // namespace sluice::cli
