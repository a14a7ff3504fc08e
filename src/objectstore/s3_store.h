// S3ObjectStore: an ObjectStore on any S3-compatible service, over libcurl with its built-in SigV4
// signer (CURLOPT_AWS_SIGV4, service "s3").
//
// Contract (on top of ObjectStore's):
// - Put sends Content-MD5 so the service rejects corrupted uploads; objects above
//   StoreOptions::multipart_threshold_bytes go up as a multipart upload whose parts are sent at
//   most max_parallel_parts at a time. Any failure aborts the upload (AbortMultipartUpload), so
//   no parts are left behind; the object is visible only after CompleteMultipartUpload succeeds.
// - One attempt per call: Put (a single PutObject), Get, Delete and each List page send one
//   request and return its error, mapped onto Status: Unavailable (5xx, dropped connection,
//   timeout), ResourceExhausted (429, SlowDown), FailedPrecondition (401, 403), NotFound (404),
//   InvalidArgument (any other refusal). Retrying a call is the caller's job: the delivery
//   worker's Retrier is the one layer that retries object puts (design.md §5.6), so retries
//   never nest. The exception is what is inherent to one multipart Put: its sub-requests
//   (CreateMultipartUpload, each UploadPart, CompleteMultipartUpload, AbortMultipartUpload) are
//   retried on Unavailable and ResourceExhausted, up to max_attempts each, with the common
//   Retrier (full-jitter exponential backoff), because redoing the whole upload for one failed
//   part would resend every other part. Messages name the object, the operation and the S3
//   error code, and never contain secrets.
// - Keys are relative to the URL's prefix: s3://bucket/logs + "a/b" is the S3 key "logs/a/b", and
//   List returns keys relative to the prefix too.
// Thread safety: safe for concurrent use; libcurl handles come from an internal pool.
#pragma once

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "aws/credentials.h"
#include "common/mutex.h"
#include "common/retrier.h"
#include "objectstore/object_store.h"

namespace sluice::objectstore {

struct S3Location {
  std::string bucket;
  std::string prefix;  // "" or ends with '/'
};

// Parses "s3://bucket" or "s3://bucket/some/prefix[/]". InvalidArgument otherwise.
Result<S3Location> ParseS3Url(const std::string& url);

// RFC 3986 percent-encoding as SigV4 canonicalizes it: A-Z a-z 0-9 - _ . ~ stay, everything else
// (including every byte of multi-byte UTF-8) becomes %XX; '/' stays when keep_slash.
std::string UriEncode(std::string_view s, bool keep_slash);

// Inverse of the encoding S3 applies to keys with encoding-type=url (%XX, and '+' for space).
std::string UriDecode(std::string_view s);

// A canonical SigV4 query string: parameters sorted by name, names and values URI-encoded, a
// bare key written "key=".
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params);

// The store's credentials from the one resolver (aws/credentials.h), with the options'
// access_key_id / secret_access_key / session_token as its first source ("store options").
Result<aws::Credentials> ResolveStoreCredentials(const StoreOptions& options,
                                                 const aws::EnvLookup& env);
// options.region, else as aws::ResolveRegion.
std::string ResolveStoreRegion(const StoreOptions& options, const aws::EnvLookup& env);

// Test seams.
struct S3Hooks {
  Retrier::SleepFn sleep;  // between retries of multipart sub-requests; null: sleep for real
  uint64_t seed = std::random_device{}();
  int list_page_size = 1000;  // max-keys per ListObjectsV2 page
};

class S3ObjectStore : public ObjectStore {
 public:
  // Resolves credentials and region (ResolveStoreCredentials, ResolveStoreRegion) and validates
  // the URL. Sends nothing.
  static Result<std::unique_ptr<S3ObjectStore>> Create(
      const StoreOptions& options, const aws::EnvLookup& env = aws::ProcessEnv(),
      S3Hooks hooks = {});
  ~S3ObjectStore() override;
  S3ObjectStore(const S3ObjectStore&) = delete;
  S3ObjectStore& operator=(const S3ObjectStore&) = delete;

  Status Put(const std::string& key, std::string_view data) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override;

  // HTTP requests sent so far, retries included.
  int64_t RequestCountForTest() const { return requests_sent_.load(); }

 private:
  struct Request;
  struct Response;
  S3ObjectStore(StoreOptions options, S3Location location, aws::Credentials credentials,
                std::string region, S3Hooks hooks);

  Status PutSingle(const std::string& full_key, std::string_view data);
  Status PutMultipart(const std::string& full_key, std::string_view data);
  Status AbortMultipart(const std::string& full_key, const std::string& upload_id);
  // Sends `request` once; maps HTTP and transport failures onto Status.
  Result<Response> Execute(const Request& request);
  // Execute with retries of Unavailable and ResourceExhausted, up to max_attempts: for the
  // sub-requests of a multipart upload only (see the file comment).
  Result<Response> ExecuteWithRetries(const Request& request);
  // One attempt. Transport failures are Unavailable; any HTTP status is returned as a Response.
  Result<Response> PerformOnce(const Request& request);
  Status ErrorFor(const Request& request, const Response& response) const;
  std::string UrlFor(const Request& request) const;
  std::string Where(const std::string& full_key) const;
  void* AcquireHandle() SLUICE_EXCLUDES(mu_);
  void ReleaseHandle(void* handle) SLUICE_EXCLUDES(mu_);

  const StoreOptions options_;
  const S3Location location_;
  const aws::Credentials credentials_;
  const std::string region_;
  const std::string sigv4_;  // "aws:amz:<region>:s3"
  const std::string
      base_url_;  // scheme://host[:port][/bucket] (path style) or scheme://bucket.host
  S3Hooks hooks_;
  std::atomic<int64_t> requests_sent_{0};
  Retrier multipart_retrier_;
  Mutex mu_;
  std::vector<void*> handles_ SLUICE_GUARDED_BY(mu_);  // idle CURL* easy handles (keep connections)
};

}  // namespace sluice::objectstore
