// The in-memory row representation shared by the row stages (flatten, schema, rules, lua) and
// the formatters. A batch's rows live in one arena: cells are (column id, kind, text range), so a
// stage that keeps a value only copies a 16-byte Cell, and exploded rows share their parent's
// cells without copying text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::transform {

// The JSON-level kind of a value. kJson is a nested array or object kept as minified JSON text.
enum class ValueKind : uint8_t { kNull, kString, kNumber, kBool, kJson };

// One value of one row; its text is arena[offset, offset + size). kNumber text is a valid JSON
// number (kept exactly as written in the input, so 64-bit and larger integers survive); kBool
// text is "true" or "false"; kString text is unescaped UTF-8.
struct Cell {
  uint32_t column = 0;
  ValueKind kind = ValueKind::kNull;
  uint32_t offset = 0;
  uint32_t size = 0;
};

// A row: cells[first_cell, first_cell + cell_count) of its table, produced from source record
// `record`. When a column occurs twice in a row, the later cell wins.
struct RowRef {
  uint32_t record = 0;
  uint32_t first_cell = 0;
  uint32_t cell_count = 0;
};

struct RowTable {
  std::vector<Cell> cells;
  std::vector<RowRef> rows;
  void Clear() {
    cells.clear();
    rows.clear();
  }
};

// Text storage for one batch. Offsets stay valid while the arena grows.
class Arena {
 public:
  uint32_t Add(std::string_view text) {
    auto offset = static_cast<uint32_t>(data_.size());
    data_.append(text);
    return offset;
  }
  Cell Make(uint32_t column, ValueKind kind, std::string_view text) {
    return Cell{column, kind, Add(text), static_cast<uint32_t>(text.size())};
  }
  std::string_view Text(const Cell& cell) const {
    return std::string_view(data_).substr(cell.offset, cell.size);
  }
  void Clear() { data_.clear(); }
  size_t size() const { return data_.size(); }
  // In-place parsing (flatten): appends `text` and then `padding` zero bytes, returns the
  // offset of `text`. Data() stays valid until the next call that appends.
  uint32_t AddPadded(std::string_view text, size_t padding) {
    auto offset = static_cast<uint32_t>(data_.size());
    data_.append(text);
    data_.append(padding, '\0');
    return offset;
  }
  const char* Data() const { return data_.data(); }
  // Drops every byte from `size` on (cells pointing there become invalid).
  void Truncate(size_t size) { data_.resize(size); }
  // Storage reuse across batches (a fresh multi-megabyte buffer per batch costs page faults):
  // Adopt takes a buffer's capacity (its bytes are cleared), Release hands it back.
  void Adopt(std::string&& storage) {
    data_ = std::move(storage);
    data_.clear();
  }
  std::string Release() { return std::move(data_); }

 private:
  std::string data_;
};

// Column names of one chain, interned to dense ids. Ids are stable for the chain's lifetime.
// Thread safety: owned by one chain; not thread-safe.
class ColumnRegistry {
 public:
  uint32_t Intern(std::string_view name);
  std::optional<uint32_t> Find(std::string_view name) const;
  const std::string& Name(uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
};

inline uint32_t ColumnRegistry::Intern(std::string_view name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

inline std::optional<uint32_t> ColumnRegistry::Find(std::string_view name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

}  // namespace sluice::transform
