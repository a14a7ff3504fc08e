#include "cli/cmd_agent.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <thread>

#include "agent/agent.h"
#include "agent/config.h"

namespace sluice::cli {

CLI::App* AddAgentCommand(CLI::App& app, AgentOptions& options) {
  auto* cmd = app.add_subcommand(
      "agent",
      "Tail files into a durable on-disk spool and ship the records to Kinesis or Firehose "
      "(docs/agent.md). Exit codes: 0 stopped and drained, 1 spool/state failure, 2 bad config, "
      "3 stopped with records left in the spool");
  cmd->add_option("--config", options.config_file, "Agent YAML config file")->required();
  cmd->add_option("--state-dir", options.state_dir,
                  "Directory for the spool and checkpoints (default: state_dir of the config, "
                  "./var/agent)");
  auto* check = cmd->add_subcommand("check-config", "Validate the agent config and print it");
  check->fallthrough();
  check->callback([&options] { options.check_only = true; });
  return cmd;
}

int RunAgent(const AgentOptions& options, std::ostream& out, std::ostream& err) {
  auto cfg = agent::LoadAgentConfigFile(options.config_file);
  if (!cfg.ok()) {
    err << "sluice agent: " << cfg.status().message() << "\n";
    return agent::kExitConfig;
  }
  if (!options.state_dir.empty()) cfg->state_dir = options.state_dir;
  if (options.check_only) {
    out << options.config_file << ": OK\n";
    out << "state_dir " << cfg->state_dir << ", spool " << cfg->spool_max_mb << " MB, drain "
        << cfg->drain_timeout_s << " s\n";
    for (const auto& in : cfg->inputs) {
      out << "input " << in.name << ": file";
      for (const auto& p : in.file.paths) out << " " << p;
      out << " (start_at " << (in.file.start_at_end ? "end" : "beginning")
          << (in.file.multiline_start.empty() ? "" : ", multi-line") << ")\n";
    }
    for (const auto& o : cfg->outputs) {
      out << "output " << o.name << ": "
          << (o.api == client::AwsApi::kKinesis ? "kinesis" : "firehose") << " " << o.stream
          << " at " << o.endpoint << "\n";
    }
    return agent::kExitOk;
  }
  // Signals are taken by a thread with sigwait; every other thread has them blocked.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    stop = true;
  });
  const int rc = agent::Run(*cfg, stop);
  if (!stop.load()) {
    stop = true;
    pthread_kill(waiter.native_handle(), SIGTERM);
  }
  waiter.join();
  return rc;
}

}  // namespace sluice::cli
