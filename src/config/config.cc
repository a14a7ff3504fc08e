#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <limits>
#include <regex>
#include <set>

#include "common/file_util.h"
#include "common/json_writer.h"
#include "config/prefix_template.h"
#include "config/time_zone.h"

namespace sluice::config {
namespace {

// Walks a YAML tree, producing "file:line: message" errors. yaml-cpp throws; every call into it
// happens inside ParseConfig's try block, which turns exceptions into Status.
class Walker {
 public:
  explicit Walker(std::string source) : source_(std::move(source)) {}

  Status Error(const YAML::Node& node, const std::string& message) const {
    return ErrorAtLine(node.Mark().line >= 0 ? node.Mark().line + 1 : 0, message);
  }
  Status ErrorAtLine(int line, const std::string& message) const {
    return Status::InvalidArgument(source_ + ":" + std::to_string(line) + ": " + message);
  }

  // Fails on keys not in `allowed`, naming them and the allowed set.
  Status CheckKeys(const YAML::Node& map, const std::string& where,
                   const std::set<std::string>& allowed) const {
    if (!map.IsMap()) return Error(map, where + " must be a mapping");
    for (const auto& kv : map) {
      auto key = kv.first.as<std::string>();
      if (allowed.count(key) == 0) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return Error(kv.first,
                     "unknown key '" + key + "' in " + where + " (allowed: " + list + ")");
      }
    }
    return Status::Ok();
  }

  Status String(const YAML::Node& map, const char* key, std::string& out) const {
    YAML::Node n = map[key];
    if (!n) return Status::Ok();
    if (!n.IsScalar()) return Error(n, std::string("'") + key + "' must be a string");
    out = n.as<std::string>();
    return Status::Ok();
  }

  template <typename T>
  Status Uint(const YAML::Node& map, const char* key, T& out, uint64_t lo, uint64_t hi) const {
    YAML::Node n = map[key];
    if (!n) return Status::Ok();
    uint64_t v = 0;
    bool ok = n.IsScalar();
    if (ok) {
      const std::string& s = n.Scalar();
      ok = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 19;
      if (ok) v = std::stoull(s);
    }
    if (!ok || v < lo || v > hi) {
      return Error(n, std::string("'") + key + "' must be an integer from " + std::to_string(lo) +
                          " to " + std::to_string(hi) +
                          (n.IsScalar() ? ", got '" + n.Scalar() + "'" : ""));
    }
    out = static_cast<T>(v);
    return Status::Ok();
  }

  Status Bool(const YAML::Node& map, const char* key, bool& out) const {
    YAML::Node n = map[key];
    if (!n) return Status::Ok();
    std::string s = n.IsScalar() ? n.Scalar() : "";
    if (s == "true" || s == "yes" || s == "on") {
      out = true;
    } else if (s == "false" || s == "no" || s == "off") {
      out = false;
    } else {
      return Error(n, std::string("'") + key + "' must be true or false, got '" + s + "'");
    }
    return Status::Ok();
  }

  Status OneOf(const YAML::Node& map, const char* key, std::string& out,
               const std::vector<std::string>& allowed) const {
    YAML::Node n = map[key];
    if (!n) return Status::Ok();
    std::string v = n.IsScalar() ? n.Scalar() : "";
    for (const auto& a : allowed) {
      if (a == v) {
        out = v;
        return Status::Ok();
      }
    }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return Error(n, std::string("'") + key + "' must be one of " + list + ", got '" + v + "'");
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// Converts a YAML node to JSON text (scalars: numbers and booleans stay unquoted when plain).
void YamlToJson(const YAML::Node& n, json::Writer& w) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      w.BeginObject();
      for (const auto& kv : n) {
        w.Key(kv.first.as<std::string>());
        YamlToJson(kv.second, w);
      }
      w.EndObject();
      break;
    case YAML::NodeType::Sequence:
      w.BeginArray();
      for (const auto& item : n) YamlToJson(item, w);
      w.EndArray();
      break;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
      if (n.Tag() != "!" && (s == "true" || s == "false")) {
        w.Bool(s == "true");
      } else if (n.Tag() != "!" && (s == "null" || s == "~")) {
        w.Null();
      } else if (n.Tag() != "!" && std::regex_match(s, kNumber)) {
        w.Raw(s);
      } else {
        w.String(s);
      }
      break;
    }
    default: w.Null(); break;
  }
}

// A YAML node as processor parameters, with the line of every node (scalars classified as
// YamlToJson does: plain true/false are booleans, plain null/~ null, plain numbers numbers).
transform::ParamValue YamlToParam(const YAML::Node& n) {
  transform::ParamValue v;
  switch (n.Type()) {
    case YAML::NodeType::Map:
      v = transform::ParamValue::Map();
      for (const auto& kv : n) v.Add(kv.first.as<std::string>(), YamlToParam(kv.second));
      break;
    case YAML::NodeType::Sequence:
      v = transform::ParamValue::List();
      for (const auto& item : n) v.items.push_back(YamlToParam(item));
      break;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
      if (n.Tag() != "!" && (s == "true" || s == "false")) {
        v = transform::ParamValue::Bool(s == "true");
      } else if (n.Tag() != "!" && (s == "null" || s == "~")) {
        v = transform::ParamValue::Null();
      } else if (n.Tag() != "!" && std::regex_match(s, kNumber)) {
        v = transform::ParamValue::Number(s);
      } else {
        v = transform::ParamValue::String(s);
      }
      break;
    }
    default: break;
  }
  v.line = n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
  return v;
}

Status ParseDestination(const Walker& w, const YAML::Node& n, const std::string& where,
                        ObjectDestination& d) {
  SLUICE_RETURN_IF_ERROR(
      w.CheckKeys(n, where, {"url", "prefix", "endpoint", "region", "path_style"}));
  SLUICE_RETURN_IF_ERROR(w.String(n, "url", d.url));
  SLUICE_RETURN_IF_ERROR(w.String(n, "prefix", d.prefix));
  SLUICE_RETURN_IF_ERROR(w.String(n, "endpoint", d.endpoint));
  SLUICE_RETURN_IF_ERROR(w.String(n, "region", d.region));
  SLUICE_RETURN_IF_ERROR(w.Bool(n, "path_style", d.path_style));
  if (d.url.empty()) return w.Error(n, where + ".url is required (file://<dir> or s3://<bucket>)");
  return Status::Ok();
}

// ---- warehouse: the `warehouse:` block, declared as data (key, meaning, parser) ----

// Parses `block[key]` (present) into the config; errors carry the file:line of the value.
using WarehouseKeyParser = Status (*)(const Walker& w, const YAML::Node& block, const char* key,
                                      warehouse::WarehouseConfig& c);

