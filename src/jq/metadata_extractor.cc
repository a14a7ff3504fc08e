#include "jq/metadata_extractor.h"

#include <climits>
#include <cmath>
#include <utility>

extern "C" {
#include <jq.h>
}

namespace sluice::jq {
namespace {

// libjq reference counting: every jv_* function consumes (decrefs) its jv arguments unless it
// only inspects them (jv_get_kind, jv_number_value, jv_string_value, jv_object_iter*), and every
// jv it returns is owned by the caller. Owned wraps one owned jv so that every path frees it.
class Owned {
 public:
  explicit Owned(jv value) : value_(value) {}
  ~Owned() { jv_free(value_); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;

  // Borrowed view for the inspecting functions.
  jv get() const { return value_; }
  // A new reference for a consuming function; this Owned keeps its own.
  jv Copy() const { return jv_copy(value_); }
  jv_kind kind() const { return jv_get_kind(value_); }

 private:
  jv value_;
};

// Cuts `text` to at most `max` bytes on a UTF-8 boundary, marking the cut.
std::string Truncate(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "...(truncated)";
  return text;
}

std::string JvString(const Owned& s) {
  return std::string(jv_string_value(s.get()), jv_string_length_bytes(s.Copy()));
}

// `value` as compact JSON, as jq prints it. Consumes nothing.
std::string Dump(const Owned& value) {
  return JvString(Owned(jv_dump_string(value.Copy(), 0)));
}

// The text of an error payload: a string as is, anything else as JSON.
std::string MessageText(const Owned& message) {
  if (message.kind() == JV_KIND_STRING) return JvString(message);
  return Dump(message);
}

// The message carried by an invalid jv, or "" when it carries none (jq's "no more outputs").
std::string InvalidMessage(const Owned& invalid) {
  if (!jv_invalid_has_msg(invalid.Copy())) return "";
  return MessageText(Owned(jv_invalid_get_msg(invalid.Copy())));
}

const char* KindName(jv_kind kind) {
  switch (kind) {
    case JV_KIND_NULL: return "null";
    case JV_KIND_FALSE:
    case JV_KIND_TRUE: return "a boolean";
    case JV_KIND_NUMBER: return "a number";
    case JV_KIND_STRING: return "a string";
    case JV_KIND_ARRAY: return "an array";
    case JV_KIND_OBJECT: return "an object";
    case JV_KIND_INVALID: break;
  }
  return "an invalid value";
}

// libjq's error callback: collects compile (and any other reported) messages. Owns `message`.
void CollectJqError(void* data, jv message) {
  auto* reported = static_cast<std::vector<std::string>*>(data);
  Owned formatted(jq_format_error(message));
  if (formatted.kind() != JV_KIND_STRING) {
    reported->push_back("jq: error: out of memory");
    return;
  }
  std::string text = JvString(formatted);
  // jq pads and splits its messages over lines ("... line 1:\n<query>\njq: 1 compile error");
  // error outputs are one line each, so fold them.
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  reported->push_back(std::move(text));
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += "; ";
    out += part;
  }
  return out;
}

// Prepended to every query. It shadows
// - `env` and `$ENV`, which would read the server's environment (secrets) into object keys;
// - `halt` and `halt_error`, which stop the interpreter: libjq 1.6's jq_reset frees the halt
//   message without clearing it, so the next jq_start or jq_teardown frees it again (fixed in jq
//   1.7). Here they raise an ordinary jq error instead, which fails only the record.
// The C builtins are unreachable once shadowed. `Term as $v | Exp` scopes over everything after
// it, so the user's query needs no parentheses (an unbalanced ')' in it stays a syntax error) and
// starts on a line of its own; the final newline ends a trailing `# comment`.
constexpr std::string_view kSandboxPrelude =
    R"jq(def halt: error("halt is not supported in a MetadataExtractionQuery"); )jq"
    R"jq(def halt_error: error("halt_error: \(if type == "string" then . else tojson end)"); )jq"
    R"jq(def halt_error(exit_code): halt_error; )jq"
    "def env: {}; {} as $ENV |\n";
constexpr std::string_view kSandboxEpilogue = "\n";

}  // namespace

MetadataExtractor::MetadataExtractor(std::string query) : query_(std::move(query)) {}

MetadataExtractor::~MetadataExtractor() {
  if (jq_ != nullptr) jq_teardown(&jq_);
}

Result<std::unique_ptr<MetadataExtractor>> MetadataExtractor::Compile(std::string_view query) {
  std::unique_ptr<MetadataExtractor> extractor(new MetadataExtractor(std::string(query)));
  const std::string quoted = "jq query '" + extractor->query_ + "'";
  if (query.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(quoted + " does not compile: it contains a NUL byte");
  }
  extractor->jq_ = jq_init();
  if (extractor->jq_ == nullptr) {
    return Status::ResourceExhausted(quoted + ": jq_init failed (out of memory)");
  }
  jq_state* jq = extractor->jq_;
  jq_set_error_cb(jq, CollectJqError, &extractor->reported_);
  // No module search path: `import`/`include` cannot read files of the server.
  jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());

