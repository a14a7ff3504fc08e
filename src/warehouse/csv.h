// Minimal RFC 4180 reading for the loaders: splitting a batch into rows (for bisection and
// SQLite) and a row into fields. Convention: an unquoted empty field is NULL (nullopt); a
// quoted empty field is the empty string.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

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

}  // namespace sluice::warehouse
