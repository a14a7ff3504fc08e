#include "cli/cmd_replay.h"

#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

#include "cli/send_flags.h"
#include "client/http_client.h"
#include "common/file_util.h"
#include "common/json_writer.h"
#include "replay/bound.h"
#include "replay/selection.h"

namespace sluice::cli {

using client::CredentialsFromEnvironment;
using client::ExtraProblem;
using client::Grouped;
using client::HttpClient;
using client::HttpResponse;
using client::kMaxRecordBytes;
using client::kSendExitOk;
using client::kSendExitUndelivered;
using client::kSendExitUsage;
using client::OutgoingRecord;
using client::PrintSendSummary;
using client::RecordSource;
using client::RegionFromFlagOrEnvironment;
using client::SendRecords;
namespace {

constexpr char kPrefix[] = "sluice replay: ";

// The stream's CreateTimestamp (ms) from the server's DescribeDeliveryStream: the incarnation in
// the RecordIds it issues. NotFound if the server does not serve the stream; Unavailable if it
// cannot be reached.
Result<int64_t> DescribeCreateTimestamp(const ReplayOptions& o) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, HttpClient::Create());
  client->SetSigV4(RegionFromFlagOrEnvironment(o.region), "firehose", CredentialsFromEnvironment());
  client->SetTimeouts(10'000, static_cast<long>(o.request_timeout_s * 1000.0));
  std::string body = "{\"DeliveryStreamName\":";
  json::AppendString(body, o.stream);
  body += "}";
  SLUICE_ASSIGN_OR_RETURN(HttpResponse r,
                          client->Post(o.endpoint,
                                       {"Content-Type: application/x-amz-json-1.1",
                                        "X-Amz-Target: Firehose_20150804.DescribeDeliveryStream"},
                                       body));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const bool parsed = parser.parse(r.body).get(doc) == simdjson::SUCCESS;
  if (r.status != 200) {
    std::string_view type, message;
    if (parsed) {
      if (doc["__type"].get(type) != simdjson::SUCCESS) type = {};
      if (doc["message"].get(message) != simdjson::SUCCESS) message = {};
    }
    std::string text = (type.empty() ? "HTTP " + std::to_string(r.status) : std::string(type)) +
                       (message.empty() ? "" : ": " + std::string(message));
    if (type.find("ResourceNotFoundException") != std::string_view::npos) {
      return Status::NotFound(text);
    }
    return Status::Unavailable(text);
  }
  double seconds = 0;
  if (!parsed ||
      doc["DeliveryStreamDescription"]["CreateTimestamp"].get(seconds) != simdjson::SUCCESS) {
    return Status::Internal("DescribeDeliveryStream answered without a CreateTimestamp: " +
                            r.body.substr(0, 200));
  }
  return static_cast<int64_t>(std::llround(seconds * 1000.0));
}

std::string Ranges(const replay::Count& count) {
  std::string out = count.partitions.size() == 1 ? "partition " : "partitions ";
  for (size_t i = 0; i < count.partitions.size(); ++i) {
    const auto& p = count.partitions[i];
    if (i > 0) out += ", ";
    out += std::to_string(p.partition) + " (offset" +
           (p.first == p.last
                ? " " + std::to_string(p.first.value)
                : "s " + std::to_string(p.first.value) + "-" + std::to_string(p.last.value)) +
           (count.partitions.size() == 1 ? ")" : ", " + Grouped(p.records) + " records)");
  }
  return out;
}

// The selected records as the sender's source; remembers a journal read error.
class JournalSource final : public RecordSource {
 public:
  explicit JournalSource(replay::SelectedRecords& records) : records_(records) {}
  std::optional<OutgoingRecord> Next(
      const std::function<void(const std::string&)>& report) override {
    if (!error_.ok()) return std::nullopt;
    auto next = records_.Next();
    if (!next.ok()) {
      error_ = next.status();
      report("reading the journal failed: " + error_.message());
      return std::nullopt;
    }
    if (!*next) return std::nullopt;
    replay::SelectedRecord& r = **next;
    return OutgoingRecord{std::move(r.record.data), "partition " + std::to_string(r.partition) +
                                                        " offset " +
                                                        std::to_string(r.record.offset.value)};
  }
  const Status& error() const { return error_; }

 private:
  replay::SelectedRecords& records_;
  Status error_;
};

}  // namespace

