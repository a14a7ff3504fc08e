// ParamValue: a processor's parameters as a small value tree, the one input form of the
// parameter parsers (processor_params.h). The config file (YAML, with the line of every node),
// the Firehose API (ProcessingConfiguration Parameters: a map of strings) and JSON text (tools
// and tests) each convert to it; the parsers never see YAML or JSON.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::transform {

struct ParamField;

struct ParamValue {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kList, kMap };
  Kind kind = Kind::kNull;
  // Scalars: the value's text ("true", "12.5", the unescaped string).
  std::string text;
  std::vector<ParamValue> items;  // kList
  // kMap, in the order given. (Not std::pair: a pair cannot hold the incomplete ParamValue.)
  std::vector<ParamField> fields;
  // 1-based line in the source document (YAML); 0 when unknown (the Firehose API, JSON text).
  int line = 0;

  static ParamValue Null();
  static ParamValue String(std::string s);
  static ParamValue Number(std::string text);
  static ParamValue Bool(bool b);
  static ParamValue List();
  static ParamValue Map();

  bool is_null() const { return kind == Kind::kNull; }
  bool is_map() const { return kind == Kind::kMap; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_string() const { return kind == Kind::kString; }
  // The first field named `key` of a map (nullptr when absent or not a map).
  const ParamValue* Find(std::string_view key) const;
  // kMap only: appends a field.
  void Add(std::string key, ParamValue value);

  // Minified JSON (strings quoted and escaped, numbers as their text).
  std::string ToJson() const;
  // Parses JSON text; blank text is {}. Lines are 0. Errors: "parameters are not valid JSON: ...".
  static Result<ParamValue> FromJson(std::string_view json);

  // Structural equality (lines are ignored).
  bool operator==(const ParamValue& other) const;
};

struct ParamField {
  std::string key;
  ParamValue value;
  bool operator==(const ParamField&) const = default;
};

inline ParamValue ParamValue::Null() {
  return {};
}

}  // namespace sluice::transform