struct WarehouseKey {
  const char* name;
  const char* help;  // docs/config.md `warehouse` table
  WarehouseKeyParser parse;
};

Status ParseWarehouseString(const Walker& w, const YAML::Node& n, const char* key, std::string& out,
                            bool required, const std::string& where) {
  if (!n[key]) {
    if (required) return w.Error(n, where + "." + key + " is required");
    return Status::Ok();
  }
  return w.String(n, key, out);
}

Status ParseWarehouseColumns(const Walker& w, const YAML::Node& list, const std::string& where,
                             std::vector<warehouse::Column>& out) {
  if (!list.IsSequence()) return w.Error(list, where + " must be a list of {name, type}");
  for (const auto& col : list) {
    SLUICE_RETURN_IF_ERROR(w.CheckKeys(col, where, {"name", "type"}));
    std::string name, type = "text";
    SLUICE_RETURN_IF_ERROR(ParseWarehouseString(w, col, "name", name, true, where));
    SLUICE_RETURN_IF_ERROR(w.String(col, "type", type));
    auto column = warehouse::MakeColumn(name, type.empty() ? "text" : type);
    if (!column.ok()) return w.Error(col, where + ": " + column.status().message());
    out.push_back(std::move(column).value());
  }
  return Status::Ok();
}

const WarehouseKey kWarehouseKeys[] = {
    {"engine", "sqlite (default), postgres or redshift",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       std::string v;
       SLUICE_RETURN_IF_ERROR(w.String(b, key, v));
       auto engine = warehouse::ParseEngine(v);
       if (!engine.ok()) return w.Error(b[key], engine.status().message());
       c.engine = *engine;
       return Status::Ok();
     }},
    {"dsn", "sqlite: a file path; postgres/redshift: a libpq DSN (may hold ${secret:...})",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return w.String(b, key, c.dsn);
     }},
    {"table", "table or schema.table",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return w.String(b, key, c.table);
     }},
    {"mode", "append (default) or merge",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       std::string v;
       SLUICE_RETURN_IF_ERROR(w.String(b, key, v));
       auto mode = warehouse::ParseLoadMode(v);
       if (!mode.ok()) return w.Error(b[key], mode.status().message());
       c.mode = *mode;
       return Status::Ok();
     }},
    {"key", "key column(s): a name or a list of names",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       YAML::Node k = b[key];
       if (k.IsScalar()) {
         c.key.push_back(k.Scalar());
       } else if (k.IsSequence()) {
         for (const auto& item : k) {
           if (!item.IsScalar()) return w.Error(item, "warehouse.key must list column names");
           c.key.push_back(item.Scalar());
         }
       } else {
         return w.Error(k, "warehouse.key must be a column name or a list of them");
       }
       return Status::Ok();
     }},
    {"order_by", "among duplicates in a batch, the greatest value of this column wins",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return w.String(b, key, c.order_by);
     }},
    {"create_table", "create the table (and schema) if missing",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return w.Bool(b, key, c.create_table);
     }},
    {"columns", "[{name, type}]; default: the schema's columns plus rules' set columns",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return ParseWarehouseColumns(w, b[key], "warehouse.columns", c.columns);
     }},
    {"views", "name: SELECT ..., created or replaced at start",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       YAML::Node v = b[key];
       if (!v.IsMap()) return w.Error(v, "warehouse.views must map view names to SQL text");
       for (const auto& kv : v) {
         if (!kv.second.IsScalar())
           return w.Error(kv.second, "warehouse.views values must be SQL text");
         c.views[kv.first.as<std::string>()] = kv.second.Scalar();
       }
       return Status::Ok();
     }},
    {"statement_timeout_ms", "per statement; 0 disables",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return w.Uint(b, key, c.statement_timeout_ms, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"retry_duration_s", "retrying a failing load, then warehouse-failed error output",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       // Bounds are checked by warehouse::Validate (one message for every source).
       return w.Uint(b, key, c.retry_duration_s, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"pool_size", "connections (postgres, redshift)",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return w.Uint(b, key, c.pool_size, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"redshift", "{iam_role} or {access_key_id, secret_access_key, session_token}, region",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       YAML::Node r = b[key];
       SLUICE_RETURN_IF_ERROR(w.CheckKeys(
           r, "warehouse.redshift",
           {"iam_role", "access_key_id", "secret_access_key", "session_token", "region"}));
       SLUICE_RETURN_IF_ERROR(w.String(r, "iam_role", c.redshift.iam_role));
       SLUICE_RETURN_IF_ERROR(w.String(r, "access_key_id", c.redshift.access_key_id));
       SLUICE_RETURN_IF_ERROR(w.String(r, "secret_access_key", c.redshift.secret_access_key));
       SLUICE_RETURN_IF_ERROR(w.String(r, "session_token", c.redshift.session_token));
       return w.String(r, "region", c.redshift.region);
     }},
    {"gzip", "redshift: the staged objects are gzip-compressed",
     [](const Walker& w, const YAML::Node& b, const char* key, warehouse::WarehouseConfig& c) {
       return w.Bool(b, key, c.gzip);
     }},
};

// The default warehouse columns from the stream's processors (YAML nodes): the schema's columns
// with their types, then the columns rules `set` (text).
Status WarehouseColumnsFromProcessors(const Walker& w, const YAML::Node& processors,
                                      std::vector<warehouse::Column>& out) {
  if (!processors || !processors.IsSequence()) return Status::Ok();
  std::set<std::string> seen;
  for (const auto& item : processors) {
    if (!item.IsMap() || item.size() != 1) continue;
    auto kv = *item.begin();
    const std::string type = kv.first.as<std::string>();
    const YAML::Node params = kv.second;
    if (type == "schema" && params.IsMap() && params["columns"].IsSequence()) {
      out.clear();
      seen.clear();
      for (const auto& col : params["columns"]) {
        if (!col.IsMap() || !col["name"] || !col["name"].IsScalar()) {
          return w.Error(col, "schema column.name is required");
        }
        const std::string name = col["name"].Scalar();
        std::string column_type = "text";
        if (col["type"] && col["type"].IsScalar()) column_type = col["type"].Scalar();
        auto column = warehouse::MakeColumn(name, column_type.empty() ? "text" : column_type);
        if (!column.ok()) return w.Error(col, "warehouse: " + column.status().message());
        out.push_back(std::move(column).value());
        seen.insert(name);
      }
    } else if (type == "rules") {
      YAML::Node rules = params.IsMap() ? params["rules"] : params;
      if (!rules.IsSequence()) continue;
      for (const auto& rule : rules) {
        if (!rule.IsMap() || !rule["set"] || !rule["set"].IsScalar()) continue;
        const std::string set = rule["set"].Scalar();
        if (!seen.insert(set).second) continue;
        auto column = warehouse::MakeColumn(set, "text");
        if (!column.ok()) return w.Error(rule, "warehouse: " + column.status().message());
        out.push_back(std::move(column).value());
      }
    }
  }
  return Status::Ok();
}

Status ParseWarehouse(const Walker& w, const YAML::Node& block, const YAML::Node& processors,
                      const StreamConfig& s, warehouse::WarehouseConfig& c) {
  const std::string where = "stream " + s.name + ": warehouse";
  if (!block.IsMap()) return w.Error(block, "'warehouse' must be a mapping");
  std::set<std::string> allowed;
  for (const WarehouseKey& k : kWarehouseKeys) allowed.insert(k.name);
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(block, "warehouse", allowed));
  for (const WarehouseKey& k : kWarehouseKeys) {
    if (block[k.name]) SLUICE_RETURN_IF_ERROR(k.parse(w, block, k.name, c));
  }
  for (const char* required : {"dsn", "table"}) {
    if (!block[required]) return w.Error(block, where + "." + required + " is required");
  }
  if (!block["columns"]) {
    SLUICE_RETURN_IF_ERROR(WarehouseColumnsFromProcessors(w, processors, c.columns));
  }
  if (c.columns.empty()) {
    return w.Error(block, where + ": no columns: add a schema processor or warehouse.columns");
  }
  if (c.engine == warehouse::Engine::kRedshift) {
    for (const auto& p : s.processors) {
      if (p.Is<transform::MetadataExtractionParams>()) {
        return w.Error(block, where +
                                  ": engine redshift loads one staged object per batch and "
                                  "cannot be combined with dynamic partitioning "
                                  "(MetadataExtraction); use postgres or sqlite");
      }
    }
  }
  if (Status st = warehouse::Validate(c); !st.ok())
    return w.Error(block, where + ": " + st.message());
  return Status::Ok();
}

