#include "client/kinesis_reader.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "client/aws_json.h"
#include "common/base64.h"
#include "common/json_writer.h"

namespace sluice::client {
namespace {

void Sleep(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// JSON 1.1 timestamps are epoch seconds: "1796119200.250".
std::string EpochSeconds(int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return text;
}

// The request's stream member: StreamARN for an ARN, else StreamName.
void WriteStream(json::Writer& w, const std::string& stream) {
  w.Key(stream.rfind("arn:", 0) == 0 ? "StreamARN" : "StreamName");
  w.String(stream);
}

bool BySequence(TailStart::Type type) {
  return type == TailStart::Type::kAtSequenceNumber ||
         type == TailStart::Type::kAfterSequenceNumber;
}

// A start as ListShards' ShardFilter {Type, Timestamp} (`filter`) or as GetShardIterator's
// ShardIteratorType with its StartingSequenceNumber or Timestamp.
void WriteStart(json::Writer& w, const TailStart& start, bool filter) {
  using Type = TailStart::Type;
  static constexpr struct {
    Type type;
    std::string_view filter;
    std::string_view iterator;
  } kNames[] = {{Type::kTrimHorizon, "AT_TRIM_HORIZON", "TRIM_HORIZON"},
                {Type::kLatest, "AT_LATEST", "LATEST"},
                {Type::kAtTimestamp, "AT_TIMESTAMP", "AT_TIMESTAMP"},
                // A sequence number's shard is found by trying every shard.
                {Type::kAtSequenceNumber, "FROM_TRIM_HORIZON", "AT_SEQUENCE_NUMBER"},
                {Type::kAfterSequenceNumber, "FROM_TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER"}};
  for (const auto& names : kNames) {
    if (names.type != start.type) continue;
    w.Key(filter ? "Type" : "ShardIteratorType");
    w.String(filter ? names.filter : names.iterator);
  }
  if (start.type == Type::kAtTimestamp) {
    w.Key("Timestamp");
    w.Raw(EpochSeconds(start.timestamp_ms));
  } else if (!filter && BySequence(start.type)) {
    w.Key("StartingSequenceNumber");
    w.String(start.sequence_number);
  }
}

// The status for an error answer about `stream`.
Status ErrorStatus(const AwsReply& reply, const std::string& operation, const std::string& stream) {
  const std::string text = operation + " on stream '" + stream + "': " + reply.Describe();
  if (reply.error_type == "ResourceNotFoundException") return Status::NotFound(text);
  if (reply.error_type == "InvalidArgumentException" || reply.error_type == "ValidationException") {
    return Status::InvalidArgument(text);
  }
  return Status::Unavailable(text);
}

// The Unavailable status for a 200 answer of the wrong shape.
Status Unexpected(const std::string& operation, const std::string& stream, const AwsReply& reply) {
  return Status::Unavailable(operation + " on stream '" + stream +
                             "': unexpected answer: " + reply.body.substr(0, 200));
}

struct ShardState {
  std::string id;
  std::string iterator;
  std::string last_sequence;  // of the last record given to the sink
  TailStart start;            // how the iterator was first obtained (to renew it)
};

class Tail {
 public:
  Tail(const TailOptions& options, AwsJsonClient& client, const KinesisRecordSink& sink)
      : o_(options), client_(client), sink_(sink) {}

  Status Run() {
    std::vector<std::string> shard_ids;
    if (!o_.shard_id.empty()) {
      shard_ids.push_back(o_.shard_id);
    } else {
      SLUICE_RETURN_IF_ERROR(ListShards(shard_ids));
    }
    Status refused;
    for (const std::string& id : shard_ids) {
      ShardState shard{id, "", "", o_.from};
      Status st = GetIterator(shard);
      if (BySequence(o_.from.type) && shard_ids.size() > 1 &&
          st.code() == StatusCode::kInvalidArgument) {
        refused = st;  // the sequence number belongs to another shard
        continue;
      }
      SLUICE_RETURN_IF_ERROR(st);
      known_.insert(id);
      active_.push_back(std::move(shard));
    }
    if (active_.empty() && !refused.ok()) {
      return Status::InvalidArgument("--from " + o_.from.sequence_number +
                                     ": no shard of stream '" + o_.stream +
                                     "' holds this sequence number (" + refused.message() + ")");
    }
    while (!active_.empty()) {
      bool any_records = false;
      for (size_t i = 0; i < active_.size();) {
        bool keep = true;
        SLUICE_RETURN_IF_ERROR(Poll(i, any_records, keep));
        if (stopped_) return Status::Ok();
        if (keep) {
          ++i;
        } else {
          active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      for (ShardState& child : pending_children_) active_.push_back(std::move(child));
      pending_children_.clear();
      if (!any_records && !active_.empty()) Sleep(o_.idle_sleep_ms);
    }
    return Status::Ok();
  }

 private:
  // One call with backoff on throttling, 5xx and transport errors; other errors are returned.
  Result<AwsReply> Call(const std::string& operation, const std::string& body) {
    int backoff = o_.backoff_base_ms;
    for (int attempt = 1;; ++attempt) {
      auto reply = client_.Call(operation, body);
      const bool retry = !reply.ok() || reply->Retryable();
      if (!retry || (!o_.follow && attempt >= 10)) {
        if (!reply.ok()) return reply.status();
        return reply;
      }
      Sleep(backoff);
      backoff = std::min(backoff * 2, o_.backoff_max_ms);
    }
  }

  // Calls `operation` and parses its answer with `parser`: the document of a 200 answer, else the
  // error about the stream (ErrorStatus names `what`).
  Result<simdjson::dom::element> CallJson(const std::string& operation, const std::string& what,
                                          std::string body, simdjson::dom::parser& parser,
                                          AwsReply& reply) {
    SLUICE_ASSIGN_OR_RETURN(reply, Call(operation, body));
    if (!reply.ok()) return ErrorStatus(reply, what, o_.stream);
    simdjson::dom::element doc;
    if (parser.parse(reply.body).get(doc)) return Unexpected(operation, o_.stream, reply);
    return doc;
  }

  Status ListShards(std::vector<std::string>& ids) {
    std::string token;
    do {
      json::Writer w;
      w.BeginObject();
      if (token.empty()) {
        WriteStream(w, o_.stream);
        w.Key("ShardFilter");
        w.BeginObject();
        WriteStart(w, o_.from, /*filter=*/true);
        w.EndObject();
      } else {
        w.Key("NextToken");
        w.String(token);
      }
      w.EndObject();
      simdjson::dom::parser parser;
      AwsReply reply;
      SLUICE_ASSIGN_OR_RETURN(simdjson::dom::element doc,
                              CallJson("ListShards", "ListShards", w.Take(), parser, reply));
      simdjson::dom::array shards;
      if (doc["Shards"].get(shards)) return Unexpected("ListShards", o_.stream, reply);
      for (simdjson::dom::element s : shards) {
        std::string_view id;
        if (!s["ShardId"].get(id)) ids.emplace_back(id);
      }
      std::string_view next;
      token = doc["NextToken"].get(next) ? std::string() : std::string(next);
    } while (!token.empty());
    return Status::Ok();
  }

  Status GetIterator(ShardState& shard) {
    json::Writer w;
    w.BeginObject();
    WriteStream(w, o_.stream);
    w.Key("ShardId");
    w.String(shard.id);
    if (!shard.last_sequence.empty()) {
      // Resume after the last record given to the sink.
      WriteStart(w, {TailStart::Type::kAfterSequenceNumber, 0, shard.last_sequence}, false);
    } else {
      WriteStart(w, shard.start, /*filter=*/false);
    }
    w.EndObject();
    simdjson::dom::parser parser;
    AwsReply reply;
    SLUICE_ASSIGN_OR_RETURN(
        simdjson::dom::element doc,
        CallJson("GetShardIterator", "GetShardIterator " + shard.id, w.Take(), parser, reply));
    std::string_view iterator;
    if (doc["ShardIterator"].get(iterator)) return Unexpected("GetShardIterator", o_.stream, reply);
    shard.iterator = std::string(iterator);
    return Status::Ok();
  }

  // One GetRecords on active_[i]. `keep` false: the shard is finished (drained, or caught up
  // without follow).
  Status Poll(size_t i, bool& any_records, bool& keep) {
    ShardState& shard = active_[i];
    json::Writer w;
    w.BeginObject();
    w.Key("ShardIterator");
    w.String(shard.iterator);
    w.EndObject();
    simdjson::dom::parser parser;
    AwsReply reply;
    auto answer = CallJson("GetRecords", "GetRecords " + shard.id, w.Take(), parser, reply);
    if (!answer.ok() && reply.error_type == "ExpiredIteratorException") return GetIterator(shard);
    SLUICE_ASSIGN_OR_RETURN(simdjson::dom::element doc, std::move(answer));
    simdjson::dom::array records;
    if (doc["Records"].get(records)) return Unexpected("GetRecords", o_.stream, reply);
    for (simdjson::dom::element r : records) {
      KinesisRecord record;
      record.shard_id = shard.id;
      std::string_view text;
      if (!r["SequenceNumber"].get(text)) record.sequence_number = std::string(text);
      if (!r["PartitionKey"].get(text)) record.partition_key = std::string(text);
      double seconds = 0;
      if (!r["ApproximateArrivalTimestamp"].get(seconds)) {
        record.arrival_ms = std::llround(seconds * 1000.0);
      }
      std::optional<std::string> data;
      if (!r["Data"].get(text)) data = base64::Decode(text);
      if (!data) {
        return Status::Unavailable("GetRecords on stream '" + o_.stream + "' shard " + shard.id +
                                   ": a record without valid base64 Data");
      }
      record.data = std::move(*data);
      any_records = true;
      shard.last_sequence = record.sequence_number;
      if (!sink_(record)) {
        stopped_ = true;
        return Status::Ok();
      }
    }
    std::string_view next;
    if (doc["NextShardIterator"].get(next) || next.empty()) {
      keep = false;
      drained_.insert(shard.id);
      if (o_.shard_id.empty()) return StartChildren(doc);
      return Status::Ok();
    }
    shard.iterator = std::string(next);
    int64_t behind = 0;
    if (doc["MillisBehindLatest"].get(behind)) behind = 0;
    if (!o_.follow && records.size() == 0 && behind == 0) keep = false;
    return Status::Ok();
  }

  // At a drained shard's end: starts each child whose parents being read are all drained.
  Status StartChildren(simdjson::dom::element doc) {
    simdjson::dom::array children;
    if (doc["ChildShards"].get(children)) return Status::Ok();
    for (simdjson::dom::element child : children) {
      std::string_view id;
      if (child["ShardId"].get(id) || known_.count(std::string(id)) > 0) continue;
      bool ready = true;
      simdjson::dom::array parents;
      if (!child["ParentShards"].get(parents)) {
        for (simdjson::dom::element p : parents) {
          std::string_view parent;
          if (p.get(parent)) continue;
          const std::string name(parent);
          if (known_.count(name) > 0 && drained_.count(name) == 0) ready = false;
        }
      }
      if (!ready) continue;
      ShardState state{std::string(id), "", "", TailStart{}};
      SLUICE_RETURN_IF_ERROR(GetIterator(state));
      known_.insert(state.id);
      pending_children_.push_back(std::move(state));
    }
    return Status::Ok();
  }

  const TailOptions& o_;
  AwsJsonClient& client_;
  const KinesisRecordSink& sink_;
  std::vector<ShardState> active_;
  std::vector<ShardState> pending_children_;
  std::set<std::string> known_;
  std::set<std::string> drained_;
  bool stopped_ = false;
};

}  // namespace

Status TailKinesisStream(const TailOptions& options, const KinesisRecordSink& sink) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<AwsJsonClient> client,
                          AwsJsonClient::Create(AwsApi::kKinesis, options.endpoint, options.region,
                                                options.request_timeout_s));
  Tail tail(options, *client, sink);
  return tail.Run();
}

}  // namespace sluice::client
