// RecordBatch: the records of one request in one contiguous buffer, plus an index of
// (shard, position, length) per record. The API handlers decode each record (base64, or a CBOR
// byte string) straight into it while they parse, the streams service tags each record with the
// shard it routes to, and each shard's commit thread frames its records from it into the group
// write. So a record's bytes are written once by the decoder and copied once into the journal's
// write buffer, with no allocation per record.
//
// Building a record: Room(max) returns space for up to `max` bytes at the end of the buffer;
// write the record there, then Add(n) makes those n bytes the next record. Room may move the
// buffer (it invalidates earlier pointers from Room, never the records' contents).
//
// Thread safety: built by one thread; once handed to the journal it is shared read-only
// (std::shared_ptr<const RecordBatch>) by the appends of its shards, which may run on several
// commit threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::journal {

class RecordBatch {
 public:
  // A record tagged with this shard goes to no journal append (it was refused before the journal,
  // e.g. by a shard's write limit).
  static constexpr uint32_t kNoShard = UINT32_MAX;

  RecordBatch() = default;
  RecordBatch(RecordBatch&&) noexcept = default;
  RecordBatch& operator=(RecordBatch&&) noexcept = default;
  RecordBatch(const RecordBatch&) = delete;
  RecordBatch& operator=(const RecordBatch&) = delete;

  // A batch of copies of `records`, all tagged shard 0 (tests and tools).
  static RecordBatch Of(const std::vector<std::string>& records);

  // Reserves room for `records` records of `bytes` bytes in all, so that building them does not
  // reallocate (a request's body size bounds its decoded records' bytes).
  void Reserve(size_t records, size_t bytes);
  // Space for up to `max_bytes` bytes of the next record; valid until the next Room or Append.
  char* Room(size_t max_bytes);
  // Makes the first `bytes` bytes written at Room() the next record, tagged `shard`.
  // REQUIRES: bytes <= the last Room's max_bytes.
  void Add(size_t bytes, uint32_t shard = 0);
  // Copies `data` in as the next record.
  void Append(std::string_view data, uint32_t shard = 0);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::string_view operator[](size_t i) const {
    return {buf_.get() + entries_[i].pos, entries_[i].length};
  }
  uint32_t shard(size_t i) const { return entries_[i].shard; }
  void set_shard(size_t i, uint32_t shard) { entries_[i].shard = shard; }
  // The records' bytes in all.
  uint64_t bytes() const { return used_; }

 private:
  struct Entry {
    uint64_t pos = 0;
    uint32_t length = 0;
    uint32_t shard = 0;
  };
  void Grow(size_t need);

  std::unique_ptr<char[]> buf_;  // not zero-filled: only written bytes are ever read
  size_t capacity_ = 0;
  size_t used_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace sluice::journal
