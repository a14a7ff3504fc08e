// `file://` object store: a bucket is a directory; a key is a relative path under it ('/' makes
// subdirectories). Put writes a temp file, fsyncs, renames, and fsyncs the directory.
#pragma once

#include <string>

#include "objectstore/object_store.h"

namespace sluice::objectstore {

class FileObjectStore : public ObjectStore {
 public:
  // `root` is the bucket directory; created on first Put.
  explicit FileObjectStore(std::string root);
  Status Put(const std::string& key, std::string_view data) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return "file://" + root_; }

 private:
  // InvalidArgument for keys that would escape the root ("..", absolute, empty).
  Result<std::string> PathFor(const std::string& key) const;
  std::string root_;
};

}  // namespace sluice::objectstore
