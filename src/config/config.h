// Sluice's configuration: YAML file → typed, validated structs (docs/config.md is the reference).
// Validation is strict: an unknown key or a bad value is an error naming file:line and the allowed
// values. Defaults and bounds live next to the fields (here and in stream_config.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/policy.h"
#include "common/status.h"
#include "config/stream_config.h"

namespace sluice::config {

// `server.tls:` TLS on the data listener (docs/security.md).
struct TlsConfig {
  std::string cert_file;            // PEM certificate chain, leaf first (required)
  std::string key_file;             // PEM private key (required)
  std::string client_ca_file;       // set: clients must present a certificate signed by this CA
  std::string min_version = "1.2";  // "1.2" | "1.3"
  bool enabled() const { return !cert_file.empty(); }
};

// `server.limits:` what one client may hold or send (docs/security.md, "Limits").
struct LimitsConfig {
  uint64_t max_body_bytes = 8ull << 20;           // any request body
  uint64_t firehose_max_body_bytes = 8ull << 20;  // Firehose_20150804.* requests
  uint64_t kinesis_max_body_bytes = 8ull << 20;   // Kinesis_20131202.* requests
  uint64_t max_header_bytes = 16 * 1024;          // request line + headers
  uint32_t max_header_count = 100;
  uint64_t header_timeout_ms = 10'000;        // a request's headers must arrive within this
  uint64_t body_min_bytes_per_s = 16 * 1024;  // average body rate after header_timeout's grace
  uint64_t idle_timeout_ms = 60'000;          // keep-alive connection with no request
  uint32_t max_connections = 10'000;          // further also bounded by RLIMIT_NOFILE
  uint32_t http2_max_concurrent_streams = 128;
  uint64_t http2_max_buffered_bytes = 16ull << 20;  // request bodies one HTTP/2 connection holds
};

struct ServerConfig {
  std::string listen = "127.0.0.1:4573";  // HOST:PORT; port 0 picks a free port
  // The admin listener (GET /metrics, /healthz, /readyz), separate from the data port:
  // HOST:PORT (port 0 picks a free port), or "" / "off" to disable it.
  std::string admin_listen = "127.0.0.1:4574";
  std::string data_dir = "./var";   // journal, delivery state, default buckets
  uint64_t quota_mb = 10240;        // disk quota for undelivered data (all streams)
  uint64_t segment_mb = 64;         // journal segment size
  uint64_t disk_reserve_mb = 1024;  // free disk kept by deleting delivered segments (0 = off)
  uint32_t io_threads = 2;          // HTTP worker threads
  // Delivery streams in all (config file and API); CreateDeliveryStream past it answers
  // LimitExceededException. Partitions per stream are bounded by StreamConfig (1..64).
  uint32_t max_delivery_streams = 100;
  // Kinesis Data Streams API: how long streams stay CREATING / DELETING / UPDATING (ms; 0 = at
  // once, as kinesalite's --createStreamMs etc., for testing clients' waiters), and the limit of
  // open shards across all Kinesis streams (LimitExceededException past it).
  uint64_t kinesis_create_stream_ms = 0;
  uint64_t kinesis_delete_stream_ms = 0;
  uint64_t kinesis_update_stream_ms = 0;
  uint32_t kinesis_shard_limit = 500;
  // New Kinesis streams enforce AWS's per-shard write limits (1 MiB/s, 1,000 records/s; records
  // past them get ProvisionedThroughputExceededException), for testing clients' retry logic.
  bool kinesis_enforce_shard_limits = false;
  bool sync = true;                  // fdatasync before acknowledging (never off in production)
  std::string region = "us-east-1";  // for ARNs
  std::string account_id = "000000000000";
  std::string log_level = "info";   // trace|debug|info|warn|error
  std::string log_format = "text";  // text | json (one JSON object per line)
  TlsConfig tls;                    // unset cert_file: plain HTTP
  LimitsConfig limits;
};

// One access key of the `auth:` block. `secret` and `session_token` are ${secret:...} references
// (a literal secret in the file is refused), resolved when the server starts or reloads.
struct AuthKeyConfig {
  std::string id;             // the access key id (AKIA..., ASIA... for temporary credentials)
  std::string secret;         // ${secret:...} reference to the secret access key
  std::string session_token;  // temporary credentials: ${secret:...} reference (optional)
  std::string user;           // principal name: arn:aws:iam::<account_id>:user/<user>
  auth::Policy policy;        // IAM policy subset; no statement = nothing allowed
};

// The `auth:` block (docs/security.md). Present = every request must be SigV4-signed.
struct AuthConfig {
  bool enabled = false;              // true when the file has an `auth:` block
  std::vector<std::string> regions;  // credential-scope regions accepted (default: server.region)
  uint32_t max_clock_skew_s = 300;   // 1..900; AWS's JSON services allow 300
  std::vector<AuthKeyConfig> keys;
};

struct Config {
  ServerConfig server;
  AuthConfig auth;
  std::vector<StreamConfig> streams;
  std::string source_name;  // the file it came from, for messages ("<defaults>" when none)
};

// Parses YAML text. `source_name` is used in error messages ("sluice.yaml:12: ...").
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name);
// Reads and parses a file.
Result<Config> LoadConfigFile(const std::string& path);
// The embedded defaults (no streams; data under ./var).
Config DefaultConfig();

