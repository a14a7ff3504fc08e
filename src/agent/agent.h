// `sluice agent`: runs the inputs and outputs of an AgentConfig over one state directory
// (<state-dir>/spool: the journal; <state-dir>/inputs: file checkpoints). See README.md.
#pragma once

#include <atomic>
#include <string>

#include "agent/config.h"

namespace sluice::agent {

// Exit codes of Run (docs/agent.md).
inline constexpr int kExitOk = 0;           // stopped by a signal, spool drained
inline constexpr int kExitFailed = 1;       // the spool or the state directory failed
inline constexpr int kExitConfig = 2;       // bad configuration
inline constexpr int kExitUndelivered = 3;  // stopped with records left in the spool (kept)

// Runs until `stop` is set (the CLI sets it on SIGTERM/SIGINT); then stops the inputs (saving
// their checkpoints) and lets the outputs drain for config.drain_timeout_s.
int Run(const AgentConfig& config, const std::atomic<bool>& stop);

}  // namespace sluice::agent
