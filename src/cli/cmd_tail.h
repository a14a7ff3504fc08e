// `sluice tail STREAM`: prints a Kinesis data stream's records, like `kcat -C` — one record's
// data per line, or one JSON object per record — reading every shard (client/kinesis_reader.h).
//
// Contract: records of one shard are printed in order; without --follow the command exits 0 once
// every shard is caught up; with --follow it keeps polling until killed or stdout closes. Exit 2
// for a bad --from or --format, 1 for an unknown stream or shard or an unreachable endpoint.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "client/kinesis_reader.h"
#include "common/status.h"

namespace CLI {
class App;
}

namespace sluice::cli {

struct TailOptions : client::TailOptions {
  std::string from_text = "trim-horizon";  // --from, parsed into `from` by RunTail
  std::string format = "data";             // --format data|json
};

// Parses --from: trim-horizon, latest, an ISO-8601 time with a zone or epoch milliseconds (up to
// 16 digits), or a sequence number (17 or more digits).
Result<client::TailStart> ParseTailStart(std::string_view text);

CLI::App* AddTailCommand(CLI::App& app, TailOptions& options);
// Prints records on `out` and problems on `err`; returns the exit code.
int RunTail(TailOptions options, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
