// Output formats of a chain: raw bytes, CSV (RFC 4180) and JSON lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "transform/rows.h"

namespace sluice::transform {

struct FormatSpec {
  enum class Kind : uint8_t { kRaw, kCsv, kJsonl };
  Kind kind = Kind::kRaw;
  // CSV only.
  bool header = false;
  char delimiter = ',';
  std::string null_text;           // written for null/missing values (default: empty field)
  std::string line_ending = "\n";  // "\n" or "\r\n" (RFC 4180 proper)

  // Accepts "raw", "csv", "jsonl" (alias "json"), or a JSON object such as
  // {"csv": {"header": true, "delimiter": "|", "null": "\\N", "line_ending": "\r\n"}}.
  static Result<FormatSpec> Parse(std::string_view text);
  // "raw", "jsonl", or the csv JSON object with every option (Parse reads it back).
  std::string ToString() const;
  const char* KindName() const;  // "raw", "csv", "jsonl"
  bool operator==(const FormatSpec&) const = default;
};

// Appends `field` to `out` as one CSV field: quoted when it contains the delimiter, a quote,
// CR or LF (or equals a non-empty null text, so readers can tell it from null), with inner
// quotes doubled.
void AppendCsvField(std::string& out, std::string_view field, char delimiter,
                    std::string_view null_text);

// Formats rows of one batch. Call SetColumns once per batch (or output group), then AppendHeader
// and AppendRow. Thread safety: none; one formatter per chain.
class RowFormatter {
 public:
  explicit RowFormatter(FormatSpec spec);
  // The output column order: ids interned in `names`. A row's cell for a column not listed is
  // ignored; a listed column with no cell is null.
  void SetColumns(const std::vector<uint32_t>& columns, const ColumnRegistry& names);
  // CSV with header: true appends the header line; otherwise nothing.
  void AppendHeader(std::string& out) const;
  void AppendRow(const RowTable& table, const RowRef& row, const Arena& arena, std::string& out);
  // The values of `row` by output slot (nullptr = null), valid until the next call.
  const std::vector<const Cell*>& Slots(const RowTable& table, const RowRef& row);

 private:
  FormatSpec spec_;
  std::vector<uint32_t> columns_;
  std::vector<std::string> names_;       // by slot
  std::vector<int32_t> slot_of_column_;  // column id -> slot, -1 when not output
  std::vector<const Cell*> slots_;
  bool quote_byte_[256] = {};    // CSV: bytes that force a field to be quoted
  std::vector<uint32_t> extra_;  // CSV, per slot of the current row: bytes added by quoting
  // CSV: the previous row, so an exploded record's rows copy their leading parent fields (the
  // same cells, row after row) as one block instead of scanning and escaping them again.
  // prev_key_ per slot: (offset << 32 | size) of its cell, kNullKey for null; prev_end_ per
  // slot: the end of its formatted bytes, relative to the row's start at prev_start_ in `out`.
  // Valid only while `out` is the buffer (data, size) that row left behind.
  static constexpr uint64_t kNullKey = ~uint64_t{0};
  std::vector<uint64_t> prev_key_;
  std::vector<uint32_t> prev_end_;
  size_t prev_start_ = 0;
  const Arena* prev_arena_ = nullptr;
  const char* prev_out_data_ = nullptr;
  size_t prev_out_size_ = 0;
};

}  // namespace sluice::transform