const std::vector<std::string> kCompressionFormats = {"UNCOMPRESSED", "GZIP",          "ZIP",
                                                      "Snappy",       "HADOOP_SNAPPY", "ZSTD"};

// The keys of a stream's state (StreamState): written by Sluice into an API-created stream's file.
constexpr const char* kStateKeys[] = {"version", "create_timestamp_ms", "from_api"};

// `state` is null for a stream of the config file, whose state keys are refused.
Status ParseStream(const Walker& w, const YAML::Node& n, StreamConfig& s,
                   StreamState* state = nullptr) {
  if (state == nullptr && n.IsMap()) {
    for (const char* key : kStateKeys) {
      if (n[key]) {
        return w.Error(n[key], std::string("'") + key +
                                   "' is state Sluice keeps for streams created through the "
                                   "API; it cannot be set in the config file");
      }
    }
  }
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(n, "delivery stream",
                                     {"name",
                                      "source",
                                      "partitions",
                                      "buffering",
                                      "processors",
                                      "format",
                                      "compression",
                                      "file_extension",
                                      "staged",
                                      "raw",
                                      "errors",
                                      "error_output_prefix",
                                      "retry_duration_s",
                                      "retention_hours",
                                      "retention_mb",
                                      "warehouse",
                                      "custom_time_zone",
                                      "version",
                                      "create_timestamp_ms",
                                      "from_api",
                                      "tags",
                                      "role_arn",
                                      "max_active_partitions"}));
  if (!n["name"]) return w.Error(n, "delivery stream needs a 'name'");
  SLUICE_RETURN_IF_ERROR(w.String(n, "name", s.name));
  if (!IsValidStreamName(s.name)) return w.Error(n["name"], StreamNameError(s.name));
  if (YAML::Node src = n["source"]) {
    if (src.IsMap() && src.size() == 1 && src["kinesis_stream"]) {
      SLUICE_RETURN_IF_ERROR(w.String(src, "kinesis_stream", s.source_stream));
      if (!IsValidKinesisStreamName(s.source_stream)) {
        return w.Error(src["kinesis_stream"], "stream '" + s.name + "': kinesis_stream '" +
                                                  s.source_stream +
                                                  "' is not 1-128 characters of [a-zA-Z0-9_.-]");
      }
      if (n["partitions"]) {
        return w.Error(n["partitions"], "stream '" + s.name +
                                            "': 'partitions' does not apply to a kinesis_stream "
                                            "source (one delivery worker per shard)");
      }
      s.type = SourceType::kKinesisStreamAsSource;
    } else if (!src.IsScalar() || src.Scalar() != "direct_put") {
      return w.Error(src, "stream '" + s.name +
                              "': source must be direct_put or {kinesis_stream: NAME} (kafka "
                              "sources are not available in this build)");
    }
  }
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "partitions", s.partitions, 1, 64));
  if (YAML::Node b = n["buffering"]) {
    SLUICE_RETURN_IF_ERROR(w.CheckKeys(b, "buffering", {"size_mb", "interval_s"}));
    SLUICE_RETURN_IF_ERROR(
        w.Uint(b, "size_mb", s.buffering.size_mb, Buffering::kMinSizeMb, Buffering::kMaxSizeMb));
    SLUICE_RETURN_IF_ERROR(
        w.Uint(b, "interval_s", s.buffering.interval_s, 0, Buffering::kMaxIntervalS));
  }
  if (YAML::Node p = n["processors"]) {
    if (!p.IsSequence()) return w.Error(p, "'processors' must be a list of {<type>: {parameters}}");
    for (const auto& item : p) {
      if (!item.IsMap() || item.size() != 1) {
        return w.Error(item,
                       "each processor must be a mapping with exactly one key, e.g. '- flatten: "
                       "{separator: \"_\"}'");
      }
      auto kv = *item.begin();
      const std::string type = kv.first.as<std::string>();
      const std::string where =
          "processors[" + std::to_string(s.processors.size()) + "] (" + type + ")";
      int line = 0;
      auto spec = transform::ParseProcessorSpec(type, YamlToParam(kv.second), where, &line);
      if (!spec.ok()) {
        if (line <= 0) line = item.Mark().line >= 0 ? item.Mark().line + 1 : 0;
        return w.ErrorAtLine(line, spec.status().message());
      }
      s.processors.push_back(std::move(spec).value());
    }
  }
  if (YAML::Node f = n["format"]) {
    std::string text;
    if (f.IsScalar()) {
      SLUICE_RETURN_IF_ERROR(w.OneOf(n, "format", text, {"raw", "jsonl", "csv"}));
    } else if (f.IsMap() && f.size() == 1) {
      auto kv = *f.begin();
      std::string kind = kv.first.as<std::string>();
      if (kind != "csv" && kind != "jsonl" && kind != "raw") {
        return w.Error(
            f, "format must be raw, jsonl, csv or {csv: {header, delimiter, null}}, got '" + kind +
                   "'");
      }
      json::Writer jw;
      YamlToJson(f, jw);
      text = jw.Take();
    } else {
      return w.Error(f, "format must be raw, jsonl, csv or {csv: {header, delimiter, null}}");
    }
    // One validation of the options (the transform's), with this file's line.
    auto spec = transform::FormatSpec::Parse(text);
    if (!spec.ok()) return w.Error(f, "stream " + s.name + ": format: " + spec.status().message());
    s.format = *spec;
  }
  if (n["compression"]) {
    std::string compression;
    SLUICE_RETURN_IF_ERROR(w.OneOf(n, "compression", compression, kCompressionFormats));
    auto format = compress::ParseFormat(compression);
    if (!format.ok()) return w.Error(n["compression"], format.status().message());
    s.compression = *format;
  }
  if (YAML::Node fe = n["file_extension"]) {
    std::string ext;
    SLUICE_RETURN_IF_ERROR(w.String(n, "file_extension", ext));
    static const std::regex kExt(R"(^$|\.[0-9a-z!\-_.*'()]+)");
    if (!std::regex_match(ext, kExt)) {
      return w.Error(fe,
                     "file_extension '" + ext + "' must be empty or match \\.[0-9a-z!-_.*'()]+");
    }
    s.file_extension = ext;
  }
  if (YAML::Node d = n["staged"])
    SLUICE_RETURN_IF_ERROR(ParseDestination(w, d, "staged", s.staged));
  if (YAML::Node d = n["raw"]) SLUICE_RETURN_IF_ERROR(ParseDestination(w, d, "raw", s.raw));
  if (YAML::Node d = n["errors"])
    SLUICE_RETURN_IF_ERROR(ParseDestination(w, d, "errors", s.errors));
  SLUICE_RETURN_IF_ERROR(w.String(n, "error_output_prefix", s.error_output_prefix));
  if (!s.errors.empty() && s.error_output_prefix.empty()) s.error_output_prefix = s.errors.prefix;
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "retry_duration_s", s.retry_duration_s, 0, 7 * 86400));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "retention_hours", s.retention_hours, 1, 24 * 365));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "retention_mb", s.retention_mb, 1, 1u << 30));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "max_active_partitions", s.max_active_partitions, 1, 5000));
  SLUICE_RETURN_IF_ERROR(w.String(n, "custom_time_zone", s.custom_time_zone));
  if (state != nullptr) {
    SLUICE_RETURN_IF_ERROR(
        w.Uint(n, "version", state->version, 1, std::numeric_limits<uint32_t>::max()));
    SLUICE_RETURN_IF_ERROR(w.Uint(n, "create_timestamp_ms", state->create_timestamp_ms, 0,
                                  std::numeric_limits<int64_t>::max()));
    SLUICE_RETURN_IF_ERROR(w.Bool(n, "from_api", state->from_api));
  }
  SLUICE_RETURN_IF_ERROR(w.String(n, "role_arn", s.role_arn));
  if (YAML::Node t = n["tags"]) {
    if (!t.IsMap()) return w.Error(t, "'tags' must be a mapping of key: value");
    for (const auto& kv : t) s.tags[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  if (YAML::Node wh = n["warehouse"]) {
    warehouse::WarehouseConfig c;
    SLUICE_RETURN_IF_ERROR(ParseWarehouse(w, wh, n["processors"], s, c));
    s.warehouse = std::move(c);
  }
  if (Status st = ValidateStream(s); !st.ok()) return w.Error(n, st.message());
  return Status::Ok();
}

Status ParseTls(const Walker& w, const YAML::Node& n, TlsConfig& t) {
  SLUICE_RETURN_IF_ERROR(
      w.CheckKeys(n, "server.tls", {"cert_file", "key_file", "client_ca_file", "min_version"}));
  SLUICE_RETURN_IF_ERROR(w.String(n, "cert_file", t.cert_file));
  SLUICE_RETURN_IF_ERROR(w.String(n, "key_file", t.key_file));
  SLUICE_RETURN_IF_ERROR(w.String(n, "client_ca_file", t.client_ca_file));
  SLUICE_RETURN_IF_ERROR(w.OneOf(n, "min_version", t.min_version, {"1.2", "1.3"}));
  if (t.cert_file.empty() || t.key_file.empty()) {
    return w.Error(n, "server.tls needs both 'cert_file' and 'key_file' (PEM files)");
  }
  return Status::Ok();
}

Status ParseLimits(const Walker& w, const YAML::Node& n, LimitsConfig& l) {
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(
      n, "server.limits",
      {"max_body_bytes", "firehose_max_body_bytes", "kinesis_max_body_bytes", "max_header_bytes",
       "max_header_count", "header_timeout_ms", "body_min_bytes_per_s", "idle_timeout_ms",
       "max_connections", "http2_max_concurrent_streams", "http2_max_buffered_bytes"}));
  constexpr uint64_t kGiB = 1ull << 30;
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "max_body_bytes", l.max_body_bytes, 1024, kGiB));
  // The per-API limits default to max_body_bytes when only that is set.
  l.firehose_max_body_bytes = l.kinesis_max_body_bytes = l.max_body_bytes;
  SLUICE_RETURN_IF_ERROR(
      w.Uint(n, "firehose_max_body_bytes", l.firehose_max_body_bytes, 1024, l.max_body_bytes));
  SLUICE_RETURN_IF_ERROR(
      w.Uint(n, "kinesis_max_body_bytes", l.kinesis_max_body_bytes, 1024, l.max_body_bytes));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "max_header_bytes", l.max_header_bytes, 1024, 1u << 20));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "max_header_count", l.max_header_count, 8, 10'000));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "header_timeout_ms", l.header_timeout_ms, 100, 600'000));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "body_min_bytes_per_s", l.body_min_bytes_per_s, 0, 1ull << 30));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "idle_timeout_ms", l.idle_timeout_ms, 100, 3'600'000));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "max_connections", l.max_connections, 1, 1'000'000));
  SLUICE_RETURN_IF_ERROR(
      w.Uint(n, "http2_max_concurrent_streams", l.http2_max_concurrent_streams, 1, 10'000));
  SLUICE_RETURN_IF_ERROR(
      w.Uint(n, "http2_max_buffered_bytes", l.http2_max_buffered_bytes, 65'535, kGiB));
  return Status::Ok();
}

Status ParseServer(const Walker& w, const YAML::Node& n, ServerConfig& s) {
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(n, "server",
                                     {"listen",
                                      "admin_listen",
                                      "data_dir",
                                      "quota_mb",
                                      "segment_mb",
                                      "io_threads",
                                      "sync",
                                      "region",
                                      "account_id",
                                      "log_level",
                                      "log_format",
                                      "max_delivery_streams",
                                      "disk_reserve_mb",
                                      "kinesis_create_stream_ms",
                                      "kinesis_delete_stream_ms",
                                      "kinesis_update_stream_ms",
                                      "kinesis_shard_limit",
                                      "kinesis_enforce_shard_limits",
                                      "tls",
                                      "limits"}));
  SLUICE_RETURN_IF_ERROR(w.String(n, "listen", s.listen));
  SLUICE_RETURN_IF_ERROR(w.String(n, "admin_listen", s.admin_listen));
  SLUICE_RETURN_IF_ERROR(w.String(n, "data_dir", s.data_dir));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "quota_mb", s.quota_mb, 1, 1ull << 30));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "segment_mb", s.segment_mb, 1, 4096));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "disk_reserve_mb", s.disk_reserve_mb, 0, 1ull << 30));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "io_threads", s.io_threads, 1, 64));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "max_delivery_streams", s.max_delivery_streams, 1, 10000));
  SLUICE_RETURN_IF_ERROR(
      w.Uint(n, "kinesis_create_stream_ms", s.kinesis_create_stream_ms, 0, 600'000));
  SLUICE_RETURN_IF_ERROR(
      w.Uint(n, "kinesis_delete_stream_ms", s.kinesis_delete_stream_ms, 0, 600'000));
  SLUICE_RETURN_IF_ERROR(
      w.Uint(n, "kinesis_update_stream_ms", s.kinesis_update_stream_ms, 0, 600'000));
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "kinesis_shard_limit", s.kinesis_shard_limit, 1, 100'000));
  SLUICE_RETURN_IF_ERROR(w.Bool(n, "kinesis_enforce_shard_limits", s.kinesis_enforce_shard_limits));
  SLUICE_RETURN_IF_ERROR(w.Bool(n, "sync", s.sync));
  SLUICE_RETURN_IF_ERROR(w.String(n, "region", s.region));
  SLUICE_RETURN_IF_ERROR(w.String(n, "account_id", s.account_id));
  SLUICE_RETURN_IF_ERROR(
      w.OneOf(n, "log_level", s.log_level, {"trace", "debug", "info", "warn", "error"}));
  SLUICE_RETURN_IF_ERROR(w.OneOf(n, "log_format", s.log_format, {"text", "json"}));
  if (s.listen.find(':') == std::string::npos) {
    return w.Error(n["listen"], "'listen' must be HOST:PORT, got '" + s.listen + "'");
  }
  if (!s.admin_listen.empty() && s.admin_listen != "off" &&
      s.admin_listen.find(':') == std::string::npos) {
    return w.Error(n["admin_listen"],
                   "'admin_listen' must be HOST:PORT, \"\" or off, got '" + s.admin_listen + "'");
  }
  if (YAML::Node t = n["tls"]) SLUICE_RETURN_IF_ERROR(ParseTls(w, t, s.tls));
  if (YAML::Node l = n["limits"]) SLUICE_RETURN_IF_ERROR(ParseLimits(w, l, s.limits));
  return Status::Ok();
}

// A string or a list of strings (IAM's Action and Resource).
Status StringOrList(const Walker& w, const YAML::Node& n, const char* key,
                    std::vector<std::string>& out) {
  YAML::Node v = n[key];
  if (!v) return w.Error(n, std::string("a policy statement needs '") + key + "'");
  if (v.IsScalar()) {
    out.push_back(v.Scalar());
  } else if (v.IsSequence() && v.size() > 0) {
    for (const auto& item : v) {
      if (!item.IsScalar())
        return w.Error(item, std::string("'") + key + "' items must be strings");
      out.push_back(item.Scalar());
    }
  } else {
    return w.Error(v, std::string("'") + key + "' must be a string or a non-empty list of strings");
  }
  return Status::Ok();
}

Status ParsePolicyNode(const Walker& w, const YAML::Node& n, auth::Policy& out) {
  if (n.IsScalar()) {
    // A JSON document as a string: JSON is YAML, so it parses the same way.
    YAML::Node doc = YAML::Load(n.Scalar());
    if (!doc.IsMap()) return w.Error(n, "'policy' must be an IAM policy document (a JSON object)");
    Status st = ParsePolicyNode(w, doc, out);
    if (!st.ok()) return w.Error(n, "in the policy document: " + st.message());
    return st;
  }
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(n, "a policy", {"Version", "Statement", "Id"}));
  YAML::Node statements = n["Statement"];
  if (!statements) return w.Error(n, "a policy needs 'Statement'");
  std::vector<YAML::Node> list;
  if (statements.IsMap()) {
    list.push_back(statements);
  } else if (statements.IsSequence()) {
    for (const auto& s : statements) list.push_back(s);
  } else {
    return w.Error(statements, "'Statement' must be an object or a list of objects");
  }
  for (const auto& s : list) {
    SLUICE_RETURN_IF_ERROR(
        w.CheckKeys(s, "a policy statement", {"Sid", "Effect", "Action", "Resource"}));
    auth::Statement st;
    std::string effect;
    SLUICE_RETURN_IF_ERROR(w.OneOf(s, "Effect", effect, {"Allow", "Deny"}));
    if (effect.empty()) return w.Error(s, "a policy statement needs 'Effect' (Allow or Deny)");
    st.allow = effect == "Allow";
    SLUICE_RETURN_IF_ERROR(StringOrList(w, s, "Action", st.actions));
    SLUICE_RETURN_IF_ERROR(StringOrList(w, s, "Resource", st.resources));
    out.statements.push_back(std::move(st));
  }
  return Status::Ok();
}

bool IsSecretReference(const std::string& s) {
  return s.rfind("${secret:", 0) == 0 && s.back() == '}' && s.find('}') == s.size() - 1;
}

Status ParseAuth(const Walker& w, const YAML::Node& n, AuthConfig& a, const ServerConfig& server) {
  a.enabled = true;
  if (n.IsNull()) return w.Error(n, "'auth' needs 'keys' (a list of access keys)");
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(n, "auth", {"regions", "max_clock_skew_s", "keys"}));
  if (YAML::Node r = n["regions"]) {
    if (!r.IsSequence() || r.size() == 0) {
      return w.Error(r, "'regions' must be a non-empty list of region names");
    }
    for (const auto& item : r) {
      if (!item.IsScalar() || item.Scalar().empty())
        return w.Error(item, "a region must be a name");
      a.regions.push_back(item.Scalar());
    }
  } else {
    a.regions.push_back(server.region);
  }
  SLUICE_RETURN_IF_ERROR(w.Uint(n, "max_clock_skew_s", a.max_clock_skew_s, 1, 900));
  YAML::Node keys = n["keys"];
  if (keys && !keys.IsSequence()) return w.Error(keys, "'keys' must be a list");
  std::set<std::string> ids;
  for (const auto& k : keys) {
    SLUICE_RETURN_IF_ERROR(
        w.CheckKeys(k, "an auth key", {"id", "secret", "session_token", "user", "policy"}));
    AuthKeyConfig key;
    SLUICE_RETURN_IF_ERROR(w.String(k, "id", key.id));
    SLUICE_RETURN_IF_ERROR(w.String(k, "secret", key.secret));
    SLUICE_RETURN_IF_ERROR(w.String(k, "session_token", key.session_token));
    SLUICE_RETURN_IF_ERROR(w.String(k, "user", key.user));
    if (key.id.empty() || key.id.size() > 128 ||
        key.id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos) {
      return w.Error(k, "an auth key needs 'id': 1-128 upper-case letters and digits");
    }
    if (!ids.insert(key.id).second) return w.Error(k, "key '" + key.id + "' is declared twice");
    if (key.secret.empty()) return w.Error(k, "key '" + key.id + "' needs 'secret'");
    if (!IsSecretReference(key.secret)) {
      return w.Error(k["secret"], "key '" + key.id +
                                      "': 'secret' must be a ${secret:...} reference (env:, "
                                      "file: or exec:), never the secret itself in the file");
    }
    if (!key.session_token.empty() && !IsSecretReference(key.session_token)) {
      return w.Error(k["session_token"],
                     "key '" + key.id + "': 'session_token' must be a ${secret:...} reference");
    }
    if (key.user.empty()) key.user = key.id;
    if (key.user.find_first_of(" /:\t") != std::string::npos) {
      return w.Error(k["user"], "'user' must not contain spaces, '/' or ':'");
    }
    if (YAML::Node p = k["policy"]) SLUICE_RETURN_IF_ERROR(ParsePolicyNode(w, p, key.policy));
    a.keys.push_back(std::move(key));
  }
  return Status::Ok();
}

template <typename F>
Status Guard(const std::string& source, F f) {
  try {
    return f();
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    return Status::InvalidArgument(source + ":" + std::to_string(line) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(source + ": " + e.what());
  }
}

}  // namespace

std::vector<ConfigKey> WarehouseConfigKeys() {
  std::vector<ConfigKey> keys;
  for (const WarehouseKey& k : kWarehouseKeys) keys.push_back({k.name, k.help});
  return keys;
}

const char* SourceTypeName(SourceType type) {
  switch (type) {
    case SourceType::kDirectPut: return "DirectPut";
    case SourceType::kKinesisStreamAsSource: return "KinesisStreamAsSource";
    case SourceType::kMSKAsSource: return "MSKAsSource";
  }
  return "DirectPut";
}

bool IsReservedStreamName(std::string_view name) {
  return name == "." || name == "..";
}

bool IsValidStreamName(const std::string& name) {
  if (name.empty() || name.size() > 64 || IsReservedStreamName(name)) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidKinesisStreamName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string StreamNameError(const std::string& name) {
  if (IsReservedStreamName(name)) {
    return "stream name '" + name + "' is reserved ('.' and '..' name directories); choose another";
  }
  return "stream name '" + name + "' must match [a-zA-Z0-9_.-]{1,64}";
}

Status ValidateBucketName(std::string_view name) {
  auto fail = [&](std::string_view why) {
    return Status::InvalidArgument("bucket name '" + std::string(name) +
                                   "' is not valid: " + std::string(why));
  };
  if (name.size() < 3 || name.size() > 63) return fail("it must be 3 to 63 characters long");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return fail("only lowercase letters, digits, '.' and '-' are allowed");
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) {
    return fail("it must begin and end with a letter or digit");
  }
  if (name.find("..") != std::string_view::npos) return fail("it must not contain '..'");
  // An IP address (192.168.5.4): four dot-separated decimal numbers.
  int groups = 0;
  bool digits_only = true;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view g = name.substr(start, end - start);
    if (g.empty() || g.size() > 3) digits_only = false;
    for (char c : g) digits_only = digits_only && c >= '0' && c <= '9';
    ++groups;
    start = end + 1;
  }
  if (digits_only && groups == 4) return fail("it must not be formatted as an IP address");
  if (name.substr(0, 4) == "xn--" || name.substr(0, 7) == "sthree-") {
    return fail("the prefixes 'xn--' and 'sthree-' are reserved");
  }
  for (std::string_view suffix : {std::string_view("-s3alias"), std::string_view("--ol-s3")}) {
    if (name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return fail("the suffixes '-s3alias' and '--ol-s3' are reserved");
    }
  }
  return Status::Ok();
}

Status ValidatePrefix(const std::string& prefix, bool is_error_prefix) {
  const char* what = is_error_prefix ? "error output prefix" : "prefix";
  if (prefix.size() > kMaxPrefixChars) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(prefix.size()) +
                                   " characters long; at most " + std::to_string(kMaxPrefixChars) +
                                   " are allowed");
  }
  for (char c : prefix) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(std::string(what) + " " + json::Quote(prefix) +
                                     " contains a control character");
    }
  }
  SLUICE_ASSIGN_OR_RETURN(PrefixTemplate t, PrefixTemplate::Parse(prefix, is_error_prefix));
  // Evaluate at two instants (timestamps with other widths or literals) and check every folder
  // of the resulting key: object stores and the file store cannot hold an empty, '.' or '..'
  // folder, and Firehose bounds the evaluated prefix at 512 characters.
  for (int64_t ts : {int64_t{978307200000}, int64_t{1798761599999}}) {
    SLUICE_ASSIGN_OR_RETURN(std::string key, t.EvaluateSample(ts));
    if (key.size() > kMaxEvaluatedPrefixChars) {
      return Status::InvalidArgument(std::string(what) + " '" + prefix + "' evaluates to " +
                                     std::to_string(key.size()) + " characters; at most " +
                                     std::to_string(kMaxEvaluatedPrefixChars) + " are allowed");
    }
    size_t start = 0;
    for (size_t slash = key.find('/'); slash != std::string::npos;
         start = slash + 1, slash = key.find('/', start)) {
      std::string_view folder(key.data() + start, slash - start);
      if (folder.empty() || folder == "." || folder == "..") {
        return Status::InvalidArgument(
            std::string(what) + " '" + prefix + "' gives object keys like '" + key +
            "…' with an empty, '.' or '..' folder (a leading '/', '//', './' or '../'); object "
            "keys cannot hold them");
      }
    }
  }
  return Status::Ok();
}

