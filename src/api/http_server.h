// An HTTP/1.1 keep-alive and HTTP/2 (cleartext, prior knowledge) server on one port
// (Boost.Beast/Asio, nghttp2) that hands each request to an HttpHandler. All Beast code lives in
// http_server.cc, all nghttp2 code in http2_session.cc.
//
// Contract:
//   - A connection whose first bytes are the HTTP/2 client preface ("PRI * HTTP/2.0...", h2c with
//     prior knowledge, as the AWS SDK for JavaScript v3 sends it) is served as HTTP/2; any other
//     as HTTP/1.1. With `tls`, ALPN picks the protocol instead (h2 or http/1.1). No `Upgrade: h2c`;
//     no server push.
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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "common/status.h"

namespace sluice::api {

// TLS on the listener (OpenSSL). TLS 1.2+ only, ECDHE + AEAD cipher suites, ALPN h2 and
// http/1.1: a connection that negotiates h2 is served as HTTP/2, any other as HTTP/1.1 (h2c prior
// knowledge is for plain listeners only).
struct TlsOptions {
  std::string cert_file;  // PEM: the certificate chain, leaf first
  std::string key_file;   // PEM: its private key
  std::string
      client_ca_file;  // PEM CA bundle: when set, clients must present a certificate it signs
  std::string min_version = "1.2";  // "1.2" or "1.3"
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port; see HttpServer::port()
  int io_threads = 2;
  // The largest request body; a Content-Length above it is answered 413 before any body byte is
  // read (a chunked body is cut off once it passes the limit).
  size_t body_limit = 8 * 1024 * 1024;
  // Per-API body limits: called with the request's X-Amz-Target once the headers are in, returns
  // the limit for that request (at most body_limit). Unset: body_limit for all.
  std::function<size_t(std::string_view amz_target)> body_limit_for;
  size_t header_limit_bytes = 16 * 1024;  // request line + headers (HTTP/2: the header list)
  size_t max_header_count = 100;          // header fields per request; more → 431
  // Slowloris: a request's headers must arrive within header_timeout of its first byte, and its
  // body at no less than body_min_bytes_per_s on average (after a grace of header_timeout).
  std::chrono::milliseconds header_timeout{10'000};
  size_t body_min_bytes_per_s = 16 * 1024;
  // Open connections at most; at the limit accepting pauses (new clients wait in the listen
  // backlog) and resumes as connections close. 0: no limit.
  size_t max_connections = 10'000;
  std::chrono::milliseconds idle_timeout{60'000};  // a keep-alive connection with no request
  std::chrono::milliseconds drain_timeout{5'000};  // Stop(): wait for in-flight requests
  bool http2 = true;  // serve connections that open with the HTTP/2 preface as HTTP/2
  uint32_t http2_max_concurrent_streams = 128;  // SETTINGS_MAX_CONCURRENT_STREAMS we announce
  // SETTINGS_INITIAL_WINDOW_SIZE we announce: request body bytes a client may send on one stream
  // before we acknowledge them (the connection window is 16 MiB).
  uint32_t http2_stream_window_bytes = 1024 * 1024;
  // Request body bytes one HTTP/2 connection buffers for requests not yet handed to the handler
  // (the connection-level flow-control window; at least the largest body limit).
  size_t http2_max_buffered_bytes = 16 * 1024 * 1024;
  std::optional<TlsOptions> tls;  // unset: plain TCP
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
  // Reloads the TLS certificate, key and client CA from their files: new connections use them,
  // open ones keep theirs. On failure the current ones stay. Any thread.
  Status ReloadTls();
  // Open connections now (for tests and logs).
  size_t connections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::api
