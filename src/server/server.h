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
  // Without an `auth:` block the listener must be a loopback address unless this is set
  // (`sluice serve --allow-anonymous`): unsigned requests from the network are then accepted.
  bool allow_anonymous = false;
  // The config file the options came from: SIGHUP re-reads its `auth:` block (keys and policies)
  // and swaps it in without dropping connections. Empty: SIGHUP reloads the data dir's keys only.
  std::string config_file;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServeOptions options);
  virtual ~Server() = default;
  // "127.0.0.1:4573", with the real port when 0 was asked for.
  virtual std::string Address() const = 0;
  // The admin listener's "HOST:PORT" (admin_listen), or "" when it is off.
  virtual std::string AdminAddress() const = 0;
  // Blocks until SIGTERM/SIGINT (or Shutdown) then stops everything; SIGHUP meanwhile reloads
  // the access keys and policies (ServeOptions::config_file). Returns the exit status.
  virtual int WaitForSignalAndStop() = 0;
  // Stops everything now (idempotent).
  virtual void Shutdown() = 0;
  // Re-reads the access keys and policies and swaps them in; requests in flight finish with the
  // old ones. On error the old ones stay.
  virtual Status ReloadAuth() = 0;
};

}  // namespace sluice::server
