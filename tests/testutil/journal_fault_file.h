// A fault-injecting journal::FileSystem for durability tests: wraps the POSIX one, counts writes
// and fdatasyncs, fails the Nth of them, cuts writes short, and can hold a sync until the test
// lets it go (to force group commit deterministically).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "journal/file.h"

namespace sluice::testutil {

// Thread safety: all methods are thread-safe.
class JournalFaultFileSystem final : public journal::FileSystem {
 public:
  Result<std::unique_ptr<journal::WritableFile>> OpenForAppend(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  // The real free space, unless SetFreeBytes gave a value.
  Result<uint64_t> FreeBytes(const std::string& dir) override;

  // Counters over every file opened through this file system.
  uint64_t Writes() const { return writes_.load(); }
  uint64_t Syncs() const { return syncs_.load(); }  // successful fdatasyncs
  uint64_t BytesWritten() const { return bytes_written_.load(); }
  // Bytes written (minus truncated) that no successful fdatasync has covered yet.
  uint64_t UnsyncedBytes() const;

  // The Nth call from now (1 = the next) to Sync fails with EIO; 0 disables.
  void FailSyncAt(uint64_t n);
  // The Nth call from now to Write fails with ENOSPC after writing `written` bytes of its data
  // (a short write followed by an error); 0 disables.
  void FailWriteAt(uint64_t n, size_t written);
  // Every Write writes at most this many bytes (short writes the caller must retry); 0 = no cap.
  void CapWrites(size_t max_bytes) { write_cap_.store(max_bytes); }
  // FreeBytes reports `bytes` from now on; std::nullopt reports the real free space again.
  void SetFreeBytes(std::optional<uint64_t> bytes);
  // Runs before each Sync (on the syncing thread); may block. Cleared by passing nullptr.
  void SetBeforeSync(std::function<void()> hook);

 private:
  friend class FaultFile;
  Result<size_t> OnWrite(int fd, const char* data, size_t n);
  Status OnSync(int fd);
  void OnTruncate(uint64_t removed_unsynced);

  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<size_t> write_cap_{0};
  mutable std::mutex mu_;
  uint64_t unsynced_ = 0;               // GUARDED_BY(mu_)
  uint64_t sync_countdown_ = 0;         // GUARDED_BY(mu_)
  uint64_t write_countdown_ = 0;        // GUARDED_BY(mu_)
  size_t fail_write_written_ = 0;       // GUARDED_BY(mu_)
  std::function<void()> before_sync_;   // GUARDED_BY(mu_)
  std::optional<uint64_t> free_bytes_;  // GUARDED_BY(mu_)
};

}  // namespace sluice::testutil
