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

// Decodes strict base64 into `out` (replacing its contents). On failure returns false and sets
// `error` to AWS's Blob message ("'<v>' can not be converted to a Blob: ...").
bool DecodeBlob(std::string_view text, std::string& out, std::string& error);

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
  // Reads a base64 blob member and decodes it into `out`. Returns false when absent or on error.
  bool Blob(simdjson::dom::object obj, std::string_view key, std::string& out);

  bool failed() const { return error_.has_value(); }
  const ApiError& error() const { return *error_; }
  // Records a type error (first one wins).
  void Fail(std::string message);

 private:
  std::optional<simdjson::dom::element> Member(simdjson::dom::object obj, std::string_view key);
  std::optional<ApiError> error_;
};

}  // namespace sluice::api
