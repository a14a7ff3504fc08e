#include "api/cbor_json.h"

#include <cbor.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <vector>

#include "common/base64.h"

namespace sluice::api {
namespace {

bool InTable(std::string_view name, const std::string_view* begin, const std::string_view* end) {
  return std::find(begin, end, name) != end;
}
bool IsBlobMember(std::string_view name) {
  return InTable(name, std::begin(kKinesisBlobMembers), std::end(kKinesisBlobMembers));
}
bool IsTimestampMember(std::string_view name) {
  return InTable(name, std::begin(kKinesisTimestampMembers), std::end(kKinesisTimestampMembers));
}

void AppendJsonString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

// Shortest text that reads back as `v` (finite). Keeps a float a float: "1.0", not "1".
void AppendDouble(double v, std::string& out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
  out.append(text);
  if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
}

// Epoch milliseconds as JSON seconds: 1441215410867 -> "1441215410.867", 1441215410800 ->
// "1441215410.8", 1441215410000 -> "1441215410".
void AppendMillisAsSeconds(bool negative, uint64_t magnitude_ms, std::string& out) {
  if (negative) out.push_back('-');
  out.append(std::to_string(magnitude_ms / 1000));
  unsigned frac = static_cast<unsigned>(magnitude_ms % 1000);
  if (frac == 0) return;
  char digits[4];
  std::snprintf(digits, sizeof digits, "%03u", frac);
  std::string_view d(digits, 3);
  while (d.back() == '0') d.remove_suffix(1);
  out.push_back('.');
  out.append(d);
}

// ---------------------------------------------------------------------------------------------
// CBOR -> JSON. libcbor's streaming decoder reports one item head (or one definite string) per
// call and allocates nothing; the container nesting is kept here, on an explicit stack, so
// neither declared lengths nor nesting can make us allocate or recurse beyond the input.

class CborToJson {
 public:
  explicit CborToJson(size_t input_size) { out_.reserve(input_size + input_size / 3 + 16); }

  // Feeds the whole input; returns the JSON text or the first error.
  Result<std::string> Run(std::string_view cbor) {
    auto* data = reinterpret_cast<cbor_data>(cbor.data());
    size_t pos = 0;
    while (pos < cbor.size() && !done_ && error_.empty()) {
      item_at_ = pos;
      cbor_decoder_result r = cbor_stream_decode(data + pos, cbor.size() - pos, &kCallbacks, this);
      if (r.status == CBOR_DECODER_NEDATA) {
        return Fail("truncated CBOR: the item at byte " + std::to_string(pos) +
                    " needs more bytes than the body has");
      }
      if (r.status != CBOR_DECODER_FINISHED || r.read == 0) {
        return Fail("malformed CBOR item at byte " + std::to_string(pos));
      }
      pos += r.read;
    }
    if (!error_.empty()) return Fail(error_);
    if (!done_) return Fail("truncated CBOR: the body ends inside an item");
    if (pos != cbor.size()) {
      return Fail("trailing bytes after the CBOR item, at byte " + std::to_string(pos));
    }
    return std::move(out_);
  }

 private:
  struct Frame {
    bool is_map = false;
    bool indefinite = false;
    bool expect_key = true;  // maps only
    uint64_t remaining = 0;  // definite only: elements (arrays) or pairs (maps) still to come
    uint64_t count = 0;      // elements or pairs written, for the commas
  };
  enum class Chunked : uint8_t { kNone, kBytes, kText };

  static Status Fail(const std::string& m) { return Status::InvalidArgument(m); }
  void Error(std::string m) {
    if (error_.empty()) error_ = std::move(m) + " (at byte " + std::to_string(item_at_) + ")";
  }
  bool KeyPosition() const {
    return !stack_.empty() && stack_.back().is_map && stack_.back().expect_key;
  }

