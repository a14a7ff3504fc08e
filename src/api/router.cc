#include "api/router.h"

#include "api/errors.h"

namespace sluice::api {

void Router::Add(std::string target_prefix, HttpHandler* handler) {
  routes_.emplace_back(std::move(target_prefix), handler);
}

void Router::Handle(HttpRequest request, Responder respond) {
  if (request.method != "POST") {
    respond(ErrorResponse(
        {"AccessDeniedException", "Unable to determine service/operation name to be authorized"},
        NewRequestId()));
    return;
  }
  std::string_view target = request.Header("X-Amz-Target");
  for (const auto& [prefix, handler] : routes_) {
    if (target.substr(0, prefix.size()) == prefix) {
      handler->Handle(std::move(request), std::move(respond));
      return;
    }
  }
  unknown_.Handle(std::move(request), std::move(respond));
}

void UnknownOperationHandler::Handle(HttpRequest request, Responder respond) {
  respond(ErrorResponse(ApiError::UnknownOperation("Unknown operation: " +
                                                   std::string(request.Header("X-Amz-Target"))),
                        NewRequestId()));
}

}  // namespace sluice::api
