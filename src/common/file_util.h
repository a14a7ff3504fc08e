// Small POSIX file helpers with Status errors. Every durable write in Sluice goes through
// WriteFileAtomically or an explicit fsync: "durable" below means the bytes and the directory
// entry survive a power cut.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::fs {

// Writes `data` to `path` durably and atomically: temp file in the same directory, write, fsync,
// rename over `path`, fsync the directory. Readers see the old or the new content, never a mix.
Status WriteFileAtomically(const std::string& path, std::string_view data);
// Reads a whole file. NotFound if it does not exist.
Result<std::string> ReadFile(const std::string& path);
// fsyncs a directory so that entries created, renamed or removed in it are durable.
Status FsyncDir(const std::string& dir);
// mkdir -p. Durable: each created directory's parent is fsynced.
Status CreateDirs(const std::string& dir);
// Names (not paths) of the entries of `dir`, sorted. NotFound if it does not exist.
Result<std::vector<std::string>> ListDir(const std::string& dir);
bool Exists(const std::string& path);
// Removes a file; OK if it did not exist.
Status RemoveFile(const std::string& path);
// Writes all of `data` to `fd`, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, const std::string& what);
// The directory part of a path ("a/b/c" -> "a/b"; "c" -> ".").
std::string DirName(const std::string& path);
// Joins two path parts with exactly one '/'.
std::string Join(const std::string& a, const std::string& b);
// The absolute, symlink-free form of `path`, which need not exist yet: the longest existing
// ancestor is resolved with realpath(3) (following every symbolic link), the rest is appended
// with "." and ".." segments folded lexically. Relative paths are taken from the working directory.
Result<std::string> ResolvePath(const std::string& path);
// True when `path` is `root` or lies below it. Both must be ResolvePath results (no "..", no
// trailing '/').
bool IsWithin(const std::string& path, const std::string& root);

}  // namespace sluice::fs
