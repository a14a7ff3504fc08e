#include "transform/format.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/json_writer.h"
#include "transform/params.h"

namespace sluice::transform {

Result<FormatSpec> FormatSpec::Parse(std::string_view text) {
  FormatSpec spec;
  if (text == "raw" || text.empty()) return spec;
  if (text == "csv") {
    spec.kind = Kind::kCsv;
    return spec;
  }
  if (text == "jsonl" || text == "json") {
    spec.kind = Kind::kJsonl;
    return spec;
  }
  if (text.front() != '{') {
    return Status::InvalidArgument("format \"" + std::string(text) +
                                   "\": allowed: raw, csv, jsonl, or {\"csv\": {options}}");
  }
  SLUICE_ASSIGN_OR_RETURN(auto params, Params::Parse("format", text));
  if (auto jsonl = params->Get("jsonl")) {
    spec.kind = Kind::kJsonl;
  } else if (auto raw = params->Get("raw")) {
    spec.kind = Kind::kRaw;
  } else if (auto csv = params->Get("csv")) {
    spec.kind = Kind::kCsv;
    if (!csv->is_object()) {
      return Status::InvalidArgument("format csv: options must be an object, got " +
                                     ElementToJson(*csv));
    }
    SLUICE_ASSIGN_OR_RETURN(auto opts, Params::Parse("format csv", ElementToJson(*csv)));
    SLUICE_ASSIGN_OR_RETURN(auto header, opts->Bool("header"));
    spec.header = header.value_or(false);
    SLUICE_ASSIGN_OR_RETURN(auto delimiter, opts->String("delimiter"));
    if (delimiter) {
      if (delimiter->size() != 1 || *delimiter == "\"" || *delimiter == "\r" ||
          *delimiter == "\n") {
        return opts->Error("delimiter", "must be one character other than a quote, CR or LF");
      }
      spec.delimiter = (*delimiter)[0];
    }
    SLUICE_ASSIGN_OR_RETURN(auto null_text, opts->String("null"));
    if (null_text) spec.null_text = *null_text;
    SLUICE_ASSIGN_OR_RETURN(auto eol, opts->String("line_ending"));
    if (eol) {
      if (*eol != "\n" && *eol != "\r\n")
        return opts->Error("line_ending", "must be \\n or \\r\\n");
      spec.line_ending = *eol;
    }
    SLUICE_RETURN_IF_ERROR(
        opts->CheckNoUnknownKeys({"header", "delimiter", "null", "line_ending"}));
  }
  SLUICE_RETURN_IF_ERROR(params->CheckNoUnknownKeys({"raw", "csv", "jsonl"}));
  return spec;
}

const char* FormatSpec::KindName() const {
  switch (kind) {
    case Kind::kRaw: return "raw";
    case Kind::kCsv: return "csv";
    case Kind::kJsonl: return "jsonl";
  }
  return "raw";
}

std::string FormatSpec::ToString() const {
  switch (kind) {
    case Kind::kRaw: return "raw";
    case Kind::kJsonl: return "jsonl";
    case Kind::kCsv: break;
  }
  json::Writer w;
  w.BeginObject();
  w.Key("csv");
  w.BeginObject();
  w.Key("header");
  w.Bool(header);
  w.Key("delimiter");
  w.String(std::string(1, delimiter));
  w.Key("null");
  w.String(null_text);
  w.Key("line_ending");
  w.String(line_ending);
  w.EndObject();
  w.EndObject();
  return w.Take();
}

void AppendCsvField(std::string& out, std::string_view field, char delimiter,
                    std::string_view null_text) {
  bool quote = !null_text.empty() && field == null_text;
  if (!quote) {
    for (char c : field) {
      if (c == delimiter || c == '"' || c == '\n' || c == '\r') {
        quote = true;
        break;
      }
    }
  }
  if (!quote) {
    out.append(field);
    return;
  }
  out += '"';
  size_t start = 0;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '"') {
      out.append(field.data() + start, i - start + 1);
      out += '"';
      start = i + 1;
    }
  }
  out.append(field.data() + start, field.size() - start);
  out += '"';
}

