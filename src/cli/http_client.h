// A small blocking HTTP client for the CLI (libcurl easy interface). One HttpClient keeps one
// connection alive across calls, so a `sluice put` run reuses a single TCP connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::cli {

struct HttpResponse {
  long status = 0;  // HTTP status code
  std::string body;
};

// AWS credentials for SigV4 signing. Empty access_key means "send unsigned".
struct AwsCredentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (temporary credentials)
};

// Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Returns empty credentials
// unless both the key id and the secret are set and non-empty.
AwsCredentials CredentialsFromEnvironment();
// The signing region: `flag` if given, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1.
std::string RegionFromFlagOrEnvironment(const std::string& flag);

// Thread safety: none. One client per thread; calls are sequential.
class HttpClient {
 public:
  // Fails only if libcurl cannot create a handle.
  static Result<std::unique_ptr<HttpClient>> Create();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Signs every later request with SigV4 for `service` in `region` (libcurl CURLOPT_AWS_SIGV4),
  // adding X-Amz-Security-Token when the credentials carry a session token.
  void SetSigV4(const std::string& region, const std::string& service, AwsCredentials creds);
  // Bounds connection setup and the whole exchange of each request.
  void SetTimeouts(long connect_timeout_ms, long request_timeout_ms);

  // POSTs `body` to `url` with extra `headers` ("Name: value"). Any HTTP status is a response;
  // a transport failure (refused, reset, timeout) is Unavailable with libcurl's message.
  Result<HttpResponse> Post(const std::string& url, const std::vector<std::string>& headers,
                            std::string_view body);

 private:
  explicit HttpClient(void* curl) : curl_(curl) {}

  void* curl_;  // CURL*, owned
  bool signed_ = false;
  std::string sigv4_provider_;
  AwsCredentials creds_;
  long connect_timeout_ms_ = 10'000;
  long request_timeout_ms_ = 60'000;
};

}  // namespace sluice::cli
