#include "common/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>

namespace sluice::fs {

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(what + ": write failed", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

Result<std::string> ResolvePath(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty path");
  std::string abs = path;
  if (abs.front() != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) {
      return Status::FromErrno("getcwd failed", errno);
    }
    abs = Join(cwd, abs);
  }
  // Split into segments, folding "." and "..".
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= abs.size()) {
    size_t end = abs.find('/', start);
    if (end == std::string::npos) end = abs.size();
    std::string part = abs.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    start = end + 1;
  }
  // The longest existing ancestor, resolved by the kernel (symlinks included); then the rest.
  for (size_t n = parts.size() + 1; n-- > 0;) {
    std::string prefix = "/";
    for (size_t i = 0; i < n; ++i) prefix = Join(prefix, parts[i]);
    char resolved[PATH_MAX];
    if (::realpath(prefix.c_str(), resolved) == nullptr) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return Status::FromErrno(prefix + ": cannot resolve", errno);
    }
    std::string out = resolved;
    for (size_t i = n; i < parts.size(); ++i) out = Join(out, parts[i]);
    return out;
  }
  return Status::IoError("cannot resolve " + path);
}

bool IsWithin(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  if (path.size() < root.size() || path.compare(0, root.size(), root) != 0) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(dir + ": open directory failed", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::FromErrno(dir + ": fsync directory failed", err);
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(tmp + ": create failed", errno);
  Status st = WriteAll(fd, data, tmp);
  if (st.ok() && ::fdatasync(fd) != 0) st = Status::FromErrno(tmp + ": fdatasync failed", errno);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::FromErrno(path + ": rename failed", errno);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(DirName(path));
}

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::FromErrno(path + ": open failed", errno);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::FromErrno(path + ": read failed", err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status CreateDirs(const std::string& dir) {
  if (dir.empty() || Exists(dir)) return Status::Ok();
  std::string parent = DirName(dir);
  if (parent != dir) SLUICE_RETURN_IF_ERROR(CreateDirs(parent));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(dir + ": mkdir failed", errno);
  }
  return FsyncDir(parent);
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::NotFound(dir + ": no such directory");
    return Status::FromErrno(dir + ": opendir failed", errno);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(path + ": unlink failed", errno);
  }
  return Status::Ok();
}

}  // namespace sluice::fs
