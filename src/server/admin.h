// The admin listener's handler (admin_listen, separate from the data port): GET /metrics (the
// Prometheus text exposition of observe::Registry::Default()), /healthz (200 while the process
// serves), /readyz (200 "ready", or 503 with the reason from the readiness check). Any other
// path is 404, any other method 405. Not behind api::Router (which serves AWS POSTs only).
// Thread safety: Handle may run on any io thread; `readiness` must be thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "api/http.h"
#include "observe/metrics.h"

namespace sluice::server {

// Returns nullopt when ready, else why not ("journal is closed", "disk quota 97% used").
using ReadinessCheck = std::function<std::optional<std::string>()>;

class AdminHandler : public api::HttpHandler {
 public:
  AdminHandler(observe::Registry* registry, ReadinessCheck readiness)
      : registry_(registry), readiness_(std::move(readiness)) {}
  void Handle(api::HttpRequest request, api::Responder respond) override;

 private:
  observe::Registry* registry_;
  ReadinessCheck readiness_;
};

// Counts every request to `inner` in sluice_http_requests_total{operation,status} and its
// latency in sluice_http_request_duration_seconds (operation: the X-Amz-Target operation, or
// "other"). Series handles are cached per operation after the first request.
class InstrumentedHandler : public api::HttpHandler {
 public:
  explicit InstrumentedHandler(api::HttpHandler* inner) : inner_(inner) {}
  void Handle(api::HttpRequest request, api::Responder respond) override;

 private:
  api::HttpHandler* inner_;
};

}  // namespace sluice::server
