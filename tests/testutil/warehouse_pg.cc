#include "testutil/warehouse_pg.h"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace sluice::testutil {
namespace {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

Result<std::unique_ptr<WarehousePg>> WarehousePg::Start() {
  std::unique_ptr<WarehousePg> pg(new WarehousePg());
  if (!std::filesystem::exists(pg->bin_ + "/initdb")) {
    return Status::NotFound("PostgreSQL 15 binaries not found in " + pg->bin_);
  }
  char tmpl[] = "/tmp/sluice-warehouse-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status::FromErrno("mkdtemp", errno);
  pg->root_ = tmpl;
  chmod(pg->root_.c_str(), 0755);  // traversable by the postgres user
  pg->data_ = pg->root_ + "/data";
  pg->as_root_ = geteuid() == 0;
  pg->port_ = FreePort();
  if (pg->port_ == 0) return Status::Unavailable("no free TCP port on 127.0.0.1");
  const std::string user_prefix = pg->as_root_ ? "runuser -u postgres -- " : "";
  if (pg->as_root_) {
    SLUICE_RETURN_IF_ERROR(pg->Run("install -d -o postgres -g postgres -m 700 " + pg->data_));
    SLUICE_RETURN_IF_ERROR(pg->Run("chown postgres:postgres " + pg->root_));
  }
  SLUICE_RETURN_IF_ERROR(pg->Run("timeout 120 " + user_prefix + pg->bin_ + "/initdb -D " +
                                 pg->data_ +
                                 " -U postgres --auth-local=trust --auth-host=scram-sha-256"
                                 " --encoding=UTF8 --locale=C.UTF-8 >" +
                                 pg->root_ + "/initdb.log 2>&1"));
  SLUICE_RETURN_IF_ERROR(pg->StartServer());
  return pg;
}

WarehousePg::~WarehousePg() {
  if (running_) (void)Stop(false);
  if (!root_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
}

Status WarehousePg::Run(const std::string& command) const {
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    return Status::Internal("command failed (status " + std::to_string(rc) + "): " + command +
                            " (see " + root_ + ")");
  }
  return Status::Ok();
}

Status WarehousePg::StartServer() {
  const std::string user_prefix = as_root_ ? "runuser -u postgres -- " : "";
  SLUICE_RETURN_IF_ERROR(Run(user_prefix + bin_ + "/pg_ctl -D " + data_ + " -l " + data_ +
                             "/server.log -w -t 30 -o \"-p " + std::to_string(port_) + " -k " +
                             root_ +
                             " -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"));
  running_ = true;
  return Status::Ok();
}

Status WarehousePg::Stop(bool immediate) {
  const std::string user_prefix = as_root_ ? "runuser -u postgres -- " : "";
  running_ = false;
  return Run(user_prefix + bin_ + "/pg_ctl -D " + data_ + " -w -t 30 -m " +
             (immediate ? "immediate" : "fast") + " stop >/dev/null");
}

std::string WarehousePg::Dsn() const {
  return "host=" + root_ + " port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

std::string WarehousePg::TcpDsn(const std::string& user) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + user + " dbname=postgres";
}

Result<std::string> WarehousePg::Query(const std::string& sql) const {
  PGconn* conn = PQconnectdb(Dsn().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::Unavailable("test connection: " + why);
  }
  PGresult* res = PQexec(conn, sql.c_str());
  const ExecStatusType st = PQresultStatus(res);
  Result<std::string> out = std::string();
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    out = Status::Internal(sql + ": " + PQresultErrorMessage(res));
  } else if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
    out = std::string(PQgetvalue(res, 0, 0));
  }
  PQclear(res);
  PQfinish(conn);
  return out;
}

Result<int> WarehousePg::TempTableCount() const {
  SLUICE_ASSIGN_OR_RETURN(std::string n,
                          Query("SELECT count(*) FROM pg_class WHERE relpersistence = 't' AND "
                                "relkind = 'r'"));
  return std::atoi(n.c_str());
}

}  // namespace sluice::testutil
