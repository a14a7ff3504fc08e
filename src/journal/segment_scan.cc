#include "journal/segment_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "journal/file.h"

namespace sluice::journal {
namespace {

constexpr size_t kWindowBytes = 1 << 20;

Status CorruptionAt(const std::string& path, uint64_t pos, const std::string& what) {
  return Status::Corruption(path + ": byte offset " + std::to_string(pos) + ": " + what);
}

}  // namespace

const char* FrameCheckText(FrameCheck check) {
  switch (check) {
    case FrameCheck::kOk: return "ok";
    case FrameCheck::kIncomplete: return "incomplete frame";
    case FrameCheck::kBadLength: return "frame length out of range";
    case FrameCheck::kBadFlags: return "unknown frame flags";
    case FrameCheck::kBadOffset: return "frame carries the wrong record offset";
    case FrameCheck::kBadChecksum: return "frame checksum mismatch";
  }
  return "unknown";
}

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": open failed: " + ErrnoText(errno));
  return std::unique_ptr<SegmentReader>(new SegmentReader(path, fd));
}

SegmentReader::~SegmentReader() {
  ::close(fd_);
}

Result<uint64_t> SegmentReader::FileSize() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Status::IoError(path_ + ": fstat failed: " + ErrnoText(errno));
  return static_cast<uint64_t>(st.st_size);
}

void SegmentReader::ReleaseWindow() {
  std::string().swap(window_);
  window_pos_ = 0;
  window_len_ = 0;
}

Result<std::string_view> SegmentReader::Read(uint64_t pos, size_t n, uint64_t limit) {
  if (pos >= limit) return std::string_view();
  n = static_cast<size_t>(std::min<uint64_t>(n, limit - pos));
  if (pos >= window_pos_ && pos + n <= window_pos_ + window_len_) {
    return std::string_view(window_.data() + (pos - window_pos_), n);
  }
  // Invariant: the window never holds bytes at or past `limit`, so it never holds bytes that a
  // failed write may later have truncated and rewritten.
  size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kWindowBytes), limit - pos));
  if (window_.size() < want) window_.resize(want);
  size_t got = 0;
  while (got < want) {
    ssize_t r = ::pread(fd_, window_.data() + got, want - got, static_cast<off_t>(pos + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      window_len_ = 0;
      return Status::IoError(path_ + ": read failed at byte offset " + std::to_string(pos + got) +
                             ": " + ErrnoText(errno));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  window_pos_ = pos;
  window_len_ = got;
  return std::string_view(window_.data(), std::min(n, got));
}

Result<FrameCheck> SegmentReader::ReadFrame(uint64_t pos, uint64_t limit, uint64_t expected,
                                            FrameView* out) {
  SLUICE_ASSIGN_OR_RETURN(std::string_view h, Read(pos, format::kFrameHeaderSize, limit));
  if (h.size() < format::kFrameHeaderSize) return FrameCheck::kIncomplete;
  // Copy the header: reading the payload may move the window.
  char header[format::kFrameHeaderSize];
  std::copy(h.begin(), h.end(), header);
  out->header = DecodeFrameHeader(header);
  if (out->header.length > format::kMaxPayload) return FrameCheck::kBadLength;
  SLUICE_ASSIGN_OR_RETURN(std::string_view payload,
                          Read(pos + format::kFrameHeaderSize, out->header.length, limit));
  if (payload.size() < out->header.length) return FrameCheck::kIncomplete;
  if (!FrameCrcMatches(header, payload)) return FrameCheck::kBadChecksum;
  if ((out->header.flags & ~format::kKnownFlags) != 0) return FrameCheck::kBadFlags;
  if (out->header.offset != expected) return FrameCheck::kBadOffset;
  out->payload = payload;
  return FrameCheck::kOk;
}

namespace {

// True if some position after `bad_pos` starts a frame that passes its checksum: then the damage
// at `bad_pos` is not a torn tail. Only runs when damage was found (rare), so reads the rest.
Result<bool> ValidFrameFollows(SegmentReader& reader, uint64_t bad_pos, uint64_t file_bytes,
                               uint64_t expected) {
  SLUICE_ASSIGN_OR_RETURN(
      std::string_view rest_view,
      reader.Read(bad_pos, static_cast<size_t>(file_bytes - bad_pos), file_bytes));
  std::string rest(rest_view);
  const uint64_t max_frames = rest.size() / format::kFrameHeaderSize + 1;
  for (size_t q = 1; q + format::kFrameHeaderSize <= rest.size(); ++q) {
    FrameHeader h = DecodeFrameHeader(rest.data() + q);
    if (h.offset < expected || h.offset - expected > max_frames) continue;
    if (h.length > rest.size() - q - format::kFrameHeaderSize) continue;
    if (FrameCrcMatches(rest.data() + q,
                        std::string_view(rest.data() + q + format::kFrameHeaderSize, h.length))) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<SegmentScan> ScanSegment(const std::string& path, uint64_t base_offset, bool is_last,
                                bool repair) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, SegmentReader::Open(path));
  return ScanSegment(*reader, base_offset, is_last, repair);
}

Result<SegmentScan> ScanSegment(SegmentReader& segment, uint64_t base_offset, bool is_last,
                                bool repair) {
  SegmentReader* reader = &segment;  // the body predates the overload; keeps its diff small
  const std::string& path = segment.path();
  SegmentScan scan;
  SLUICE_ASSIGN_OR_RETURN(scan.file_bytes, reader->FileSize());
  scan.end_offset = base_offset;
  SLUICE_ASSIGN_OR_RETURN(std::string_view header,
                          reader->Read(0, format::kSegmentHeaderSize, scan.file_bytes));
  Status header_status = CheckSegmentHeader(header, base_offset);
  if (!header_status.ok()) {
    if (is_last && scan.file_bytes <= format::kSegmentHeaderSize) {
      scan.torn_header = true;  // died while creating the segment
      return scan;
    }
    return CorruptionAt(path, 0, header_status.message());
  }
  uint64_t pos = format::kSegmentHeaderSize;
  uint64_t last_indexed = 0;
  FrameView frame;
  while (pos < scan.file_bytes) {
    SLUICE_ASSIGN_OR_RETURN(FrameCheck check,
                            reader->ReadFrame(pos, scan.file_bytes, scan.end_offset, &frame));
    if (check != FrameCheck::kOk) {
      std::string what = std::string(FrameCheckText(check)) + " (record offset " +
                         std::to_string(scan.end_offset) + ")";
      if (!is_last) return CorruptionAt(path, pos, what + " in a segment that is not the last");
      SLUICE_ASSIGN_OR_RETURN(bool follows,
                              ValidFrameFollows(*reader, pos, scan.file_bytes, scan.end_offset));
      if (follows && !repair) {
        return CorruptionAt(path, pos,
                            what +
                                ", followed by valid frames (after a power loss this can be an "
                                "unsynced group; `sluice serve --repair-journal` truncates the "
                                "partition here, discarding the frames after it)");
      }
      scan.repaired = follows;
      break;  // torn tail
    }
    if (scan.index.empty() || pos - last_indexed >= kIndexIntervalBytes) {
      scan.index.push_back({scan.end_offset, pos});
      last_indexed = pos;
    }
    scan.max_arrival_ms = std::max(scan.max_arrival_ms, frame.header.arrival_ms);
    pos += frame.size();
    ++scan.end_offset;
  }
  scan.valid_bytes = pos;
  return scan;
}

}  // namespace sluice::journal
