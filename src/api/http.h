// Transport-neutral HTTP request/response values and the asynchronous handler interface. The
// HTTP/1.1 server (api/http_server.h) fills an HttpRequest and hands it to an HttpHandler; a later
// HTTP/2 front end can serve the same handlers.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::api {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "POST", "GET", ...
  std::string target;  // "/"
  HttpHeaders headers;
  std::string body;
  // The first header named `name` (ASCII case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
};

// Sends the response for one request. Must be called exactly once; may be called from any thread.
using Responder = std::function<void(HttpResponse)>;

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Handles one request and eventually calls `respond` (possibly on another thread, e.g. the
  // journal commit thread, after the request's records are durable).
  virtual void Handle(HttpRequest request, Responder respond) = 0;
};

}  // namespace sluice::api
