#include "cli/cmd_put.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include "cli/send_flags.h"
#include "common/status.h"

namespace sluice::cli {

using client::ExtraProblem;
using client::Grouped;
using client::kMaxRecordBytes;
using client::kSendExitOk;
using client::kSendExitUndelivered;
using client::kSendExitUsage;
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

// RecordReader as the sender's source; counts what the put summary reports beyond sending.
class LineSource final : public RecordSource {
 public:
  explicit LineSource(RecordReader& reader) : reader_(reader) {}
  std::optional<OutgoingRecord> Next(
      const std::function<void(const std::string&)>& report) override {
    std::optional<Record> record = reader_.Next(report, &oversized, &read_errors);
    if (!record) return std::nullopt;
    return OutgoingRecord{std::move(record->data), std::move(record->origin)};
  }
  uint64_t oversized = 0;
  uint64_t read_errors = 0;

 private:
  RecordReader& reader_;
};

}  // namespace

int RunPut(const PutOptions& options, std::istream* stdin_stream, std::ostream& err) {
  if (Status s = ValidateSendOptions(options); !s.ok()) {
    err << "sluice put: " << s.message() << "\n";
    return kPutExitUsage;
  }
  RecordReader reader(options.files, stdin_stream, options.strip_newline);
  if (Status s = reader.Open(); !s.ok()) {
    err << "sluice put: " << s.message() << "\n";
    return kPutExitUsage;
  }
  const uint64_t total = ShowsProgress(options) && reader.AllFiles() ? reader.CountRecords() : 0;
  LineSource source(reader);
  auto stats = SendRecords(options, source, total, err);
  if (!stats.ok()) {
    err << "sluice put: " << stats.status().message() << "\n";
    return kPutExitUsage;
  }
  std::vector<ExtraProblem> extra;
  if (source.oversized > 0) {
    extra.push_back(
        {source.oversized, Grouped(source.oversized) + " over the 1,000 KiB record limit"});
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
      "stream with PutRecordBatch, retrying failed records. Exits 1 if any record was not "
      "delivered.");
  put->add_option("-s,--stream", options.stream, "Delivery stream name")->required();
  put->add_flag("--no-newline", options.strip_newline,
                "Strip the trailing newline from each record (default: keep it, since Firehose "
                "adds no delimiter between records)");
  AddSendFlags(put, options);
  put->add_flag("-q,--quiet", options.quiet, "No summary line when everything was delivered");
  put->add_option("files", options.files, "Input files; none or '-' reads stdin");
  return put;
}

}  // namespace sluice::cli