Status ValidateStream(const StreamConfig& s) {
  if (!IsValidStreamName(s.name)) return Status::InvalidArgument(StreamNameError(s.name));
  if (s.buffering.size_mb < Buffering::kMinSizeMb || s.buffering.size_mb > Buffering::kMaxSizeMb) {
    return Status::InvalidArgument("buffering.size_mb must be from 1 to 128");
  }
  if (s.buffering.interval_s > Buffering::kMaxIntervalS) {
    return Status::InvalidArgument("buffering.interval_s must be from 0 to 900");
  }
  SLUICE_RETURN_IF_ERROR(
      ValidatePrefix(s.staged.prefix, false).WithContext("stream '" + s.name + "'"));
  SLUICE_RETURN_IF_ERROR(
      ValidatePrefix(s.error_output_prefix, true).WithContext("stream '" + s.name + "'"));
  auto prefix = PrefixTemplate::Parse(s.staged.prefix, false);
  if (!prefix.ok()) return prefix.status();
  auto err_prefix = PrefixTemplate::Parse(s.error_output_prefix, true);
  if (!err_prefix.ok()) return err_prefix.status();
  if (prefix->has_expressions() && s.error_output_prefix.empty()) {
    return Status::InvalidArgument(
        "stream '" + s.name +
        "': an error output prefix is required when the prefix has expressions");
  }
  if (err_prefix->has_expressions()) {
    bool has_type =
        s.error_output_prefix.find("!{firehose:error-output-type}") != std::string::npos;
    if (!has_type) {
      return Status::InvalidArgument(
          "stream '" + s.name + "': error output prefix '" + s.error_output_prefix +
          "' has expressions, so it must contain !{firehose:error-output-type}");
    }
  }
  if (!s.raw.empty()) {
    SLUICE_RETURN_IF_ERROR(
        ValidatePrefix(s.raw.prefix, false).WithContext("stream '" + s.name + "'"));
  }
  if (auto tz = TimeZone::Load(s.custom_time_zone); !tz.ok()) {
    return tz.status().WithContext("stream '" + s.name + "': custom_time_zone");
  }
  for (const auto& [what, dest] :
       {std::pair<const char*, const ObjectDestination*>{"staged", &s.staged},
        {"raw", &s.raw},
        {"errors", &s.errors}}) {
    const std::string& url = dest->url;
    if (url.empty()) continue;
    bool known = url.rfind("file://", 0) == 0 || url.rfind("s3://", 0) == 0 ||
                 url.rfind("bucket://", 0) == 0;
    if (!known || url.size() <= url.find("://") + 3) {
      return Status::InvalidArgument("stream '" + s.name + "': " + what + ".url '" + url +
                                     "' must be file://<directory> or s3://<bucket>[/<prefix>]");
    }
    if (url.rfind("bucket://", 0) == 0) {
      SLUICE_RETURN_IF_ERROR(ValidateBucketName(std::string_view(url).substr(9))
                                 .WithContext("stream '" + s.name + "': " + what));
    }
  }
  return Status::Ok();
}