// One key of a config block's schema table (Fluent Bit's config_map): its name and meaning.
struct ConfigKey {
  std::string name;
  std::string help;
};
// The `warehouse:` block's keys, in the order docs/config.md lists them (a test checks the docs).
std::vector<ConfigKey> WarehouseConfigKeys();

// Parses an IAM policy document (JSON text, or the same as YAML) into `out`: Version (optional),
// Statement (one object or a list) with Effect Allow|Deny, Action and Resource (string or list).
// `source_name` prefixes errors ("sluice.yaml:12: ..."; line 0 for plain text).
Status ParsePolicy(const std::string& text, const std::string& source_name, auth::Policy& out);

// Validates a stream (name pattern, buffering bounds, prefixes, URLs). Used for config-file streams
// and API-created ones alike.
Status ValidateStream(const StreamConfig& stream);
// Firehose bounds a prefix at 1,024 characters as given and 512 once evaluated.
inline constexpr size_t kMaxPrefixChars = 1024;
inline constexpr size_t kMaxEvaluatedPrefixChars = 512;
// Checks a Firehose prefix expression as CreateDeliveryStream does, plus what an object key can
// hold: at most 1,024 characters, no control characters, valid !{...} expressions and timestamp
// patterns, and, evaluated, at most 512 characters and no empty, '.' or '..' folder.
// `is_error_prefix` allows !{firehose:error-output-type}.
Status ValidatePrefix(const std::string& prefix, bool is_error_prefix);
// S3's bucket naming rules: 3-63 characters of lowercase letters, digits, '.' and '-', beginning
// and ending with a letter or digit, no "..", not an IP address, no reserved prefix or suffix.
// InvalidArgument says which rule the name breaks.
Status ValidateBucketName(std::string_view name);

// A stream created through the Firehose API can hold only what that API expresses: destinations
// are bucket://<valid bucket name> (directories under <data_dir>/buckets), no warehouse, raw
// format, Firehose processor types only, and no ${secret:...} reference anywhere. Checked when
// such a stream is created and again when its persisted definition is loaded, so a definition
// file that was tampered with cannot name a file:// directory or run a command.
Status ValidateApiExpressible(const StreamConfig& stream);

// One stream as a YAML document in the config-file schema plus its state (`version`,
// `create_timestamp_ms`, `from_api`: keys only these files hold, never the config file); used to
// persist API-created streams, and ParseStreamYaml reads it back.
std::string StreamToYaml(const StreamConfig& stream, const StreamState& state = {});
Result<StreamDefinition> ParseStreamYaml(const std::string& yaml_text,
                                         const std::string& source_name);

// True if `name` matches [a-zA-Z0-9_.-]{1,64} and is not "." or ".." (reserved: names become
// directories).
bool IsValidStreamName(const std::string& name);
// A Kinesis stream name (a delivery stream's kinesis_stream source): [a-zA-Z0-9_.-]{1,128}.
bool IsValidKinesisStreamName(const std::string& name);
bool IsReservedStreamName(std::string_view name);
// The message for a name IsValidStreamName refuses.
std::string StreamNameError(const std::string& name);

}  // namespace sluice::config