RowFormatter::RowFormatter(FormatSpec spec) : spec_(std::move(spec)) {
  for (unsigned char c :
       {static_cast<unsigned char>(spec_.delimiter), static_cast<unsigned char>('"'),
        static_cast<unsigned char>('\n'), static_cast<unsigned char>('\r')}) {
    quote_byte_[c] = true;
  }
}

void RowFormatter::SetColumns(const std::vector<uint32_t>& columns, const ColumnRegistry& names) {
  for (uint32_t id : columns_) slot_of_column_[id] = -1;
  columns_ = columns;
  names_.clear();
  if (slot_of_column_.size() < names.size()) slot_of_column_.resize(names.size(), -1);
  for (size_t i = 0; i < columns_.size(); ++i) {
    slot_of_column_[columns_[i]] = static_cast<int32_t>(i);
    names_.push_back(names.Name(columns_[i]));
  }
  prev_key_.assign(columns_.size(), kNullKey);
  prev_end_.assign(columns_.size(), 0);
  prev_arena_ = nullptr;
  prev_out_data_ = nullptr;
  prev_out_size_ = 0;
}

void RowFormatter::AppendHeader(std::string& out) const {
  if (spec_.kind != FormatSpec::Kind::kCsv || !spec_.header) return;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (i > 0) out += spec_.delimiter;
    AppendCsvField(out, names_[i], spec_.delimiter, {});
  }
  out += spec_.line_ending;
}

const std::vector<const Cell*>& RowFormatter::Slots(const RowTable& table, const RowRef& row) {
  slots_.assign(columns_.size(), nullptr);
  const size_t known = slot_of_column_.size();
  for (uint32_t c = row.first_cell; c < row.first_cell + row.cell_count; ++c) {
    const Cell& cell = table.cells[c];
    if (cell.column >= known) continue;
    int32_t slot = slot_of_column_[cell.column];
    if (slot >= 0) slots_[static_cast<size_t>(slot)] = &cell;
  }
  return slots_;
}