Status ValidateApiExpressible(const StreamConfig& s) {
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument("stream '" + s.name + "' (created through the API): " + why);
  };
  for (const auto& [what, dest] :
       {std::pair<const char*, const ObjectDestination*>{"staged", &s.staged},
        {"raw", &s.raw},
        {"errors", &s.errors}}) {
    if (dest->empty()) continue;
    if (dest->url.rfind("bucket://", 0) != 0 || !dest->endpoint.empty()) {
      return fail(std::string(what) + " destination must be a bucket named by BucketARN");
    }
    SLUICE_RETURN_IF_ERROR(ValidateBucketName(std::string_view(dest->url).substr(9))
                               .WithContext("stream '" + s.name + "': " + what));
  }
  if (s.warehouse) return fail("a warehouse can only be configured in the config file");
  if (!(s.format == transform::FormatSpec{})) {
    return fail("output formats can only be configured in the config file");
  }
  static const std::set<std::string> kApiProcessors = {
      "RecordDeAggregation", "Decompression",          "CloudWatchLogProcessing", "Lambda",
      "MetadataExtraction",  "AppendDelimiterToRecord"};
  for (const auto& p : s.processors) {
    if (kApiProcessors.count(std::string(p.type())) == 0) {
      return fail("processor '" + std::string(p.type()) +
                  "' can only be configured in the config file");
    }
  }
  if (StreamToYaml(s).find("${") != std::string::npos) {
    return fail("secret references (${...}) can only appear in the config file");
  }
  return Status::Ok();
}

