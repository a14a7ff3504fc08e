// Encoding and decoding of the structures in journal/format.h: frame headers, segment headers,
// checkpoint files, segment index files and file names. Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "journal/format.h"
#include "journal/journal.h"

namespace sluice::journal {

struct FrameHeader {
  uint32_t masked_crc = 0;
  uint32_t length = 0;
  uint64_t offset = 0;
  int64_t arrival_ms = 0;
  uint32_t flags = 0;
};

// Appends a frame (header + payload) for one record to `out`.
void AppendFrame(std::string& out, uint64_t offset, int64_t arrival_ms, std::string_view payload);
// REQUIRES: `header` points at format::kFrameHeaderSize bytes.
FrameHeader DecodeFrameHeader(const char* header);
// True if the header's CRC matches the header fields and `payload` (of header.length bytes).
bool FrameCrcMatches(const char* header, std::string_view payload);

std::string EncodeSegmentHeader(uint64_t base_offset);
// OK if `data` (format::kSegmentHeaderSize bytes) is a valid header for `base_offset`.
[[nodiscard]] Status CheckSegmentHeader(std::string_view data, uint64_t base_offset);

// A sparse index entry: the frame of `offset` starts at byte `pos` of its segment.
struct IndexEntry {
  uint64_t offset = 0;
  uint64_t pos = 0;
  bool operator==(const IndexEntry&) const = default;
};

// The content of a segment index file: what recovery needs of a sealed segment.
struct SegmentIndex {
  uint64_t base_offset = 0;
  uint64_t end_offset = 0;     // one past the segment's last record
  uint64_t segment_bytes = 0;  // the segment file's size: header + frames
  int64_t max_arrival_ms = 0;  // newest arrival time among the frames (0 if none)
  std::vector<IndexEntry> entries;
  bool operator==(const SegmentIndex&) const = default;
};

std::string EncodeSegmentIndex(const SegmentIndex& index);
// Decodes an index file's content and checks it is self-consistent (entries ascending, inside
// [base_offset, end_offset) and the segment's bytes, the first at the first frame); Corruption
// (without the path) if not.
Result<SegmentIndex> DecodeSegmentIndex(std::string_view data);

// A checkpoint file's content (version 2) for `state`.
std::string EncodeCheckpoint(const ConsumerState& state);
inline std::string EncodeCheckpoint(uint64_t next) {
  return EncodeCheckpoint(ConsumerState{Offset{next}, std::nullopt});
}
// Decodes a checkpoint file's content (version 1 or 2); Corruption (without the path) if it is
// not valid.
Result<ConsumerState> DecodeConsumerState(std::string_view data);
inline Result<uint64_t> DecodeCheckpoint(std::string_view data) {
  SLUICE_ASSIGN_OR_RETURN(ConsumerState state, DecodeConsumerState(data));
  return state.next.value;
}

// "00000000000000001234.log"
std::string SegmentFileName(uint64_t base_offset);
// The base offset if `name` is a segment file name.
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);
// "00000000000000001234.index"
std::string IndexFileName(uint64_t base_offset);
// The base offset if `name` is an index file name.
std::optional<uint64_t> ParseIndexFileName(std::string_view name);

// Consumer names follow the Firehose stream-name rule [a-zA-Z0-9_.-]{1,64} (not "." or "..").
bool IsValidName(std::string_view name);
// Journal stream names: an optional namespace of [a-z]{1,16} followed by '+' (streams/ keeps
// Kinesis streams under "kinesis+" apart from delivery streams), then 1-128 characters of
// [a-zA-Z0-9_.-] (not "." or ".."). Firehose names (1-64 characters) have no namespace.
bool IsValidStreamName(std::string_view name);
inline constexpr std::string_view kStreamNameRule =
    "[namespace+]name, the name 1-128 characters of [a-zA-Z0-9_.-] (not . or ..)";

}  // namespace sluice::journal