  // Called before every item that is a value (not a key, not a string chunk). False on error.
  bool BeginValue(bool is_number) {
    if (!error_.empty()) return false;
    if (chunked_ != Chunked::kNone) {
      Error("an indefinite-length string may hold only definite strings of its own type");
      return false;
    }
    if (KeyPosition()) {
      Error("map keys must be text strings");
      return false;
    }
    if (epoch_pending_ && !is_number) {
      Error("tag 1 (epoch time) must hold a number");
      return false;
    }
    if (!stack_.empty() && !stack_.back().is_map && stack_.back().count > 0) out_.push_back(',');
    return true;
  }
  // Called after every complete value: counts it and closes the containers it completes.
  void EndValue() {
    while (true) {
      if (stack_.empty()) {
        done_ = true;
        return;
      }
      Frame& f = stack_.back();
      f.count++;
      if (f.is_map) f.expect_key = true;
      if (f.indefinite || --f.remaining > 0) return;
      out_.push_back(f.is_map ? '}' : ']');
      stack_.pop_back();
    }
  }
  void Key(std::string_view text) {
    Frame& f = stack_.back();
    if (f.count > 0) out_.push_back(',');
    AppendJsonString(text, out_);
    out_.push_back(':');
    f.expect_key = false;
  }
  void Container(bool is_map, bool indefinite, uint64_t size) {
    if (!BeginValue(false)) return;
    if (stack_.size() >= static_cast<size_t>(kCborMaxDepth)) {
      Error("CBOR nests deeper than " + std::to_string(kCborMaxDepth) + " levels");
      return;
    }
    out_.push_back(is_map ? '{' : '[');
    if (!indefinite && size == 0) {
      out_.push_back(is_map ? '}' : ']');
      EndValue();
      return;
    }
    stack_.push_back(Frame{is_map, indefinite, true, size, 0});
  }
  void Uint(uint64_t v) {
    if (!BeginValue(true)) return;
    if (epoch_pending_) {
      epoch_pending_ = false;
      AppendMillisAsSeconds(false, v, out_);
    } else {
      out_.append(std::to_string(v));
    }
    EndValue();
  }
  // The value -1 - n.
  void Negint(uint64_t n) {
    if (!BeginValue(true)) return;
    if (n == std::numeric_limits<uint64_t>::max()) {
      if (epoch_pending_) {
        Error("tag 1 (epoch time) out of range");
        return;
      }
      out_.append("-18446744073709551616");
    } else if (epoch_pending_) {
      epoch_pending_ = false;
      AppendMillisAsSeconds(true, n + 1, out_);
    } else {
      out_.push_back('-');
      out_.append(std::to_string(n + 1));
    }
    EndValue();
  }
  void Float(double v) {
    if (!BeginValue(true)) return;
    if (!std::isfinite(v)) {
      Error("NaN and infinite floats have no JSON form");
      return;
    }
    if (epoch_pending_) {
      epoch_pending_ = false;
      v /= 1000.0;  // AWS puts milliseconds under tag 1, floats included
    }
    AppendDouble(v, out_);
    EndValue();
  }
  void Literal(std::string_view text) {
    if (!BeginValue(false)) return;
    out_.append(text);
    EndValue();
  }
  void Tag(uint64_t tag) {
    if (!error_.empty()) return;
    if (chunked_ != Chunked::kNone || KeyPosition()) {
      Error(KeyPosition() ? "map keys must be text strings" : "a tag inside an indefinite string");
      return;
    }
    if (epoch_pending_) {
      Error("tag 1 (epoch time) must hold a number");
      return;
    }
    if (tag == 1) epoch_pending_ = true;  // other tags: their content stands for itself
  }
  void Bytes(std::string_view bytes) {
    if (!error_.empty()) return;
    if (chunked_ == Chunked::kBytes) {
      chunks_.append(bytes);
      return;
    }
    if (!BeginValue(false)) return;
    out_.push_back('"');
    base64::EncodeTo(bytes, out_);
    out_.push_back('"');
    EndValue();
  }
  void Text(std::string_view text) {
    if (!error_.empty()) return;
    if (!simdjson::validate_utf8(text.data(), text.size())) {
      Error("a CBOR text string is not valid UTF-8");
      return;
    }
    if (chunked_ == Chunked::kText) {
      chunks_.append(text);
      return;
    }
    WholeText(text);
  }
  void WholeText(std::string_view text) {
    if (KeyPosition() && chunked_ == Chunked::kNone && !epoch_pending_) {
      Key(text);
      return;
    }
    if (!BeginValue(false)) return;
    AppendJsonString(text, out_);
    EndValue();
  }
  void StartChunked(Chunked kind) {
    if (!error_.empty()) return;
    if (chunked_ != Chunked::kNone) {
      Error("an indefinite-length string may hold only definite strings of its own type");
      return;
    }
    if (kind == Chunked::kBytes && !BeginValue(false)) return;
    if (kind == Chunked::kText && !KeyPosition() && !BeginValue(false)) return;
    if (epoch_pending_) {
      Error("tag 1 (epoch time) must hold a number");
      return;
    }
    chunked_ = kind;
    chunks_.clear();
  }
  void Break() {
    if (!error_.empty()) return;
    if (chunked_ != Chunked::kNone) {
      Chunked kind = chunked_;
      chunked_ = Chunked::kNone;
      if (kind == Chunked::kBytes) {
        out_.push_back('"');
        base64::EncodeTo(chunks_, out_);
        out_.push_back('"');
        EndValue();
      } else if (KeyPosition()) {
        Key(chunks_);
      } else {
        // The comma, if any, was written when the string started.
        AppendJsonString(chunks_, out_);
        EndValue();
      }
      return;
    }
    if (epoch_pending_ || stack_.empty() || !stack_.back().indefinite ||
        (stack_.back().is_map && !stack_.back().expect_key)) {
      Error("unexpected break (0xff)");
      return;
    }
    Frame f = stack_.back();
    stack_.pop_back();
    out_.push_back(f.is_map ? '}' : ']');
    EndValue();
  }

