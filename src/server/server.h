// The composition root of `sluice serve`: opens the journal, starts the streams and the Firehose
// API, and stops them in order. Start-up order: journal → streams (config, then API-created) →
// HTTP listener → ready file. Shutdown (SIGTERM/SIGINT or Shutdown()): stop accepting and finish
// in-flight requests → flush and stop delivery workers → close the journal.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "secrets/redactor.h"

namespace sluice::server {

struct ServeOptions {
  config::Config config;
  std::string ready_file;  // written with "HOST:PORT\n" once listening (optional)
  // Every secret resolved while serving is added here; the logger masks them (optional).
  secrets::Redactor* redactor = nullptr;
  // Journal recovery truncates damage in a partition's last segment even when valid frames follow
  // (after a power loss); see journal::Options::repair_tail.
  bool repair_journal = false;
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServeOptions options);
  virtual ~Server() = default;
  // "127.0.0.1:4573", with the real port when 0 was asked for.
  virtual std::string Address() const = 0;
  // The admin listener's "HOST:PORT" (admin_listen), or "" when it is off.
  virtual std::string AdminAddress() const = 0;
  // Blocks until SIGTERM/SIGINT (or Shutdown) then stops everything. Returns the exit status.
  virtual int WaitForSignalAndStop() = 0;
  // Stops everything now (idempotent).
  virtual void Shutdown() = 0;
};

}  // namespace sluice::server
