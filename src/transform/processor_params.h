// The typed parameters of every processor type, each declared once with its parameter table
// (name, type, default, meaning: Fluent Bit's config_map). The table drives the parsers (from a
// ParamValue: the config file, the Firehose API, JSON), their error messages (a bad value names
// the parameter; an unknown parameter lists the known ones), the emitters (StreamToYaml and
// DescribeDeliveryStream write the parameters back) and docs/config.md's parameter reference
// (RenderProcessorReference; a test checks the docs).
//
// Every struct holds the effective values (defaults applied) and `given`: the parameters that
// were set, in the order given. Emitting writes exactly those, so a stream created through the
// API describes its parameters as it was given them, and a persisted stream re-reads equal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transform/row_set.h"
#include "transform/rows.h"

namespace sluice::transform {

// flatten (flatten.h describes the behaviour).
struct FlattenParams {
  static constexpr uint32_t kDefaultMaxDepth = 32;
  static constexpr uint32_t kDefaultMaxColumns = 100'000;
  std::string separator = "_";
  std::vector<std::string> explode;  // path segments; empty = no explode
  enum class Arrays : uint8_t { kJson, kJoin } arrays = Arrays::kJson;
  std::string join_separator = ",";
  bool explode_empty_drop = false;
  uint32_t max_depth = kDefaultMaxDepth;
  uint32_t max_columns = kDefaultMaxColumns;  // distinct paths per chain before a reset
  std::vector<std::string> given;
  bool operator==(const FlattenParams&) const = default;
};

// schema (schema.h describes the types and conversions).
struct TimeFormat {
  enum class Kind : uint8_t { kIso8601, kEpochS, kEpochMs, kEpochUs, kPattern } kind;
  std::string pattern;
  bool operator==(const TimeFormat&) const = default;
};

struct ColumnSpec {
  std::string name;
  std::string source;  // dotted path
  ColumnType type = ColumnType::kText;
  uint32_t precision = 0;  // numeric only
  uint32_t scale = 0;      // numeric only
  bool required = false;
  std::optional<std::pair<ValueKind, std::string>> default_value;
  std::vector<TimeFormat> formats;  // timestamp/date only

  std::string TypeName() const;  // "numeric(10,2)", "bigint", ...
  bool operator==(const ColumnSpec&) const = default;
};

struct SchemaParams {
  std::vector<ColumnSpec> columns;  // at least one; names unique; defaults convert
  std::vector<std::string> given;
  bool operator==(const SchemaParams&) const = default;
};

// rules (lua_engine.h describes the evaluation). Expressions are compiled by Chain::Build.
struct RulesParams {
  struct Rule {
    enum class Kind : uint8_t { kDropIf, kFailIf, kSet } kind = Kind::kDropIf;
    std::string expr;
    std::optional<std::string> message;  // fail_if only
    std::string column;                  // set only
    bool operator==(const Rule&) const = default;
  };
  std::vector<Rule> rules;
  std::vector<std::string> given;
  bool operator==(const RulesParams&) const = default;
};

// lua: exactly one of file (read and compiled by Chain::Build) and script.
struct LuaParams {
  std::optional<std::string> file;
  std::optional<std::string> script;
  std::vector<std::string> given;
  bool operator==(const LuaParams&) const = default;
};

// Lambda (lambda.h describes the contract).
struct LambdaParams {
  static constexpr uint32_t kDefaultRetries = 3;
  static constexpr double kDefaultBufferMb = 1.0;
  static constexpr uint32_t kDefaultIntervalS = 60;
  static constexpr int64_t kDefaultTimeoutMs = 300'000;
  std::string url;  // LambdaArn (alias url): an http(s) URL
  uint32_t number_of_retries = kDefaultRetries;
  double buffer_size_mb = kDefaultBufferMb;
  uint32_t buffer_interval_s = kDefaultIntervalS;
  int64_t timeout_ms = kDefaultTimeoutMs;
  std::string role_arn;  // accepted and ignored
  std::vector<std::string> given;
  bool operator==(const LambdaParams&) const = default;
};

// AppendDelimiterToRecord has no parameters.
struct AppendDelimiterParams {
  std::vector<std::string> given;
  bool operator==(const AppendDelimiterParams&) const = default;
};

// RecordDeAggregation (builtin.h).
struct DeAggregationParams {
  enum class SubRecordType : uint8_t { kJson, kDelimited } sub_record_type = SubRecordType::kJson;
  std::string delimiter = "\n";  // decoded (the API gives it in base64); DELIMITED only
  std::vector<std::string> given;
  bool operator==(const DeAggregationParams&) const = default;
};

// MetadataExtraction: the jq query of dynamic partitioning (compiled by the pipeline module).
struct MetadataExtractionParams {
  std::string query;                           // MetadataExtractionQuery, a jq 1.6 expression
  std::string json_parsing_engine = "JQ-1.6";  // the only engine
  std::vector<std::string> given;
  bool operator==(const MetadataExtractionParams&) const = default;
};

// One row of a processor's parameter table.
struct ParamInfo {
  const char* name;
  const char* type;          // as the docs show it: "string", "integer 1..1000", "json | join"
  const char* default_text;  // "required", a value, or "none"
  const char* help;
};

// One processor type: its name, what it does, and its parameters in table order.
struct ProcessorInfo {
  const char* type;
  const char* does;
  bool firehose;  // a Firehose processor type (CreateDeliveryStream may configure it)
  std::vector<ParamInfo> params;
};

// Every processor type, in the order docs and error messages list them.
const std::vector<ProcessorInfo>& ProcessorCatalog();
// The generated "processor parameters" section of docs/config.md (Markdown).
std::string RenderProcessorReference();

}  // namespace sluice::transform
