// `sluice streams list|describe|create|delete`: the Firehose control plane from the shell, over the
// same HTTP API the AWS SDKs use.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

namespace sluice::cli {

struct StreamsOptions {
  std::string endpoint = "http://127.0.0.1:4573";
  std::string region;
  std::string action;  // list | describe | create | delete (set by the chosen subcommand)
  std::string name;
  std::string bucket;        // create: BucketARN arn:aws:s3:::<bucket> (default: the name)
  std::string prefix;        // create: Prefix
  std::string error_prefix;  // create: ErrorOutputPrefix
  int size_mb = 5;           // create: BufferingHints.SizeInMBs
  int interval_s = 300;      // create: BufferingHints.IntervalInSeconds
  std::string compression = "UNCOMPRESSED";
};

// Adds `streams` with its four subcommands; `options.action` tells which one ran.
CLI::App* AddStreamsCommand(CLI::App& app, StreamsOptions& options);
// Runs the chosen action; prints results on `out` and errors on `err`. Returns the exit code.
int RunStreams(const StreamsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
