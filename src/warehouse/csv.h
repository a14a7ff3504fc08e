// The warehouse CSV convention, written and read in one place (RFC 4180, no header, ',' separator,
// '"' quote, rows end with \n (reading also accepts \r\n)): an unquoted empty field is NULL; a
// quoted empty field ("") is the empty string.
//
// Writing: the PostgreSQL loader encodes a row set as COPY ... (FORMAT csv) input. Reading: for
// tests, benchmarks and tools that hold CSV text (the loaders take row sets).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "transform/row_set.h"
#include "warehouse/config.h"

namespace sluice::warehouse {

// [begin, end) byte range of one row in the batch, line terminator included.
struct RowSpan {
  size_t begin = 0;
  size_t end = 0;
};

// The rows of `csv`. A final row without a line terminator counts. Newlines inside quoted
// fields do not end a row. InvalidArgument for an unterminated quoted field.
Result<std::vector<RowSpan>> SplitCsvRows(std::string_view csv);

using CsvField = std::optional<std::string>;
// The fields of one row (its terminator optional). InvalidArgument on a stray quote.
Result<std::vector<CsvField>> ParseCsvRow(std::string_view row);

// Appends `rows` to `out` in the convention above, one line per row (\n), fields in column
// order. `row_ends` (optional) receives, per row, the offset in `out` just past its \n.
void EncodeCsv(const transform::RowSet& rows, std::string& out,
               std::vector<size_t>* row_ends = nullptr);

// A row set with `columns` from CSV text: a quoted or non-empty field is a kString value, an
// unquoted empty field is null. InvalidArgument naming the row for a malformed row or a row
// whose field count differs from the columns'. Row i's source record is i.
Result<transform::RowSet> RowSetFromCsv(std::vector<Column> columns, std::string_view csv);

}  // namespace sluice::warehouse
