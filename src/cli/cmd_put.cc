#include "cli/cmd_put.h"

#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>

#include "cli/send_flags.h"
#include "common/status.h"

namespace sluice::cli {

using client::AwsApi;
using client::ExtraProblem;
using client::Grouped;
using client::kKinesisMaxPartitionKeyChars;
using client::kSendExitOk;
using client::kSendExitUndelivered;
using client::kSendExitUsage;
using client::MaxRecordBytes;
using client::OutgoingRecord;
using client::PrintSendSummary;
using client::RecordSource;
using client::SendRecords;
namespace {

struct Record {
  std::string data;
  std::string origin;  // "file:line", for messages
};

// Yields the records of the inputs in order. Thread safety: none.
class RecordReader {
 public:
  RecordReader(std::vector<std::string> names, std::istream* stdin_stream, bool strip_newline,
               AwsApi api)
      : names_(std::move(names)),
        stdin_(stdin_stream),
        strip_newline_(strip_newline),
        max_bytes_(MaxRecordBytes(api)),
        limit_text_(api == AwsApi::kKinesis
                        ? "over the 1 MiB (1,048,576 byte) Kinesis limit with its partition key"
                        : "over the 1,000 KiB (1,024,000 byte) Firehose limit") {
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
      if (line.size() > max_bytes_) {
        ReportOversized(report, origin, line.size());
        ++*oversized;
        continue;
      }
      return Record{std::move(line), std::move(origin)};
    }
    return std::nullopt;
  }

