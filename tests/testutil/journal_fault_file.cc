#include "testutil/journal_fault_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sluice::testutil {

class FaultFile final : public journal::WritableFile {
 public:
  FaultFile(JournalFaultFileSystem* owner, std::string path, int fd)
      : owner_(owner), path_(std::move(path)), fd_(fd) {}
  ~FaultFile() override { ::close(fd_); }
  FaultFile(const FaultFile&) = delete;
  FaultFile& operator=(const FaultFile&) = delete;

  Result<size_t> Write(const char* data, size_t n) override {
    return owner_->OnWrite(fd_, data, n);
  }
  Status Sync() override { return owner_->OnSync(fd_); }
  Status Truncate(uint64_t size) override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno(path_ + ": fstat", errno);
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Status::IoError("ftruncate failed: " + journal::ErrnoText(errno));
    }
    uint64_t old_size = static_cast<uint64_t>(st.st_size);
    owner_->OnTruncate(old_size > size ? old_size - size : 0);
    return Status::Ok();
  }
  const std::string& path() const override { return path_; }

 private:
  JournalFaultFileSystem* owner_;
  std::string path_;
  int fd_;
};

Result<std::unique_ptr<journal::WritableFile>> JournalFaultFileSystem::OpenForAppend(
    const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(path + ": open failed: " + journal::ErrnoText(errno));
  return std::unique_ptr<journal::WritableFile>(std::make_unique<FaultFile>(this, path, fd));
}

Status JournalFaultFileSystem::SyncDir(const std::string& dir) {
  return journal::FileSystem::Posix().SyncDir(dir);
}

Result<uint64_t> JournalFaultFileSystem::FreeBytes(const std::string& dir) {
  {
    std::lock_guard lock(mu_);
    if (free_bytes_) return *free_bytes_;
  }
  return journal::FileSystem::Posix().FreeBytes(dir);
}

void JournalFaultFileSystem::SetFreeBytes(std::optional<uint64_t> bytes) {
  std::lock_guard lock(mu_);
  free_bytes_ = bytes;
}

uint64_t JournalFaultFileSystem::UnsyncedBytes() const {
  std::lock_guard lock(mu_);
  return unsynced_;
}

void JournalFaultFileSystem::FailSyncAt(uint64_t n) {
  std::lock_guard lock(mu_);
  sync_countdown_ = n;
}

void JournalFaultFileSystem::FailWriteAt(uint64_t n, size_t written) {
  std::lock_guard lock(mu_);
  write_countdown_ = n;
  fail_write_written_ = written;
}

void JournalFaultFileSystem::SetBeforeSync(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  before_sync_ = std::move(hook);
}

Result<size_t> JournalFaultFileSystem::OnWrite(int fd, const char* data, size_t n) {
  writes_.fetch_add(1);
  bool fail = false;
  size_t partial = 0;
  {
    std::lock_guard lock(mu_);
    if (write_countdown_ > 0 && --write_countdown_ == 0) {
      fail = true;
      partial = std::min(n, fail_write_written_);
    }
  }
  size_t want = fail ? partial : n;
  if (size_t cap = write_cap_.load(); cap > 0) want = std::min(want, cap);
  ssize_t w = want == 0 ? 0 : ::write(fd, data, want);
  if (w < 0) return Status::IoError("write failed: " + journal::ErrnoText(errno));
  bytes_written_.fetch_add(static_cast<uint64_t>(w));
  {
    std::lock_guard lock(mu_);
    unsynced_ += static_cast<uint64_t>(w);
  }
  if (fail) return Status::IoError("write failed: " + journal::ErrnoText(ENOSPC));
  return static_cast<size_t>(w);
}

Status JournalFaultFileSystem::OnSync(int fd) {
  std::function<void()> hook;
  bool fail = false;
  {
    std::lock_guard lock(mu_);
    hook = before_sync_;
    if (sync_countdown_ > 0 && --sync_countdown_ == 0) fail = true;
  }
  if (hook) hook();
  if (fail) return Status::IoError("fdatasync failed: " + journal::ErrnoText(EIO));
  if (::fdatasync(fd) != 0)
    return Status::IoError("fdatasync failed: " + journal::ErrnoText(errno));
  syncs_.fetch_add(1);
  std::lock_guard lock(mu_);
  unsynced_ = 0;
  return Status::Ok();
}

void JournalFaultFileSystem::OnTruncate(uint64_t removed_unsynced) {
  std::lock_guard lock(mu_);
  unsynced_ -= std::min(unsynced_, removed_unsynced);
}

}  // namespace sluice::testutil
