// ObjectStore: where delivered objects land. A seam: `file://` directories and S3-compatible
// stores implement it; tests inject faulty ones.
//
// Contract of Put: when it returns OK the object is durable and visible whole under `key`, never
// partially. Put is idempotent: putting the same key again replaces it atomically (delivery is
// at-least-once with deterministic keys, so a redelivery rewrites the same bytes).
// Thread safety: implementations are safe for concurrent use by several delivery workers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::objectstore {

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  [[nodiscard]] virtual Status Put(const std::string& key, std::string_view data) = 0;
  virtual Result<std::string> Get(const std::string& key) = 0;
  // Keys starting with `prefix`, sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;
  [[nodiscard]] virtual Status Delete(const std::string& key) = 0;
  // Human-readable location for logs ("file:///abs/var/buckets/staging", "s3://bucket").
  virtual std::string Describe() const = 0;
};

// Options for opening a store from a URL.
struct StoreOptions {
  std::string url;  // file://<dir> (relative dirs resolve against base_dir) or s3://bucket[/prefix]
  std::string base_dir;  // for relative file:// URLs
  std::string endpoint;  // S3: http(s)://host:port; empty = AWS
  // S3: empty = AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1.
  std::string region;
  bool path_style = false;
  std::string access_key_id;      // S3: empty = from the environment / shared files
  std::string secret_access_key;  // never logged
  std::string session_token;
  // S3 tuning. Objects larger than the threshold use multipart upload in parts of part_size
  // (AWS requires parts >= 5 MiB except the last), at most max_parallel_parts at once.
  size_t multipart_threshold_bytes = size_t{16} << 20;
  size_t part_size_bytes = size_t{8} << 20;
  int max_parallel_parts = 4;
  int max_attempts = 5;  // per multipart sub-request, including the first (see s3_store.h)
  int connect_timeout_ms = 5'000;  // TCP + TLS connect
  int low_speed_timeout_s = 30;    // abort a transfer that moves < 1 byte/s for this long
};

// Opens a store for `options.url`. InvalidArgument for an unknown scheme, naming the allowed ones.
Result<std::unique_ptr<ObjectStore>> Open(const StoreOptions& options);

}  // namespace sluice::objectstore
