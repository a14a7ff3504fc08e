// Read side of segment files: a buffered pread reader of frames, and the recovery scan that
// classifies damage as a torn tail (truncate) or corruption (fail). Used by Journal::Open and by
// Reader. See docs/journal_format.md for the format and the recovery rules.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "journal/codec.h"

namespace sluice::journal {

// One index entry (codec.h) per this many bytes of frames: in memory for every segment, and in
// the index file of a sealed segment.
inline constexpr uint64_t kIndexIntervalBytes = 256 << 10;

enum class FrameCheck { kOk, kIncomplete, kBadLength, kBadFlags, kBadOffset, kBadChecksum };
const char* FrameCheckText(FrameCheck check);

struct FrameView {
  FrameHeader header;
  std::string_view payload;  // valid until the next read on the same SegmentReader
  uint64_t size() const { return format::kFrameHeaderSize + header.length; }
};

// Reads one segment file with pread through a window buffer.
// Thread safety: one thread at a time.
class SegmentReader {
 public:
  static Result<std::unique_ptr<SegmentReader>> Open(const std::string& path);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  Result<uint64_t> FileSize() const;
  // Up to `n` bytes at `pos`, never at or past `limit` (fewer at the end of the file or limit).
  Result<std::string_view> Read(uint64_t pos, size_t n, uint64_t limit);
  // Reads the frame at `pos`, which must carry offset `expected`; reads nothing at or past `limit`.
  // An I/O error is a Status; a damaged or incomplete frame is a FrameCheck other than kOk.
  Result<FrameCheck> ReadFrame(uint64_t pos, uint64_t limit, uint64_t expected, FrameView* out);
  const std::string& path() const { return path_; }
  // Frees the read window (the next Read allocates it again): for holding many segments open.
  void ReleaseWindow();

 private:
  SegmentReader(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  std::string window_;
  uint64_t window_pos_ = 0;
  size_t window_len_ = 0;
};

struct SegmentScan {
  uint64_t valid_bytes = 0;    // bytes of header + valid frames (the file is cut here if longer)
  uint64_t file_bytes = 0;     // the file's size before any truncation
  uint64_t end_offset = 0;     // one past the last valid frame's offset
  int64_t max_arrival_ms = 0;  // newest arrival time among the frames (0 if none)
  std::vector<IndexEntry> index;
  bool torn_header = false;  // last segment only: its header itself was torn (rewrite it)
  bool repaired = false;     // last segment, repair mode: damage before valid frames was cut off
};

// Verifies every frame of the segment at `path` whose file name says `base_offset`. In a non-last
// segment any damage is Corruption naming the file and byte offset. In the last segment
// (`is_last`), damage after which no valid frame follows is a torn tail: the scan succeeds with
// valid_bytes < file_bytes and the caller truncates; damage followed by a valid frame is
// Corruption.
// `repair`: in the last segment, treat damage followed by valid frames as a torn tail too
// (operator's choice after a power loss; the frames after the damage are discarded).
Result<SegmentScan> ScanSegment(const std::string& path, uint64_t base_offset, bool is_last,
                                bool repair = false);
// The same, through a reader already open on the segment file.
Result<SegmentScan> ScanSegment(SegmentReader& segment, uint64_t base_offset, bool is_last,
                                bool repair = false);

}  // namespace sluice::journal
