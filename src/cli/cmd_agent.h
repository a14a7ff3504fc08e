// `sluice agent`: the producer side — tails files into a bounded on-disk spool and ships the
// records to Kinesis (PutRecords) or Firehose (PutRecordBatch) endpoints (agent/agent.h,
// docs/agent.md). `sluice agent check-config --config FILE` validates without running.
#pragma once

#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace sluice::cli {

struct AgentOptions {
  std::string config_file;  // --config agent.yaml
  std::string state_dir;    // --state-dir (default: the config's state_dir, ./var/agent)
  bool check_only = false;  // the check-config subcommand
};

// Adds `agent` (and `agent check-config`) with flags bound to `options`.
CLI::App* AddAgentCommand(CLI::App& app, AgentOptions& options);

// Runs the agent until SIGTERM/SIGINT; returns agent::kExit* (0 ok, 1 failed, 2 config,
// 3 stopped with records left in the spool).
int RunAgent(const AgentOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
