// schema: the output columns of a stream and the conversion of each value to its type.
//
// Parameters (SchemaParams, parsed by processor_params.cc): {"columns": [{"name": "order_id",
// "source": "order.id", "type": "bigint",
//   "required": true, "default": 0, "formats": ["iso8601", "epoch_ms", "%d/%m/%Y %H:%M"]}, ...]}.
// `source` is a dotted path in the record (mapped onto the flattened column name with the
// flatten separator) and defaults to `name`. Types and their canonical output text:
//   text                      any scalar as its text; arrays/objects as JSON text
//   bigint / integer          64/32-bit integers ("12", 12, 12.0); out of range fails
//   double                    finite IEEE double, shortest round-trip text
//   boolean                   true/false, "true"/"false"/"t"/"f"/"yes"/"no"/"1"/"0", 0/1
//   timestamp                 "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC; input `formats` (default
//                             iso8601): iso8601, epoch_s, epoch_ms, epoch_us, or a pattern with
//                             %Y %m %d %H %M %S %f (fraction) %z (Z or +hh[:mm]) %%
//   date                      "YYYY-MM-DD"; same input formats (a time part is dropped)
//   numeric(p,s) / decimal    exact decimal with s fraction digits, rounded half away from zero;
//                             more than p-s integer digits fails
//   json                      the value as JSON text (strings quoted)
// A missing or null value takes `default` when given (converted like an input value), fails the
// record when `required` (Schema.RequiredValueMissing), and is null otherwise. A value that
// cannot be converted fails the record (Schema.ConversionFailed) naming the column and value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "transform/processor_params.h"
#include "transform/row_set.h"
#include "transform/rows.h"
#include "transform/stage.h"

namespace sluice::transform {

// Parses "numeric(10,2)", "bigint", ... into `spec`; the error lists the allowed types.
Status ParseColumnType(std::string_view text, ColumnSpec& spec);

// Converts one value to the column's type. Writes the output kind and text; returns false with
// a message naming the value and the reason on failure.
bool ConvertValue(const ColumnSpec& column, ValueKind kind, std::string_view text,
                  ValueKind& out_kind, std::string& out_text, std::string& error);

// Thread safety: one per chain.
class SchemaStage final : public Stage {
 public:
  // `separator` is the flatten separator, used to map dotted sources onto column names.
  static Result<std::unique_ptr<SchemaStage>> Create(const SchemaParams& params,
                                                     const std::string& separator,
                                                     ColumnRegistry* columns);
  bool is_row_stage() const override { return true; }
  void ProcessRows(const std::vector<Item>& items, const RowTable& in, RowTable& out,
                   BatchContext& ctx) override;
  // The output column ids, in schema order.
  const std::vector<uint32_t>& output_columns() const { return output_ids_; }
  const std::vector<ColumnSpec>& columns() const { return specs_; }
  // The column ids the schema reads (its sources, flattened names).
  const std::vector<uint32_t>& source_columns() const { return source_ids_; }

 private:
  SchemaStage() = default;
  std::vector<ColumnSpec> specs_;
  std::vector<uint32_t> source_ids_;
  std::vector<uint32_t> output_ids_;
  std::vector<int32_t> first_spec_of_source_;   // column id -> first spec index using it, -1
  std::vector<int32_t> next_spec_same_source_;  // spec -> next spec with the same source, -1
  std::vector<const Cell*> found_;
  // The last conversion of each spec in this batch: exploded rows repeat their parent's cells
  // (the same arena range), and the same input text converts to the same output cell, so a
  // repeated input reuses it instead of converting again. default_memo_ holds the converted
  // default (written to the arena once per batch).
  struct Memo {
    bool valid = false;
    ValueKind in_kind = ValueKind::kNull;
    uint32_t in_offset = 0;
    uint32_t in_size = 0;
    Cell out;
  };
  std::vector<Memo> memo_;
  std::vector<Memo> default_memo_;
  std::string text_;
  std::string error_;
};

}  // namespace sluice::transform
