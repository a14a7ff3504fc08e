// Transport-neutral HTTP request/response values and the asynchronous handler interface. The
// HTTP/1.1 server (api/http_server.h) fills an HttpRequest and hands it to an HttpHandler; a later
// HTTP/2 front end can serve the same handlers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "auth/sigv4.h"

namespace sluice::api {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "POST", "GET", ...
  std::string target;  // "/"
  HttpHeaders headers;
  std::string body;
  // Who signed the request, set by the Router once the signature checked out; null when the
  // server runs without an `auth:` block (anonymous, loopback only).
  std::shared_ptr<const auth::Identity> identity;
  // The first header named `name` (ASCII case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
};

// The body of a streamed response, sent in parts as they come (event streams: Kinesis
// SubscribeToShard sends events for minutes). HTTP/1.1 sends the parts as chunks
// (Transfer-Encoding: chunked); HTTP/2 as DATA frames. Thread safety: any thread.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;  // ends the response if End() was not called
  // Queues `part`; parts go out in order. `written` (optional) runs once the part is sent (true)
  // or can no longer be (false: the client went away or the server is stopping).
  virtual void Write(std::string part, std::function<void(bool)> written = nullptr) = 0;
  // Ends the response once the queued parts are sent; the connection then serves its next
  // request. Idempotent.
  virtual void End() = 0;
};

// Answers one request: either once, with a whole response (call it), or as a stream (Stream()).
// Exactly one of the two, exactly once; may be used from any thread.
class Responder {
 public:
  using OneShot = std::function<void(HttpResponse)>;
  using Streamer = std::function<std::shared_ptr<ResponseStream>(int status, HttpHeaders headers)>;

  Responder() = default;
  // A one-shot responder from any callable taking an HttpResponse (tests, simple transports).
  template <typename F, typename = std::enable_if_t<std::is_invocable_v<F&, HttpResponse> &&
                                                    !std::is_same_v<std::decay_t<F>, Responder>>>
  Responder(F f) : one_shot_(std::move(f)) {}  // NOLINT(google-explicit-constructor)
  Responder(OneShot one_shot, Streamer streamer)
      : one_shot_(std::move(one_shot)), streamer_(std::move(streamer)) {}

  void operator()(HttpResponse response) const { one_shot_(std::move(response)); }
  // True if the transport can stream (Stream() returns a stream).
  bool can_stream() const { return static_cast<bool>(streamer_); }
  // Sends the status and headers now and returns the stream of the body; null when the
  // transport cannot stream (then answer with operator() instead).
  std::shared_ptr<ResponseStream> Stream(int status, HttpHeaders headers) const {
    return streamer_ ? streamer_(status, std::move(headers)) : nullptr;
  }

 private:
  OneShot one_shot_;
  Streamer streamer_;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Handles one request and eventually calls `respond` (possibly on another thread, e.g. the
  // journal commit thread, after the request's records are durable).
  virtual void Handle(HttpRequest request, Responder respond) = 0;
};

}  // namespace sluice::api
