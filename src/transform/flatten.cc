#include "transform/flatten.h"

#include <algorithm>
#include <cstring>
#include <functional>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "common/json_writer.h"
#include "transform/builtin.h"

namespace sluice::transform {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// simdjson::builtin_implementation() is compiled into libsimdjson (a generic build, so it says
// "fallback"); the On-Demand code flatten runs is inlined here and picks the kernel from this
// translation unit's target flags, which this macro names.
#define SLUICE_STRINGIZE_INNER(x) #x
#define SLUICE_STRINGIZE(x) SLUICE_STRINGIZE_INNER(x)
const char* FlattenKernelName() {
  return SLUICE_STRINGIZE(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

bool IsJsonNumber(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  auto digit = [&](size_t k) { return k < n && t[k] >= '0' && t[k] <= '9'; };
  if (i < n && t[i] == '-') ++i;
  if (!digit(i)) return false;
  if (t[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < n && t[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == n;
}

namespace {

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// `token` lies inside the padded document, so 16 bytes past any position of it are readable.
bool HasBackslash(std::string_view token) {
#if defined(__SSE2__)
  const __m128i backslash = _mm_set1_epi8('\\');
  for (size_t k = 0; k < token.size(); k += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(token.data() + k));
    auto bits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)));
    if (token.size() - k < 16) bits &= (1u << (token.size() - k)) - 1;
    if (bits != 0) return true;
  }
  return false;
#else
  return std::memchr(token.data(), '\\', token.size()) != nullptr;
#endif
}

// Appends `s` as a JSON string: the same bytes as json::AppendString (\" \\ \n \r \t \b \f,
// \u00xx for other control bytes), with the runs that need no escaping found 16 bytes at a time.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the current run of bytes that need no escaping
  size_t i = 0;
  const size_t n = s.size();
  while (true) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control_max = _mm_set1_epi8(0x1f);
    while (i + 16 <= n) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
      __m128i special = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
          _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max));  // v <= 0x1f unsigned
      auto bits = static_cast<unsigned>(_mm_movemask_epi8(special));
      if (bits != 0) {
        i += static_cast<size_t>(__builtin_ctz(bits));
        break;
      }
      i += 16;
    }
#endif
    while (i < n) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == '"' || c == '\\') break;
      ++i;
    }
    if (i >= n) break;
    const auto c = static_cast<unsigned char>(s[i]);
    out.append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, n - run);
  out += '"';
}

// True when `s` has no byte AppendJsonString would escape (a raw key or string token between
// its quotes can then be copied as it is).
bool NeedsNoEscape(std::string_view s) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1f);
  for (; i + 16 <= s.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max));
    if (_mm_movemask_epi8(special) != 0) return false;
  }
#endif
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

Flattener::Flattener(FlattenOptions options, ColumnRegistry* columns)
    : options_(std::move(options)), columns_(columns) {
  ResetTrie();
}

void Flattener::ResetTrie() {
  nodes_.clear();
  nodes_.emplace_back();
  // Mark the explode path so WalkValue recognises it.
  uint32_t n = 0;
  for (const auto& seg : options_.explode) n = Child(n, seg);
  if (!options_.explode.empty()) nodes_[n].explode = true;
  too_many_columns_ = false;
}

void Flattener::TrimCache() {
  if (nodes_.size() > options_.max_columns / 2) ResetTrie();
}

