// The `file` input: tails files matched by glob patterns into the input's spool partition.
//
// Records: one per line (the line keeps its "\n"; empty lines are skipped), or with
// multiline_start one per group of lines beginning at a line that matches. A partial last line
// (and the last multi-line record) waits for more data, or for flush_partial_ms without growth.
// Lines longer than max_record_bytes are split.
//
// Files are identified by device+inode and a fingerprint (CRC32C) of their first bytes.
// Rotation by rename-and-create: the renamed file stays open and is read to its end before it is
// closed (after close_inactive_ms without growth), the new file is read from its beginning.
// Copy-truncate: a file that shrinks is read again from 0; with copy_truncate, a new file whose
// first bytes equal a tracked file's continues at that file's position (the copy). Deletion: an
// open file is read to its end, then closed.
//
// Checkpoints: <state-dir>/inputs/<name>.json (written atomically) holds each file's identity
// and the position past its last spooled record, and the spool end it reflects. Recovery replays
// the envelopes spooled after that position, so no record is lost or spooled twice by a crash
// (unless retention deleted those delivered segments first: then lines may be spooled again).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "agent/config.h"
#include "common/status.h"
#include "journal/journal.h"

namespace sluice::agent {

struct InputCounters {
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> split_records{0};
  std::atomic<uint64_t> files_opened{0};
  std::atomic<uint64_t> truncations{0};
};

class FileInput {
 public:
  FileInput(InputConfig config, journal::PartitionLog* log, std::string state_dir);
  ~FileInput();
  FileInput(const FileInput&) = delete;
  FileInput& operator=(const FileInput&) = delete;

  // Loads the checkpoint and replays the spooled envelopes past it.
  [[nodiscard]] Status Recover();
  // Tails until `stop`; saves the checkpoint on the way out. Returns an error only when the
  // spool or the state directory failed.
  [[nodiscard]] Status Run(const std::atomic<bool>& stop);

  const InputCounters& counters() const { return counters_; }
  const std::string& name() const { return config_.name; }

 private:
  struct Known {  // a file position from the checkpoint or the spool
    uint32_t fp_len = 0;
    uint32_t fp_crc = 0;
    bool has_fp = false;
    uint64_t offset = 0;
  };
  struct Tracked {
    uint64_t dev = 0, ino = 0;
    int fd = -1;
    std::string path;
    bool matched = true;
    uint64_t emitted = 0;   // just past the last spooled record
    uint64_t read_pos = 0;  // just past buf
    std::string buf;        // bytes [emitted, read_pos)
    uint32_t fp_len = 0, fp_crc = 0;
    int64_t last_growth_ms = 0;
  };
  struct Pending {  // records cut from one file, not yet spooled
    std::vector<std::string> envelopes;
    std::vector<uint64_t> ends;
    size_t bytes = 0;
    uint64_t start = 0;  // the file position of the first record
  };

  static uint64_t Key(uint64_t dev, uint64_t ino);
  Status Scan(bool first_scan);
  Status Open(const std::string& path, bool first_scan);
  Status Poll(Tracked& t, const std::atomic<bool>& stop, bool closing);
  void Cut(Tracked& t, Pending& p, bool flush_all, int64_t now);
  Status Flush(Tracked& t, Pending& p, const std::atomic<bool>& stop);
  Status SaveCheckpoint();
  void UpdateFingerprint(Tracked& t);

  InputConfig config_;
  journal::PartitionLog* log_;
  std::string checkpoint_path_;
  bool first_run_ = true;
  journal::Offset spool_next_;  // the spool end when the checkpoint was written
  std::map<uint64_t, Known> known_;
  std::map<uint64_t, std::unique_ptr<Tracked>> tracked_;
  // Fingerprints of files that were truncated, with the position they had (copy_truncate).
  std::vector<std::pair<Known, uint64_t>> truncated_;
  std::unique_ptr<std::regex> multiline_;
  bool dirty_ = false;
  int64_t last_save_ms_ = 0;
  InputCounters counters_;
};

}  // namespace sluice::agent
