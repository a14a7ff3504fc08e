// Fuzz target for journal recovery (journal/segment_scan.h): arbitrary bytes as a segment file
// into ScanSegment, as Journal::Open scans segments at start.
// Input: the first byte's bits choose is_last (bit 0) and repair (bit 1); the rest is the file.
// Checked: no crash, no sanitizer report, and
//   - a scan never claims more valid bytes than the file has,
//   - a segment that is not the last is valid whole or refused (damage there is corruption),
//   - recovery is idempotent: the last segment cut at valid_bytes scans as whole and valid, with
//     the same end offset and frame index.
//
// Built as segment_fuzz (libFuzzer, `make fuzz`) and segment_fuzz_replay (ctest
// fuzz_segment_corpus replays tests/fuzz/corpus/segment); see tests/fuzz/CMakeLists.txt.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "journal/segment_scan.h"

namespace {

void Check(bool ok, const char* what, std::string_view detail) {
  sluice::fuzz::Check(ok, "segment_fuzz", what, detail);
}

// A file of this process for the segment under test.
const std::string& SegmentPath() {
  static const std::string path = [] {
    char dir[] = "/tmp/sluice-segment-fuzz-XXXXXX";
    Check(mkdtemp(dir) != nullptr, "mkdtemp", dir);
    return std::string(dir) + "/00000000000000000000.log";
  }();
  return path;
}

void WriteFile(const std::string& path, std::string_view bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  Check(fd >= 0, "open", path);
  Check(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()), "write", path);
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool is_last = (data[0] & 1) != 0;
  const bool repair = (data[0] & 2) != 0;
  const std::string_view file(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string& path = SegmentPath();
  WriteFile(path, file);
  auto scan = sluice::journal::ScanSegment(path, 0, is_last, repair);
  if (!scan.ok()) return 0;
  Check(scan->valid_bytes <= scan->file_bytes && scan->file_bytes == file.size(),
        "valid bytes beyond the file", path);
  if (!is_last) {
    Check(scan->valid_bytes == scan->file_bytes, "a damaged non-last segment was accepted", path);
    return 0;
  }
  if (scan->torn_header) return 0;  // Journal::Open rewrites the header of such a segment
  WriteFile(path, file.substr(0, scan->valid_bytes));
  auto again = sluice::journal::ScanSegment(path, 0, /*is_last=*/false);
  Check(again.ok(), "the recovered segment does not scan",
        again.ok() ? "" : again.status().message());
  Check(again->valid_bytes == scan->valid_bytes && again->end_offset == scan->end_offset &&
            again->index.size() == scan->index.size(),
        "recovery is not idempotent", path);
  return 0;
}

#ifdef SLUICE_FUZZ_REPLAY_MAIN
#include "fuzz_main.h"
#endif
