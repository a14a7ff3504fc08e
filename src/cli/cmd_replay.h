// `sluice replay`: re-delivers a stream's retained records after a rule was fixed (design.md §2).
//
// It reads the records of --stream between --from and --to from the journal under --data-dir,
// read-only (replay/selection.h; the running `sluice serve` owns the journal), and sends them
// back to that server's Firehose API with the PutRecordBatch sender of `sluice put`. The server
// appends them as new records, so they become new batches with new batch ids through the
// stream's current processors and destinations: objects are written again, a merge warehouse
// updates the rows by key and an append warehouse inserts them again. Their arrival time, and so
// their object keys, are those of the replay. Before sending it prints what it will send; with
// --dry-run it stops there.
//
// Contract: RunReplay returns 0 only when every selected record was acknowledged (or nothing was
// selected, or --dry-run); 1 when some were not; 2 for bad options, an unknown stream, a range
// it cannot serve (outside retention, another incarnation, --to before --from) — nothing is sent
// then. Delivery is at least once, like `sluice put`.
#pragma once

#include <ostream>
#include <string>

#include "client/record_sender.h"

namespace CLI {
class App;
}

namespace sluice::cli {

struct ReplayOptions : client::SendOptions {
  ReplayOptions() {
    command = "replay";
    // Replays are large: ride out the server's quota ("Slow down.") while it delivers.
    max_retries = 100;
    retry_timeout_s = 600;
  }
  std::string data_dir = "./var";  // --data-dir: the server's data directory
  std::string from;                // --from (required)
  std::string to;                  // --to (empty: the last record present at the start)
  bool dry_run = false;            // --dry-run: print what would be sent, send nothing
};

int RunReplay(const ReplayOptions& options, std::ostream& err);

// Adds the `replay` subcommand with its flags bound to `options`.
CLI::App* AddReplayCommand(CLI::App& app, ReplayOptions& options);

}  // namespace sluice::cli
