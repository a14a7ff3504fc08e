// Router: the HttpHandler the listener serves. It sends each request to the protocol handler
// registered for its X-Amz-Target prefix ("Firehose_20150804.", later "Kinesis_20131202."), so
// that every protocol sits on the same listener (HTTP/1.1 now, HTTP/2 later) and authentication
// can sit here, in one place, for all of them.
//
// A request that is not a POST answers AccessDeniedException (what AWS answers a GET to a JSON
// service endpoint); an X-Amz-Target no handler claims answers UnknownOperationException.
// Thread safety: Add before serving; Handle from any number of threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"

namespace sluice::api {

// Answers every request UnknownOperationException ("Unknown operation: <X-Amz-Target>"), as the
// router does for a target no handler claims. It stands in for a protocol whose handler is not
// there yet. Stateless.
class UnknownOperationHandler : public HttpHandler {
 public:
  void Handle(HttpRequest request, Responder respond) override;
};

class Router : public HttpHandler {
 public:
  // Requests whose X-Amz-Target starts with `target_prefix` go to `handler` (not owned; it must
  // outlive the router).
  void Add(std::string target_prefix, HttpHandler* handler);
  void Handle(HttpRequest request, Responder respond) override;

 private:
  std::vector<std::pair<std::string, HttpHandler*>> routes_;
  UnknownOperationHandler unknown_;
};

}  // namespace sluice::api
