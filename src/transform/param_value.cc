#include "transform/param_value.h"

#include <simdjson.h>

#include "common/json_writer.h"

namespace sluice::transform {

ParamValue ParamValue::String(std::string s) {
  ParamValue v;
  v.kind = Kind::kString;
  v.text = std::move(s);
  return v;
}

ParamValue ParamValue::Number(std::string text) {
  ParamValue v;
  v.kind = Kind::kNumber;
  v.text = std::move(text);
  return v;
}

ParamValue ParamValue::Bool(bool b) {
  ParamValue v;
  v.kind = Kind::kBool;
  v.text = b ? "true" : "false";
  return v;
}

ParamValue ParamValue::List() {
  ParamValue v;
  v.kind = Kind::kList;
  return v;
}

ParamValue ParamValue::Map() {
  ParamValue v;
  v.kind = Kind::kMap;
  return v;
}

const ParamValue* ParamValue::Find(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const auto& [k, v] : fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

void ParamValue::Add(std::string key, ParamValue value) {
  fields.push_back(ParamField{std::move(key), std::move(value)});
}

namespace {

void WriteJson(const ParamValue& v, std::string& out) {
  switch (v.kind) {
    case ParamValue::Kind::kNull: out += "null"; break;
    case ParamValue::Kind::kBool:
    case ParamValue::Kind::kNumber: out += v.text; break;
    case ParamValue::Kind::kString: json::AppendString(out, v.text); break;
    case ParamValue::Kind::kList:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ',';
        WriteJson(v.items[i], out);
      }
      out += ']';
      break;
    case ParamValue::Kind::kMap:
      out += '{';
      for (size_t i = 0; i < v.fields.size(); ++i) {
        if (i > 0) out += ',';
        json::AppendString(out, v.fields[i].key);
        out += ':';
        WriteJson(v.fields[i].value, out);
      }
      out += '}';
      break;
  }
}

ParamValue FromElement(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      ParamValue v = ParamValue::Map();
      simdjson::dom::object obj;
      if (e.get_object().get(obj)) return v;
      for (auto field : obj) v.Add(std::string(field.key), FromElement(field.value));
      return v;
    }
    case element_type::ARRAY: {
      ParamValue v = ParamValue::List();
      simdjson::dom::array arr;
      if (e.get_array().get(arr)) return v;
      for (auto item : arr) v.items.push_back(FromElement(item));
      return v;
    }
    case element_type::STRING:
      return ParamValue::String(std::string(e.get_string().value_unsafe()));
    case element_type::INT64:
      return ParamValue::Number(std::to_string(e.get_int64().value_unsafe()));
    case element_type::UINT64:
      return ParamValue::Number(std::to_string(e.get_uint64().value_unsafe()));
    case element_type::DOUBLE: return ParamValue::Number(simdjson::minify(e));
    case element_type::BOOL: return ParamValue::Bool(e.get_bool().value_unsafe());
    case element_type::NULL_VALUE: return ParamValue::Null();
  }
  return ParamValue::Null();
}

}  // namespace

std::string ParamValue::ToJson() const {
  std::string out;
  WriteJson(*this, out);
  return out;
}

Result<ParamValue> ParamValue::FromJson(std::string_view json) {
  bool blank = json.find_first_not_of(" \t\r\n") == std::string_view::npos;
  simdjson::padded_string text(blank ? std::string_view("{}") : json);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(text).get(root)) {
    return Status::InvalidArgument(std::string("parameters are not valid JSON: ") +
                                   simdjson::error_message(err));
  }
  return FromElement(root);
}

bool ParamValue::operator==(const ParamValue& other) const {
  return kind == other.kind && text == other.text && items == other.items && fields == other.fields;
}

}  // namespace sluice::transform
