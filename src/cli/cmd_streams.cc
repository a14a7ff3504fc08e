#include "cli/cmd_streams.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <utility>
#include <vector>

#include "client/aws_json.h"
#include "common/json_writer.h"
#include "config/config.h"

namespace sluice::cli {
namespace {

// Calls one operation of `api`; returns the response body, or prints the AWS error and fails.
// `not_found`, if given, is set instead of printing when the answer is ResourceNotFoundException.
bool Call(const StreamsOptions& o, client::AwsApi api, const std::string& op,
          const std::string& body, std::string& response, std::ostream& err,
          bool* not_found = nullptr) {
  auto http = client::AwsJsonClient::Create(api, o.endpoint + "/", o.region);
  if (!http.ok()) {
    err << "sluice streams: " << http.status().message() << "\n";
    return false;
  }
  auto r = (*http)->Call(op, body);
  if (!r.ok()) {
    err << "sluice streams: " << op << " to " << o.endpoint << " failed: " << r.status().message()
        << "\n(is `sluice serve` running there? use --endpoint)\n";
    return false;
  }
  if (!r->ok()) {
    if (not_found != nullptr && r->error_type == "ResourceNotFoundException") {
      *not_found = true;
      return false;
    }
    err << "sluice streams: " << op << ": "
        << (r->error_type.empty() ? "HTTP " + std::to_string(r->http_status) : r->error_type)
        << ": " << (r->error_message.empty() ? r->body : r->error_message) << "\n";
    return false;
  }
  response = std::move(r->body);
  return true;
}

bool CallKinesis(const StreamsOptions& o, const std::string& op, const std::string& body,
                 std::string& response, std::ostream& err, bool* not_found = nullptr) {
  return Call(o, client::AwsApi::kKinesis, op, body, response, err, not_found);
}

std::string StreamNameBody(const std::string& name) {
  json::Writer w;
  w.BeginObject();
  w.Key("StreamName");
  w.String(name);
  w.EndObject();
  return w.Take();
}

// Appends every name of a paged List* call: `names_key` holds the page, `more_key` says whether
// another follows, which starts after the page's last name (`start_key`).
bool ListNames(const StreamsOptions& o, client::AwsApi api, const std::string& op,
               const char* start_key, const char* names_key, const char* more_key,
               std::vector<std::string>& names, std::ostream& err) {
  std::string start;
  for (;;) {
    json::Writer w;
    w.BeginObject();
    w.Key("Limit");
    w.Int(api == client::AwsApi::kKinesis ? 1000 : 10000);
    if (!start.empty()) {
      w.Key(start_key);
      w.String(start);
    }
    w.EndObject();
    std::string response;
    if (!Call(o, api, op, w.str(), response, err)) return false;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array page;
    if (parser.parse(response).get(doc) != simdjson::SUCCESS ||
        doc[names_key].get(page) != simdjson::SUCCESS) {
      err << "sluice streams: unexpected " << op << " response: " << response << "\n";
      return false;
    }
    for (auto n : page) {
      std::string_view s;
      if (n.get(s) == simdjson::SUCCESS) {
        names.emplace_back(s);
        start = std::string(s);
      }
    }
    bool more = false;
    if (doc[more_key].get(more) != simdjson::SUCCESS || !more || page.size() == 0) return true;
  }
}

// NAME and KIND columns, delivery streams first.
int RunList(const StreamsOptions& o, std::ostream& out, std::ostream& err) {
  std::vector<std::pair<std::string, std::string>> rows;
  if (o.kind != "kinesis") {
    std::vector<std::string> names;
    if (!ListNames(o, client::AwsApi::kFirehose, "ListDeliveryStreams",
                   "ExclusiveStartDeliveryStreamName", "DeliveryStreamNames",
                   "HasMoreDeliveryStreams", names, err)) {
      return 1;
    }
    for (auto& n : names) rows.emplace_back(std::move(n), "delivery");
  }
  if (o.kind != "delivery") {
    std::vector<std::string> names;
    if (!ListNames(o, client::AwsApi::kKinesis, "ListStreams", "ExclusiveStartStreamName",
                   "StreamNames", "HasMoreStreams", names, err)) {
      return 1;
    }
    for (auto& n : names) rows.emplace_back(std::move(n), "kinesis");
  }
  size_t width = 4;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  auto pad = [width](const std::string& s) { return s + std::string(width + 2 - s.size(), ' '); };
  out << pad("NAME") << "KIND\n";
  for (const auto& [name, kind] : rows) out << pad(name) << kind << "\n";
  return 0;
}

// {"StreamDescriptionSummary": {...}, "Shards": [...every shard, open and closed]}.
int DescribeKinesis(const StreamsOptions& o, std::ostream& out, std::ostream& err) {
  std::string summary;
  if (!CallKinesis(o, "DescribeStreamSummary", StreamNameBody(o.name), summary, err)) return 1;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::element summary_object;
  if (parser.parse(summary).get(doc) || doc["StreamDescriptionSummary"].get(summary_object)) {
    err << "sluice streams: unexpected DescribeStreamSummary response: " << summary << "\n";
    return 1;
  }
  std::string described =
      "{\"StreamDescriptionSummary\":" + simdjson::minify(summary_object) + ",\"Shards\":[";
  std::string token;
  bool first = true;
  do {
    json::Writer w;
    w.BeginObject();
    if (token.empty()) {
      w.Key("StreamName");
      w.String(o.name);
    } else {
      w.Key("NextToken");
      w.String(token);
    }
    w.EndObject();
    std::string page;
    if (!CallKinesis(o, "ListShards", w.str(), page, err)) return 1;
    simdjson::dom::parser page_parser;
    simdjson::dom::element page_doc;
    simdjson::dom::array shards;
    if (page_parser.parse(page).get(page_doc) || page_doc["Shards"].get(shards)) {
      err << "sluice streams: unexpected ListShards response: " << page << "\n";
      return 1;
    }
    for (simdjson::dom::element shard : shards) {
      if (!first) described += ',';
      first = false;
      described += simdjson::minify(shard);
    }
    std::string_view next;
    token = page_doc["NextToken"].get(next) ? std::string() : std::string(next);
  } while (!token.empty());
  out << described << "]}\n";
  return 0;
}

int CreateKinesis(const StreamsOptions& o, std::ostream& out, std::ostream& err) {
  if (o.on_demand && o.shards > 0) {
    err << "sluice streams: --shards and --on-demand exclude each other (an ON_DEMAND stream "
           "sizes itself)\n";
    return 2;
  }
  json::Writer w;
  w.BeginObject();
  w.Key("StreamName");
  w.String(o.name);
  if (!o.on_demand) {
    w.Key("ShardCount");
    w.Int(o.shards > 0 ? o.shards : 1);
  }
  w.Key("StreamModeDetails");
  w.BeginObject();
  w.Key("StreamMode");
  w.String(o.on_demand ? "ON_DEMAND" : "PROVISIONED");
  w.EndObject();
  w.EndObject();
  std::string response;
  if (!CallKinesis(o, "CreateStream", w.str(), response, err)) return 1;
  // CreateStream answers nothing; the summary has the ARN.
  if (!CallKinesis(o, "DescribeStreamSummary", StreamNameBody(o.name), response, err)) return 1;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view arn;
  if (!parser.parse(response).get(doc) && !doc["StreamDescriptionSummary"]["StreamARN"].get(arn)) {
    out << arn << "\n";
  }
  return 0;
}

// For a delivery stream that does not exist: says so, and points at --kinesis if a Kinesis
// stream of that name exists.
void ExplainMissingDeliveryStream(const StreamsOptions& o, const std::string& op,
                                  std::ostream& err) {
  err << "sluice streams: " << op << ": ResourceNotFoundException: no delivery stream '" << o.name
      << "'";
  std::string ignored;
  bool not_found = false;
  std::ostringstream quiet;
  if (CallKinesis(o, "DescribeStreamSummary", StreamNameBody(o.name), ignored, quiet, &not_found)) {
    err << " (there is a Kinesis stream of that name: add --kinesis)";
  }
  err << "\n";
}

}  // namespace

CLI::App* AddStreamsCommand(CLI::App& app, StreamsOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "streams", "List, describe, create and delete delivery streams and Kinesis data streams");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --endpoint/--region may also follow the action
  cmd->add_option("--endpoint", o.endpoint,
                  "Sluice (or Firehose, or with --kinesis Kinesis) endpoint URL")
      ->capture_default_str();
  cmd->add_option("--region", o.region,
                  "Region for SigV4 signing (default: AWS_REGION or us-east-1)");
  auto* list = cmd->add_subcommand(
      "list", "List delivery streams and Kinesis data streams (NAME and KIND columns)");
  list->add_option("--kind", o.kind,
                   "all, delivery or kinesis (against AWS, one endpoint serves "
                   "one kind)")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "delivery", "kinesis"}));
  list->fallthrough()->callback([&o] { o.action = "list"; });
  auto* describe = cmd->add_subcommand(
      "describe",
      "Print a delivery stream's DeliveryStreamDescription (JSON); with --kinesis a Kinesis "
      "stream's StreamDescriptionSummary (status, mode, retention) and Shards (JSON)");
  describe->add_option("name", o.name, "Stream name")->required();
  describe->add_flag("--kinesis", o.kinesis, "NAME is a Kinesis data stream");
  describe->fallthrough();
  describe->callback([&o] { o.action = "describe"; });
  auto* create = cmd->add_subcommand(
      "create",
      "Create a DirectPut delivery stream delivering to a bucket, or with --kinesis a Kinesis data "
      "stream; prints its ARN");
  create
      ->add_option("name", o.name,
                   "Stream name ([a-zA-Z0-9_.-]{1,64}; Kinesis: up to 128 characters)")
      ->required();
  create->add_flag("--kinesis", o.kinesis, "Create a Kinesis data stream");
  create
      ->add_option("--shards", o.shards,
                   "--kinesis: ShardCount of a PROVISIONED stream (default 1)")
      ->check(CLI::Range(1, 100000));
  create->add_flag("--on-demand", o.on_demand,
                   "--kinesis: an ON_DEMAND stream (it starts with 4 shards and splits and merges "
                   "them with the write rate)");
  create->add_option("--bucket", o.bucket, "Destination bucket (default: the stream name)");
  create->add_option("--prefix", o.prefix, "S3 Prefix expression (default: YYYY/MM/dd/HH/)");
  create->add_option("--error-prefix", o.error_prefix, "ErrorOutputPrefix expression");
  create->add_option("--size-mb", o.size_mb, "BufferingHints.SizeInMBs (1-128)")
      ->capture_default_str();
  create->add_option("--interval-s", o.interval_s, "BufferingHints.IntervalInSeconds (0-900)")
      ->capture_default_str();
  create->add_option("--compression", o.compression, "CompressionFormat")->capture_default_str();
  create->fallthrough();
  create->callback([&o] { o.action = "create"; });
  auto* del = cmd->add_subcommand(
      "delete",
      "Delete a delivery stream created through the API, or with --kinesis a Kinesis "
      "data stream");
  del->add_option("name", o.name, "Stream name")->required();
  del->add_flag("--kinesis", o.kinesis, "NAME is a Kinesis data stream");
  del->fallthrough();
  del->callback([&o] { o.action = "delete"; });
  return cmd;
}