uint32_t Flattener::Child(uint32_t node, std::string_view key) {
  {
    Node& parent = nodes_[node];
    const auto& ch = parent.children;
    uint32_t h = parent.hint;
    if (h >= ch.size()) h = 0;  // the next record or array element starts over
    if (h < ch.size() && nodes_[ch[h]].key == key) {
      parent.hint = h + 1;
      return ch[h];
    }
    if (!parent.index.empty()) {
      const size_t mask = parent.index.size() - 1;
      for (size_t slot = std::hash<std::string_view>{}(key)&mask;; slot = (slot + 1) & mask) {
        const uint32_t i = parent.index[slot];
        if (i == kNoColumn) break;
        if (nodes_[ch[i]].key == key) {
          parent.hint = i + 1;
          return ch[i];
        }
      }
    } else {
      for (uint32_t i = 0; i < ch.size(); ++i) {
        if (nodes_[ch[i]].key == key) {
          parent.hint = i + 1;
          return ch[i];
        }
      }
    }
  }
  if (nodes_.size() >= options_.max_columns) too_many_columns_ = true;
  Node child;
  child.key = std::string(key);
  child.plain_key = key.find_first_of("\"\\") == std::string_view::npos;
  if (child.plain_key && key.size() <= 7) {
    unsigned char bytes[8] = {};
    unsigned char mask[8] = {};
    std::memcpy(bytes, key.data(), key.size());
    bytes[key.size()] = '"';
    std::memset(mask, 0xff, key.size() + 1);
    std::memcpy(&child.raw_word, bytes, 8);
    std::memcpy(&child.raw_mask, mask, 8);
  }
  child.depth = nodes_[node].depth + 1;
  child.path = node == 0 ? child.key : nodes_[node].path + options_.separator + child.key;
  auto id = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(std::move(child));
  Node& parent = nodes_[node];
  parent.children.push_back(id);
  parent.hint = static_cast<uint32_t>(parent.children.size());
  if (parent.children.size() > kIndexFrom) {
    if (parent.children.size() * 2 > parent.index.size()) {
      // (Re)build at twice the load: every child again.
      parent.index.assign(std::max<size_t>(32, parent.index.size() * 4), kNoColumn);
      for (uint32_t i = 0; i < parent.children.size(); ++i) IndexChild(parent, i);
    } else {
      IndexChild(parent, static_cast<uint32_t>(parent.children.size() - 1));
    }
  }
  return id;
}

void Flattener::IndexChild(Node& parent, uint32_t position) {
  const size_t mask = parent.index.size() - 1;
  size_t slot = std::hash<std::string_view>{}(nodes_[parent.children[position]].key) & mask;
  while (parent.index[slot] != kNoColumn) slot = (slot + 1) & mask;
  parent.index[slot] = position;
}

void Flattener::KeepOnlyColumns(const std::vector<uint32_t>& columns) {
  keep_only_ = true;
  keep_.clear();
  for (uint32_t id : columns) {
    if (keep_.size() <= id) keep_.resize(id + 1, 0);
    keep_[id] = 1;
  }
  for (Node& n : nodes_) n.column = kNoColumn;  // recompute `emit`
}

uint32_t Flattener::ColumnOf(uint32_t node) {
  Node& n = nodes_[node];
  if (n.column == kNoColumn) {
    n.column = columns_->Intern(n.path);
    n.emit = !keep_only_ || (n.column < keep_.size() && keep_[n.column] != 0);
  }
  return n.column;
}

void Flattener::Emit(std::vector<Cell>& out, uint32_t node, ValueKind kind, std::string_view text) {
  const Node& n = nodes_[node];
  const uint32_t column = n.column != kNoColumn ? n.column : ColumnOf(node);
  if (!n.emit) return;
  out.push_back(Cell{column, kind, static_cast<uint32_t>(text.data() - arena_->Data()),
                     static_cast<uint32_t>(text.size())});
}

void Flattener::EmitCopy(std::vector<Cell>& out, uint32_t node, ValueKind kind,
                         std::string_view text) {
  uint32_t column = ColumnOf(node);
  if (!nodes_[node].emit) return;
  (&out == &parent_cells_ ? parent_copies_ : element_copies_)
      .push_back(static_cast<uint32_t>(out.size()));
  out.push_back(Cell{column, kind, static_cast<uint32_t>(copies_.size()),
                     static_cast<uint32_t>(text.size())});
  copies_.append(text);
}

