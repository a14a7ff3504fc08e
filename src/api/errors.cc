#include "api/errors.h"

#include <array>
#include <cstdint>
#include <random>

#include "common/json_writer.h"

namespace sluice::api {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool equal = true;
    for (size_t i = 0; i < k.size() && equal; ++i) {
      char a = k[i], b = name[i];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
      equal = a == b;
    }
    if (equal) return v;
  }
  return {};
}

void ValidationErrors::Add(std::optional<std::string_view> value, std::string_view path,
                           std::string_view constraint) {
  if (items_.size() >= kMaxReported) return;
  std::string item = "Value ";
  if (value) {
    item += '\'';
    item += *value;
    item += '\'';
  } else {
    item += "null";
  }
  item += " at '";
  item += path;
  item += "' failed to satisfy constraint: ";
  item += constraint;
  items_.push_back(std::move(item));
}

ApiError ValidationErrors::ToError() const {
  std::string message = std::to_string(items_.size());
  message += items_.size() == 1 ? " validation error detected: " : " validation errors detected: ";
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) message += "; ";
    message += items_[i];
  }
  return ApiError::Validation(std::move(message));
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                      // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    out += kHex[(word >> shift) & 0xF];
  }
  return out;
}

HttpResponse JsonResponse(int status, std::string body, const std::string& request_id) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::string(kAmzJsonContentType));
  r.headers.emplace_back("x-amzn-RequestId", request_id);
  r.body = std::move(body);
  return r;
}

HttpResponse ErrorResponse(const ApiError& error, const std::string& request_id) {
  json::Writer w;
  w.BeginObject();
  w.Key("__type");
  w.String(error.type);
  w.Key("message");
  w.String(error.message);
  w.EndObject();
  return JsonResponse(error.http_status, w.Take(), request_id);
}

void CheckRange(ValidationErrors& errors, std::optional<int64_t> v, std::string_view path,
                int64_t min, int64_t max) {
  if (!v) return;
  if (*v < min) {
    errors.Add(std::to_string(*v), path,
               "Member must have value greater than or equal to " + std::to_string(min));
  }
  if (*v > max) {
    errors.Add(std::to_string(*v), path,
               "Member must have value less than or equal to " + std::to_string(max));
  }
}

std::string BlobRepr(size_t length) {
  std::string n = std::to_string(length);
  return "java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]";
}

}  // namespace sluice::api