  // Compiling costs tens of milliseconds (jq binds its builtins each time), so the common case
  // compiles once: the sandboxed text. Only on failure is the query compiled alone, so that the
  // error quotes the user's text and positions.
  std::string sandboxed;
  sandboxed.reserve(kSandboxPrelude.size() + query.size() + kSandboxEpilogue.size());
  sandboxed.append(kSandboxPrelude).append(query).append(kSandboxEpilogue);
  if (!jq_compile(jq, sandboxed.c_str())) {
    extractor->reported_.clear();
    if (!jq_compile(jq, extractor->query_.c_str())) {
      std::string detail = Join(extractor->reported_);
      if (detail.empty()) detail = "jq reported no message";
      return Status::InvalidArgument(quoted + " does not compile: " + detail);
    }
    // The query compiles alone but not as an expression after the sandbox prelude: it starts
    // with module directives (`import`, `include`, `module`), which are not supported.
    return Status::InvalidArgument(
        quoted +
        " does not compile as an expression: module directives (import, include, module) are "
        "not supported in a MetadataExtractionQuery");
  }
  extractor->reported_.clear();
  return extractor;
}

Result<std::map<std::string, std::string>> MetadataExtractor::Extract(
    std::string_view json_record) {
  if (json_record.size() > static_cast<size_t>(INT_MAX)) {
    return Status::InvalidArgument("record of " + std::to_string(json_record.size()) +
                                   " bytes is too large for the jq parser");
  }
  // jv_parse_sized quotes the input with "%s" in its error message, so it must be NUL-terminated.
  scratch_.assign(json_record);
  jv parsed = jv_parse_sized(scratch_.c_str(), static_cast<int>(scratch_.size()));
  scratch_.clear();
  if (!jv_is_valid(parsed)) {
    Owned invalid(parsed);
    std::string message = InvalidMessage(invalid);
    // jq appends " (while parsing '<the whole record>')"; the record is in the error output anyway.
    if (size_t at = message.find(" (while parsing '"); at != std::string::npos) message.resize(at);
    return Status::InvalidArgument("record is not valid JSON: " +
                                   Truncate(std::move(message), kMaxQuotedMessageBytes));
  }

  reported_.clear();         // bounds what jq might report through the callback while running
  jq_start(jq_, parsed, 0);  // consumes `parsed`
  Owned first(jq_next(jq_));
  if (!jv_is_valid(first.get())) {
    std::string message = InvalidMessage(first);
    if (!message.empty()) {
      return Status::InvalidArgument(
          "jq query '" + Truncate(query_, 200) +
          "' failed on this record: " + Truncate(std::move(message), kMaxQuotedMessageBytes));
    }
    return Status::InvalidArgument(
        "jq query produced no output for this record; it must produce exactly one object");
  }
  Owned second(jq_next(jq_));
  if (jv_is_valid(second.get())) {
    return Status::InvalidArgument(
        "jq query produced more than one output for this record; it must produce exactly one "
        "object");
  }
  if (std::string message = InvalidMessage(second); !message.empty()) {
    return Status::InvalidArgument("jq query '" + Truncate(query_, 200) +
                                   "' failed on this record after its first output: " +
                                   Truncate(std::move(message), kMaxQuotedMessageBytes));
  }

  if (first.kind() != JV_KIND_OBJECT) {
    return Status::InvalidArgument(
        std::string("jq query result must be a JSON object of partition keys, got ") +
        KindName(first.kind()) + " (" + Truncate(Dump(first), 100) + ")");
  }
  const int key_count = jv_object_length(first.Copy());
  if (key_count == 0) {
    return Status::InvalidArgument("jq query result is an empty object; it must have 1 to " +
                                   std::to_string(kMaxKeys) + " partition keys");
  }
  if (static_cast<size_t>(key_count) > kMaxKeys) {
    return Status::InvalidArgument("jq query result has " + std::to_string(key_count) +
                                   " keys; at most " + std::to_string(kMaxKeys) +
                                   " partition keys are allowed");
  }

  std::map<std::string, std::string> keys;
  const jv object = first.get();
  for (int it = jv_object_iter(object); jv_object_iter_valid(object, it);
       it = jv_object_iter_next(object, it)) {
    Owned key(jv_object_iter_key(object, it));
    Owned value(jv_object_iter_value(object, it));
    const std::string name = JvString(key);
    auto bad_value = [&](const std::string& what) {
      return Status::InvalidArgument("partition key " + Truncate(Dump(key), 100) + " " + what);
    };
    switch (value.kind()) {
      case JV_KIND_STRING: keys.emplace(name, JvString(value)); break;
      case JV_KIND_TRUE: keys.emplace(name, "true"); break;
      case JV_KIND_FALSE: keys.emplace(name, "false"); break;
      case JV_KIND_NUMBER:
        if (!std::isfinite(jv_number_value(value.get()))) {
          return bad_value("is not a finite number (nan or infinite)");
        }
        keys.emplace(name, Dump(value));
        break;
      case JV_KIND_NULL: return bad_value("is null (is the field missing from the record?)");
      case JV_KIND_ARRAY:
      case JV_KIND_OBJECT:
      case JV_KIND_INVALID:
        return bad_value(std::string("is ") + KindName(value.kind()) + " (" +
                         Truncate(Dump(value), 100) +
                         "); values must be strings, numbers or booleans");
    }
  }
  return keys;
}

}  // namespace sluice::jq