error_code Flattener::WalkObject(od::object obj, uint32_t node, std::vector<Cell>& out,
                                 bool in_element) {
  for (auto field_result : obj) {
    od::field field;
    SIMDJSON_TRY(std::move(field_result).get(field));
    // Fast path: records of one stream repeat their keys in the same order, so the parent's
    // next expected child usually matches the raw key bytes (no unescaping, no copy).
    uint32_t child = kNoColumn;
    {
      Node& parent = nodes_[node];
      uint32_t h = parent.hint;
      if (h >= parent.children.size()) h = 0;  // the next record or array element starts over
      if (h < parent.children.size()) {
        const Node& expected = nodes_[parent.children[h]];
        bool match = false;
        if (expected.raw_mask != 0) {
          // The raw key is inside the padded document buffer: 8 bytes are always readable.
          uint64_t word;
          std::memcpy(&word, field.key().raw(), 8);
          match = (word & expected.raw_mask) == expected.raw_word;
        } else if (expected.plain_key) {
          match = field.key().unsafe_is_equal(expected.key);
        }
        if (match) {
          child = parent.children[h];
          parent.hint = h + 1;
        }
      }
    }
    if (child == kNoColumn) {
      // A key without a backslash is its raw bytes up to the closing quote: no unescape copy.
      const char* raw = field.key().raw();
      const char* quote =
          static_cast<const char*>(std::memchr(raw, '"', static_cast<size_t>(doc_end_ - raw)));
      std::string_view key;
      if (quote != nullptr && std::memchr(raw, '\\', static_cast<size_t>(quote - raw)) == nullptr) {
        key = std::string_view(raw, static_cast<size_t>(quote - raw));
      } else {
        SIMDJSON_TRY(field.unescaped_key().get(key));
      }
      child = Child(node, key);
    }
    SIMDJSON_TRY(WalkValue(field.value(), child, out, in_element));
  }
  return simdjson::SUCCESS;
}

