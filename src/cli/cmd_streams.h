// `sluice streams list|describe|create|delete`: the Firehose and Kinesis Data Streams control
// planes from the shell, over the same HTTP APIs the AWS SDKs use (client/aws_json.h). `list`
// shows both kinds; describe, create and delete address a delivery stream, or a Kinesis stream
// with --kinesis.
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
  bool kinesis = false;      // describe/create/delete: a Kinesis data stream
  int shards = 0;            // create --kinesis: ShardCount (0: 1, unless --on-demand)
  bool on_demand = false;    // create --kinesis: StreamMode ON_DEMAND
  std::string kind = "all";  // list: all | delivery | kinesis
};

// Adds `streams` with its four subcommands; `options.action` tells which one ran.
CLI::App* AddStreamsCommand(CLI::App& app, StreamsOptions& options);
// Runs the chosen action; prints results on `out` and errors on `err`. Returns the exit code.
int RunStreams(const StreamsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
