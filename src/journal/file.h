// File-system seam for the journal writer: the few operations the commit path performs on segment
// files, and the free-space check of the disk reserve, so that tests can inject faults
// (tests/testutil/journal_fault_file.h). Reads (recovery and
// Reader) use plain POSIX pread and do not go through this seam.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace sluice::journal {

// One open segment file, written sequentially at its end.
// Thread safety: used by one thread at a time (the partition's commit thread).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // One write(2) at the end of the file: returns the number of bytes written, which may be fewer
  // than `n` (the caller retries the rest). An error means nothing more was written by this call.
  virtual Result<size_t> Write(const char* data, size_t n) = 0;
  // fdatasync: every byte written so far is durable once this returns OK.
  [[nodiscard]] virtual Status Sync() = 0;
  // Advises that bytes [0, size) (written and synced) will not be read again soon, so that the
  // page cache may drop them; the data stays on disk. A hint: it cannot fail. Default: nothing.
  virtual void DropCache(uint64_t /*size*/) {}
  // Cuts the file to `size` bytes; later writes continue at `size`.
  [[nodiscard]] virtual Status Truncate(uint64_t size) = 0;
  // The path, for error messages.
  virtual const std::string& path() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens `path` for appending, creating it (empty) if missing. Writes go to the end.
  virtual Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) = 0;
  // fsyncs a directory so that files created or removed in it are durable.
  [[nodiscard]] virtual Status SyncDir(const std::string& dir) = 0;
  // Bytes an unprivileged writer may still use on the file system holding `dir` (statvfs
  // f_bavail * f_frsize).
  virtual Result<uint64_t> FreeBytes(const std::string& dir) = 0;
  // The process-wide POSIX implementation.
  static FileSystem& Posix();
};

// "EIO (Input/output error)": errno name and text, for messages users can act on.
std::string ErrnoText(int err);

}  // namespace sluice::journal
