// AWS JSON 1.1 errors shared by the protocol handlers: the wire shape of an error, the
// ValidationException message builder, and response helpers that give every response its
// x-amzn-RequestId and Content-Type. Each protocol maps Status codes to its own errors in its own
// table (the Firehose one is in firehose_handler.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/http.h"
#include "common/status.h"

namespace sluice::api {

inline constexpr std::string_view kAmzJsonContentType = "application/x-amz-json-1.1";

// An AWS error as it goes on the wire: {"__type": type, "message": message} with http_status.
struct ApiError {
  std::string type;
  std::string message;
  int http_status = 400;

  static ApiError Serialization(std::string m) { return {"SerializationException", std::move(m)}; }
  static ApiError Validation(std::string m) { return {"ValidationException", std::move(m)}; }
  static ApiError InvalidArgument(std::string m) {
    return {"InvalidArgumentException", std::move(m)};
  }
  static ApiError NotFound(std::string m) { return {"ResourceNotFoundException", std::move(m)}; }
  static ApiError InUse(std::string m) { return {"ResourceInUseException", std::move(m)}; }
  static ApiError UnknownOperation(std::string m) {
    return {"UnknownOperationException", std::move(m)};
  }
  static ApiError ServiceUnavailable(std::string m) {
    return {"ServiceUnavailableException", std::move(m), 503};
  }
  static ApiError InternalFailure(std::string m) { return {"InternalFailure", std::move(m), 500}; }
  // The transports' answer to a request body over its limit (413), sent before the body is read.
  static ApiError BodyTooLarge(size_t limit) {
    return {"RequestEntityTooLargeException",
            "Request body exceeds the limit of " + std::to_string(limit) + " bytes", 413};
  }
  // Headers over their size or count limit (431).
  static ApiError HeadersTooLarge(std::string m) {
    return {"RequestHeaderFieldsTooLargeException", std::move(m), 431};
  }
};

// A value or an ApiError.
template <typename T>
class ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  ApiResult(ApiError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const ApiError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

// Collects constraint violations and renders them as AWS does:
//   "1 validation error detected: Value 'x' at 'records.1.member.data' failed to satisfy
//    constraint: Member must have length less than or equal to 1024000"
//   "2 validation errors detected: <first>; <second>"
// At most 10 violations are kept, as AWS reports.
class ValidationErrors {
 public:
  static constexpr size_t kMaxReported = 10;
  // `value` is the offending value as shown between quotes; nullopt renders as "Value null".
  void Add(std::optional<std::string_view> value, std::string_view path,
           std::string_view constraint);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  ApiError ToError() const;

 private:
  std::vector<std::string> items_;
};

// Adds AWS's range violations of an integer member (absent: nothing to check).
void CheckRange(ValidationErrors& errors, std::optional<int64_t> value, std::string_view path,
                int64_t min, int64_t max);
// How AWS (Java) renders a blob value in a validation message.
std::string BlobRepr(size_t length);

// A random (version 4) UUID, for x-amzn-RequestId.
std::string NewRequestId();

// A JSON response with the AWS JSON 1.1 content type and the given request id.
HttpResponse JsonResponse(int status, std::string body, const std::string& request_id);
// {"__type": ..., "message": ...} with the error's status and the given request id.
HttpResponse ErrorResponse(const ApiError& error, const std::string& request_id);

}  // namespace sluice::api