  void ReportOversized(const std::function<void(const std::string&)>& report,
                       const std::string& origin, size_t bytes) const {
    report(origin + ": record is " + Grouped(bytes) + " bytes, " + limit_text_ + "; not sent");
  }
  size_t max_bytes() const { return max_bytes_; }

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
  size_t max_bytes_;
  std::string limit_text_;
  std::vector<std::unique_ptr<std::ifstream>> streams_;  // nullptr entries read stdin_
  size_t current_ = 0;
  uint64_t line_number_ = 0;
};

size_t Utf8Chars(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

bool UsablePartitionKey(std::string_view key) {
  return !key.empty() && Utf8Chars(key) <= kKinesisMaxPartitionKeyChars;
}

// "customer.id" -> "/customer/id" (RFC 6901 escapes for '~' and '/').
std::string JsonPointer(std::string_view dotted) {
  std::string pointer = "/";
  for (char c : dotted) {
    if (c == '.') {
      pointer += '/';
    } else if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
  return pointer;
}

// How each record gets its Kinesis partition key (see cmd_put.h).
class PartitionKeys {
 public:
  PartitionKeys(std::string fixed, const std::string& field)
      : fixed_(std::move(fixed)),
        field_(field),
        pointer_(field.empty() ? "" : JsonPointer(field)),
        random_(std::random_device{}()) {}

  // The key of `data`; sets *fallback when --partition-key-field found no usable value.
  std::string KeyOf(const std::string& data, bool* fallback) {
    if (!fixed_.empty()) return fixed_;
    if (!pointer_.empty()) {
      if (auto key = FromField(data)) return *key;
      *fallback = true;
    }
    return RandomKey();
  }

 private:
  std::optional<std::string> FromField(const std::string& data) {
    simdjson::dom::element doc;
    if (parser_.parse(data).get(doc)) return std::nullopt;
    simdjson::dom::element value;
    if (doc.at_pointer(pointer_).get(value)) return std::nullopt;
    std::string key;
    std::string_view text;
    if (!value.get(text)) {
      key = std::string(text);
    } else if (value.is_number() || value.is_bool()) {
      key = simdjson::minify(value);
    } else {
      return std::nullopt;
    }
    if (!UsablePartitionKey(key)) return std::nullopt;
    return key;
  }

  std::string RandomKey() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string key(32, '0');
    uint64_t bits = 0;
    for (size_t i = 0; i < key.size(); ++i) {
      if (i % 16 == 0) bits = random_();
      key[i] = kHex[bits & 0xF];
      bits >>= 4;
    }
    return key;
  }

  std::string fixed_;
  std::string field_;
  std::string pointer_;
  simdjson::dom::parser parser_;
  std::mt19937_64 random_;
};

// RecordReader as the sender's source; counts what the put summary reports beyond sending.
class LineSource final : public RecordSource {
 public:
  LineSource(RecordReader& reader, PartitionKeys* keys) : reader_(reader), keys_(keys) {}
  std::optional<OutgoingRecord> Next(
      const std::function<void(const std::string&)>& report) override {
    for (;;) {
      std::optional<Record> record = reader_.Next(report, &oversized, &read_errors);
      if (!record) return std::nullopt;
      OutgoingRecord out{std::move(record->data), std::move(record->origin), ""};
      if (keys_ == nullptr) return out;
      bool fallback = false;
      out.partition_key = keys_->KeyOf(out.data, &fallback);
      if (out.data.size() + out.partition_key.size() > reader_.max_bytes()) {
        reader_.ReportOversized(report, out.origin, out.data.size() + out.partition_key.size());
        ++oversized;
        continue;
      }
      if (fallback && random_key_records++ == 0) first_random_key = out.origin;
      return out;
    }
  }
  uint64_t oversized = 0;
  uint64_t read_errors = 0;
  uint64_t random_key_records = 0;  // --partition-key-field found nothing usable
  std::string first_random_key;

 private:
  RecordReader& reader_;
  PartitionKeys* keys_;  // null for Firehose
};

}  // namespace

int RunPut(const PutOptions& flags, std::istream* stdin_stream, std::ostream& err) {
  PutOptions options = flags;
  const bool kinesis = !options.kinesis.empty();
  auto usage = [&err](const std::string& message) {
    err << "sluice put: " << message << "\n";
    return kPutExitUsage;
  };
  if (kinesis == !options.stream.empty()) {
    return usage("give either --stream DELIVERY_STREAM or --kinesis STREAM");
  }
  if (!kinesis && (!options.partition_key.empty() || !options.partition_key_field.empty())) {
    return usage("--partition-key and --partition-key-field need --kinesis");
  }
  if (!options.partition_key.empty() && !UsablePartitionKey(options.partition_key)) {
    return usage("--partition-key must have 1 to 256 characters");
  }
  if (kinesis) {
    options.api = AwsApi::kKinesis;
    options.stream = options.kinesis;
  }
  if (Status s = ValidateSendOptions(options); !s.ok()) return usage(s.message());
  RecordReader reader(options.files, stdin_stream, options.strip_newline, options.api);
  if (Status s = reader.Open(); !s.ok()) {
    err << "sluice put: " << s.message() << "\n";
    return kPutExitUsage;
  }
  const uint64_t total = ShowsProgress(options) && reader.AllFiles() ? reader.CountRecords() : 0;
  std::optional<PartitionKeys> keys;
  if (kinesis) keys.emplace(options.partition_key, options.partition_key_field);
  LineSource source(reader, keys ? &*keys : nullptr);
  auto stats = SendRecords(options, source, total, err);
  if (!stats.ok()) {
    err << "sluice put: " << stats.status().message() << "\n";
    return kPutExitUsage;
  }
  if (source.random_key_records > 0) {
    err << "sluice put: " << Grouped(source.random_key_records) << " record(s) had no usable '"
        << options.partition_key_field << "' (first: " << source.first_random_key
        << "); sent with random partition keys\n";
  }
  std::vector<ExtraProblem> extra;
  if (source.oversized > 0) {
    extra.push_back({source.oversized,
                     Grouped(source.oversized) + (kinesis ? " over the 1 MiB record limit"
                                                          : " over the 1,000 KiB record limit")});
  }
  if (source.read_errors > 0) {
    extra.push_back(
        {0, "input read errors in " + std::to_string(source.read_errors) + " input(s)"});
  }
  return PrintSendSummary(options, *stats, extra, options.quiet, err);
}

CLI::App* AddPutCommand(CLI::App& app, PutOptions& options) {
  CLI::App* put = app.add_subcommand(
      "put",
      "Send newline-delimited records (one line = one record) from files or stdin to a delivery "
      "stream with PutRecordBatch, or to a Kinesis data stream with PutRecords (--kinesis), "
      "retrying failed records. Exits 1 if any record was not delivered.");
  auto* stream = put->add_option("-s,--stream", options.stream, "Delivery stream name");
  auto* kinesis = put->add_option(
      "--kinesis", options.kinesis,
      "Kinesis data stream name (or StreamARN): send with PutRecords (500 records / 5 MiB per "
      "call), SigV4 service 'kinesis'");
  stream->excludes(kinesis);
  auto* field = put->add_option("--partition-key-field", options.partition_key_field,
                                "--kinesis: partition key from this dotted JSON path of each "
                                "record (e.g. customer.id); records without it get a random key");
  auto* key = put->add_option("--partition-key", options.partition_key,
                              "--kinesis: this partition key for every record (default: a "
                              "random key per record)");
  field->excludes(key);
  put->add_flag("--no-newline", options.strip_newline,
                "Strip the trailing newline from each record (default: keep it, since Firehose "
                "adds no delimiter between records)");
  AddSendFlags(put, options);
  put->add_flag("-q,--quiet", options.quiet, "No summary line when everything was delivered");
  put->add_option("files", options.files, "Input files; none or '-' reads stdin");
  return put;
}

}  // namespace sluice::cli
