// An HTTP/1.1 keep-alive and HTTP/2 (cleartext, prior knowledge) server on one port
// (Boost.Beast/Asio, nghttp2) that hands each request to an HttpHandler. All Beast code lives in
// http_server.cc, all nghttp2 code in http2_session.cc.
//
// Contract:
//   - A connection whose first bytes are the HTTP/2 client preface ("PRI * HTTP/2.0...", h2c with
//     prior knowledge, as the AWS SDK for JavaScript v3 sends it) is served as HTTP/2; any other
//     as HTTP/1.1. No TLS (so no ALPN) and no `Upgrade: h2c`; no server push.
//   - HTTP/1.1: requests on one connection are answered in order; pipelined requests wait in the
//     read buffer until the previous response is written. `Expect: 100-continue` is honoured.
//   - HTTP/2: each stream is one request (:method → method, :path → target, :authority → a `host`
//     header when the request has none, other headers lower-case as received). Up to
//     `http2_max_concurrent_streams` streams per connection are handled concurrently and answered
//     in the order their Responders run. Streamed responses send one or more DATA frames per
//     ResponseStream::Write, within the peer's flow-control windows. Hop-by-hop response headers
//     (Connection, Transfer-Encoding, ...) are dropped and names lower-cased.
//   - Different connections run in parallel on `io_threads` threads.
//   - A body larger than `body_limit` gets 413 with an AWS-shaped error body; HTTP/1.1 then
//     closes the connection, HTTP/2 resets only that stream (RST_STREAM NO_ERROR after the 413).
//   - Idle: an HTTP/1.1 connection waiting for (the rest of) a request, or an HTTP/2 connection
//     with no request being answered and no frame received, for `idle_timeout` is closed
//     (HTTP/2: GOAWAY first; streams whose body stalled are dropped). A request with the handler
//     or a streamed response never times out; a peer that does not take our bytes for
//     `idle_timeout` is cut off.
//   - The handler's Responder may run on any thread; the response is posted back to the
//     connection's strand. A Responder called after Stop() returned is ignored.
//   - Stop(): stops accepting, closes idle connections (HTTP/2: GOAWAY, no new streams), lets
//     in-flight requests and streamed responses finish for up to `drain_timeout`, then closes
//     whatever is left (pending `written` callbacks get false) and joins the io threads.
//     Idempotent.
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
  bool http2 = true;  // serve connections that open with the HTTP/2 preface as HTTP/2
  uint32_t http2_max_concurrent_streams = 128;  // SETTINGS_MAX_CONCURRENT_STREAMS we announce
  // SETTINGS_INITIAL_WINDOW_SIZE we announce: request body bytes a client may send on one stream
  // before we acknowledge them (the connection window is 16 MiB).
  uint32_t http2_stream_window_bytes = 1024 * 1024;
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