error_code Flattener::WalkValue(od::value& value, uint32_t node, std::vector<Cell>& out,
                                bool in_element) {
  od::json_type type;
  SIMDJSON_TRY(value.type().get(type));
  switch (type) {
    case od::json_type::object: {
      if (nodes_[node].depth >= options_.max_depth) {
        scratch_.clear();
        SIMDJSON_TRY(Serialize(value, scratch_));
        EmitCopy(out, node, ValueKind::kJson, scratch_);
        return simdjson::SUCCESS;
      }
      od::object obj;
      SIMDJSON_TRY(value.get_object().get(obj));
      return WalkObject(obj, node, out, in_element);
    }
    case od::json_type::array: {
      od::array arr;
      SIMDJSON_TRY(value.get_array().get(arr));
      if (!in_element && nodes_[node].explode) return Explode(arr, node);
      scratch_.clear();
      if (options_.arrays == FlattenOptions::Arrays::kJoin) {
        SIMDJSON_TRY(Join(arr, scratch_));
        EmitCopy(out, node, ValueKind::kString, scratch_);
      } else {
        scratch_ += '[';
        bool first = true;
        for (auto element : arr) {
          od::value v;
          SIMDJSON_TRY(element.get(v));
          if (!first) scratch_ += ',';
          first = false;
          SIMDJSON_TRY(Serialize(v, scratch_));
        }
        scratch_ += ']';
        EmitCopy(out, node, ValueKind::kJson, scratch_);
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      // A string without a backslash is its raw bytes between the quotes (the token runs from
      // the opening quote to the next structural character, so it may end in whitespace);
      // skip simdjson's unescape copy for it. Invalid UTF-8 and unescaped control characters
      // are rejected for the whole document by simdjson's stage 1 either way.
      std::string_view token = value.raw_json_token();
      if (!HasBackslash(token)) {
        token = TrimRight(token);
        if (token.size() >= 2 && token.back() == '"') {
          Emit(out, node, ValueKind::kString, token.substr(1, token.size() - 2));
          return simdjson::SUCCESS;
        }
      }
      std::string_view s;
      SIMDJSON_TRY(value.get_string().get(s));
      EmitCopy(out, node, ValueKind::kString, s);
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      std::string_view token = TrimRight(value.raw_json_token());
      if (!IsJsonNumber(token)) return simdjson::NUMBER_ERROR;
      Emit(out, node, ValueKind::kNumber, token);
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b = false;
      SIMDJSON_TRY(value.get_bool().get(b));
      EmitCopy(out, node, ValueKind::kBool, b ? "true" : "false");
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(value.is_null().get(is_null));
      if (!is_null) return simdjson::N_ATOM_ERROR;
      Emit(out, node, ValueKind::kNull, std::string_view(doc_, 0));
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

error_code Flattener::Explode(od::array array, uint32_t node) {
  // A repeated explode key: the later array wins, like any duplicate key.
  explode_seen_ = true;
  explode_at_ = parent_cells_.size();
  element_cells_.clear();
  element_ends_.clear();
  element_copies_.clear();
  for (auto element : array) {
    od::value v;
    SIMDJSON_TRY(element.get(v));
    SIMDJSON_TRY(WalkValue(v, node, element_cells_, /*in_element=*/true));
    element_ends_.push_back(static_cast<uint32_t>(element_cells_.size()));
  }
  return simdjson::SUCCESS;
}

error_code Flattener::Join(od::array array, std::string& out) {
  bool first = true;
  for (auto element : array) {
    od::value v;
    SIMDJSON_TRY(element.get(v));
    if (!first) out += options_.join_separator;
    first = false;
    od::json_type type;
    SIMDJSON_TRY(v.type().get(type));
    if (type == od::json_type::string) {
      std::string_view s;
      SIMDJSON_TRY(v.get_string().get(s));
      out += s;
    } else {
      SIMDJSON_TRY(Serialize(v, out));
    }
  }
  return simdjson::SUCCESS;
}

error_code Flattener::Serialize(od::value& value, std::string& out) {
  od::json_type type;
  SIMDJSON_TRY(value.type().get(type));
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      SIMDJSON_TRY(value.get_object().get(obj));
      out += '{';
      bool first = true;
      for (auto field_result : obj) {
        od::field field;
        SIMDJSON_TRY(std::move(field_result).get(field));
        if (!first) out += ',';
        first = false;
        // A raw key that needs no escaping is what AppendString of its unescaped form gives.
        const char* raw = field.key().raw();
        const char* end =
            static_cast<const char*>(std::memchr(raw, '"', static_cast<size_t>(doc_end_ - raw)));
        std::string_view raw_key(raw, end == nullptr ? 0 : static_cast<size_t>(end - raw));
        if (end != nullptr && NeedsNoEscape(raw_key)) {
          out += '"';
          out += raw_key;
          out += '"';
        } else {
          std::string_view key;
          SIMDJSON_TRY(field.unescaped_key().get(key));
          AppendJsonString(out, key);
        }
        out += ':';
        SIMDJSON_TRY(Serialize(field.value(), out));
      }
      out += '}';
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array arr;
      SIMDJSON_TRY(value.get_array().get(arr));
      out += '[';
      bool first = true;
      for (auto element : arr) {
        od::value v;
        SIMDJSON_TRY(element.get(v));
        if (!first) out += ',';
        first = false;
        SIMDJSON_TRY(Serialize(v, out));
      }
      out += ']';
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      // A string with no backslash and no control byte re-serializes to its raw token.
      std::string_view token = TrimRight(value.raw_json_token());
      if (token.size() >= 2 && token.back() == '"' &&
          NeedsNoEscape(token.substr(1, token.size() - 2))) {
        out += token;
        return simdjson::SUCCESS;
      }
      std::string_view s;
      SIMDJSON_TRY(value.get_string().get(s));
      AppendJsonString(out, s);
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      std::string_view token = TrimRight(value.raw_json_token());
      if (!IsJsonNumber(token)) return simdjson::NUMBER_ERROR;
      out += token;
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b = false;
      SIMDJSON_TRY(value.get_bool().get(b));
      out += b ? "true" : "false";
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(value.is_null().get(is_null));
      if (!is_null) return simdjson::N_ATOM_ERROR;
      out += "null";
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

void Flattener::DescribeError(error_code error, std::string_view json, Failure& failure,
                              bool have_document) {
  failure.code = "Transform.InvalidJson";
  if (error == simdjson::INCOMPLETE_ARRAY_OR_OBJECT || error == simdjson::TAPE_ERROR) {
    // simdjson reports these at the document start; find the real place by bracket matching.
    std::vector<std::string_view> parts;
    std::string split_error;
    bool split_ok = SplitJsonValues(json, parts, split_error);
    if (split_ok && parts.size() > 1) {
      size_t offset = static_cast<size_t>(parts[1].data() - json.data());
      failure.message = "invalid JSON at byte " + std::to_string(offset) +
                        ": unexpected content after the JSON object near " +
                        json::Quote(std::string(json.substr(offset, 20)));
      return;
    }
    if (!split_ok && split_error.find("unterminated") != std::string::npos) {
      failure.message = "invalid JSON at byte " + std::to_string(json.size()) +
                        ": the input ends inside an object or array (missing '}' or ']')";
      return;
    }
    if (!split_ok) {
      failure.message = "invalid JSON at " + split_error;
      return;
    }
  }
  std::string where;
  const char* location = nullptr;
  if (have_document && !document_.current_location().get(location) && location >= doc_ &&
      location <= doc_ + json.size()) {
    size_t offset = static_cast<size_t>(location - doc_);
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (json[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string snippet(json.substr(offset, 20));
    where = "at byte " + std::to_string(offset) + " (line " + std::to_string(line) + ", column " +
            std::to_string(column) + ") near " + json::Quote(snippet);
  } else {
    where = "at end of input (" + std::to_string(json.size()) + " bytes)";
  }
  failure.message = "invalid JSON " + where + ": " + simdjson::error_message(error);
}

bool Flattener::Walk(std::string_view json, Failure& failure) {
  auto err =
      parser_.iterate(doc_, json.size(), json.size() + simdjson::SIMDJSON_PADDING).get(document_);
  if (err) {
    // Deterministic: not the stale location of the previous record's document.
    DescribeError(err, json, failure, /*have_document=*/false);
    return false;
  }
  od::json_type type;
  err = document_.type().get(type);
  if (err) {
    DescribeError(err, json, failure);
    return false;
  }
  if (type != od::json_type::object) {
    static constexpr const char* kNames[] = {"",         "an array",  "an object", "a number",
                                             "a string", "a boolean", "null"};
    failure = {"Transform.NotAnObject", std::string("record is ") + kNames[static_cast<int>(type)] +
                                            ", expected a JSON object"};
    return false;
  }
  od::object root;
  err = document_.get_object().get(root);
  if (!err) err = WalkObject(root, 0, parent_cells_, false);
  if (!err) {
    // Fully consumed root object: any further token is trailing content.
    const char* trailing = nullptr;
    if (!document_.current_location().get(trailing)) err = simdjson::TRAILING_CONTENT;
  }
  if (err) {
    DescribeError(err, json, failure);
    return false;
  }
  if (too_many_columns_) {
    failure = {"Transform.TooManyColumns",
               "the stream has more than " + std::to_string(options_.max_columns) +
                   " distinct field paths (raise flatten max_columns or use a schema)"};
    return false;
  }
  return true;
}

bool Flattener::FlattenRecord(uint32_t source, std::string_view json, Arena& arena, RowTable& out,
                              Failure& failure) {
  arena_ = &arena;
  parent_cells_.clear();
  element_cells_.clear();
  element_ends_.clear();
  parent_copies_.clear();
  element_copies_.clear();
  copies_.clear();
  explode_seen_ = false;
  explode_at_ = 0;

  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    failure = {"Transform.InvalidJson", "record is empty, expected a JSON object"};
    return false;
  }
  // The record is parsed in place in the arena, so strings and numbers need no copy; the padding
  // simdjson reads past the end is dropped again after the walk.
  const size_t doc_offset = arena.AddPadded(json, simdjson::SIMDJSON_PADDING);
  doc_ = arena.Data() + doc_offset;
  doc_end_ = doc_ + json.size();
  const bool ok = Walk(json, failure);
  if (!ok) {
    arena.Truncate(doc_offset);
    return false;
  }
  arena.Truncate(doc_offset + json.size());
  if (!copies_.empty()) {
    const uint32_t base = arena.Add(copies_);
    for (uint32_t i : parent_copies_) parent_cells_[i].offset += base;
    for (uint32_t i : element_copies_) element_cells_[i].offset += base;
  }
  auto add_row = [&](const Cell* extra, size_t extra_count) {
    RowRef row;
    row.record = source;
    row.first_cell = static_cast<uint32_t>(out.cells.size());
    // Document order: the parent's fields before the array, the element, the rest.
    auto split = parent_cells_.begin() + static_cast<std::ptrdiff_t>(explode_at_);
    out.cells.insert(out.cells.end(), parent_cells_.begin(), split);
    out.cells.insert(out.cells.end(), extra, extra + extra_count);
    out.cells.insert(out.cells.end(), split, parent_cells_.end());
    row.cell_count = static_cast<uint32_t>(out.cells.size()) - row.first_cell;
    out.rows.push_back(row);
  };
  if (element_ends_.empty()) {
    if (options_.explode.empty() || !options_.explode_empty_drop) add_row(nullptr, 0);
    return true;
  }
  uint32_t begin = 0;
  for (uint32_t end : element_ends_) {
    add_row(element_cells_.data() + begin, end - begin);
    begin = end;
  }
  return true;
}

}  // namespace sluice::transform
