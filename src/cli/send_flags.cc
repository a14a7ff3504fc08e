#include "cli/send_flags.h"

#include <CLI/CLI.hpp>

namespace sluice::cli {

void AddSendFlags(CLI::App* cmd, client::SendOptions& options) {
  cmd->add_option("--endpoint", options.endpoint,
                  "Firehose (or, with --kinesis, Kinesis) API endpoint URL")
      ->capture_default_str();
  cmd->add_option(
      "--region", options.region,
      "Region for SigV4 signing (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)");
  cmd->add_option("--max-retries", options.max_retries,
                  "Retries per record after the first attempt")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--retry-timeout", options.retry_timeout_s,
                  "Seconds to keep retrying one batch before giving up on its failed records")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--backoff-base-ms", options.backoff_base_ms,
                  "First retry delay in ms; doubles per attempt, with jitter")
      ->capture_default_str()
      ->check(CLI::Range(1, 600'000));
  cmd->add_option("--backoff-max-ms", options.backoff_max_ms, "Largest retry delay in ms")
      ->capture_default_str()
      ->check(CLI::Range(1, 600'000));
  cmd->add_option("--request-timeout", options.request_timeout_s,
                  "Seconds allowed for one HTTP request")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 3600.0));
  cmd->add_flag_callback(
      "--progress", [&options] { options.progress = client::SendOptions::Progress::kAlways; },
      "Always show the progress bar (default: only when stderr is a terminal)");
  cmd->add_flag_callback(
      "--no-progress", [&options] { options.progress = client::SendOptions::Progress::kNever; },
      "Never show the progress bar");
}

}  // namespace sluice::cli
