#include "journal/file.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/file_util.h"

namespace sluice::journal {

std::string ErrnoText(int err) {
  const char* name = ::strerrordesc_np(err) ? ::strerrorname_np(err) : nullptr;
  std::string text = name ? name : ("errno " + std::to_string(err));
  return text + " (" + std::strerror(err) + ")";
}

namespace {

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override { ::close(fd_); }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Result<size_t> Write(const char* data, size_t n) override {
    for (;;) {
      ssize_t w = ::write(fd_, data, n);
      if (w >= 0) return static_cast<size_t>(w);
      if (errno == EINTR) continue;
      return Status::IoError("write failed: " + ErrnoText(errno));
    }
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Status::IoError("fdatasync failed: " + ErrnoText(errno));
    return Status::Ok();
  }

  void DropCache(uint64_t size) override {
    (void)::posix_fadvise(fd_, 0, static_cast<off_t>(size), POSIX_FADV_DONTNEED);
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Status::IoError("ftruncate failed: " + ErrnoText(errno));
    }
    return Status::Ok();
  }

  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IoError(path + ": open failed: " + ErrnoText(errno));
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd));
  }

  Status SyncDir(const std::string& dir) override { return fs::FsyncDir(dir); }

  Result<uint64_t> FreeBytes(const std::string& dir) override {
    struct statvfs st;
    if (::statvfs(dir.c_str(), &st) != 0) {
      return Status::IoError(dir + ": statvfs failed: " + ErrnoText(errno));
    }
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }
};

}  // namespace

FileSystem& FileSystem::Posix() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace sluice::journal
