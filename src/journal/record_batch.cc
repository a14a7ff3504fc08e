#include "journal/record_batch.h"

#include <cassert>
#include <cstring>

namespace sluice::journal {

RecordBatch RecordBatch::Of(const std::vector<std::string>& records) {
  RecordBatch batch;
  size_t bytes = 0;
  for (const auto& r : records) bytes += r.size();
  batch.Reserve(records.size(), bytes);
  for (const auto& r : records) batch.Append(r);
  return batch;
}

void RecordBatch::Grow(size_t need) {
  if (used_ + need <= capacity_) return;
  size_t capacity = capacity_ < 4096 ? 4096 : capacity_;
  while (capacity < used_ + need) capacity *= 2;
  auto buf = std::make_unique_for_overwrite<char[]>(capacity);
  if (used_ > 0) std::memcpy(buf.get(), buf_.get(), used_);
  buf_ = std::move(buf);
  capacity_ = capacity;
}

void RecordBatch::Reserve(size_t records, size_t bytes) {
  entries_.reserve(records);
  Grow(bytes);
}

char* RecordBatch::Room(size_t max_bytes) {
  Grow(max_bytes);
  return buf_.get() + used_;
}

void RecordBatch::Add(size_t bytes, uint32_t shard) {
  // REQUIRES: the bytes were reserved by Room.
  assert(used_ + bytes <= capacity_);
  entries_.push_back(Entry{used_, static_cast<uint32_t>(bytes), shard});
  used_ += bytes;
}

void RecordBatch::Append(std::string_view data, uint32_t shard) {
  char* p = Room(data.size());
  if (!data.empty()) std::memcpy(p, data.data(), data.size());
  Add(data.size(), shard);
}

}  // namespace sluice::journal
