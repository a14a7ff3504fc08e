// A throwaway PostgreSQL 15 cluster for warehouse tests: initdb into a fresh temp dir (as the
// postgres user via runuser when running as root), a free TCP port on 127.0.0.1, the Unix
// socket in the temp dir, pg_ctl start -w with a bounded timeout, stop -m fast on destruction.
// Local (socket) connections are trusted; TCP connections need a SCRAM password.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace sluice::testutil {

class WarehousePg {
 public:
  // initdb + start. Fails readably if the binaries are missing or the server does not start.
  static Result<std::unique_ptr<WarehousePg>> Start();
  ~WarehousePg();
  WarehousePg(const WarehousePg&) = delete;
  WarehousePg& operator=(const WarehousePg&) = delete;

  // pg_ctl stop: "-m immediate" (no shutdown checkpoint; like a crash) or "-m fast".
  Status Stop(bool immediate);
  // pg_ctl start -w on the same port and data directory.
  Status StartServer();

  // Superuser DSN over the Unix socket (trust).
  std::string Dsn() const;
  // DSN over TCP for `user` (password auth), without the password.
  std::string TcpDsn(const std::string& user) const;
  int port() const { return port_; }

  // Runs `sql` as the superuser; returns the first column of the first row ("" if none).
  Result<std::string> Query(const std::string& sql) const;
  // Number of temporary tables that exist in any session.
  Result<int> TempTableCount() const;

 private:
  WarehousePg() = default;
  Status Run(const std::string& command) const;

  std::string root_;  // temp dir (755), holds data/ and the socket
  std::string data_;
  std::string bin_ = "/usr/lib/postgresql/15/bin";
  int port_ = 0;
  bool as_root_ = false;
  bool running_ = false;
};

}  // namespace sluice::testutil
