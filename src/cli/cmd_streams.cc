#include "cli/cmd_streams.h"

#include <simdjson.h>

#include <cstdlib>

#include "client/http_client.h"
#include "common/json_writer.h"
#include "config/config.h"

namespace sluice::cli {
namespace {

// Calls one Firehose operation; returns the response body, or prints the AWS error and fails.
bool Call(const StreamsOptions& o, const std::string& op, const std::string& body,
          std::string& response, std::ostream& err) {
  auto http = client::HttpClient::Create();
  if (!http.ok()) {
    err << "sluice streams: " << http.status().message() << "\n";
    return false;
  }
  aws::Credentials creds = client::CredentialsFromEnvironment();
  if (!creds.access_key_id.empty())
    (*http)->SetSigV4(client::RegionFromFlagOrEnvironment(o.region), "firehose", creds);
  auto r = (*http)->Post(
      o.endpoint + "/",
      {"Content-Type: application/x-amz-json-1.1", "X-Amz-Target: Firehose_20150804." + op}, body);
  if (!r.ok()) {
    err << "sluice streams: " << op << " to " << o.endpoint << " failed: " << r.status().message()
        << "\n(is `sluice serve` running there? use --endpoint)\n";
    return false;
  }
  if (r->status != 200) {
    std::string type = "HTTP " + std::to_string(r->status), message = r->body;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r->body).get(doc) == simdjson::SUCCESS) {
      std::string_view t, m;
      if (doc["__type"].get(t) == simdjson::SUCCESS) type = std::string(t);
      if (doc["message"].get(m) == simdjson::SUCCESS) message = std::string(m);
    }
    err << "sluice streams: " << op << ": " << type << ": " << message << "\n";
    return false;
  }
  response = std::move(r->body);
  return true;
}

}  // namespace

CLI::App* AddStreamsCommand(CLI::App& app, StreamsOptions& o) {
  CLI::App* cmd =
      app.add_subcommand("streams", "List, describe, create and delete delivery streams");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // --endpoint/--region may also follow the action
  cmd->add_option("--endpoint", o.endpoint, "Sluice (or Firehose) endpoint URL")
      ->capture_default_str();
  cmd->add_option("--region", o.region,
                  "Region for SigV4 signing (default: AWS_REGION or us-east-1)");
  cmd->add_subcommand("list", "List delivery stream names")->fallthrough()->callback([&o] {
    o.action = "list";
  });
  auto* describe =
      cmd->add_subcommand("describe", "Print a stream's DeliveryStreamDescription (JSON)");
  describe->add_option("name", o.name, "Stream name")->required();
  describe->fallthrough();
  describe->callback([&o] { o.action = "describe"; });
  auto* create = cmd->add_subcommand("create", "Create a DirectPut stream delivering to a bucket");
  create->add_option("name", o.name, "Stream name ([a-zA-Z0-9_.-]{1,64})")->required();
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
  auto* del = cmd->add_subcommand("delete", "Delete a stream created through the API");
  del->add_option("name", o.name, "Stream name")->required();
  del->fallthrough();
  del->callback([&o] { o.action = "delete"; });
  return cmd;
}

int RunStreams(const StreamsOptions& o, std::ostream& out, std::ostream& err) {
  std::string response;
  if (o.action == "list") {
    std::string start;
    for (;;) {
      json::Writer w;
      w.BeginObject();
      w.Key("Limit");
      w.Int(10000);
      if (!start.empty()) {
        w.Key("ExclusiveStartDeliveryStreamName");
        w.String(start);
      }
      w.EndObject();
      if (!Call(o, "ListDeliveryStreams", w.str(), response, err)) return 1;
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      simdjson::dom::array names;
      if (parser.parse(response).get(doc) != simdjson::SUCCESS ||
          doc["DeliveryStreamNames"].get(names) != simdjson::SUCCESS) {
        err << "sluice streams: unexpected ListDeliveryStreams response: " << response << "\n";
        return 1;
      }
      for (auto n : names) {
        std::string_view s;
        if (n.get(s) == simdjson::SUCCESS) {
          out << s << "\n";
          start = std::string(s);
        }
      }
      bool more = false;
      if (doc["HasMoreDeliveryStreams"].get(more) != simdjson::SUCCESS || !more) break;
    }
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
  if (!Call(o, op, w.str(), response, err)) return 1;
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