int RunStreams(const StreamsOptions& o, std::ostream& out, std::ostream& err) {
  std::string response;
  if (o.action == "list") return RunList(o, out, err);
  if (!o.kinesis && (o.shards > 0 || o.on_demand)) {
    err << "sluice streams: --shards and --on-demand need --kinesis\n";
    return 2;
  }
  if (o.kinesis) {
    if (o.action == "describe") return DescribeKinesis(o, out, err);
    if (o.action == "create") return CreateKinesis(o, out, err);
    if (!CallKinesis(o, "DeleteStream", StreamNameBody(o.name), response, err)) return 1;
    out << "deleted " << o.name << "\n";
    return 0;
  }
  const std::string bucket = o.bucket.empty() ? o.name : o.bucket;
  if (o.action == "create") {
    if (Status st = config::ValidateBucketName(bucket); !st.ok()) {
      err << "sluice streams: " << st.message()
          << (o.bucket.empty() ? " (without --bucket the bucket is named after the stream; give "
                                 "--bucket NAME)"
                               : "")
          << "\n";
      return 2;
    }
  }
  json::Writer w;
  w.BeginObject();
  w.Key("DeliveryStreamName");
  w.String(o.name);
  if (o.action == "create") {
    w.Key("DeliveryStreamType");
    w.String("DirectPut");
    w.Key("ExtendedS3DestinationConfiguration");
    w.BeginObject();
    w.Key("RoleARN");
    w.String("arn:aws:iam::000000000000:role/sluice");
    w.Key("BucketARN");
    w.String("arn:aws:s3:::" + bucket);
    if (!o.prefix.empty()) {
      w.Key("Prefix");
      w.String(o.prefix);
    }
    if (!o.error_prefix.empty()) {
      w.Key("ErrorOutputPrefix");
      w.String(o.error_prefix);
    }
    w.Key("BufferingHints");
    w.BeginObject();
    w.Key("SizeInMBs");
    w.Int(o.size_mb);
    w.Key("IntervalInSeconds");
    w.Int(o.interval_s);
    w.EndObject();
    w.Key("CompressionFormat");
    w.String(o.compression);
    w.EndObject();
  }
  w.EndObject();
  const std::string op = o.action == "describe" ? "DescribeDeliveryStream"
                         : o.action == "create" ? "CreateDeliveryStream"
                                                : "DeleteDeliveryStream";
  bool not_found = false;
  if (!Call(o, client::AwsApi::kFirehose, op, w.str(), response, err,
            o.action == "create" ? nullptr : &not_found)) {
    if (not_found) ExplainMissingDeliveryStream(o, op, err);
    return 1;
  }
  if (o.action == "describe") {
    out << response << "\n";
  } else if (o.action == "create") {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view arn;
    if (parser.parse(response).get(doc) == simdjson::SUCCESS &&
        doc["DeliveryStreamARN"].get(arn) == simdjson::SUCCESS) {
      out << arn << "\n";
    }
  } else {
    out << "deleted " << o.name << "\n";
  }
  return 0;
}

}  // namespace sluice::cli
