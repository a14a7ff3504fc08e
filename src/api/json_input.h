// Typed reading of AWS JSON 1.1 request bodies (simdjson DOM) with AWS's serialization errors.
// Member types are checked as the AWS (Coral) front end does: a wrong JSON type is a
// SerializationException ("class java.lang.String can not be converted to an Integer", "Start of
// structure or map found where not expected.", "'<v>' can not be converted to a Blob: ..."). A
// missing member and an explicit null both read as absent. Unknown members are ignored.
//
// Thread safety: a JsonReader is used by one request on one thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/errors.h"

namespace sluice::api {

// Parses `body` (an empty body reads as {}) with a thread-local parser. The returned object is
// valid until the next ParseBody call on this thread. Malformed JSON -> SerializationException;
// a non-object top level -> SerializationException with the type message.
ApiResult<simdjson::dom::object> ParseBody(std::string_view body);

// AWS's message for `text` that is not strict base64 ("'<v>' can not be converted to a Blob: ...").
std::string BlobError(std::string_view text);

// Reads typed members; the first type error is kept and later calls return nullopt.
class JsonReader {
 public:
  std::optional<std::string_view> String(simdjson::dom::object obj, std::string_view key);
  std::optional<int64_t> Integer(simdjson::dom::object obj, std::string_view key);
  std::optional<bool> Boolean(simdjson::dom::object obj, std::string_view key);
  std::optional<simdjson::dom::array> List(simdjson::dom::object obj, std::string_view key);
  std::optional<simdjson::dom::object> Struct(simdjson::dom::object obj, std::string_view key);
  // A list element that must be a structure.
  std::optional<simdjson::dom::object> StructValue(simdjson::dom::element value);
  std::optional<std::string_view> StringValue(simdjson::dom::element value);
  // A base64 blob member's text, not yet decoded; nullopt when absent or not a string (the
  // latter records the type error).
  std::optional<std::string_view> BlobText(simdjson::dom::object obj, std::string_view key);
  // Decodes blob text straight into `out`, which has room for base64::MaxDecodedSize(
  // text.size()) bytes (a front end points it into its request's RecordBatch); returns the bytes
  // written, or nullopt after recording AWS's Blob error.
  std::optional<size_t> DecodeBlobTo(std::string_view text, char* out);

  bool failed() const { return error_.has_value(); }
  const ApiError& error() const { return *error_; }
  // Records a type error (first one wins).
  void Fail(std::string message);

 private:
  std::optional<simdjson::dom::element> Member(simdjson::dom::object obj, std::string_view key);
  std::optional<ApiError> error_;
};

}  // namespace sluice::api
