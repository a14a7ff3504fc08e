#include "warehouse/csv.h"

namespace sluice::warehouse {

Result<std::vector<RowSpan>> SplitCsvRows(std::string_view csv) {
  std::vector<RowSpan> rows;
  size_t begin = 0;
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (c == '"') {
      quoted = !quoted;  // "" inside a quoted field toggles twice
    } else if (c == '\n' && !quoted) {
      rows.push_back({begin, i + 1});
      begin = i + 1;
    }
  }
  if (quoted) {
    return Status::InvalidArgument("csv: unterminated quoted field in row " +
                                   std::to_string(rows.size()));
  }
  if (begin < csv.size()) rows.push_back({begin, csv.size()});
  return rows;
}

Result<std::vector<CsvField>> ParseCsvRow(std::string_view row) {
  if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
  if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
  std::vector<CsvField> fields;
  size_t i = 0;
  while (true) {
    if (i < row.size() && row[i] == '"') {
      std::string value;
      ++i;
      while (true) {
        if (i >= row.size()) return Status::InvalidArgument("csv: unterminated quoted field");
        if (row[i] == '"') {
          if (i + 1 < row.size() && row[i + 1] == '"') {
            value += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value += row[i++];
      }
      if (i < row.size() && row[i] != ',') {
        return Status::InvalidArgument("csv: unexpected character after closing quote");
      }
      fields.emplace_back(std::move(value));
    } else {
      const size_t comma = row.find(',', i);
      const size_t end = comma == std::string_view::npos ? row.size() : comma;
      std::string_view raw = row.substr(i, end - i);
      if (raw.find('"') != std::string_view::npos) {
        return Status::InvalidArgument("csv: quote inside an unquoted field");
      }
      if (raw.empty()) {
        fields.emplace_back(std::nullopt);
      } else {
        fields.emplace_back(std::string(raw));
      }
      i = end;
    }
    if (i >= row.size()) break;
    ++i;  // the comma
    if (i == row.size()) {
      fields.emplace_back(std::nullopt);  // trailing empty field
      break;
    }
  }
  return fields;
}

}  // namespace sluice::warehouse