void RowFormatter::AppendRow(const RowTable& table, const RowRef& row, const Arena& arena,
                             std::string& out) {
  Slots(table, row);
  if (spec_.kind == FormatSpec::Kind::kCsv) {
    // Scan each field once (does it need quoting, how many quotes to double), size the row
    // exactly, then write it through a pointer. Same bytes as AppendCsvField per field.
    const std::string& null_text = spec_.null_text;
    const size_t n = slots_.size();
    size_t size = spec_.line_ending.size() + (n == 0 ? 0 : n - 1);
    extra_.resize(n);
    // Leading slots whose cells are the previous row's (same arena range or both null): their
    // formatted bytes, delimiters included, are copied from that row. The last slot is always
    // formatted, so a copied prefix ends with a delimiter.
    size_t same = 0;
    if (prev_arena_ == &arena && prev_out_data_ == out.data() && prev_out_size_ == out.size() &&
        prev_key_.size() == n) {
      while (same + 1 < n) {
        const Cell* cell = slots_[same];
        const uint64_t key = cell == nullptr || cell->kind == ValueKind::kNull
                                 ? kNullKey
                                 : (uint64_t{cell->offset} << 32 | cell->size);
        if (key != prev_key_[same]) break;
        ++same;
      }
    }
    const size_t prefix = same == 0 ? 0 : prev_end_[same - 1] + 1;
    if (same > 0) size += prefix - same;  // the prefix's delimiters are already counted
    for (size_t i = same; i < n; ++i) {
      const Cell* cell = slots_[i];
      if (cell == nullptr || cell->kind == ValueKind::kNull) {
        size += null_text.size();
        continue;
      }
      std::string_view field = arena.Text(*cell);
      // A field equal to a non-empty null text is quoted so readers can tell it from null.
      bool quote = !null_text.empty() && field == null_text;
      uint32_t quotes = 0;
      size_t k = 0;
#if defined(__SSE2__)
      // 16 bytes at a time while 16 bytes are readable inside the arena (the chain pads it);
      // bits past the field's end are masked off.
      const size_t readable = arena.size() - cell->offset;
      const __m128i delimiter = _mm_set1_epi8(spec_.delimiter);
      const __m128i dquote = _mm_set1_epi8('"');
      const __m128i lf = _mm_set1_epi8('\n');
      const __m128i cr = _mm_set1_epi8('\r');
      while (k < field.size() && k + 16 <= readable) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(field.data() + k));
        __m128i q = _mm_cmpeq_epi8(v, dquote);
        __m128i any = _mm_or_si128(_mm_or_si128(q, _mm_cmpeq_epi8(v, delimiter)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
        auto special = static_cast<unsigned>(_mm_movemask_epi8(any));
        auto quote_bits = static_cast<unsigned>(_mm_movemask_epi8(q));
        if (field.size() - k < 16) {
          const unsigned keep = (1u << (field.size() - k)) - 1;
          special &= keep;
          quote_bits &= keep;
        }
        quote = quote || special != 0;
        quotes += static_cast<uint32_t>(__builtin_popcount(quote_bits));
        k += 16;
      }
#endif
      for (; k < field.size(); ++k) {
        const char c = field[k];
        if (quote_byte_[static_cast<unsigned char>(c)]) {
          quote = true;
          quotes += c == '"';
        }
      }
      extra_[i] = quote ? 2 + quotes : 0;
      size += field.size() + extra_[i];
    }
    const size_t old_size = out.size();
    // 16 bytes of slack past the row: short fields are copied in whole 16-byte chunks (the next
    // field overwrites the excess; the slack is cut off again below).
    out.resize(old_size + size + 16);
    char* const row_start = out.data() + old_size;
    char* p = row_start;
    if (same > 0) {
      std::memcpy(p, out.data() + prev_start_, prefix);
      p += prefix;
    }
    const char* arena_end = arena.Data() + arena.size();
    for (size_t i = same; i < n; ++i) {
      if (i > same) {
        prev_end_[i - 1] = static_cast<uint32_t>(p - row_start);
        *p++ = spec_.delimiter;
      }
      const Cell* cell = slots_[i];
      if (cell == nullptr || cell->kind == ValueKind::kNull) {
        prev_key_[i] = kNullKey;
        std::memcpy(p, null_text.data(), null_text.size());
        p += null_text.size();
        continue;
      }
      prev_key_[i] = uint64_t{cell->offset} << 32 | cell->size;
      std::string_view field = arena.Text(*cell);
      if (extra_[i] == 0) {
        if (field.size() <= 16 && field.data() + 16 <= arena_end) {
          std::memcpy(p, field.data(), 16);
        } else {
          std::memcpy(p, field.data(), field.size());
        }
        p += field.size();
        continue;
      }
      *p++ = '"';
      // Runs between inner quotes are copied whole (long text is mostly runs).
      const size_t quotes = extra_[i] - 2;
      if (quotes == 0) {
        std::memcpy(p, field.data(), field.size());
        p += field.size();
      } else {
        const char* from = field.data();
        const char* const end = field.data() + field.size();
        while (from < end) {
          const char* q =
              static_cast<const char*>(std::memchr(from, '"', static_cast<size_t>(end - from)));
          const char* stop = q == nullptr ? end : q + 1;
          std::memcpy(p, from, static_cast<size_t>(stop - from));
          p += stop - from;
          if (q != nullptr) *p++ = '"';
          from = stop;
        }
      }
      *p++ = '"';
    }
    if (n > 0) prev_end_[n - 1] = static_cast<uint32_t>(p - row_start);
    std::memcpy(p, spec_.line_ending.data(), spec_.line_ending.size());
    out.resize(old_size + size);
    prev_start_ = old_size;
    prev_arena_ = &arena;
    prev_out_data_ = out.data();
    prev_out_size_ = out.size();
    return;
  }
  out += '{';
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (i > 0) out += ',';
    json::AppendString(out, names_[i]);
    out += ':';
    const Cell* cell = slots_[i];
    if (cell == nullptr || cell->kind == ValueKind::kNull) {
      out += "null";
    } else if (cell->kind == ValueKind::kString) {
      json::AppendString(out, arena.Text(*cell));
    } else {
      out += arena.Text(*cell);
    }
  }
  out += "}\n";
}

}  // namespace sluice::transform
