// `sluice agent` configuration: YAML → typed, validated structs (docs/agent.md is the reference).
// Strict like src/config: every block has a key table; an unknown key or a bad value is an error
// naming file:line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/aws_json.h"
#include "common/status.h"

namespace sluice::agent {

struct FileInputConfig {
  std::vector<std::string> paths;  // glob patterns (at least one)
  bool start_at_end = false;       // start_at: beginning | end (files seen on the first run only)
  std::string multiline_start;     // ECMAScript regex; empty: one record per line
  // A record without its newline (or a multi-line record) is sent after this long without growth;
  // 0: a partial last line waits for its newline (multi-line: 1000 ms).
  int64_t flush_partial_ms = 0;
  int64_t poll_interval_ms = 250;     // how often files are checked for growth and rotation
  int64_t close_inactive_ms = 5'000;  // a rotated-away or deleted file is closed after this idle
  bool copy_truncate = false;         // match copies (same first bytes) of files truncated
  uint64_t max_record_bytes = 1'000'000;  // longer records are split (counted and logged)
};

struct InputConfig {
  std::string name;  // [a-zA-Z0-9_-]{1,48}
  std::string type;  // file
  FileInputConfig file;
  std::vector<std::string> outputs;  // output names; empty: every output
  int line = 0;
};

struct OutputConfig {
  std::string name;
  client::AwsApi api = client::AwsApi::kKinesis;  // type: kinesis | firehose
  std::string stream;                             // stream / delivery stream name (or ARN)
  std::string endpoint = "http://127.0.0.1:4573";
  std::string region;                // empty: AWS_REGION, AWS_DEFAULT_REGION, us-east-1
  std::string partition_key_field;   // dotted JSON path; empty: a random key per record
  uint32_t max_batch_records = 500;  // 1..500
  double request_timeout_s = 30;
  int64_t backoff_base_ms = 100;
  int64_t backoff_max_ms = 10'000;
  int line = 0;
};

struct AgentConfig {
  std::string state_dir = "./var/agent";  // --state-dir overrides
  uint64_t spool_max_mb = 1024;           // undelivered bytes the spool holds before inputs pause
  double drain_timeout_s = 10;            // SIGTERM: how long outputs keep sending
  std::vector<InputConfig> inputs;
  std::vector<OutputConfig> outputs;
  std::string source_name;
};

Result<AgentConfig> ParseAgentConfig(const std::string& yaml_text, const std::string& source_name);
Result<AgentConfig> LoadAgentConfigFile(const std::string& path);

}  // namespace sluice::agent
