#include <memory>

#include "objectstore/file_store.h"
#include "objectstore/object_store.h"
#include "objectstore/s3_store.h"

namespace sluice::objectstore {

Result<std::unique_ptr<ObjectStore>> Open(const StoreOptions& options) {
  const std::string& url = options.url;
  if (url.rfind("file://", 0) == 0) {
    std::string dir = url.substr(7);
    if (dir.empty())
      return Status::InvalidArgument("object store URL '" + url + "' names no directory");
    if (dir.front() != '/' && !options.base_dir.empty()) {
      if (dir.rfind("./", 0) == 0) dir = dir.substr(2);
      dir = options.base_dir + "/" + dir;
    }
    return std::unique_ptr<ObjectStore>(std::make_unique<FileObjectStore>(dir));
  }
  if (url.rfind("s3://", 0) == 0) {
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<S3ObjectStore> store, S3ObjectStore::Create(options));
    return std::unique_ptr<ObjectStore>(std::move(store));
  }
  return Status::InvalidArgument(
      "object store URL '" + url +
      "' has an unsupported scheme; use file://<directory> or s3://<bucket>[/<prefix>]");
}

}  // namespace sluice::objectstore
