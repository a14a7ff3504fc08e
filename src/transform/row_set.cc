#include "transform/row_set.h"

#include <algorithm>
#include <unordered_map>

namespace sluice::transform {

std::optional<size_t> RowSet::FindColumn(std::string_view name) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c].name == name) return c;
  }
  return std::nullopt;
}

void RowSet::Reserve(size_t rows, size_t text_bytes) {
  records_.reserve(rows);
  values_.reserve(rows * columns_.size());
  text_.reserve(text_bytes);
}

void RowSet::AddRow(uint32_t source_record) {
  records_.push_back(source_record);
  values_.resize(values_.size() + columns_.size());
}

void RowSet::Set(size_t column, ValueKind kind, std::string_view text) {
  Value& v = values_[(records_.size() - 1) * columns_.size() + column];
  v.kind = kind;
  if (kind == ValueKind::kNull) {
    v.offset = 0;
    v.size = 0;
    return;
  }
  v.offset = static_cast<uint32_t>(text_.size());
  v.size = static_cast<uint32_t>(text.size());
  text_.append(text);
}

RowSet RowSet::Project(const std::vector<Column>& columns) const {
  RowSet out(columns);
  std::vector<std::optional<size_t>> from;
  from.reserve(columns.size());
  for (const Column& c : columns) from.push_back(FindColumn(c.name));
  // Values keep their offsets: the projection shares this set's text layout (one copy of the
  // buffer, even when a column is dropped; cheaper than re-packing value by value).
  out.text_ = text_;
  out.records_ = records_;
  out.values_.resize(records_.size() * columns.size());
  for (size_t r = 0; r < records_.size(); ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      if (from[c]) out.values_[r * columns.size() + c] = At(r, *from[c]);
    }
  }
  return out;
}

RowSet RowSet::Merge(const std::vector<const RowSet*>& parts,
                     const std::vector<std::vector<uint32_t>>& record_maps) {
  std::vector<Column> columns;
  std::unordered_map<std::string, size_t> position;
  size_t rows = 0, bytes = 0;
  for (const RowSet* part : parts) {
    for (const Column& c : part->columns_) {
      if (position.emplace(c.name, columns.size()).second) columns.push_back(c);
    }
    rows += part->row_count();
    bytes += part->text_.size();
  }
  struct Source {
    uint32_t record;  // in the batch
    uint32_t part;
    uint32_t row;
  };
  std::vector<Source> order;
  order.reserve(rows);
  for (size_t p = 0; p < parts.size(); ++p) {
    for (size_t r = 0; r < parts[p]->row_count(); ++r) {
      order.push_back({record_maps[p][parts[p]->records_[r]], static_cast<uint32_t>(p),
                       static_cast<uint32_t>(r)});
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Source& a, const Source& b) { return a.record < b.record; });
  std::vector<std::vector<size_t>> column_maps(parts.size());
  for (size_t p = 0; p < parts.size(); ++p) {
    for (const Column& c : parts[p]->columns_) column_maps[p].push_back(position.at(c.name));
  }
  RowSet out(std::move(columns));
  out.Reserve(rows, bytes);
  for (const Source& s : order) {
    const RowSet& part = *parts[s.part];
    out.AddRow(s.record);
    for (size_t c = 0; c < part.column_count(); ++c) {
      const Value& v = part.At(s.row, c);
      if (v.kind != ValueKind::kNull) {
        out.Set(column_maps[s.part][c], v.kind, part.text(s.row, c));
      }
    }
  }
  return out;
}

}  // namespace sluice::transform
