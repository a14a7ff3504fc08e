#include "transform/processor_params.h"

#include <charconv>
#include <set>

#include "common/base64.h"
#include "transform/processor_spec.h"
#include "transform/schema.h"

namespace sluice::transform {
namespace {

// Error construction for one processor's parameters: "<where>: <problem>", and the line of the
// value at fault.
class Reader {
 public:
  Reader(const std::string& where, int* error_line) : where_(where), error_line_(error_line) {}

  Status Fail(const ParamValue& at, const std::string& problem) const {
    if (error_line_ != nullptr) *error_line_ = at.line;
    return Status::InvalidArgument(where_ + ": " + problem);
  }
  Status Bad(const ParamValue& at, std::string_view key, const std::string& problem) const {
    return Fail(at, "parameter \"" + std::string(key) + "\" " + problem);
  }
  const std::string& where() const { return where_; }

  Result<std::string> String(const ParamValue& v, std::string_view key) const {
    if (!v.is_string()) return Bad(v, key, "must be a string, got " + v.ToJson());
    return v.text;
  }
  // Numbers and booleans also arrive as strings (Firehose parameters are all strings).
  Result<int64_t> Int(const ParamValue& v, std::string_view key) const {
    int64_t out = 0;
    if (v.kind == ParamValue::Kind::kNumber || v.is_string()) {
      const std::string& s = v.text;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return out;
    }
    return Bad(v, key, "must be an integer, got " + v.ToJson());
  }
  Result<double> Double(const ParamValue& v, std::string_view key) const {
    double out = 0;
    if (v.kind == ParamValue::Kind::kNumber || v.is_string()) {
      const std::string& s = v.text;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) return out;
    }
    return Bad(v, key, "must be a number, got " + v.ToJson());
  }
  Result<bool> Bool(const ParamValue& v, std::string_view key) const {
    if (v.kind == ParamValue::Kind::kBool || v.is_string()) {
      if (v.text == "true") return true;
      if (v.text == "false") return false;
    }
    return Bad(v, key, "must be true or false, got " + v.ToJson());
  }
  Result<int64_t> IntIn(const ParamValue& v, std::string_view key, int64_t lo, int64_t hi) const {
    SLUICE_ASSIGN_OR_RETURN(int64_t n, Int(v, key));
    if (n < lo || n > hi) {
      return Bad(v, key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    return n;
  }

 private:
  const std::string& where_;
  int* error_line_;
};

// One parameter: its documentation row, how a given value is stored into T, and how T's value
// is written back.
template <typename T>
struct ParamDef {
  ParamInfo info;
  Status (*parse)(const Reader& r, const ParamValue& value, T& out);
  ParamValue (*emit)(const T& in);
};

// One processor type's declaration: its table and the checks across parameters.
template <typename T>
struct ProcessorDef {
  const char* type;
  const char* does;
  bool firehose;
  std::vector<ParamDef<T>> params;
  Status (*finish)(const Reader& r, const ParamValue& params, T& out) = nullptr;
};

std::string Number(int64_t v) {
  return std::to_string(v);
}

std::string Number(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <typename T>
Result<T> ParseTable(const ProcessorDef<T>& def, const ParamValue& params, const Reader& r) {
  T out;
  if (!params.is_null() && !params.is_map()) {
    return r.Fail(params, "parameters must be a JSON object, got " + params.ToJson());
  }
  for (const ParamDef<T>& p : def.params) {
    const ParamValue* v = params.Find(p.info.name);
    if (v != nullptr && !v->is_null()) SLUICE_RETURN_IF_ERROR(p.parse(r, *v, out));
  }
  std::set<std::string_view> seen;
  for (const auto& [key, value] : params.fields) {
    bool known = false;
    for (const ParamDef<T>& p : def.params) known = known || key == p.info.name;
    if (!known) {
      if (def.params.empty()) {
        return r.Fail(value,
                      "unknown parameter \"" + key + "\"; " + def.type + " takes no parameters");
      }
      std::string list;
      for (const ParamDef<T>& p : def.params)
        list += (list.empty() ? "" : ", ") + std::string(p.info.name);
      return r.Fail(value, "unknown parameter \"" + key + "\"; allowed: " + list);
    }
    if (!seen.insert(key).second) return r.Bad(value, key, "is given twice");
    if (!value.is_null()) out.given.push_back(key);
  }
  if (def.finish != nullptr) SLUICE_RETURN_IF_ERROR(def.finish(r, params, out));
  return out;
}

template <typename T>
ParamValue EmitTable(const ProcessorDef<T>& def, const T& in) {
  ParamValue out = ParamValue::Map();
  for (const std::string& name : in.given) {
    for (const ParamDef<T>& p : def.params) {
      if (name == p.info.name) out.Add(name, p.emit(in));
    }
  }
  return out;
}

template <typename T>
ProcessorInfo InfoOf(const ProcessorDef<T>& def) {
  ProcessorInfo info{def.type, def.does, def.firehose, {}};
  for (const ParamDef<T>& p : def.params) info.params.push_back(p.info);
  return info;
}

// ---- flatten ----

const ProcessorDef<FlattenParams> kFlatten{
    "flatten",
    "nested JSON objects become columns named by their path; one array path can be exploded into "
    "one row per element",
    false,
    {
        {{"separator", "string", "`_`", "joins the keys of a nested path into a column name"},
         [](const Reader& r, const ParamValue& v, FlattenParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(o.separator, r.String(v, "separator"));
           return Status::Ok();
         },
         [](const FlattenParams& o) { return ParamValue::String(o.separator); }},
        {{"explode", "dotted path or list of keys", "none",
          "the array exploded into one row per element (`items`, `order.lines`)"},
         [](const Reader& r, const ParamValue& v, FlattenParams& o) -> Status {
           if (v.is_string()) {
             std::string_view rest = v.text;
             while (!rest.empty()) {
               auto dot = rest.find('.');
               o.explode.emplace_back(rest.substr(0, dot));
               if (dot == std::string_view::npos) break;
               rest.remove_prefix(dot + 1);
             }
           } else if (v.is_list()) {
             for (const ParamValue& seg : v.items) {
               if (!seg.is_string()) {
                 return r.Bad(seg, "explode", "must be a dotted path or an array of keys");
               }
               o.explode.push_back(seg.text);
             }
           } else {
             return r.Bad(v, "explode", "must be a dotted path (\"items\", \"order.lines\")");
           }
           for (const auto& seg : o.explode) {
             if (seg.empty()) return r.Bad(v, "explode", "has an empty path segment");
           }
           return Status::Ok();
         },
         [](const FlattenParams& o) {
           bool dotted = !o.explode.empty();
           std::string joined;
           for (const auto& seg : o.explode) {
             dotted = dotted && seg.find('.') == std::string::npos;
             joined += (joined.empty() ? "" : ".") + seg;
           }
           if (dotted) return ParamValue::String(joined);
           ParamValue list = ParamValue::List();
           for (const auto& seg : o.explode) list.items.push_back(ParamValue::String(seg));
           return list;
         }},
        {{"arrays", "`json` or `join`", "`json`",
          "other arrays: minified JSON text, or their elements joined with `join_separator`"},
         [](const Reader& r, const ParamValue& v, FlattenParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(std::string s, r.String(v, "arrays"));
           if (s == "json") {
             o.arrays = FlattenParams::Arrays::kJson;
           } else if (s == "join") {
             o.arrays = FlattenParams::Arrays::kJoin;
           } else {
             return r.Bad(v, "arrays", "must be \"json\" or \"join\", got \"" + s + "\"");
           }
           return Status::Ok();
         },
         [](const FlattenParams& o) {
           return ParamValue::String(o.arrays == FlattenParams::Arrays::kJoin ? "join" : "json");
         }},
        {{"join_separator", "string", "`,`", "between joined array elements (`arrays: join`)"},
         [](const Reader& r, const ParamValue& v, FlattenParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(o.join_separator, r.String(v, "join_separator"));
           return Status::Ok();
         },
         [](const FlattenParams& o) { return ParamValue::String(o.join_separator); }},
        {{"explode_empty", "`keep` or `drop`", "`keep`",
          "a missing, null or empty exploded array: one row with null element columns, or none "
          "(the record is Dropped)"},
         [](const Reader& r, const ParamValue& v, FlattenParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(std::string s, r.String(v, "explode_empty"));
           if (s == "keep") {
             o.explode_empty_drop = false;
           } else if (s == "drop") {
             o.explode_empty_drop = true;
           } else {
             return r.Bad(v, "explode_empty", "must be \"keep\" or \"drop\", got \"" + s + "\"");
           }
           return Status::Ok();
         },
         [](const FlattenParams& o) {
           return ParamValue::String(o.explode_empty_drop ? "drop" : "keep");
         }},
        {{"max_depth", "integer 1..1000", "32",
          "objects nested deeper are kept as minified JSON text"},
         [](const Reader& r, const ParamValue& v, FlattenParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(int64_t n, r.IntIn(v, "max_depth", 1, 1000));
           o.max_depth = static_cast<uint32_t>(n);
           return Status::Ok();
         },
         [](const FlattenParams& o) { return ParamValue::Number(Number(int64_t{o.max_depth})); }},
        {{"max_columns", "integer 1..10000000", "100000",
          "distinct paths remembered per chain before the path cache is reset"},
         [](const Reader& r, const ParamValue& v, FlattenParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(int64_t n, r.IntIn(v, "max_columns", 1, 10'000'000));
           o.max_columns = static_cast<uint32_t>(n);
           return Status::Ok();
         },
         [](const FlattenParams& o) { return ParamValue::Number(Number(int64_t{o.max_columns})); }},
    }};

// ---- schema ----

Status ParseColumn(const Reader& r, const ParamValue& e, size_t index, ColumnSpec& spec) {
  const std::string where = "column " + std::to_string(index);
  if (!e.is_map()) return r.Fail(e, where + ": must be an object");
  std::string type_text = "text";
  for (const auto& [key, value] : e.fields) {
    const bool str = value.is_string();
    if (key == "name" && str) {
      spec.name = value.text;
    } else if (key == "source" && str) {
      spec.source = value.text;
    } else if (key == "type" && str) {
      type_text = value.text;
    } else if (key == "required" && value.kind == ParamValue::Kind::kBool) {
      spec.required = value.text == "true";
    } else if (key == "default") {
      switch (value.kind) {
        case ParamValue::Kind::kNull: break;
        case ParamValue::Kind::kString:
          spec.default_value.emplace(ValueKind::kString, value.text);
          break;
        case ParamValue::Kind::kNumber:
          spec.default_value.emplace(ValueKind::kNumber, value.text);
          break;
        case ParamValue::Kind::kBool:
          spec.default_value.emplace(ValueKind::kBool, value.text);
          break;
        case ParamValue::Kind::kList:
        case ParamValue::Kind::kMap:
          spec.default_value.emplace(ValueKind::kJson, value.ToJson());
          break;
      }
    } else if (key == "formats" && value.is_list()) {
      for (const ParamValue& fe : value.items) {
        if (!fe.is_string()) return r.Fail(fe, where + ": formats must be strings");
        const std::string& fs = fe.text;
        TimeFormat f{TimeFormat::Kind::kPattern, fs};
        if (fs == "iso8601") f = {TimeFormat::Kind::kIso8601, ""};
        if (fs == "epoch_s") f = {TimeFormat::Kind::kEpochS, ""};
        if (fs == "epoch_ms") f = {TimeFormat::Kind::kEpochMs, ""};
        if (fs == "epoch_us") f = {TimeFormat::Kind::kEpochUs, ""};
        if (f.kind == TimeFormat::Kind::kPattern && fs.find('%') == std::string::npos) {
          return r.Fail(fe,
                        where + ": format \"" + fs +
                            "\" is neither iso8601, epoch_s, epoch_ms, epoch_us nor a %-pattern");
        }
        spec.formats.push_back(std::move(f));
      }
    } else {
      return r.Fail(value, where + ": bad or unknown key \"" + key +
                               "\"; allowed: name (string), source (string), type (string), "
                               "required (bool), default, formats (list of strings)");
    }
  }
  if (spec.name.empty()) return r.Fail(e, where + ": \"name\" is required");
  const std::string named = "column \"" + spec.name + "\"";
  Status st = ParseColumnType(type_text, spec);
  if (!st.ok()) return r.Fail(e, named + ": " + st.message());
  if (!spec.formats.empty() && spec.type != ColumnType::kTimestamp &&
      spec.type != ColumnType::kDate) {
    return r.Fail(e, named + ": formats apply to timestamp and date only");
  }
  if (spec.formats.empty()) spec.formats.push_back({TimeFormat::Kind::kIso8601, ""});
  if (spec.source.empty()) spec.source = spec.name;
  if (spec.default_value) {
    ValueKind k;
    std::string text, error;
    if (!ConvertValue(spec, spec.default_value->first, spec.default_value->second, k, text,
                      error)) {
      return r.Fail(e, named + ": default: " + error);
    }
  }
  return Status::Ok();
}

ParamValue EmitColumn(const ColumnSpec& c) {
  ParamValue v = ParamValue::Map();
  v.Add("name", ParamValue::String(c.name));
  if (c.source != c.name) v.Add("source", ParamValue::String(c.source));
  v.Add("type", ParamValue::String(c.TypeName()));
  if (c.required) v.Add("required", ParamValue::Bool(true));
  if (c.default_value) {
    const auto& [kind, text] = *c.default_value;
    ParamValue d;
    switch (kind) {
      case ValueKind::kString: d = ParamValue::String(text); break;
      case ValueKind::kNumber: d = ParamValue::Number(text); break;
      case ValueKind::kBool: d = ParamValue::Bool(text == "true"); break;
      case ValueKind::kJson: {
        auto parsed = ParamValue::FromJson(text);
        d = parsed.ok() ? std::move(parsed).value() : ParamValue::String(text);
        break;
      }
      case ValueKind::kNull: break;
    }
    v.Add("default", std::move(d));
  }
  const bool default_formats =
      c.formats.size() == 1 && c.formats[0].kind == TimeFormat::Kind::kIso8601;
  if (!default_formats) {
    ParamValue list = ParamValue::List();
    for (const TimeFormat& f : c.formats) {
      switch (f.kind) {
        case TimeFormat::Kind::kIso8601: list.items.push_back(ParamValue::String("iso8601")); break;
        case TimeFormat::Kind::kEpochS: list.items.push_back(ParamValue::String("epoch_s")); break;
        case TimeFormat::Kind::kEpochMs:
          list.items.push_back(ParamValue::String("epoch_ms"));
          break;
        case TimeFormat::Kind::kEpochUs:
          list.items.push_back(ParamValue::String("epoch_us"));
          break;
        case TimeFormat::Kind::kPattern: list.items.push_back(ParamValue::String(f.pattern)); break;
      }
    }
    v.Add("formats", std::move(list));
  }
  return v;
}

const char kColumnsRequired[] = "is required: a list of {name, type, source, required, default}";

const ProcessorDef<SchemaParams> kSchema{
    "schema",
    "typed output columns and the conversion of each value to its type",
    false,
    {
        {{"columns", "list of {name, source, type, required, default, formats}", "required",
          "`source`: dotted path in the record (default `name`); `type`: text, bigint, integer, "
          "double, boolean, timestamp, date, numeric(p,s), json; `formats` (timestamp, date): "
          "iso8601, epoch_s, epoch_ms, epoch_us or a %-pattern"},
         [](const Reader& r, const ParamValue& v, SchemaParams& o) -> Status {
           if (!v.is_list()) return r.Bad(v, "columns", kColumnsRequired);
           for (size_t i = 0; i < v.items.size(); ++i) {
             ColumnSpec spec;
             SLUICE_RETURN_IF_ERROR(ParseColumn(r, v.items[i], i + 1, spec));
             for (const auto& other : o.columns) {
               if (other.name == spec.name) {
                 return r.Fail(v.items[i], "column \"" + spec.name + "\": duplicate name");
               }
             }
             o.columns.push_back(std::move(spec));
           }
           if (o.columns.empty()) return r.Bad(v, "columns", "must list at least one column");
           return Status::Ok();
         },
         [](const SchemaParams& o) {
           ParamValue list = ParamValue::List();
           for (const auto& c : o.columns) list.items.push_back(EmitColumn(c));
           return list;
         }},
    },
    [](const Reader& r, const ParamValue& params, SchemaParams& o) -> Status {
      if (o.columns.empty()) return r.Bad(params, "columns", kColumnsRequired);
      return Status::Ok();
    }};

// ---- rules ----

const char kRulesShape[] = "expected a list of rules ({drop_if}, {fail_if, message}, {set, expr})";

Status ParseRule(const Reader& r, const ParamValue& e, size_t index, RulesParams::Rule& rule) {
  const std::string where = "rule " + std::to_string(index);
  if (!e.is_map()) return r.Fail(e, where + ": must be an object");
  std::optional<std::string> drop_if, fail_if, message, set, expr;
  for (const auto& [key, value] : e.fields) {
    std::optional<std::string>* slot = key == "drop_if"   ? &drop_if
                                       : key == "fail_if" ? &fail_if
                                       : key == "message" ? &message
                                       : key == "set"     ? &set
                                       : key == "expr"    ? &expr
                                                          : nullptr;
    if (slot == nullptr) {
      return r.Fail(value, where + ": unknown key \"" + key +
                               "\"; allowed: drop_if, fail_if, message, set, expr");
    }
    if (!value.is_string()) return r.Fail(value, where + ": \"" + key + "\" must be a string");
    *slot = value.text;
  }
  int kinds = (drop_if ? 1 : 0) + (fail_if ? 1 : 0) + (set ? 1 : 0);
  if (kinds != 1) return r.Fail(e, where + ": needs exactly one of drop_if, fail_if, set");
  if (drop_if) {
    if (message || expr) return r.Fail(e, where + ": message/expr do not apply to drop_if");
    rule.kind = RulesParams::Rule::Kind::kDropIf;
    rule.expr = *drop_if;
  } else if (fail_if) {
    rule.kind = RulesParams::Rule::Kind::kFailIf;
    rule.expr = *fail_if;
    rule.message = message;
  } else {
    if (!expr) return r.Fail(e, where + ": set needs \"expr\"");
    if (set->empty()) return r.Fail(e, where + ": set needs a column name");
    rule.kind = RulesParams::Rule::Kind::kSet;
    rule.expr = *expr;
    rule.column = *set;
  }
  return Status::Ok();
}

const ProcessorDef<RulesParams> kRules{
    "rules",
    "Lua expressions over a row, in order: `drop_if`, `fail_if` (with `message`), `set` (with "
    "`expr`); the parameters may also be the list itself",
    false,
    {
        {{"rules", "list of {drop_if}, {fail_if, message} or {set, expr}", "required",
          "a column is a global of its name (`row[\"odd name\"]` otherwise); null is nil"},
         [](const Reader& r, const ParamValue& v, RulesParams& o) -> Status {
           if (!v.is_list()) return r.Fail(v, kRulesShape);
           for (size_t i = 0; i < v.items.size(); ++i) {
             RulesParams::Rule rule;
             SLUICE_RETURN_IF_ERROR(ParseRule(r, v.items[i], i + 1, rule));
             o.rules.push_back(std::move(rule));
           }
           return Status::Ok();
         },
         [](const RulesParams& o) {
           ParamValue list = ParamValue::List();
           for (const auto& rule : o.rules) {
             ParamValue v = ParamValue::Map();
             switch (rule.kind) {
               case RulesParams::Rule::Kind::kDropIf:
                 v.Add("drop_if", ParamValue::String(rule.expr));
                 break;
               case RulesParams::Rule::Kind::kFailIf:
                 v.Add("fail_if", ParamValue::String(rule.expr));
                 if (rule.message) v.Add("message", ParamValue::String(*rule.message));
                 break;
               case RulesParams::Rule::Kind::kSet:
                 v.Add("set", ParamValue::String(rule.column));
                 v.Add("expr", ParamValue::String(rule.expr));
                 break;
             }
             list.items.push_back(std::move(v));
           }
           return list;
         }},
    },
    [](const Reader& r, const ParamValue& params, RulesParams& o) -> Status {
      if (o.given.empty()) return r.Bad(params, "rules", "is required: a list of rules");
      return Status::Ok();
    }};

// ---- lua ----

const ProcessorDef<LuaParams> kLua{
    "lua",
    "a Lua script defining `process(record, meta)`, which returns Ok [, row(s)], Dropped or "
    "ProcessingFailed [, message]; give exactly one of `file` and `script`",
    false,
    {
        {{"file", "path", "none", "the script's file, read when the stream starts"},
         [](const Reader& r, const ParamValue& v, LuaParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(o.file, r.String(v, "file"));
           return Status::Ok();
         },
         [](const LuaParams& o) { return ParamValue::String(o.file.value_or("")); }},
        {{"script", "string", "none", "the script itself"},
         [](const Reader& r, const ParamValue& v, LuaParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(o.script, r.String(v, "script"));
           return Status::Ok();
         },
         [](const LuaParams& o) { return ParamValue::String(o.script.value_or("")); }},
    },
    [](const Reader& r, const ParamValue& params, LuaParams& o) -> Status {
      if (o.file.has_value() == o.script.has_value()) {
        return r.Fail(params, "give exactly one of \"file\" or \"script\"");
      }
      return Status::Ok();
    }};

// ---- Lambda ----

Status ParseLambdaUrl(const Reader& r, const ParamValue& v, std::string_view key, LambdaParams& o) {
  SLUICE_ASSIGN_OR_RETURN(o.url, r.String(v, key));
  return Status::Ok();
}

const ProcessorDef<LambdaParams> kLambda{
    "Lambda",
    "the Firehose data-transformation contract over HTTP (see src/transform/lambda.h); the "
    "values may be strings, as the Firehose API gives them",
    true,
    {
        {{"LambdaArn", "http(s) URL", "required",
          "a plain endpoint, or an AWS Lambda Invoke URL ending in "
          "`/2015-03-31/functions/{name}/invocations`"},
         [](const Reader& r, const ParamValue& v, LambdaParams& o) {
           return ParseLambdaUrl(r, v, "LambdaArn", o);
         },
         [](const LambdaParams& o) { return ParamValue::String(o.url); }},
        {{"url", "http(s) URL", "none", "another name for `LambdaArn`"},
         [](const Reader& r, const ParamValue& v, LambdaParams& o) {
           return ParseLambdaUrl(r, v, "url", o);
         },
         [](const LambdaParams& o) { return ParamValue::String(o.url); }},
        {{"NumberOfRetries", "integer 0..300", "3", "retries of a failed invocation"},
         [](const Reader& r, const ParamValue& v, LambdaParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(int64_t n, r.Int(v, "NumberOfRetries"));
           if (n < 0 || n > 300) return r.Bad(v, "NumberOfRetries", "must be 0..300");
           o.number_of_retries = static_cast<uint32_t>(n);
           return Status::Ok();
         },
         [](const LambdaParams& o) {
           return ParamValue::Number(Number(int64_t{o.number_of_retries}));
         }},
        {{"BufferSizeInMBs", "number 0.2..3", "1", "the most record data per invocation"},
         [](const Reader& r, const ParamValue& v, LambdaParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(double mb, r.Double(v, "BufferSizeInMBs"));
           if (mb < 0.2 || mb > 3) return r.Bad(v, "BufferSizeInMBs", "must be 0.2..3");
           o.buffer_size_mb = mb;
           return Status::Ok();
         },
         [](const LambdaParams& o) { return ParamValue::Number(Number(o.buffer_size_mb)); }},
        {{"BufferIntervalInSeconds", "integer 0..900", "60", "reported to the batcher"},
         [](const Reader& r, const ParamValue& v, LambdaParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(int64_t n, r.Int(v, "BufferIntervalInSeconds"));
           if (n < 0 || n > 900) return r.Bad(v, "BufferIntervalInSeconds", "must be 0..900");
           o.buffer_interval_s = static_cast<uint32_t>(n);
           return Status::Ok();
         },
         [](const LambdaParams& o) {
           return ParamValue::Number(Number(int64_t{o.buffer_interval_s}));
         }},
        {{"TimeoutMs", "integer 1..900000", "300000", "(Sluice) per-invocation timeout"},
         [](const Reader& r, const ParamValue& v, LambdaParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(int64_t n, r.Int(v, "TimeoutMs"));
           if (n < 1 || n > 900'000) return r.Bad(v, "TimeoutMs", "must be 1..900000");
           o.timeout_ms = n;
           return Status::Ok();
         },
         [](const LambdaParams& o) { return ParamValue::Number(Number(o.timeout_ms)); }},
        {{"RoleArn", "string", "none", "accepted and ignored"},
         [](const Reader& r, const ParamValue& v, LambdaParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(o.role_arn, r.String(v, "RoleArn"));
           return Status::Ok();
         },
         [](const LambdaParams& o) { return ParamValue::String(o.role_arn); }},
    },
    [](const Reader& r, const ParamValue& params, LambdaParams& o) -> Status {
      const ParamValue* arn = params.Find("LambdaArn");
      const ParamValue* url = params.Find("url");
      const bool has_arn = arn != nullptr && !arn->is_null();
      const bool has_url = url != nullptr && !url->is_null();
      if (has_arn && has_url) return r.Bad(*url, "url", "and LambdaArn are the same; give one");
      const ParamValue& at = has_arn ? *arn : has_url ? *url : params;
      if (o.url.empty()) return r.Bad(at, "LambdaArn", "is required");
      if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
        return r.Bad(at, "LambdaArn",
                     "must be an http(s) URL (a plain endpoint or an AWS Lambda Invoke URL "
                     "ending in /2015-03-31/functions/{name}/invocations), got \"" +
                         o.url + "\"");
      }
      return Status::Ok();
    }};

// ---- AppendDelimiterToRecord, RecordDeAggregation ----

const ProcessorDef<AppendDelimiterParams> kAppendDelimiter{
    "AppendDelimiterToRecord", "appends `\\n` to every record", true, {}};

const ProcessorDef<DeAggregationParams> kDeAggregation{
    "RecordDeAggregation",
    "splits one record into several (sub-records get ids `<recordId>:<n>`)",
    true,
    {
        {{"SubRecordType", "`JSON` or `DELIMITED`", "`JSON`",
          "JSON: concatenated JSON values; DELIMITED: split on `Delimiter`"},
         [](const Reader& r, const ParamValue& v, DeAggregationParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(std::string t, r.String(v, "SubRecordType"));
           if (t == "JSON") {
             o.sub_record_type = DeAggregationParams::SubRecordType::kJson;
           } else if (t == "DELIMITED") {
             o.sub_record_type = DeAggregationParams::SubRecordType::kDelimited;
           } else {
             return r.Bad(v, "SubRecordType", "must be JSON or DELIMITED, got \"" + t + "\"");
           }
           return Status::Ok();
         },
         [](const DeAggregationParams& o) {
           return ParamValue::String(o.sub_record_type == DeAggregationParams::SubRecordType::kJson
                                         ? "JSON"
                                         : "DELIMITED");
         }},
        {{"Delimiter", "base64", "`Cg==` (`\\n`)",
          "DELIMITED only: the delimiter, base64-encoded (`IyMjIw==` is `####`)"},
         [](const Reader& r, const ParamValue& v, DeAggregationParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(std::string text, r.String(v, "Delimiter"));
           auto decoded = base64::Decode(text);
           if (!decoded || decoded->empty()) {
             return r.Bad(v, "Delimiter", "must be non-empty base64 (\"####\" is \"IyMjIw==\")");
           }
           o.delimiter = *decoded;
           return Status::Ok();
         },
         [](const DeAggregationParams& o) {
           return ParamValue::String(base64::Encode(o.delimiter));
         }},
    },
    [](const Reader& r, const ParamValue& params, DeAggregationParams& o) -> Status {
      const ParamValue* d = params.Find("Delimiter");
      if (d != nullptr && !d->is_null() &&
          o.sub_record_type != DeAggregationParams::SubRecordType::kDelimited) {
        return r.Bad(*d, "Delimiter", "applies to SubRecordType DELIMITED");
      }
      return Status::Ok();
    }};

// ---- MetadataExtraction ----

const ProcessorDef<MetadataExtractionParams> kMetadataExtraction{
    "MetadataExtraction",
    "dynamic partitioning: jq 1.6 partition keys for `!{partitionKeyFromQuery:…}` prefixes",
    true,
    {
        {{"MetadataExtractionQuery", "jq 1.6 expression", "required",
          "an object of keys, e.g. `{customer_id:.customer_id}`"},
         [](const Reader& r, const ParamValue& v, MetadataExtractionParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(o.query, r.String(v, "MetadataExtractionQuery"));
           return Status::Ok();
         },
         [](const MetadataExtractionParams& o) { return ParamValue::String(o.query); }},
        {{"JsonParsingEngine", "`JQ-1.6`", "`JQ-1.6`", "the only engine"},
         [](const Reader& r, const ParamValue& v, MetadataExtractionParams& o) -> Status {
           SLUICE_ASSIGN_OR_RETURN(std::string e, r.String(v, "JsonParsingEngine"));
           if (e != "JQ-1.6")
             return r.Bad(v, "JsonParsingEngine", "must be JQ-1.6, got \"" + e + "\"");
           o.json_parsing_engine = e;
           return Status::Ok();
         },
         [](const MetadataExtractionParams& o) {
           return ParamValue::String(o.json_parsing_engine);
         }},
    },
    [](const Reader& r, const ParamValue& params, MetadataExtractionParams& o) -> Status {
      if (o.query.empty()) {
        return r.Bad(params, "MetadataExtractionQuery",
                     "is required: a jq 1.6 expression such as {customer_id:.customer_id}");
      }
      return Status::Ok();
    }};

// The definition of each variant alternative, by type.
template <typename T>
const ProcessorDef<T>& DefOf();
template <>
const ProcessorDef<FlattenParams>& DefOf() {
  return kFlatten;
}
template <>
const ProcessorDef<SchemaParams>& DefOf() {
  return kSchema;
}
template <>
const ProcessorDef<RulesParams>& DefOf() {
  return kRules;
}
template <>
const ProcessorDef<LuaParams>& DefOf() {
  return kLua;
}
template <>
const ProcessorDef<LambdaParams>& DefOf() {
  return kLambda;
}
template <>
const ProcessorDef<AppendDelimiterParams>& DefOf() {
  return kAppendDelimiter;
}
template <>
const ProcessorDef<DeAggregationParams>& DefOf() {
  return kDeAggregation;
}
template <>
const ProcessorDef<MetadataExtractionParams>& DefOf() {
  return kMetadataExtraction;
}

template <typename T>
Result<ProcessorSpec> Parse(const ParamValue& params, const Reader& r) {
  SLUICE_ASSIGN_OR_RETURN(T typed, ParseTable(DefOf<T>(), params, r));
  return ProcessorSpec{std::move(typed)};
}

}  // namespace

const std::vector<ProcessorInfo>& ProcessorCatalog() {
  static const std::vector<ProcessorInfo> kCatalog = {
      InfoOf(kFlatten),       InfoOf(kSchema),
      InfoOf(kRules),         InfoOf(kLua),
      InfoOf(kLambda),        InfoOf(kAppendDelimiter),
      InfoOf(kDeAggregation), InfoOf(kMetadataExtraction)};
  return kCatalog;
}

std::string RenderProcessorReference() {
  std::string out;
  for (const ProcessorInfo& p : ProcessorCatalog()) {
    out += "##### `" + std::string(p.type) + "`" + (p.firehose ? " (Firehose)" : "") + "\n\n";
    std::string does = p.does;
    if (!does.empty() && does[0] >= 'a' && does[0] <= 'z')
      does[0] = static_cast<char>(does[0] - 32);
    out += does + ".\n\n";
    if (p.params.empty()) {
      out += "No parameters.\n\n";
      continue;
    }
    out += "| parameter | type | default | meaning |\n|---|---|---|---|\n";
    for (const ParamInfo& i : p.params) {
      out += "| `" + std::string(i.name) + "` | " + i.type + " | " + i.default_text + " | " +
             i.help + " |\n";
    }
    out += "\n";
  }
  return out;
}

std::string_view ProcessorSpec::type() const {
  return std::visit(
      [](const auto& p) -> std::string_view { return DefOf<std::decay_t<decltype(p)>>().type; },
      params);
}

Result<ProcessorSpec> ParseProcessorSpec(std::string_view type, const ParamValue& params,
                                         const std::string& where, int* error_line) {
  if (error_line != nullptr) *error_line = params.line;
  Reader r(where, error_line);
  if (type == "flatten") return Parse<FlattenParams>(params, r);
  if (type == "schema") return Parse<SchemaParams>(params, r);
  if (type == "rules") {
    if (params.is_list()) {  // the list itself
      ParamValue wrapped = ParamValue::Map();
      wrapped.line = params.line;
      wrapped.Add("rules", params);
      return Parse<RulesParams>(wrapped, r);
    }
    if (params.is_map()) {
      const ParamValue* rules = params.Find("rules");
      if (rules != nullptr && !rules->is_null() && !rules->is_list()) {
        return r.Fail(*rules, kRulesShape);
      }
    } else if (!params.is_null()) {
      return r.Fail(params, kRulesShape);
    }
    return Parse<RulesParams>(params, r);
  }
  if (type == "lua") return Parse<LuaParams>(params, r);
  if (type == "Lambda" || type == "lambda") return Parse<LambdaParams>(params, r);
  if (type == "AppendDelimiterToRecord") return Parse<AppendDelimiterParams>(params, r);
  if (type == "RecordDeAggregation") return Parse<DeAggregationParams>(params, r);
  if (type == "MetadataExtraction") return Parse<MetadataExtractionParams>(params, r);
  std::string list;
  for (const ProcessorInfo& p : ProcessorCatalog())
    list += (list.empty() ? "" : ", ") + std::string(p.type);
  return r.Fail(params, "unknown processor type \"" + std::string(type) + "\"; allowed: " + list);
}

ParamValue ProcessorSpecParams(const ProcessorSpec& spec) {
  return std::visit([](const auto& p) { return EmitTable(DefOf<std::decay_t<decltype(p)>>(), p); },
                    spec.params);
}

}  // namespace sluice::transform
