// Typed access to a JSON options object (the output format's, FormatSpec::Parse) with
// unknown-key detection; the numeric and boolean getters accept both JSON numbers/booleans and
// their string spellings. Processor parameters have their own tables (processor_params.h).
#pragma once

#include <simdjson.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::transform {

class Params {
 public:
  // `where` prefixes every error, e.g. "processor 2 (flatten)". Empty text means {}.
  static Result<std::unique_ptr<Params>> Parse(std::string where, std::string_view json);

  simdjson::dom::element root() const { return root_; }
  bool IsObject() const { return root_.is_object(); }
  bool Has(std::string_view key) const;

  Result<std::optional<std::string>> String(std::string_view key);
  Result<std::optional<int64_t>> Int(std::string_view key);
  Result<std::optional<double>> Double(std::string_view key);
  Result<std::optional<bool>> Bool(std::string_view key);
  // Any JSON value (marks the key as known).
  std::optional<simdjson::dom::element> Get(std::string_view key);

  // Fails naming the first key no getter asked for, and lists the allowed ones.
  Status CheckNoUnknownKeys(const std::vector<std::string>& allowed) const;
  Status Error(std::string_view key, std::string_view problem) const;
  const std::string& where() const { return where_; }

 private:
  Params() = default;
  std::string where_;
  simdjson::padded_string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  std::set<std::string, std::less<>> used_;
};

// Helpers over dom elements for nested parameter objects (schema columns, rules).
std::optional<std::string> ElementString(simdjson::dom::element e);
std::string ElementToJson(simdjson::dom::element e);

}  // namespace sluice::transform
