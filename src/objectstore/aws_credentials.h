// AWS credentials and region for the S3 client, resolved like the AWS CLI/SDKs do:
//   1. explicit values in StoreOptions,
//   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
//      AWS_REGION / AWS_DEFAULT_REGION,
//   3. the shared files: credentials (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and
//      config (AWS_CONFIG_FILE, else ~/.aws/config), profile AWS_PROFILE (else "default").
// The region falls back to "us-east-1". Secrets never appear in any message.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "objectstore/object_store.h"

namespace sluice::objectstore {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  std::string session_token;      // empty unless temporary credentials
  std::string source;             // where they came from, for messages ("environment", a file path)
};

// Environment lookup seam: production reads getenv; tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// FailedPrecondition naming every place looked at when no credentials are found, or when a
// source holds only half a key pair.
Result<AwsCredentials> ResolveCredentials(const StoreOptions& options, const EnvLookup& env);

// options.region, else AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, "us-east-1".
std::string ResolveRegion(const StoreOptions& options, const EnvLookup& env);

}  // namespace sluice::objectstore
