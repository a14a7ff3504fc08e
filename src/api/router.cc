#include "api/router.h"

#include <spdlog/spdlog.h>

#include "api/cbor_adapter.h"
#include "api/cbor_json.h"
#include "api/errors.h"
#include "api/json_input.h"
#include "auth/authorize.h"

namespace sluice::api {
namespace {

// The signing name of the API the target belongs to.
std::string_view ServiceOf(std::string_view target) {
  if (target.substr(0, 9) == "Firehose_") return "firehose";
  return "kinesis";
}

// An error answer in the request's encoding (CBOR clients get CBOR).
HttpResponse AnswerError(const HttpRequest& request, const ApiError& error) {
  HttpResponse r = ErrorResponse(error, NewRequestId());
  if (!IsCborContentType(request.Header("Content-Type"))) return r;
  auto cbor = JsonResponseToCbor(r.body);
  if (!cbor.ok()) return r;
  r.body = std::move(*cbor);
  for (auto& [k, v] : r.headers) {
    if (k == "Content-Type") v = std::string(kAmzCborContentType);
  }
  return r;
}

}  // namespace

Router::Router(Router&& other) noexcept
    : routes_(std::move(other.routes_)), unknown_(other.unknown_) {
  MutexLock lock(other.mu_);
  verifier_ = std::move(other.verifier_);
}

void Router::Add(std::string target_prefix, HttpHandler* handler) {
  routes_.emplace_back(std::move(target_prefix), handler);
}

void Router::SetVerifier(std::shared_ptr<const auth::Verifier> verifier) {
  MutexLock lock(mu_);
  verifier_ = std::move(verifier);
}

std::shared_ptr<const auth::Verifier> Router::verifier() const {
  MutexLock lock(mu_);
  return verifier_;
}

void Router::Handle(HttpRequest request, Responder respond) {
  if (request.method != "POST") {
    respond(ErrorResponse(
        {"AccessDeniedException", "Unable to determine service/operation name to be authorized"},
        NewRequestId()));
    return;
  }
  std::string_view target = request.Header("X-Amz-Target");
  if (auto verifier = this->verifier()) {
    auto verified = verifier->Verify(
        auth::RequestView{request.method, request.target, &request.headers, request.body},
        ServiceOf(target));
    if (auto* e = std::get_if<auth::AuthError>(&verified)) {
      auth::Audit(nullptr, target, "-", e->type);
      respond(AnswerError(request, ApiError{e->type, e->message, e->http_status}));
      return;
    }
    request.identity =
        std::make_shared<const auth::Identity>(std::move(std::get<auth::Identity>(verified)));
  }
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

bool AuthorizeCall(const HttpRequest& request, std::string_view service, std::string_view operation,
                   std::string_view resource, const std::string& request_id, Responder& respond) {
  const std::string action = std::string(service) + ":" + std::string(operation);
  const auth::Identity* identity = request.identity.get();
  if (auto denied = auth::Authorize(identity, action, resource)) {
    respond(
        ErrorResponse(ApiError{denied->type, denied->message, denied->http_status}, request_id));
    return false;
  }
  if (auth::IsControlPlane(operation)) {
    // Control-plane operations answer once (never a stream): audit their outcome.
    respond = Responder([inner = std::move(respond), identity = request.identity, action,
                         resource = std::string(resource)](HttpResponse r) {
      auth::Audit(identity.get(), action, resource,
                  r.status == 200 ? "ok" : "error " + std::to_string(r.status));
      inner(std::move(r));
    });
  }
  return true;
}

std::pair<std::string_view, std::string> NamedResource(
    std::string_view body, std::initializer_list<std::string_view> fields) {
  auto root = ParseBody(body);
  if (!root.ok()) return {};
  for (std::string_view f : fields) {
    simdjson::dom::element v;
    if (root.value()[f].get(v) != simdjson::SUCCESS) continue;
    std::string_view s;
    if (v.get_string().get(s) == simdjson::SUCCESS) return {f, std::string(s)};
  }
  return {};
}

}  // namespace sluice::api
