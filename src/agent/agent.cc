#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "agent/file_input.h"
#include "agent/output.h"
#include "agent/spool.h"
#include "common/file_util.h"
#include "journal/journal.h"

namespace sluice::agent {

int Run(const AgentConfig& config, const std::atomic<bool>& stop) {
  if (Status s = fs::CreateDirs(config.state_dir); !s.ok()) {
    spdlog::error("agent: state directory {}: {}", config.state_dir, s.ToString());
    return kExitFailed;
  }
  journal::Options jopts;
  jopts.dir = fs::Join(config.state_dir, "spool");
  jopts.quota_bytes = config.spool_max_mb << 20;
  jopts.segment_bytes =
      std::min<uint64_t>(16ull << 20, std::max<uint64_t>(1ull << 20, jopts.quota_bytes / 8));
  auto journal = journal::Journal::Open(jopts);
  if (!journal.ok()) {
    spdlog::error("agent: spool {}: {}", jopts.dir, journal.status().ToString());
    return kExitFailed;
  }
  std::map<std::string, journal::PartitionLog*> logs;
  std::vector<std::unique_ptr<FileInput>> inputs;
  for (const auto& in : config.inputs) {
    auto log = (*journal)->Partition(SpoolStream(in.name), 0);
    if (!log.ok()) {
      spdlog::error("agent: spool for input {}: {}", in.name, log.status().ToString());
      return kExitFailed;
    }
    logs[in.name] = *log;
    inputs.push_back(std::make_unique<FileInput>(in, *log, config.state_dir));
    if (Status s = inputs.back()->Recover(); !s.ok()) {
      spdlog::error("agent: input {}: {}", in.name, s.ToString());
      return kExitFailed;
    }
  }
  std::vector<std::unique_ptr<Output>> outputs;
  for (const auto& out : config.outputs) {
    std::vector<journal::PartitionLog*> sources;
    for (const auto& in : config.inputs) {
      if (in.outputs.empty() ||
          std::find(in.outputs.begin(), in.outputs.end(), out.name) != in.outputs.end()) {
        sources.push_back(logs[in.name]);
      }
    }
    outputs.push_back(std::make_unique<Output>(out, sources));
    if (Status s = outputs.back()->Start(); !s.ok()) {
      spdlog::error("agent: output {}: {}", out.name, s.ToString());
      return kExitFailed;
    }
  }
  spdlog::info("agent: {} input(s), {} output(s), state in {}", inputs.size(), outputs.size(),
               config.state_dir);

  std::atomic<bool> inputs_stop{false};
  std::atomic<bool> outputs_stop{false};
  std::atomic<bool> hard_stop{false};
  std::atomic<bool> failed{false};
  std::vector<std::thread> input_threads;
  for (auto& in : inputs) {
    input_threads.emplace_back([&, p = in.get()] {
      if (!p->Run(inputs_stop).ok()) failed = true;
    });
  }
  std::vector<std::thread> output_threads;
  std::atomic<int> undelivered{0};
  for (auto& out : outputs) {
    output_threads.emplace_back([&, p = out.get()] {
      if (!p->Run(outputs_stop, hard_stop)) undelivered.fetch_add(1);
    });
  }
  int64_t last_retention = 0;
  while (!stop.load() && !failed.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int64_t now = Clock::System().MonotonicMs();
    if (now - last_retention >= 5000) {
      // Delivered spool segments are deleted (never undelivered ones).
      for (auto& [name, log] : logs) {
        auto r = log->ApplyRetention(journal::Retention{0, 0});
        if (!r.ok()) spdlog::warn("agent: spool retention for {}: {}", name, r.status().ToString());
      }
      last_retention = now;
    }
  }
  spdlog::info("agent: stopping; inputs save their checkpoints, outputs drain for up to {} s",
               config.drain_timeout_s);
  inputs_stop = true;
  for (auto& t : input_threads) t.join();
  outputs_stop = true;
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(config.drain_timeout_s * 1000));
  std::thread timer([&] {
    while (!hard_stop.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    hard_stop = true;
  });
  for (auto& t : output_threads) t.join();
  hard_stop = true;
  timer.join();
  for (const auto& in : inputs) {
    const auto& c = in->counters();
    spdlog::info(
        "input {}: {} record(s) spooled, {} file(s) opened, {} truncation(s), {} split record(s)",
        in->name(), c.records.load(), c.files_opened.load(), c.truncations.load(),
        c.split_records.load());
  }
  for (const auto& out : outputs) {
    const auto& c = out->counters();
    spdlog::info(
        "output {}: {} record(s) sent in {} request(s), {} retried, {} resent after a crash",
        out->name(), c.sent.load(), c.requests.load(), c.retried.load(),
        c.resent_after_crash.load());
  }
  outputs.clear();
  (*journal)->Close();
  if (failed.load()) return kExitFailed;
  return undelivered.load() > 0 ? kExitUndelivered : kExitOk;
}

}  // namespace sluice::agent
