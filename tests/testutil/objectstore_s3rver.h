// Test helper: runs @20minutes/s3rver 4.0.4 (tests/compat/node_modules) on a free loopback port
// with a fresh temp directory, through objectstore_s3rver.mjs. The server accepts SigV4 signed by
// S3RVER / S3RVER and path-style URLs. Stopped (and its directory removed) on destruction; it
// also exits by itself if this process dies (its stdin closes).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace sluice::testutil {

class S3rverProcess {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

  // Starts the server with `bucket` created; waits up to `ready_timeout_ms` for it to listen.
  // `source_dir` is the repository root (for tests/compat/node_modules and the .mjs script).
  static Result<std::unique_ptr<S3rverProcess>> Start(const std::string& source_dir,
                                                      const std::string& bucket,
                                                      int ready_timeout_ms = 20'000);
  ~S3rverProcess();
  S3rverProcess(const S3rverProcess&) = delete;
  S3rverProcess& operator=(const S3rverProcess&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Where s3rver keeps its files (objects, pending multipart uploads).
  const std::string& data_dir() const { return data_dir_; }

 private:
  S3rverProcess() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int port_ = 0;
  std::string data_dir_;
};

}  // namespace sluice::testutil
