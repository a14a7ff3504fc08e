// RowSet: the typed rows of one batch, handed by value from the transform chain to the
// destinations (DuckDB's DataChunk between operators, not shared operator state).
//
// A set has one column schema (names + ColumnType) and, per row, one value per column and the
// index of the source record the row came from. Values are row-major: value(r, c) is
// values_[r * column_count() + c], a kind and a range in the set's own text buffer, so building
// a set appends bytes to one buffer and allocates nothing per value.
//
// Text of a value (the chain's cell convention, transform/rows.h): kString is unescaped UTF-8,
// kNumber a JSON number exactly as written, kBool "true" or "false", kJson minified JSON; kNull
// has no text. A column's type says what the schema processor already checked: the non-null
// values of a kBigint column are integer text in range, a kTimestamp's are
// "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC, and so on (transform/schema.h); kText columns carry
// whatever the record held. Destinations may declare other types (Project) and convert.
//
// Rows are in arrival order: row i's source record arrived no later than row i+1's.
// Thread safety: a value type; none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transform/rows.h"

namespace sluice::transform {

// The one column-type enum of sluice (the schema processor converts to it, warehouses map it to
// SQL types).
enum class ColumnType : uint8_t {
  kText,
  kBigint,
  kInteger,
  kDouble,
  kBoolean,
  kTimestamp,  // ISO 8601; with time zone where the engine has one
  kDate,
  kNumeric,  // numeric(precision, scale)
  kJson,
};

struct Column {
  std::string name;
  ColumnType type = ColumnType::kText;
  uint32_t precision = 0;  // kNumeric only; 0 = unconstrained
  uint32_t scale = 0;      // kNumeric only
  bool operator==(const Column&) const = default;
};

class RowSet {
 public:
  RowSet() = default;
  explicit RowSet(std::vector<Column> columns) : columns_(std::move(columns)) {}

  const std::vector<Column>& columns() const { return columns_; }
  size_t column_count() const { return columns_.size(); }
  size_t row_count() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  // The position of the column named `name`.
  std::optional<size_t> FindColumn(std::string_view name) const;

  // REQUIRES (accessors): row < row_count(), column < column_count().
  ValueKind kind(size_t row, size_t column) const { return At(row, column).kind; }
  bool is_null(size_t row, size_t column) const { return kind(row, column) == ValueKind::kNull; }
  // Empty for null.
  std::string_view text(size_t row, size_t column) const {
    const Value& v = At(row, column);
    return std::string_view(text_).substr(v.offset, v.size);
  }
  // The index, within the batch, of the record row `row` came from.
  uint32_t source_record(size_t row) const { return records_[row]; }
  // Bytes of value text held (for sizing encoders).
  size_t text_bytes() const { return text_.size(); }

  // Building. Reserve is a hint. AddRow appends a row from `source_record` whose values are all
  // null; Set gives the last row's value in `column`. REQUIRES (Set): row_count() > 0.
  void Reserve(size_t rows, size_t text_bytes);
  void AddRow(uint32_t source_record);
  void Set(size_t column, ValueKind kind, std::string_view text);

  // This set's rows under `columns` (their names and types): each value is taken from the column
  // of the same name, null where this set has none. Rows and source records are unchanged.
  RowSet Project(const std::vector<Column>& columns) const;

  // The rows of every part, ordered by source record (stable: rows of one record keep their
  // order). Part i's source record s becomes record_maps[i][s]. Columns are the union of the
  // parts' in first-seen order (a name keeps the type it has in the first part that has it).
  // REQUIRES: record_maps.size() == parts.size(), every part's records are in its map, and a
  // batch record occurs in one part only.
  static RowSet Merge(const std::vector<const RowSet*>& parts,
                      const std::vector<std::vector<uint32_t>>& record_maps);

 private:
  struct Value {
    ValueKind kind = ValueKind::kNull;
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  const Value& At(size_t row, size_t column) const {
    return values_[row * columns_.size() + column];
  }

  std::vector<Column> columns_;
  std::vector<Value> values_;      // row-major, column_count() per row
  std::vector<uint32_t> records_;  // per row: its source record
  std::string text_;               // every value's text
};

}  // namespace sluice::transform