  static CborToJson* Self(void* ctx) { return static_cast<CborToJson*>(ctx); }
  static std::string_view View(cbor_data data, size_t len) {
    return {reinterpret_cast<const char*>(data), len};
  }
  static const cbor_callbacks kCallbacks;

  std::string out_;
  std::vector<Frame> stack_;
  std::string error_;
  std::string chunks_;  // the chunks of the indefinite-length string being read
  Chunked chunked_ = Chunked::kNone;
  bool epoch_pending_ = false;  // a tag 1 was read; its number comes next
  bool done_ = false;           // the top-level item is complete
  size_t item_at_ = 0;
};

const cbor_callbacks CborToJson::kCallbacks = [] {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = [](void* c, uint8_t v) { Self(c)->Uint(v); };
  cb.uint16 = [](void* c, uint16_t v) { Self(c)->Uint(v); };
  cb.uint32 = [](void* c, uint32_t v) { Self(c)->Uint(v); };
  cb.uint64 = [](void* c, uint64_t v) { Self(c)->Uint(v); };
  cb.negint8 = [](void* c, uint8_t v) { Self(c)->Negint(v); };
  cb.negint16 = [](void* c, uint16_t v) { Self(c)->Negint(v); };
  cb.negint32 = [](void* c, uint32_t v) { Self(c)->Negint(v); };
  cb.negint64 = [](void* c, uint64_t v) { Self(c)->Negint(v); };
  cb.byte_string_start = [](void* c) { Self(c)->StartChunked(Chunked::kBytes); };
  cb.byte_string = [](void* c, cbor_data d, size_t n) { Self(c)->Bytes(View(d, n)); };
  cb.string_start = [](void* c) { Self(c)->StartChunked(Chunked::kText); };
  cb.string = [](void* c, cbor_data d, size_t n) { Self(c)->Text(View(d, n)); };
  cb.indef_array_start = [](void* c) { Self(c)->Container(false, true, 0); };
  cb.array_start = [](void* c, size_t n) { Self(c)->Container(false, false, n); };
  cb.indef_map_start = [](void* c) { Self(c)->Container(true, true, 0); };
  cb.map_start = [](void* c, size_t n) { Self(c)->Container(true, false, n); };
  cb.tag = [](void* c, uint64_t t) { Self(c)->Tag(t); };
  cb.float2 = [](void* c, float v) { Self(c)->Float(v); };
  cb.float4 = [](void* c, float v) { Self(c)->Float(v); };
  cb.float8 = [](void* c, double v) { Self(c)->Float(v); };
  cb.undefined = [](void* c) { Self(c)->Literal("null"); };
  cb.null = [](void* c) { Self(c)->Literal("null"); };
  cb.boolean = [](void* c, bool v) { Self(c)->Literal(v ? "true" : "false"); };
  cb.indef_break = [](void* c) { Self(c)->Break(); };
  return cb;
}();

// ---------------------------------------------------------------------------------------------
// JSON -> CBOR.

template <typename Encode>
void Head(std::string& out, Encode encode) {
  unsigned char buf[16];
  size_t n = encode(buf, sizeof buf);
  out.append(reinterpret_cast<const char*>(buf), n);
}

void PutUint(std::string& out, uint64_t v) {
  Head(out, [v](unsigned char* b, size_t n) { return cbor_encode_uint(v, b, n); });
}
void PutInt(std::string& out, int64_t v) {
  if (v >= 0) {
    PutUint(out, static_cast<uint64_t>(v));
  } else {
    // -1 - n == v  =>  n == -(v + 1), which fits for every int64.
    uint64_t n = static_cast<uint64_t>(-(v + 1));
    Head(out, [n](unsigned char* b, size_t len) { return cbor_encode_negint(n, b, len); });
  }
}
void PutText(std::string& out, std::string_view s) {
  Head(out, [&s](unsigned char* b, size_t n) { return cbor_encode_string_start(s.size(), b, n); });
  out.append(s);
}
void PutBytes(std::string& out, std::string_view s) {
  Head(out,
       [&s](unsigned char* b, size_t n) { return cbor_encode_bytestring_start(s.size(), b, n); });
  out.append(s);
}

Status PutTimestamp(std::string& out, double seconds) {
  double ms = std::round(seconds * 1000.0);
  // The int64 range, with a margin for the double's rounding at its ends.
  if (!(ms > -9.2e18 && ms < 9.2e18)) {
    return Status::InvalidArgument("timestamp " + std::to_string(seconds) + " is out of range");
  }
  Head(out, [](unsigned char* b, size_t n) { return cbor_encode_tag(1, b, n); });
  PutInt(out, static_cast<int64_t>(ms));
  return Status::Ok();
}

Status Encode(simdjson::dom::element e, std::string_view member, std::string& out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object obj = e.get_object().value_unsafe();
      Head(out,
           [&obj](unsigned char* b, size_t n) { return cbor_encode_map_start(obj.size(), b, n); });
      for (auto field : obj) {
        PutText(out, field.key);
        SLUICE_RETURN_IF_ERROR(Encode(field.value, field.key, out));
      }
      return Status::Ok();
    }
    case element_type::ARRAY: {
      simdjson::dom::array arr = e.get_array().value_unsafe();
      Head(out, [&arr](unsigned char* b, size_t n) {
        return cbor_encode_array_start(arr.size(), b, n);
      });
      for (simdjson::dom::element item : arr) SLUICE_RETURN_IF_ERROR(Encode(item, member, out));
      return Status::Ok();
    }
    case element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      if (!IsBlobMember(member)) {
        PutText(out, s);
        return Status::Ok();
      }
      std::optional<std::string> bytes = base64::Decode(s);
      if (!bytes) {
        return Status::InvalidArgument("member " + std::string(member) + " is not base64");
      }
      PutBytes(out, *bytes);
      return Status::Ok();
    }
    case element_type::INT64: {
      int64_t v = e.get_int64().value_unsafe();
      if (IsTimestampMember(member)) {
        if (v > std::numeric_limits<int64_t>::max() / 1000 ||
            v < std::numeric_limits<int64_t>::min() / 1000) {
          return Status::InvalidArgument("timestamp " + std::to_string(v) + " is out of range");
        }
        Head(out, [](unsigned char* b, size_t n) { return cbor_encode_tag(1, b, n); });
        PutInt(out, v * 1000);
      } else {
        PutInt(out, v);
      }
      return Status::Ok();
    }
    case element_type::UINT64: {
      uint64_t v = e.get_uint64().value_unsafe();  // only values above INT64_MAX land here
      if (IsTimestampMember(member)) {
        return Status::InvalidArgument("timestamp " + std::to_string(v) + " is out of range");
      }
      PutUint(out, v);
      return Status::Ok();
    }
    case element_type::DOUBLE: {
      double v = e.get_double().value_unsafe();
      if (IsTimestampMember(member)) return PutTimestamp(out, v);
      Head(out, [v](unsigned char* b, size_t n) { return cbor_encode_double(v, b, n); });
      return Status::Ok();
    }
    case element_type::BOOL: {
      bool v = e.get_bool().value_unsafe();
      Head(out, [v](unsigned char* b, size_t n) { return cbor_encode_bool(v, b, n); });
      return Status::Ok();
    }
    case element_type::NULL_VALUE:
      Head(out, [](unsigned char* b, size_t n) { return cbor_encode_null(b, n); });
      return Status::Ok();
  }
  return Status::Internal("unknown simdjson element type");
}

}  // namespace

Result<std::string> CborRequestToJson(std::string_view cbor) {
  if (cbor.empty()) return std::string("{}");
  return CborToJson(cbor.size()).Run(cbor);
}

Result<std::string> JsonResponseToCbor(std::string_view json) {
  if (json.empty()) return std::string();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size(), true).get(root); err) {
    return Status::InvalidArgument(std::string("response is not JSON: ") +
                                   simdjson::error_message(err));
  }
  std::string out;
  out.reserve(json.size());
  SLUICE_RETURN_IF_ERROR(Encode(root, "", out));
  return out;
}

}  // namespace sluice::api
