#include "client/aws_json.h"

#include <simdjson.h>

namespace sluice::client {

std::string_view TargetPrefix(AwsApi api) {
  return api == AwsApi::kKinesis ? "Kinesis_20131202" : "Firehose_20150804";
}

std::string_view SigningService(AwsApi api) {
  return api == AwsApi::kKinesis ? "kinesis" : "firehose";
}

void ParseAwsError(AwsReply& reply) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string type;
  std::string message;
  if (!parser.parse(reply.body).get(doc)) {
    std::string_view value;
    if (!doc["__type"].get(value) || !doc["code"].get(value)) type = std::string(value);
    if (!doc["message"].get(value) || !doc["Message"].get(value)) message = std::string(value);
  }
  // Clients strip a namespace before '#' and anything after ':' (aws-wire-spec.md §1.2).
  if (auto hash = type.find('#'); hash != std::string::npos) type.erase(0, hash + 1);
  if (auto colon = type.find(':'); colon != std::string::npos) type.erase(colon);
  reply.error_type = std::move(type);
  reply.error_message = std::move(message);
}

std::string AwsReply::Describe() const {
  const std::string status = "HTTP " + std::to_string(http_status);
  std::string text = error_type.empty() ? status : error_type;
  if (!error_message.empty()) {
    text += ": " + error_message;
  } else if (error_type.empty() && !body.empty()) {
    text += ": " + body.substr(0, 200);
  }
  if (!error_type.empty()) text += " (" + status + ")";
  return text;
}

bool AwsReply::Retryable() const {
  const std::string& t = error_type;
  return http_status >= 500 || http_status == 429 || t == "ServiceUnavailableException" ||
         t == "ThrottlingException" || t == "Throttling" ||
         t == "ProvisionedThroughputExceededException" || t == "RequestLimitExceeded" ||
         t == "SlowDown";
}

Result<std::unique_ptr<AwsJsonClient>> AwsJsonClient::Create(AwsApi api, std::string endpoint,
                                                             const std::string& region,
                                                             double request_timeout_s) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, HttpClient::Create());
  http->SetSigV4(RegionFromFlagOrEnvironment(region), std::string(SigningService(api)),
                 CredentialsFromEnvironment());
  http->SetTimeouts(10'000, static_cast<long>(request_timeout_s * 1000.0));
  return std::unique_ptr<AwsJsonClient>(
      new AwsJsonClient(api, std::move(endpoint), std::move(http)));
}

Result<AwsReply> AwsJsonClient::Call(std::string_view operation, std::string_view body) {
  const std::string target =
      "X-Amz-Target: " + std::string(TargetPrefix(api_)) + "." + std::string(operation);
  SLUICE_ASSIGN_OR_RETURN(
      HttpResponse response,
      http_->Post(endpoint_, {"Content-Type: application/x-amz-json-1.1", target}, body));
  AwsReply reply;
  reply.http_status = response.status;
  reply.body = std::move(response.body);
  if (!reply.ok()) ParseAwsError(reply);
  return reply;
}

}  // namespace sluice::client
