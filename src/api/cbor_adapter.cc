#include "api/cbor_adapter.h"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "api/cbor_json.h"
#include "api/errors.h"

namespace sluice::api {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// Replaces the value of every header named `name` (case-insensitive); adds it when absent
// and `add_if_absent`.
void SetHeader(HttpHeaders& headers, std::string_view name, std::string value, bool add_if_absent) {
  bool found = false;
  for (auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) {
      v = value;
      found = true;
    }
  }
  if (!found && add_if_absent) headers.emplace_back(std::string(name), std::move(value));
}

std::string_view RequestIdOf(const HttpResponse& r) {
  for (const auto& [k, v] : r.headers) {
    if (EqualsIgnoreCase(k, "x-amzn-RequestId")) return v;
  }
  return {};
}

// The JSON response `r` as the CBOR client gets it.
HttpResponse ToCbor(HttpResponse r) {
  Result<std::string> body = JsonResponseToCbor(r.body);
  if (!body.ok()) {
    std::string id(RequestIdOf(r));
    if (id.empty()) id = NewRequestId();
    spdlog::error("request {}: response does not transcode to CBOR: {}", id,
                  body.status().ToString());
    r = ErrorResponse(ApiError::InternalFailure("Internal Service Failure"), id);
    body = JsonResponseToCbor(r.body);
    if (!body.ok()) body = std::string();  // cannot happen: ErrorResponse writes valid JSON
  }
  r.body = std::move(*body);
  SetHeader(r.headers, "Content-Type", std::string(kAmzCborContentType), true);
  SetHeader(r.headers, "Content-Length", std::to_string(r.body.size()), false);
  return r;
}

}  // namespace

bool IsCborContentType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return EqualsIgnoreCase(t, kAmzCborContentType);
}

void CborAdapter::Handle(HttpRequest request, Responder respond) {
  if (!IsCborContentType(request.Header("Content-Type"))) {
    inner_->Handle(std::move(request), std::move(respond));
    return;
  }
  Result<std::string> json = CborRequestToJson(request.body);
  if (!json.ok()) {
    respond(
        ToCbor(ErrorResponse(ApiError::Serialization(json.status().message()), NewRequestId())));
    return;
  }
  request.body = std::move(*json);
  SetHeader(request.headers, "Content-Type", std::string(kAmzJsonContentType), true);
  Responder::Streamer streamer;
  if (respond.can_stream()) {
    streamer = [respond](int status, HttpHeaders headers) {
      return respond.Stream(status, std::move(headers));
    };
  }
  Responder::OneShot one_shot = [respond](HttpResponse r) { respond(ToCbor(std::move(r))); };
  inner_->Handle(std::move(request), Responder(std::move(one_shot), std::move(streamer)));
}

}  // namespace sluice::api
