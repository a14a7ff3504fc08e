#include "server/admin.h"

#include <chrono>
#include <memory>

#include "server/metrics.h"

namespace sluice::server {
namespace {

api::HttpResponse Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8") {
  api::HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

// "PutRecordBatch" of "Firehose_20150804.PutRecordBatch"; "other" without a target.
std::string OperationOf(const api::HttpRequest& request) {
  std::string_view target = request.Header("x-amz-target");
  const auto dot = target.rfind('.');
  if (target.empty() || dot == std::string_view::npos || dot + 1 == target.size()) return "other";
  std::string_view op = target.substr(dot + 1);
  // Bound the label set: an operation name is short and alphanumeric.
  if (op.size() > 64) return "other";
  for (char c : op) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return "other";
    }
  }
  return std::string(op);
}

}  // namespace

void AdminHandler::Handle(api::HttpRequest request, api::Responder respond) {
  std::string path = request.target.substr(0, request.target.find('?'));
  if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
    respond(Text(404, "not found: the admin listener serves /metrics, /healthz and /readyz\n"));
    return;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    api::HttpResponse r = Text(405, "method not allowed: use GET\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    respond(std::move(r));
    return;
  }
  if (path == "/healthz") {
    respond(Text(200, "ok\n"));
    return;
  }
  std::optional<std::string> not_ready = readiness_ ? readiness_() : std::nullopt;
  Metrics().ready.With({}).Set(not_ready ? 0 : 1);
  if (path == "/readyz") {
    respond(not_ready ? Text(503, "not ready: " + *not_ready + "\n") : Text(200, "ready\n"));
    return;
  }
  respond(Text(200, registry_->Render(), "text/plain; version=0.0.4; charset=utf-8"));
}

void InstrumentedHandler::Handle(api::HttpRequest request, api::Responder respond) {
  struct Timing {
    std::string operation;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    void Record(int status) const {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
      Metrics().http_requests.With({operation, std::to_string(status)}).Inc();
      Metrics().http_request_duration.With({operation}).Observe(took.count());
    }
  };
  // Shared by the two halves of the Responder (exactly one of them runs).
  auto timing = std::make_shared<Timing>();
  timing->operation = OperationOf(request);
  api::Responder wrapped(
      [respond, timing](api::HttpResponse response) {
        timing->Record(response.status);
        respond(std::move(response));
      },
      respond.can_stream()
          ? api::Responder::Streamer([respond, timing](int status, api::HttpHeaders headers) {
              timing->Record(status);
              return respond.Stream(status, std::move(headers));
            })
          : api::Responder::Streamer());
  inner_->Handle(std::move(request), std::move(wrapped));
}

}  // namespace sluice::server
