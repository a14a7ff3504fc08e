// A small blocking HTTP client for producers (libcurl easy interface) that signs with SigV4. One
// HttpClient keeps one connection alive across calls, so a `sluice put` run reuses a single TCP
// connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials.h"
#include "common/status.h"

namespace sluice::client {

struct HttpResponse {
  long status = 0;  // HTTP status code
  std::string body;
};

// The producers' credentials, from the one resolver (aws/credentials.h) reading the environment
// only: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Empty credentials (send
// unsigned) unless both the key id and the secret are set and non-empty.
aws::Credentials CredentialsFromEnvironment(const aws::EnvLookup& env = aws::ProcessEnv());
// The signing region: `flag` if given, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
// (aws::ResolveRegion without the shared files).
std::string RegionFromFlagOrEnvironment(const std::string& flag,
                                        const aws::EnvLookup& env = aws::ProcessEnv());

// Thread safety: none. One client per thread; calls are sequential.
class HttpClient {
 public:
  // Fails only if libcurl cannot create a handle.
  static Result<std::unique_ptr<HttpClient>> Create();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Signs every later request with SigV4 for `service` in `region` (libcurl CURLOPT_AWS_SIGV4),
  // adding X-Amz-Security-Token when the credentials carry a session token. Empty credentials:
  // requests stay unsigned.
  void SetSigV4(const std::string& region, const std::string& service, aws::Credentials creds);
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
  aws::Credentials creds_;
  long connect_timeout_ms_ = 10'000;
  long request_timeout_ms_ = 60'000;
};

}  // namespace sluice::client
