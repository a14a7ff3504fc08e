#include "api/json_input.h"

#include <cctype>
#include <climits>
#include <cmath>

#include "common/base64.h"

namespace sluice::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool IsNumber(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

// The message for a structure/list found where a scalar was expected, or "" for other types.
std::string ContainerMessage(element_type t) {
  if (t == element_type::ARRAY) return "Start of list found where not expected";
  if (t == element_type::OBJECT) return "Start of structure or map found where not expected.";
  return {};
}

bool IsBase64Char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
}

}  // namespace

ApiResult<simdjson::dom::object> ParseBody(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) body = "{}";
  element root;
  if (auto err = parser.parse(body.data(), body.size()).get(root); err) {
    return ApiError::Serialization(std::string("Malformed request body: ") +
                                   simdjson::error_message(err));
  }
  if (root.type() == element_type::NULL_VALUE) {
    // A JSON null input is an input with no members, as AWS reads it: the operation's own
    // validation then names what is missing.
    if (parser.parse(std::string_view("{}")).get(root) != simdjson::SUCCESS) {
      return ApiError::Serialization("Malformed request body");
    }
  }
  if (root.type() == element_type::ARRAY) {
    return ApiError::Serialization("Start of list found where not expected");
  }
  if (root.type() != element_type::OBJECT) return ApiError::Serialization("Expected null");
  return root.get_object().value_unsafe();
}

std::string BlobError(std::string_view text) {
  std::string error = "'";
  error += text;
  error += "' can not be converted to a Blob: ";
  if (text.size() % 4 != 0) {
    error += "Base64 encoded length is expected a multiple of 4 bytes but found: " +
             std::to_string(text.size());
    return error;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!IsBase64Char(c) || (c == '=' && i + 1 < text.size() && text[i + 1] != '=')) {
      // The whole character: `text` is UTF-8 (a JSON string) and every byte before this one was
      // ASCII, so this is the first byte of a 1-4 byte sequence. (One byte of it alone would
      // make the error body invalid UTF-8; the fuzzer found that.)
      const auto lead = static_cast<unsigned char>(c);
      const size_t n = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      error += "Invalid Base64 character: '";
      error += text.substr(i, n);
      error += '\'';
      return error;
    }
  }
  // AWS's own spelling.
  error += "Invalid last non-pad Base64 character dectected";
  return error;
}

void JsonReader::Fail(std::string message) {
  if (!error_) error_ = ApiError::Serialization(std::move(message));
}

std::optional<element> JsonReader::Member(simdjson::dom::object obj, std::string_view key) {
  if (error_) return std::nullopt;
  // A key given twice: the last one counts, as AWS's Jackson-based parser does (simdjson's
  // at_key would return the first).
  std::optional<element> found;
  for (auto field : obj) {
    if (field.key == key) found = field.value;
  }
  if (!found || found->is_null()) return std::nullopt;
  return found;
}

std::optional<std::string_view> JsonReader::StringValue(element value) {
  if (error_) return std::nullopt;
  element_type t = value.type();
  if (t == element_type::STRING) return value.get_string().value_unsafe();
  if (t == element_type::NULL_VALUE) return std::nullopt;
  if (t == element_type::BOOL) {
    Fail("class java.lang.Boolean can not be converted to an String");
  } else if (IsNumber(t)) {
    Fail("class java.math.BigDecimal can not be converted to an String");
  } else {
    Fail(ContainerMessage(t));
  }
  return std::nullopt;
}

std::optional<std::string_view> JsonReader::String(simdjson::dom::object obj,
                                                   std::string_view key) {
  auto value = Member(obj, key);
  if (!value) return std::nullopt;
  return StringValue(*value);
}

std::optional<int64_t> JsonReader::Integer(simdjson::dom::object obj, std::string_view key) {
  auto value = Member(obj, key);
  if (!value) return std::nullopt;
  element_type t = value->type();
  switch (t) {
    case element_type::INT64: return value->get_int64().value_unsafe();
    case element_type::UINT64: {
      uint64_t u = value->get_uint64().value_unsafe();
      return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
    }
    case element_type::DOUBLE: {
      double d = value->get_double().value_unsafe();
      if (d >= 9.2e18) return INT64_MAX;
      if (d <= -9.2e18) return INT64_MIN;
      return static_cast<int64_t>(std::floor(d));
    }
    case element_type::STRING:
      Fail("class java.lang.String can not be converted to an Integer");
      return std::nullopt;
    case element_type::BOOL:
      Fail("class java.lang.Boolean can not be converted to an Integer");
      return std::nullopt;
    default: Fail(ContainerMessage(t)); return std::nullopt;
  }
}

std::optional<bool> JsonReader::Boolean(simdjson::dom::object obj, std::string_view key) {
  auto value = Member(obj, key);
  if (!value) return std::nullopt;
  element_type t = value->type();
  if (t == element_type::BOOL) return value->get_bool().value_unsafe();
  if (IsNumber(t)) {
    Fail("class java.math.BigDecimal can not be converted to an Boolean");
  } else if (t == element_type::STRING) {
    std::string upper(value->get_string().value_unsafe());
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Fail("'" + upper + "' can not be converted to an Boolean");
  } else {
    Fail(ContainerMessage(t));
  }
  return std::nullopt;
}

std::optional<simdjson::dom::array> JsonReader::List(simdjson::dom::object obj,
                                                     std::string_view key) {
  auto value = Member(obj, key);
  if (!value) return std::nullopt;
  element_type t = value->type();
  if (t == element_type::ARRAY) return value->get_array().value_unsafe();
  Fail(t == element_type::OBJECT ? ContainerMessage(t) : "Expected list or null");
  return std::nullopt;
}

std::optional<simdjson::dom::object> JsonReader::StructValue(element value) {
  if (error_) return std::nullopt;
  element_type t = value.type();
  if (t == element_type::OBJECT) return value.get_object().value_unsafe();
  if (t == element_type::NULL_VALUE) return std::nullopt;
  Fail(t == element_type::ARRAY ? ContainerMessage(t) : "Expected null");
  return std::nullopt;
}

std::optional<simdjson::dom::object> JsonReader::Struct(simdjson::dom::object obj,
                                                        std::string_view key) {
  auto value = Member(obj, key);
  if (!value) return std::nullopt;
  return StructValue(*value);
}

std::optional<std::string_view> JsonReader::BlobText(simdjson::dom::object obj,
                                                     std::string_view key) {
  auto value = Member(obj, key);
  if (!value) return std::nullopt;
  element_type t = value->type();
  if (t != element_type::STRING) {
    if (t == element_type::BOOL) {
      Fail("class java.lang.Boolean can not be converted to a Blob");
    } else if (IsNumber(t)) {
      Fail("class java.math.BigDecimal can not be converted to a Blob");
    } else {
      Fail(ContainerMessage(t));
    }
    return std::nullopt;
  }
  return value->get_string().value_unsafe();
}

std::optional<size_t> JsonReader::DecodeBlobTo(std::string_view text, char* out) {
  if (error_) return std::nullopt;
  auto n = base64::DecodeTo(text, out);
  if (!n) Fail(BlobError(text));
  return n;
}

}  // namespace sluice::api
