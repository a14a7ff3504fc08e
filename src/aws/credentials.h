// The one AWS credential and region resolver, shared by the S3 client (objectstore/) and the
// producer library (client/). It lives in a module of its own, below both, because it belongs to
// neither: objectstore/ must not depend on client/ (the server would pull in the producer), and
// client/ must not depend on objectstore/ (`sluice put` and the agent need no object store).
//
// Credentials are looked for in this order, like the AWS CLI/SDKs do:
//   1. explicit values (a store's configured keys), when CredentialSources carries them,
//   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
//   3. unless shared_files is off: the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
//      ~/.aws/credentials), profile AWS_PROFILE (else "default").
// The region: an explicit value, AWS_REGION, AWS_DEFAULT_REGION, unless shared_files is off the
// profile's `region` in the config file (AWS_CONFIG_FILE, else ~/.aws/config), then "us-east-1".
// Secrets never appear in any message. Thread safety: stateless (reads files and the env).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace sluice::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  std::string session_token;      // empty unless temporary credentials
  std::string source;             // where they came from, for messages ("environment", a file path)
};

// Environment lookup seam: production reads getenv; tests pass a map.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

struct CredentialSources {
  // Step 1, used when both are set (REQUIRES: both or neither). `explicit_source` names them in
  // Credentials::source and in the not-found message ("... in the store options").
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string explicit_source;  // empty: there is no step 1
  // Step 3. Off for `sluice put`, `streams` and `replay`, which read only the environment.
  bool shared_files = true;
};

// FailedPrecondition naming every place looked at when no credentials are found, or when a
// source holds only half a key pair.
Result<Credentials> ResolveCredentials(const CredentialSources& sources, const EnvLookup& env);

// `explicit_region` if set, else as in the file comment.
std::string ResolveRegion(const std::string& explicit_region, const EnvLookup& env,
                          bool shared_files = true);

}  // namespace sluice::aws
