#include "cli/cmd_tail.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>

#include "common/json_writer.h"
#include "replay/bound.h"

namespace sluice::cli {

Result<client::TailStart> ParseTailStart(std::string_view text) {
  using Type = client::TailStart::Type;
  client::TailStart start;
  if (text == "trim-horizon") return start;
  if (text == "latest") {
    start.type = Type::kLatest;
    return start;
  }
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isdigit(c) != 0;
  });
  if (digits && text.size() > 16) {
    start.type = Type::kAtSequenceNumber;
    start.sequence_number = std::string(text);
    return start;
  }
  auto ms = replay::ParseTime(text);
  if (!ms.ok()) {
    return Status::InvalidArgument(
        "bad --from '" + std::string(text) +
        "': expected trim-horizon, latest, an ISO-8601 time with a zone "
        "(2026-12-01T10:00:00Z), epoch milliseconds, or a sequence number (" +
        ms.status().message() + ")");
  }
  start.type = Type::kAtTimestamp;
  start.timestamp_ms = *ms;
  return start;
}

CLI::App* AddTailCommand(CLI::App& app, TailOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "tail",
      "Print a Kinesis data stream's records (like kcat -C): one record's data per line, reading "
      "every shard and following resharding. Stops when every shard is caught up, unless "
      "--follow.");
  cmd->add_option("stream", o.stream, "Kinesis stream name (or StreamARN)")->required();
  cmd->add_option("--from", o.from_text,
                  "Where to start: trim-horizon, latest, a time (ISO-8601 with a zone, or epoch "
                  "ms), or a sequence number (only its shard is read)")
      ->capture_default_str();
  cmd->add_flag("-f,--follow", o.follow, "Keep polling for new records until killed");
  cmd->add_option("--shard", o.shard_id, "Read only this shard (e.g. shardId-000000000001)");
  cmd->add_option("--format", o.format,
                  "data: each record's data on its own line; json: one object per record "
                  "{shard, sequence_number, partition_key, arrival, data}")
      ->capture_default_str()
      ->check(CLI::IsMember({"data", "json"}));
  cmd->add_option("--endpoint", o.endpoint, "Kinesis API endpoint URL")->capture_default_str();
  cmd->add_option(
      "--region", o.region,
      "Region for SigV4 signing (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)");
  return cmd;
}

int RunTail(TailOptions options, std::ostream& out, std::ostream& err) {
  auto start = ParseTailStart(options.from_text);
  if (!start.ok()) {
    err << "sluice tail: " << start.status().message() << "\n";
    return 2;
  }
  options.from = *start;
  const bool json = options.format == "json";
  std::string line;
  auto sink = [&](const client::KinesisRecord& r) {
    line.clear();
    if (json) {
      json::Writer w;
      w.BeginObject();
      w.Key("shard");
      w.String(r.shard_id);
      w.Key("sequence_number");
      w.String(r.sequence_number);
      w.Key("partition_key");
      w.String(r.partition_key);
      w.Key("arrival");
      w.String(replay::FormatTime(r.arrival_ms));
      w.Key("data");
      w.String(r.data);
      w.EndObject();
      line = w.Take();
      line += '\n';
    } else {
      line = r.data;
      if (line.empty() || line.back() != '\n') line += '\n';
    }
    out << line << std::flush;
    return static_cast<bool>(out);
  };
  Status st = client::TailKinesisStream(options, sink);
  if (!st.ok()) {
    err << "sluice tail: " << st.message() << "\n";
    return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sluice::cli
