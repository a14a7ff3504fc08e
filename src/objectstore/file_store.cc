#include "objectstore/file_store.h"

#include <sys/stat.h>

#include <functional>

#include "common/file_util.h"

namespace sluice::objectstore {

FileObjectStore::FileObjectStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Result<std::string> FileObjectStore::PathFor(const std::string& key) const {
  if (key.empty() || key.front() == '/' || key.back() == '/') {
    return Status::InvalidArgument("object key '" + key +
                                   "' must be non-empty and not start or end with '/'");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    std::string_view part(key.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return Status::InvalidArgument("object key '" + key + "' has an empty, '.' or '..' segment");
    }
    start = end + 1;
  }
  return fs::Join(root_, key);
}

Status FileObjectStore::Put(const std::string& key, std::string_view data) {
  SLUICE_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(fs::DirName(path)));
  return fs::WriteFileAtomically(path, data);
}

Result<std::string> FileObjectStore::Get(const std::string& key) {
  SLUICE_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  return fs::ReadFile(path);
}

Result<std::vector<std::string>> FileObjectStore::List(const std::string& prefix) {
  std::vector<std::string> keys;
  std::function<Status(const std::string&, const std::string&)> walk =
      [&](const std::string& dir, const std::string& rel) -> Status {
    auto names = fs::ListDir(dir);
    if (!names.ok()) {
      if (names.status().code() == StatusCode::kNotFound) return Status::Ok();
      return names.status();
    }
    for (const auto& name : *names) {
      if (name.find(".tmp.") != std::string::npos) continue;  // an in-flight Put
      std::string full = fs::Join(dir, name);
      std::string key = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      if (::stat(full.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        SLUICE_RETURN_IF_ERROR(walk(full, key));
      } else if (key.compare(0, prefix.size(), prefix) == 0) {
        keys.push_back(key);
      }
    }
    return Status::Ok();
  };
  SLUICE_RETURN_IF_ERROR(walk(root_, ""));
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status FileObjectStore::Delete(const std::string& key) {
  SLUICE_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  return fs::RemoveFile(path);
}

}  // namespace sluice::objectstore
