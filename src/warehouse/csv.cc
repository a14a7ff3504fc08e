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

namespace {

void AppendField(std::string& out, std::string_view v) {
  if (!v.empty() && v.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += v;
    return;
  }
  out += '"';  // empty (the empty string, not NULL) or needs quoting
  size_t start = 0;
  for (size_t q = v.find('"'); q != std::string_view::npos; q = v.find('"', start)) {
    out.append(v.substr(start, q + 1 - start));
    out += '"';
    start = q + 1;
  }
  out.append(v.substr(start));
  out += '"';
}

}  // namespace

void EncodeCsv(const transform::RowSet& rows, std::string& out, std::vector<size_t>* row_ends) {
  const size_t ncols = rows.column_count();
  out.reserve(out.size() + rows.text_bytes() + rows.row_count() * (ncols + 1));
  if (row_ends != nullptr) row_ends->reserve(row_ends->size() + rows.row_count());
  for (size_t r = 0; r < rows.row_count(); ++r) {
    for (size_t c = 0; c < ncols; ++c) {
      if (c > 0) out += ',';
      if (!rows.is_null(r, c)) AppendField(out, rows.text(r, c));
    }
    out += '\n';
    if (row_ends != nullptr) row_ends->push_back(out.size());
  }
}

Result<transform::RowSet> RowSetFromCsv(std::vector<Column> columns, std::string_view csv) {
  const size_t ncols = columns.size();
  transform::RowSet rows(std::move(columns));
  SLUICE_ASSIGN_OR_RETURN(std::vector<RowSpan> spans, SplitCsvRows(csv));
  rows.Reserve(spans.size(), csv.size());
  for (size_t r = 0; r < spans.size(); ++r) {
    Result<std::vector<CsvField>> fields =
        ParseCsvRow(csv.substr(spans[r].begin, spans[r].end - spans[r].begin));
    if (!fields.ok()) return fields.status().WithContext("row " + std::to_string(r));
    if (fields->size() != ncols) {
      return Status::InvalidArgument("row " + std::to_string(r) + ": expected " +
                                     std::to_string(ncols) + " fields, got " +
                                     std::to_string(fields->size()));
    }
    rows.AddRow(static_cast<uint32_t>(r));
    for (size_t c = 0; c < ncols; ++c) {
      if ((*fields)[c]) rows.Set(c, transform::ValueKind::kString, *(*fields)[c]);
    }
  }
  return rows;
}

}  // namespace sluice::warehouse