Config DefaultConfig() {
  Config c;
  c.source_name = "<defaults>";
  return c;
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name) {
  Config cfg;
  cfg.source_name = source_name;
  Walker w(source_name);
  Status st = Guard(source_name, [&]() -> Status {
    YAML::Node root = YAML::Load(yaml_text);
    if (!root || root.IsNull()) return Status::Ok();  // an empty file means defaults
    SLUICE_RETURN_IF_ERROR(
        w.CheckKeys(root, "the top level", {"server", "auth", "delivery_streams"}));
    if (YAML::Node s = root["server"]) SLUICE_RETURN_IF_ERROR(ParseServer(w, s, cfg.server));
    if (YAML::Node a = root["auth"]) SLUICE_RETURN_IF_ERROR(ParseAuth(w, a, cfg.auth, cfg.server));
    if (YAML::Node ds = root["delivery_streams"]) {
      if (!ds.IsSequence()) return w.Error(ds, "'delivery_streams' must be a list");
      std::set<std::string> names;
      for (const auto& n : ds) {
        StreamConfig s;
        SLUICE_RETURN_IF_ERROR(ParseStream(w, n, s));
        if (!names.insert(s.name).second)
          return w.Error(n, "stream '" + s.name + "' is declared twice");
        cfg.streams.push_back(std::move(s));
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return cfg;
}

Status ParsePolicy(const std::string& text, const std::string& source_name, auth::Policy& out) {
  Walker w(source_name);
  return Guard(source_name, [&]() -> Status {
    YAML::Node doc = YAML::Load(text);
    if (!doc.IsMap()) return w.Error(doc, "a policy must be an IAM policy document (an object)");
    return ParsePolicyNode(w, doc, out);
  });
}

Result<Config> LoadConfigFile(const std::string& path) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) return text.status().WithContext("config file");
  return ParseConfig(*text, path);
}

namespace {

void EmitDestination(YAML::Emitter& e, const char* key, const ObjectDestination& d) {
  if (d.empty()) return;
  e << YAML::Key << key << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "url" << YAML::Value << YAML::DoubleQuoted << d.url;
  e << YAML::Key << "prefix" << YAML::Value << YAML::DoubleQuoted << d.prefix;
  if (!d.endpoint.empty())
    e << YAML::Key << "endpoint" << YAML::Value << YAML::DoubleQuoted << d.endpoint;
  if (!d.region.empty())
    e << YAML::Key << "region" << YAML::Value << YAML::DoubleQuoted << d.region;
  if (d.path_style) e << YAML::Key << "path_style" << YAML::Value << true;
  e << YAML::EndMap;
}

// The warehouse block in the config-file schema, as JSON (valid YAML flow syntax).
std::string WarehouseToJson(const warehouse::WarehouseConfig& c) {
  json::Writer w;
  w.BeginObject();
  w.Key("engine");
  w.String(warehouse::EngineName(c.engine));
  w.Key("dsn");
  w.String(c.dsn);
  w.Key("table");
  w.String(c.table);
  w.Key("mode");
  w.String(warehouse::LoadModeName(c.mode));
  if (!c.key.empty()) {
    w.Key("key");
    w.BeginArray();
    for (const auto& k : c.key) w.String(k);
    w.EndArray();
  }
  if (!c.order_by.empty()) {
    w.Key("order_by");
    w.String(c.order_by);
  }
  w.Key("create_table");
  w.Bool(c.create_table);
  w.Key("columns");
  w.BeginArray();
  for (const auto& col : c.columns) {
    w.BeginObject();
    w.Key("name");
    w.String(col.name);
    w.Key("type");
    w.String(warehouse::ColumnTypeName(col));
    w.EndObject();
  }
  w.EndArray();
  if (!c.views.empty()) {
    w.Key("views");
    w.BeginObject();
    for (const auto& [name, sql] : c.views) {
      w.Key(name);
      w.String(sql);
    }
    w.EndObject();
  }
  w.Key("statement_timeout_ms");
  w.Raw(std::to_string(c.statement_timeout_ms));
  w.Key("retry_duration_s");
  w.Raw(std::to_string(c.retry_duration_s));
  w.Key("pool_size");
  w.Raw(std::to_string(c.pool_size));
  if (c.engine == warehouse::Engine::kRedshift) {
    w.Key("redshift");
    w.BeginObject();
    for (const auto& [k, v] :
         {std::pair<const char*, const std::string*>{"iam_role", &c.redshift.iam_role},
          {"access_key_id", &c.redshift.access_key_id},
          {"secret_access_key", &c.redshift.secret_access_key},
          {"session_token", &c.redshift.session_token},
          {"region", &c.redshift.region}}) {
      if (v->empty()) continue;
      w.Key(k);
      w.String(*v);
    }
    w.EndObject();
    w.Key("gzip");
    w.Bool(c.gzip);
  }
  w.EndObject();
  return w.Take();
}

}  // namespace

std::string StreamToYaml(const StreamConfig& s, const StreamState& state) {
  // JSON is valid YAML flow syntax, so JSON-encoded parameters embed as they are.
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << s.name;
  if (s.type == SourceType::kKinesisStreamAsSource) {
    e << YAML::Key << "source" << YAML::Value << YAML::BeginMap << YAML::Key << "kinesis_stream"
      << YAML::Value << s.source_stream << YAML::EndMap;
  } else {
    e << YAML::Key << "partitions" << YAML::Value << s.partitions;
  }
  e << YAML::Key << "version" << YAML::Value << state.version;
  e << YAML::Key << "create_timestamp_ms" << YAML::Value << state.create_timestamp_ms;
  e << YAML::Key << "from_api" << YAML::Value << state.from_api;
  if (!s.role_arn.empty())
    e << YAML::Key << "role_arn" << YAML::Value << YAML::DoubleQuoted << s.role_arn;
  e << YAML::Key << "buffering" << YAML::Value << YAML::BeginMap << YAML::Key << "size_mb"
    << YAML::Value << s.buffering.size_mb << YAML::Key << "interval_s" << YAML::Value
    << s.buffering.interval_s << YAML::EndMap;
  EmitDestination(e, "staged", s.staged);
  EmitDestination(e, "raw", s.raw);
  EmitDestination(e, "errors", s.errors);
  e << YAML::Key << "error_output_prefix" << YAML::Value << YAML::DoubleQuoted
    << s.error_output_prefix;
  e << YAML::Key << "compression" << YAML::Value
    << std::string(compress::FormatName(s.compression));
  if (s.file_extension)
    e << YAML::Key << "file_extension" << YAML::Value << YAML::DoubleQuoted << *s.file_extension;
  e << YAML::Key << "retry_duration_s" << YAML::Value << s.retry_duration_s;
  if (s.custom_time_zone != "UTC") {
    e << YAML::Key << "custom_time_zone" << YAML::Value << YAML::DoubleQuoted << s.custom_time_zone;
  }
  e << YAML::Key << "retention_hours" << YAML::Value << s.retention_hours;
  e << YAML::Key << "retention_mb" << YAML::Value << s.retention_mb;
  e << YAML::Key << "max_active_partitions" << YAML::Value << s.max_active_partitions;
  e << YAML::EndMap;
  std::string out = e.c_str();
  // Flow-style parts (JSON text) are appended as raw YAML lines.
  if (!s.processors.empty()) {
    out += "\nprocessors:\n";
    for (const auto& p : s.processors) {
      out +=
          "  - " + json::Quote(p.type()) + ": " + transform::ProcessorSpecParams(p).ToJson() + "\n";
    }
  }
  if (!(s.format == transform::FormatSpec{})) out += "\nformat: " + s.format.ToString() + "\n";
  if (!s.tags.empty()) {
    out += "\ntags:\n";
    for (const auto& [k, v] : s.tags) out += "  " + json::Quote(k) + ": " + json::Quote(v) + "\n";
  }
  if (s.warehouse) out += "\nwarehouse: " + WarehouseToJson(*s.warehouse) + "\n";
  return out + "\n";
}

Result<StreamDefinition> ParseStreamYaml(const std::string& yaml_text,
                                         const std::string& source_name) {
  Walker w(source_name);
  StreamDefinition d;
  Status st = Guard(source_name, [&]() -> Status {
    YAML::Node n = YAML::Load(yaml_text);
    return ParseStream(w, n, d.config, &d.state);
  });
  if (!st.ok()) return st;
  return d;
}

}  // namespace sluice::config