int RunReplay(const ReplayOptions& options, std::ostream& err) {
  if (Status s = ValidateSendOptions(options); !s.ok()) {
    err << kPrefix << s.message() << "\n";
    return kSendExitUsage;
  }
  replay::Request request;
  {
    auto from = replay::ParseBound(options.from);
    if (!from.ok()) {
      err << kPrefix << "--from " << from.status().message() << "\n";
      return kSendExitUsage;
    }
    request.from = *from;
    if (!options.to.empty()) {
      auto to = replay::ParseBound(options.to);
      if (!to.ok()) {
        err << kPrefix << "--to " << to.status().message() << "\n";
        return kSendExitUsage;
      }
      request.to = *to;
    }
  }
  auto stream = replay::StreamSnapshot::Open(fs::Join(options.data_dir, "journal"), options.stream);
  if (!stream.ok()) {
    err << kPrefix << stream.status().message() << "\n";
    return kSendExitUsage;
  }

  // The server's view of the stream: it must serve it (replay sends through it), and its
  // incarnation tells whether a RecordId given as --from/--to is one of this stream's.
  auto created = DescribeCreateTimestamp(options);
  if (created.ok()) {
    const std::string api_file =
        fs::Join(fs::Join(options.data_dir, "api-streams"), options.stream + ".yaml");
    request.incarnation = replay::Incarnation{*created, !fs::Exists(api_file)};
  } else if (created.status().code() == StatusCode::kNotFound) {
    err << kPrefix << "the server at " << options.endpoint << " does not serve stream '"
        << options.stream << "' (" << created.status().message()
        << "); replay sends the records through it, so the stream must exist there\n";
    return kSendExitUsage;
  } else if (!options.dry_run) {
    err << kPrefix << "cannot ask " << options.endpoint << " about stream '" << options.stream
        << "': " << created.status().message()
        << " (replay sends the records through the running `sluice serve`: start it, or pass "
           "its --endpoint)\n";
    return kSendExitUsage;
  } else {
    err << kPrefix << "note: " << options.endpoint
        << " is not reachable; RecordIds are not checked against the stream's incarnation\n";
  }

  auto selection = replay::Resolve(**stream, request);
  if (!selection.ok()) {
    err << kPrefix << selection.status().message() << "\n";
    return kSendExitUsage;
  }
  auto count = replay::CountSelected(**stream, *selection);
  if (!count.ok()) {
    err << kPrefix << count.status().message() << "\n";
    return kSendExitUsage;
  }
  const std::string range = "--from " + replay::Describe(request.from) +
                            (request.to ? " --to " + replay::Describe(*request.to) : "");
  if (count->records == 0) {
    err << kPrefix << "no retained record of stream '" << options.stream << "' matches " << range
        << "; nothing to replay\n";
    return kSendExitOk;
  }
  err << kPrefix << "stream '" << options.stream << "': " << Grouped(count->records) << " records ("
      << Grouped(count->bytes) << " bytes) from " << Ranges(*count) << ", arrived "
      << replay::FormatTime(count->first_arrival_ms) << " to "
      << replay::FormatTime(count->last_arrival_ms) << "\n";
  err << kPrefix << (options.dry_run ? "would send" : "sending") << " them to " << options.endpoint
      << " as new records: they pass the stream's current processors and destinations as new "
         "batches with new batch ids, arriving now (object keys take the replay time). Objects, "
         "raw backup and error output are written again; a merge warehouse updates the rows by "
         "key, an append warehouse receives them again.\n";
  if (options.dry_run) {
    err << kPrefix << "dry run: nothing sent\n";
    return kSendExitOk;
  }

  auto records = replay::SelectedRecords::Open(**stream, *selection);
  if (!records.ok()) {
    err << kPrefix << records.status().message() << "\n";
    return kSendExitUsage;
  }
  JournalSource source(**records);
  auto stats = SendRecords(options, source, count->records, err);
  if (!stats.ok()) {
    err << kPrefix << stats.status().message() << "\n";
    return kSendExitUsage;
  }
  std::vector<ExtraProblem> extra;
  if (!source.error().ok()) {
    const uint64_t unread = count->records > stats->read ? count->records - stats->read : 0;
    extra.push_back({unread, Grouped(unread) + " not read: " + source.error().message()});
  }
  return PrintSendSummary(options, *stats, extra, /*quiet=*/false, err);
}

CLI::App* AddReplayCommand(CLI::App& app, ReplayOptions& options) {
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Re-deliver a stream's retained records (after fixing a rule): reads them from the journal "
      "under --data-dir without writing to it and sends them again to the running server, which "
      "processes them as new batches through the stream's current processors and destinations "
      "(a merge warehouse updates rows by key; an append warehouse, raw backup and S3 receive "
      "them again). Exits 1 if any record was not delivered, 2 if nothing could be sent.");
  cmd->add_option("-s,--stream", options.stream, "Delivery stream name")->required();
  cmd->add_option("--from", options.from,
                  "First record: a RecordId (as PutRecord returned it), PARTITION:OFFSET, an "
                  "ISO-8601 time with a zone (2026-12-01T10:00:00Z) or epoch ms; times match the "
                  "records' arrival time, a position selects its partition only")
      ->required();
  cmd->add_option("--to", options.to,
                  "Last record, inclusive, in the same forms (default: the last record present "
                  "when replay starts)");
  cmd->add_option("--data-dir", options.data_dir, "The server's data directory (its journal)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", options.dry_run, "Print what would be sent; send nothing");
  AddSendFlags(cmd, options);
  return cmd;
}

}  // namespace sluice::cli
