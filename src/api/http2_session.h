// Internal to HttpServer (http_server.cc): one HTTP/2 connection (h2c with prior knowledge, or h2
// over TLS after ALPN) served
// by an nghttp2 server session on the connection's Asio strand. All nghttp2 code is in
// http2_session.cc; the public contract is in http_server.h and README.md.
//
// Each stream becomes one HttpRequest for the server's HttpHandler; streams of one connection are
// handled concurrently and answered in whatever order their Responders run. Responses are HEADERS
// (+ content-length) and DATA for one-shot answers, or HEADERS and one or more DATA frames per
// ResponseStream::Write for streamed answers; nghttp2 keeps to the peer's flow-control windows.
//
// Thread safety: every member is touched only on the connection's strand (the socket's executor);
// Responders and ResponseStreams post to it from any thread and are ignored once the gate closes.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio (Boost 1.74 + g++12 C++20)
// clang-format on

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <functional>
#include <memory>
#include <string_view>
#include <variant>

#include "api/http.h"
#include "api/http_server.h"
#include "common/mutex.h"

namespace sluice::api::internal {

// The client connection preface (RFC 9113 §3.4) that selects HTTP/2 on a new connection.
inline constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A connection's byte stream: plain TCP or TLS over TCP. Satisfies Beast's AsyncReadStream and
// AsyncWriteStream, so the HTTP/1.1 code (Beast) and the HTTP/2 code (nghttp2) serve both. Keeps
// the TLS context the connection was accepted with alive (a reload swaps in a new context for new
// connections only).
class AnyStream {
 public:
  using Tls = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using executor_type = boost::beast::tcp_stream::executor_type;

  explicit AnyStream(boost::asio::ip::tcp::socket socket)
      : v_(std::in_place_index<0>, std::move(socket)) {}
  AnyStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> tls)
      : v_(std::in_place_index<1>, std::move(socket), *tls), tls_context_(std::move(tls)) {}
  AnyStream(AnyStream&&) = default;

  bool is_tls() const { return v_.index() == 1; }
  Tls& tls() { return std::get<1>(v_); }
  boost::beast::tcp_stream& tcp() {
    return v_.index() == 0 ? std::get<0>(v_) : boost::beast::get_lowest_layer(std::get<1>(v_));
  }
  executor_type get_executor() { return tcp().get_executor(); }

  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    std::visit([&](auto& s) { s.async_read_some(buffers, std::forward<Handler>(handler)); }, v_);
  }
  template <typename Buffers, typename Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    std::visit([&](auto& s) { s.async_write_some(buffers, std::forward<Handler>(handler)); }, v_);
  }

 private:
  std::variant<boost::beast::tcp_stream, Tls> v_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
};

// Responders check the gate before posting to a connection: once Stop() closes it (before the
// io_context goes away), late responses are dropped instead of touching a dead io_context.
struct ResponderGate {
  Mutex mu;
  bool open SLUICE_GUARDED_BY(mu) = true;
};

// A live connection in the server's registry.
class Connection {
 public:
  virtual ~Connection() = default;
  // Starts serving; call once, after the connection is registered.
  virtual void Start() = 0;
  // Stop(): finish what is in flight, take nothing new, close when done. Any thread.
  virtual void Shutdown() = 0;
  // Closes the socket now (the drain timeout passed). Any thread.
  virtual void ForceClose() = 0;
};

// What a connection needs from its server. The server outlives its connections' strands.
struct ConnectionContext {
  const HttpServerOptions* options = nullptr;
  HttpHandler* handler = nullptr;
  std::shared_ptr<ResponderGate> gate;
  std::function<bool()> stopping;           // true once Stop() began
  std::function<void(Connection*)> closed;  // the connection is done; drops it from the registry
};

// An HTTP/2 connection on `stream` (whose executor is the connection's strand). `received`: the
// bytes already read from the stream, starting with the client preface (empty after ALPN h2).
std::shared_ptr<Connection> MakeHttp2Session(AnyStream stream, std::string_view received,
                                             ConnectionContext context);

}  // namespace sluice::api::internal
