// Minimal JSON text building for responses and error records. Parsing uses simdjson.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::json {

// Appends `s` as a JSON string literal (quoted, escaped per RFC 8259; bytes >= 0x80 are copied
// as they are, so valid UTF-8 stays valid).
void AppendString(std::string& out, std::string_view s);
// Returns `s` as a JSON string literal.
std::string Quote(std::string_view s);

// Streaming writer for objects and arrays; it inserts commas. Usage:
//   Writer w; w.BeginObject(); w.Key("a"); w.Int(1); w.EndObject(); w.str();
class Writer {
 public:
  void BeginObject() {
    Separate();
    out_ += '{';
    first_ = true;
  }
  void EndObject() {
    out_ += '}';
    first_ = false;
  }
  void BeginArray() {
    Separate();
    out_ += '[';
    first_ = true;
  }
  void EndArray() {
    out_ += ']';
    first_ = false;
  }
  void Key(std::string_view k) {
    Separate();
    AppendString(out_, k);
    out_ += ':';
    first_ = true;
  }
  void String(std::string_view v) {
    Separate();
    AppendString(out_, v);
  }
  void Int(int64_t v) {
    Separate();
    out_ += std::to_string(v);
  }
  void Uint(uint64_t v) {
    Separate();
    out_ += std::to_string(v);
  }
  void Double(double v);
  void Bool(bool v) {
    Separate();
    out_ += v ? "true" : "false";
  }
  void Null() {
    Separate();
    out_ += "null";
  }
  // Inserts already-serialized JSON as a value.
  void Raw(std::string_view json) {
    Separate();
    out_ += json;
  }
  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  std::string out_;
  bool first_ = true;
};

}  // namespace sluice::json
