// One AWS JSON 1.1 call (`X-Amz-Target: <prefix>.<Operation>`) over HttpClient, with the error
// body decoded: the common transport of the Firehose and Kinesis producers, `sluice streams` and
// `sluice tail`.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "client/http_client.h"
#include "common/status.h"

namespace sluice::client {

// The two APIs Sluice serves, as a client addresses them.
enum class AwsApi { kFirehose, kKinesis };

// "Firehose_20150804" / "Kinesis_20131202".
std::string_view TargetPrefix(AwsApi api);
// The SigV4 service name: "firehose" / "kinesis".
std::string_view SigningService(AwsApi api);

// An answer of the service: any HTTP status. For a non-200 answer, `error_type` is the AWS error
// type with the namespace before '#' and anything after ':' removed (aws-wire-spec.md §1.2), and
// `error_message` its message; both may be empty for a body that is not an AWS error.
struct AwsReply {
  long http_status = 0;
  std::string body;
  std::string error_type;
  std::string error_message;

  bool ok() const { return http_status == 200; }
  // "Type: message (HTTP 400)", or "HTTP 502: <start of the body>" without a type.
  std::string Describe() const;
  // 5xx, 429 or a throttling error type: the same call may succeed later.
  bool Retryable() const;
};

// Decodes an AWS JSON error body into `reply` (error_type, error_message).
void ParseAwsError(AwsReply& reply);

// Thread safety: none; one client per thread, calls are sequential.
class AwsJsonClient {
 public:
  // Signs with SigV4 for the API's service when the environment holds credentials (see
  // CredentialsFromEnvironment); `region` empty means RegionFromFlagOrEnvironment's default.
  static Result<std::unique_ptr<AwsJsonClient>> Create(AwsApi api, std::string endpoint,
                                                       const std::string& region,
                                                       double request_timeout_s = 30);

  // POSTs `body` as operation `operation`. A transport failure (refused, reset, timeout) is
  // Unavailable naming the endpoint; every HTTP answer is a reply.
  Result<AwsReply> Call(std::string_view operation, std::string_view body);

  const std::string& endpoint() const { return endpoint_; }

 private:
  AwsJsonClient(AwsApi api, std::string endpoint, std::unique_ptr<HttpClient> http)
      : api_(api), endpoint_(std::move(endpoint)), http_(std::move(http)) {}

  AwsApi api_;
  std::string endpoint_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace sluice::client
