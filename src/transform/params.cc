#include "transform/params.h"

#include <charconv>

namespace sluice::transform {

Result<std::unique_ptr<Params>> Params::Parse(std::string where, std::string_view json) {
  std::unique_ptr<Params> p(new Params());
  p->where_ = std::move(where);
  bool blank = json.find_first_not_of(" \t\r\n") == std::string_view::npos;
  p->text_ = simdjson::padded_string(blank ? std::string_view("{}") : json);
  auto err = p->parser_.parse(p->text_).get(p->root_);
  if (err) {
    return Status::InvalidArgument(
        p->where_ + ": parameters are not valid JSON: " + simdjson::error_message(err));
  }
  return p;
}

bool Params::Has(std::string_view key) const {
  simdjson::dom::object obj;
  if (root_.get_object().get(obj)) return false;
  simdjson::dom::element e;
  return !obj.at_key(key).get(e);
}

std::optional<simdjson::dom::element> Params::Get(std::string_view key) {
  used_.emplace(key);
  simdjson::dom::object obj;
  if (root_.get_object().get(obj)) return std::nullopt;
  simdjson::dom::element e;
  if (obj.at_key(key).get(e)) return std::nullopt;
  if (e.is_null()) return std::nullopt;
  return e;
}

Status Params::Error(std::string_view key, std::string_view problem) const {
  return Status::InvalidArgument(where_ + ": parameter \"" + std::string(key) + "\" " +
                                 std::string(problem));
}

Result<std::optional<std::string>> Params::String(std::string_view key) {
  auto e = Get(key);
  if (!e) return std::optional<std::string>();
  auto s = ElementString(*e);
  if (!s) return Error(key, "must be a string, got " + ElementToJson(*e));
  return s;
}

Result<std::optional<int64_t>> Params::Int(std::string_view key) {
  auto e = Get(key);
  if (!e) return std::optional<int64_t>();
  int64_t v = 0;
  if (!e->get_int64().get(v)) return std::optional<int64_t>(v);
  std::string_view s;
  if (!e->get_string().get(s)) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size()) return std::optional<int64_t>(v);
  }
  return Error(key, "must be an integer, got " + ElementToJson(*e));
}

Result<std::optional<double>> Params::Double(std::string_view key) {
  auto e = Get(key);
  if (!e) return std::optional<double>();
  double v = 0;
  if (!e->get_double().get(v)) return std::optional<double>(v);
  std::string_view s;
  if (!e->get_string().get(s)) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size()) return std::optional<double>(v);
  }
  return Error(key, "must be a number, got " + ElementToJson(*e));
}

Result<std::optional<bool>> Params::Bool(std::string_view key) {
  auto e = Get(key);
  if (!e) return std::optional<bool>();
  bool v = false;
  if (!e->get_bool().get(v)) return std::optional<bool>(v);
  std::string_view s;
  if (!e->get_string().get(s)) {
    if (s == "true") return std::optional<bool>(true);
    if (s == "false") return std::optional<bool>(false);
  }
  return Error(key, "must be true or false, got " + ElementToJson(*e));
}

Status Params::CheckNoUnknownKeys(const std::vector<std::string>& allowed) const {
  simdjson::dom::object obj;
  if (root_.get_object().get(obj)) {
    return Status::InvalidArgument(where_ + ": parameters must be a JSON object, got " +
                                   ElementToJson(root_));
  }
  for (auto field : obj) {
    if (used_.count(field.key)) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return Status::InvalidArgument(where_ + ": unknown parameter \"" + std::string(field.key) +
                                   "\"; allowed: " + list);
  }
  return Status::Ok();
}

std::optional<std::string> ElementString(simdjson::dom::element e) {
  std::string_view s;
  if (e.get_string().get(s)) return std::nullopt;
  return std::string(s);
}

std::string ElementToJson(simdjson::dom::element e) {
  return simdjson::minify(e);
}

}  // namespace sluice::transform
