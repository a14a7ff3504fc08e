// An HTTP/1.1 keep-alive server (Boost.Beast/Asio) that hands each request to an HttpHandler.
// All Beast code lives in http_server.cc.
//
// Contract:
//   - Requests on one connection are answered in order; pipelined requests wait in the read buffer
//     until the previous response is written. Different connections run in parallel on
//     `io_threads` threads.
//   - A body larger than `body_limit` gets 413 with an AWS-shaped error body and the connection
//     closes. `Expect: 100-continue` is honoured.
//   - The handler's Responder may run on any thread; the response is posted back to the
//     connection's strand. A Responder called after Stop() returned is ignored.
//   - Stop(): stops accepting, closes idle connections, lets in-flight requests finish for up to
//     `drain_timeout`, then closes whatever is left and joins the io threads. Idempotent.
//
// Thread safety: Start/Stop/port from one controlling thread. The handler must outlive Stop().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/http.h"
#include "common/status.h"

namespace sluice::api {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port; see HttpServer::port()
  int io_threads = 2;
  size_t body_limit = 8 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{60'000};  // a keep-alive connection with no request
  std::chrono::milliseconds drain_timeout{5'000};  // Stop(): wait for in-flight requests
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler& handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads. Fails with a message naming host:port.
  Status Start();
  // The bound port (after Start()).
  uint16_t port() const;
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::api
