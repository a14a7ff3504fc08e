#include "api/kinesis_handler.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <utility>
#include <vector>

#include "api/event_stream.h"
#include "api/json_input.h"
#include "api/router.h"
#include "auth/authorize.h"
#include "common/base64.h"
#include "common/json_writer.h"

namespace sluice::api {

struct KinesisHandler::Call {
  std::string request_id;
  std::string body;
  Responder respond;
};

namespace {

using streams::StreamStatus;

constexpr std::string_view kStreamArnPattern = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";

std::string_view StatusName(StreamStatus s) {
  switch (s) {
    case StreamStatus::kCreating: return "CREATING";
    case StreamStatus::kActive: return "ACTIVE";
    case StreamStatus::kUpdating: return "UPDATING";
    case StreamStatus::kDeleting: return "DELETING";
  }
  return "ACTIVE";
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

void CheckName(ValidationErrors& errors, std::optional<std::string_view> v, std::string_view path,
               size_t max = 128) {
  if (!v) return;
  if (v->size() > max) {
    errors.Add(*v, path, "Member must have length less than or equal to " + std::to_string(max));
  }
  if (v->empty()) errors.Add(*v, path, "Member must have length greater than or equal to 1");
  if (!std::all_of(v->begin(), v->end(), IsNameChar)) {
    errors.Add(*v, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  }
}

// The length AWS's (Java) validation gives a string: UTF-16 code units, not UTF-8 bytes, so that
// a 256-character partition key of non-ASCII characters is accepted. `utf8` is valid UTF-8 (the
// JSON parser checked it): one unit per lead byte, two for a four-byte sequence.
size_t StringLength(std::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) {
    const auto b = static_cast<unsigned char>(c);
    if ((b & 0xC0) != 0x80) n += b >= 0xF0 ? 2 : 1;
  }
  return n;
}

void CheckLength(ValidationErrors& errors, std::optional<std::string_view> v, std::string_view path,
                 size_t min, size_t max) {
  if (!v) return;
  const size_t length = StringLength(*v);
  if (length < min) {
    errors.Add(*v, path, "Member must have length greater than or equal to " + std::to_string(min));
  }
  if (length > max) {
    errors.Add(*v, path, "Member must have length less than or equal to " + std::to_string(max));
  }
}

// A timestamp member (epoch seconds, fractional) as ms; a wrong type fails the reader.
std::optional<int64_t> TimestampMs(JsonReader& reader, simdjson::dom::object obj,
                                   std::string_view key) {
  simdjson::dom::element v;
  if (obj[key].get(v) || v.is_null()) return std::nullopt;
  double secs = 0;
  if (v.get_double().get(secs)) {
    reader.Fail(v.is_string() ? "class java.lang.String can not be converted to milliseconds"
                              : "Start of structure or map found where not expected.");
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(secs * 1000.0));
}

void CheckHashKey(ValidationErrors& errors, std::optional<std::string_view> v,
                  std::string_view path) {
  if (!v) return;
  bool ok = !v->empty() && v->size() <= 39 &&
            std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            (*v == "0" || (*v)[0] != '0');
  if (!ok)
    errors.Add(*v, path, "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
}

void WriteShard(json::Writer& w, const streams::StreamSpec& spec, const streams::Shard& s) {
  w.BeginObject();
  w.Key("ShardId");
  w.String(ShardIdString(s.id));
  if (s.parent) {
    w.Key("ParentShardId");
    w.String(ShardIdString(*s.parent));
  }
  if (s.adjacent_parent) {
    w.Key("AdjacentParentShardId");
    w.String(ShardIdString(*s.adjacent_parent));
  }
  WriteHashKeyRange(w, s.hash_keys);
  w.Key("SequenceNumberRange");
  w.BeginObject();
  w.Key("StartingSequenceNumber");
  w.String(EncodeSequenceNumber({spec.created_ms, s.id, 0}));
  if (!s.open) {
    w.Key("EndingSequenceNumber");
    uint64_t end = s.end_offset ? s.end_offset->value : 0;
    w.String(EncodeSequenceNumber({spec.created_ms, s.id, end}));
  }
  w.EndObject();
  w.EndObject();
}

void WriteModeDetails(json::Writer& w, const streams::StreamSpec& spec) {
  w.Key("StreamModeDetails");
  w.BeginObject();
  w.Key("StreamMode");
  w.String(spec.on_demand ? "ON_DEMAND" : "PROVISIONED");
  w.EndObject();
}

size_t OpenShards(const streams::StreamSpec& spec) {
  return static_cast<size_t>(
      std::count_if(spec.shards.begin(), spec.shards.end(), [](const auto& s) { return s.open; }));
}

}  // namespace

KinesisHandler::KinesisHandler(streams::Service& service, IteratorCodec iterators,
                               KinesisOptions options)
    : service_(service),
      iterators_(std::move(iterators)),
      options_(std::move(options)),
      subscriptions_(service, *options_.clock) {}

std::string KinesisHandler::StreamArn(std::string_view name) const {
  return "arn:aws:kinesis:" + options_.region + ":" + options_.account_id + ":stream/" +
         std::string(name);
}

ApiError KinesisHandler::StreamNotFound(std::string_view name) const {
  return ApiError::NotFound("Stream " + std::string(name) + " under account " +
                            options_.account_id + " not found.");
}

ApiError KinesisHandler::ServiceError(const Status& status, std::string_view name,
                                      const std::string& request_id) const {
  switch (status.code()) {
    case StatusCode::kNotFound: return StreamNotFound(name);
    case StatusCode::kAlreadyExists:
      return ApiError::InUse("Stream " + std::string(name) + " under account " +
                             options_.account_id + " already exists.");
    case StatusCode::kInvalidArgument: return ApiError::InvalidArgument(status.message());
    case StatusCode::kFailedPrecondition: return ApiError::InUse(status.message());
    case StatusCode::kResourceExhausted: return {"LimitExceededException", status.message()};
    default:
      spdlog::error("kinesis request {}: stream {}: {}", request_id, name, status.ToString());
      return ApiError::InternalFailure("Internal service failure.");
  }
}

void KinesisHandler::Settle() {
  const int64_t now = options_.clock->NowMs();
  std::vector<std::string> deletions;
  {
    MutexLock lock(mu_);
    for (auto it = transitions_.begin(); it != transitions_.end();) {
      if (it->second.until_ms > now) {
        ++it;
        continue;
      }
      if (it->second.status == StreamStatus::kDeleting) deletions.push_back(it->first);
      it = transitions_.erase(it);
    }
  }
  for (const auto& name : deletions) {
    Status st = service_.Delete(name);
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      spdlog::error("kinesis: deleting stream {} failed: {}", name, st.ToString());
    }
  }
}

StreamStatus KinesisHandler::StatusOf(const std::string& name) {
  MutexLock lock(mu_);
  auto it = transitions_.find(name);
  if (it == transitions_.end() || it->second.until_ms <= options_.clock->NowMs()) {
    return StreamStatus::kActive;
  }
  return it->second.status;
}

void KinesisHandler::BeginTransition(const std::string& name, StreamStatus status,
                                     int64_t duration_ms) {
  MutexLock lock(mu_);
  transitions_[name] = Transition{status, options_.clock->NowMs() + duration_ms};
}

uint32_t KinesisHandler::OpenShardsAcrossStreams() const {
  uint32_t n = 0;
  for (const auto& name : service_.List(streams::StreamKind::kStandalone)) {
    auto info = service_.Describe(name);
    if (info.ok()) n += static_cast<uint32_t>(OpenShards(info->spec));
  }
  return n;
}

namespace {

// The stream a request names by StreamName or StreamARN (at least one required, and they must
// agree). `errors` collects validation errors; a malformed ARN is InvalidArgumentException.
struct StreamRef {
  std::optional<std::string> name;
  std::optional<ApiError> error;
};

StreamRef ReadStreamRef(JsonReader& reader, ValidationErrors& errors, simdjson::dom::object root,
                        const std::string& region, const std::string& account) {
  StreamRef ref;
  auto name = reader.String(root, "StreamName");
  auto arn = reader.String(root, "StreamARN");
  if (reader.failed()) return ref;
  CheckName(errors, name, "streamName");
  if (arn) CheckLength(errors, arn, "streamARN", 1, 2048);
  if (!errors.empty()) return ref;
  std::optional<std::string> from_arn;
  if (arn) {
    const std::string prefix = "arn:aws:kinesis:" + region + ":" + account + ":stream/";
    std::string_view a = *arn;
    if (a.substr(0, prefix.size()) != prefix || a.size() == prefix.size() ||
        !std::all_of(a.begin() + static_cast<std::ptrdiff_t>(prefix.size()), a.end(), IsNameChar)) {
      ref.error = ApiError::InvalidArgument(
          "StreamARN " + std::string(a) + " is not a stream ARN of this server (" + prefix +
          "<name>; pattern " + std::string(kStreamArnPattern) + ")");
      return ref;
    }
    from_arn = std::string(a.substr(prefix.size()));
  }
  if (name && from_arn && *name != *from_arn) {
    ref.error = ApiError::InvalidArgument("StreamName " + std::string(*name) + " and StreamARN " +
                                          std::string(*arn) + " name different streams.");
    return ref;
  }
  if (name) ref.name = std::string(*name);
  if (from_arn) ref.name = std::move(from_arn);
  if (!ref.name) {
    ref.error = ApiError::InvalidArgument("Either StreamName or StreamARN must be provided.");
  }
  return ref;
}

}  // namespace

// The prologue of most operations: parse, read the stream reference, validate. Returns the
// parsed root, or answers the call's error and returns nullopt.
#define SLUICE_KINESIS_PARSE(call, root)                                                   \
  auto root##_parsed = ParseBody((call).body);                                             \
  if (!root##_parsed.ok()) return ErrorResponse(root##_parsed.error(), (call).request_id); \
  simdjson::dom::object root = root##_parsed.value()

void KinesisHandler::Handle(HttpRequest request, Responder respond) {
  Call call{NewRequestId(), std::move(request.body), std::move(respond)};
  std::string_view target = request.Header("X-Amz-Target");
  std::string_view op = target.substr(std::min(target.size(), kKinesisTargetPrefix.size()));
  if (target.substr(0, kKinesisTargetPrefix.size()) != kKinesisTargetPrefix) {
    return call.respond(ErrorResponse(ApiError::UnknownOperation(""), call.request_id));
  }
  // Authorization: the IAM action and the stream (or consumer) the call names.
  std::string resource = "*";
  if (request.identity || auth::IsControlPlane(op)) {
    auto [field, value] = NamedResource(call.body, {"StreamARN", "StreamName", "ConsumerARN"});
    if (!value.empty()) resource = field == "StreamName" ? StreamArn(value) : value;
  }
  if (!AuthorizeCall(request, "kinesis", op, resource, call.request_id, call.respond)) return;
  Settle();
  if (op == "PutRecords") return PutRecords(call);
  if (op == "PutRecord") return PutRecord(call);
  if (op == "SubscribeToShard") return SubscribeToShard(call);
  using Op = HttpResponse (KinesisHandler::*)(Call&);
  static const std::map<std::string_view, Op> kOps = {
      {"GetRecords", &KinesisHandler::GetRecords},
      {"GetShardIterator", &KinesisHandler::GetShardIterator},
      {"CreateStream", &KinesisHandler::CreateStream},
      {"DeleteStream", &KinesisHandler::DeleteStream},
      {"DescribeStream", &KinesisHandler::DescribeStream},
      {"DescribeStreamSummary", &KinesisHandler::DescribeStreamSummary},
      {"ListStreams", &KinesisHandler::ListStreams},
      {"ListShards", &KinesisHandler::ListShards},
      {"AddTagsToStream", &KinesisHandler::AddTags},
      {"RemoveTagsFromStream", &KinesisHandler::RemoveTags},
      {"ListTagsForStream", &KinesisHandler::ListTags},
      {"RegisterStreamConsumer", &KinesisHandler::RegisterConsumer},
      {"DescribeStreamConsumer", &KinesisHandler::DescribeConsumer},
      {"ListStreamConsumers", &KinesisHandler::ListConsumers},
      {"DeregisterStreamConsumer", &KinesisHandler::DeregisterConsumer},
      {"SplitShard", &KinesisHandler::SplitShard},
      {"MergeShards", &KinesisHandler::MergeShards},
      {"UpdateShardCount", &KinesisHandler::UpdateShardCount},
  };
  if (op == "IncreaseStreamRetentionPeriod") return call.respond(ChangeRetention(call, true));
  if (op == "DecreaseStreamRetentionPeriod") return call.respond(ChangeRetention(call, false));
  auto it = kOps.find(op);
  if (it == kOps.end()) {
    return call.respond(ErrorResponse(ApiError::UnknownOperation(""), call.request_id));
  }
  call.respond((this->*(it->second))(call));
}

// ---- data plane -------------------------------------------------------------------------------

namespace {

// A parsed Put: the records decoded straight into one RecordBatch in the keyed layout (the
// partition key's header written in place before each record's data), with their explicit hash
// keys (none set: empty).
struct PutInput {
  journal::RecordBatch records;
  std::vector<std::optional<streams::HashKey>> explicit_hash_keys;
  size_t count = 0;           // records read (with or without errors)
  size_t bytes = 0;           // data + partition key, all records
  size_t largest_record = 0;  // data + partition key of the largest record
};

// Reads one record's members ("record" paths are 1-based "records.<i>.member.<x>", or top-level
// for PutRecord, index 0) and decodes its data into the next record of `in`.
void ReadRecord(JsonReader& reader, ValidationErrors& errors, simdjson::dom::object obj,
                size_t index, PutInput& in, std::optional<ApiError>& hash_error) {
  ++in.count;
  auto key = reader.String(obj, "PartitionKey");
  auto explicit_key = reader.String(obj, "ExplicitHashKey");
  auto text = reader.BlobText(obj, "Data");
  if (reader.failed()) return;
  const auto prefix = [index] {
    return index == 0 ? std::string() : "records." + std::to_string(index) + ".member.";
  };
  // The header holds a valid key; an invalid one fails the request below, so its bytes are moot.
  const std::string_view header_key =
      key && !key->empty() && key->size() <= streams::kMaxPartitionKeyBytes ? *key : "";
  const size_t header = streams::KeyedHeaderSize(header_key);
  char* room = in.records.Room(header + (text ? base64::MaxDecodedSize(text->size()) : size_t{0}));
  char* data = streams::WriteKeyedHeader(header_key, room);
  size_t data_size = 0;
  if (text) {
    auto n = reader.DecodeBlobTo(*text, data);
    if (!n) return;
    data_size = *n;
  }
  in.records.Add(header + data_size);
  if (!text) errors.Add(std::nullopt, prefix() + "data", "Member must not be null");
  size_t key_size = 0;
  if (!key) {
    errors.Add(std::nullopt, prefix() + "partitionKey", "Member must not be null");
  } else {
    CheckLength(errors, key, prefix() + "partitionKey", 1, 256);
    key_size = key->size();
  }
  if (data_size > kKinesisMaxRecordBytes) {
    errors.Add(
        BlobRepr(data_size), prefix() + "data",
        "Member must have length less than or equal to " + std::to_string(kKinesisMaxRecordBytes));
  }
  CheckHashKey(errors, explicit_key, prefix() + "explicitHashKey");
  if (explicit_key && errors.empty()) {
    auto parsed = streams::HashKey::Parse(*explicit_key);
    if (!parsed && !hash_error) {
      hash_error = ApiError::InvalidArgument(
          "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
          "Specified value was " +
          std::string(*explicit_key));
    }
    if (parsed) {
      in.explicit_hash_keys.resize(in.records.size());
      in.explicit_hash_keys.back() = parsed;
    }
  }
  in.bytes += data_size + key_size;
  in.largest_record = std::max(in.largest_record, data_size + key_size);
}

}  // namespace

void KinesisHandler::PutRecord(Call& call) {
  auto parsed = ParseBody(call.body);
  if (!parsed.ok()) return call.respond(ErrorResponse(parsed.error(), call.request_id));
  JsonReader reader;
  ValidationErrors errors;
  StreamRef ref =
      ReadStreamRef(reader, errors, parsed.value(), options_.region, options_.account_id);
  PutInput in;
  std::optional<ApiError> hash_error;
  if (!reader.failed()) ReadRecord(reader, errors, parsed.value(), 0, in, hash_error);
  if (reader.failed()) return call.respond(ErrorResponse(reader.error(), call.request_id));
  if (!errors.empty()) return call.respond(ErrorResponse(errors.ToError(), call.request_id));
  if (ref.error) return call.respond(ErrorResponse(*ref.error, call.request_id));
  if (hash_error) return call.respond(ErrorResponse(*hash_error, call.request_id));
  if (in.largest_record > kKinesisMaxRecordBytes) {
    return call.respond(ErrorResponse(
        ApiError::InvalidArgument("Record size including the partition key exceeds 1 MiB."),
        call.request_id));
  }
  std::string name = *ref.name;
  if (StatusOf(name) == StreamStatus::kCreating || StatusOf(name) == StreamStatus::kDeleting) {
    return call.respond(ErrorResponse(StreamNotFound(name), call.request_id));
  }
  service_.Append(
      name, std::move(in.records), std::move(in.explicit_hash_keys),
      [this, name, request_id = call.request_id,
       respond = std::move(call.respond)](Result<streams::AppendResult> r) {
        if (!r.ok())
          return respond(ErrorResponse(ServiceError(r.status(), name, request_id), request_id));
        const auto& o = r->records.at(0);
        if (!o.status.ok()) {
          if (o.status.code() == StatusCode::kResourceExhausted) {
            return respond(ErrorResponse(
                {"ProvisionedThroughputExceededException",
                 "Rate exceeded for shard " + ShardIdString(o.position.shard) + " in stream " +
                     name + " under account " + options_.account_id + "."},
                request_id));
          }
          return respond(
              ErrorResponse(ApiError::InternalFailure("Internal service failure."), request_id));
        }
        json::Writer w;
        w.BeginObject();
        w.Key("ShardId");
        w.String(ShardIdString(o.position.shard));
        w.Key("SequenceNumber");
        w.String(EncodeSequenceNumber(
            {r->stream_created_ms, o.position.shard, o.position.offset.value + 1}));
        w.EndObject();
        respond(JsonResponse(200, w.Take(), request_id));
      });
}

void KinesisHandler::PutRecords(Call& call) {
  auto parsed = ParseBody(call.body);
  if (!parsed.ok()) return call.respond(ErrorResponse(parsed.error(), call.request_id));
  JsonReader reader;
  ValidationErrors errors;
  StreamRef ref =
      ReadStreamRef(reader, errors, parsed.value(), options_.region, options_.account_id);
  auto list = reader.List(parsed.value(), "Records");
  PutInput in;
  std::optional<ApiError> hash_error;
  if (list && !reader.failed()) {
    size_t i = 0;
    // Keys and decoded data take less room than the body that carries them in base64.
    in.records.Reserve(list->size(), base64::MaxDecodedSize(call.body.size()) +
                                         list->size() * streams::kKeyedHeaderBytes);
    for (auto element : *list) {
      ++i;
      auto obj = reader.StructValue(element);
      if (!obj) break;
      ReadRecord(reader, errors, *obj, i, in, hash_error);
      if (reader.failed()) break;
    }
  }
  if (reader.failed()) return call.respond(ErrorResponse(reader.error(), call.request_id));
  if (!list) {
    errors.Add(std::nullopt, "records", "Member must not be null");
  } else if (in.count == 0) {
    errors.Add("[]", "records", "Member must have length greater than or equal to 1");
  } else if (in.count > kKinesisMaxRecords) {
    errors.Add(
        std::nullopt, "records",
        "Member must have length less than or equal to " + std::to_string(kKinesisMaxRecords));
  }
  if (!errors.empty()) return call.respond(ErrorResponse(errors.ToError(), call.request_id));
  if (ref.error) return call.respond(ErrorResponse(*ref.error, call.request_id));
  if (hash_error) return call.respond(ErrorResponse(*hash_error, call.request_id));
  if (in.bytes > kKinesisMaxRequestBytes) {
    return call.respond(ErrorResponse(ApiError::InvalidArgument("Records size exceeds 5 MB limit"),
                                      call.request_id));
  }
  std::string name = *ref.name;
  if (StatusOf(name) == StreamStatus::kCreating || StatusOf(name) == StreamStatus::kDeleting) {
    return call.respond(ErrorResponse(StreamNotFound(name), call.request_id));
  }
  if (in.explicit_hash_keys.size() < in.records.size() && !in.explicit_hash_keys.empty()) {
    in.explicit_hash_keys.resize(in.records.size());
  }
  service_.Append(
      name, std::move(in.records), std::move(in.explicit_hash_keys),
      [this, name, request_id = call.request_id,
       respond = std::move(call.respond)](Result<streams::AppendResult> r) {
        if (!r.ok())
          return respond(ErrorResponse(ServiceError(r.status(), name, request_id), request_id));
        int64_t failed = 0;
        for (const auto& o : r->records) failed += o.status.ok() ? 0 : 1;
        json::Writer w;
        w.BeginObject();
        w.Key("FailedRecordCount");
        w.Int(failed);
        w.Key("Records");
        w.BeginArray();
        for (const auto& o : r->records) {
          w.BeginObject();
          if (o.status.ok()) {
            w.Key("SequenceNumber");
            w.String(EncodeSequenceNumber(
                {r->stream_created_ms, o.position.shard, o.position.offset.value + 1}));
            w.Key("ShardId");
            w.String(ShardIdString(o.position.shard));
          } else if (o.status.code() == StatusCode::kResourceExhausted) {
            w.Key("ErrorCode");
            w.String("ProvisionedThroughputExceededException");
            w.Key("ErrorMessage");
            w.String("Rate exceeded for shard " + ShardIdString(o.position.shard) + " in stream " +
                     name + " under account " + options_.account_id + ".");
          } else {
            w.Key("ErrorCode");
            w.String("InternalFailure");
            w.Key("ErrorMessage");
            w.String("Internal service failure.");
          }
          w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        respond(JsonResponse(200, w.Take(), request_id));
      });
}

ApiResult<KinesisHandler::OpenedShard> KinesisHandler::OpenShardAt(const StartRequest& req,
                                                                   const std::string& request_id) {
  const std::string& name = req.stream;
  const std::string account = options_.account_id;
  auto shard = ParseShardId(req.shard_id);
  auto info = service_.Describe(name);
  if (!info.ok() || StatusOf(name) == StreamStatus::kCreating) {
    return StreamNotFound(name);
  }
  const std::string shard_text = shard ? ShardIdString(*shard) : std::string(req.shard_id);
  const streams::Shard* found = nullptr;
  for (const auto& s : info->spec.shards) {
    if (shard && s.id == *shard) found = &s;
  }
  if (found == nullptr) {
    return ApiError::NotFound("Shard " + shard_text + " in stream " + name + " under account " +
                              account + " does not exist");
  }
  using T = streams::StartingPosition::Type;
  streams::StartingPosition from;
  const bool by_sequence = req.type == "AT_SEQUENCE_NUMBER" || req.type == "AFTER_SEQUENCE_NUMBER";
  if (by_sequence != req.starting.has_value()) {
    return ApiError::InvalidArgument(
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
        "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
        "StartingSequenceNumber. Request specified " +
        std::string(req.type) + (req.starting ? " and also a" : " and no") +
        " StartingSequenceNumber.");
  }
  if (by_sequence) {
    auto seq = DecodeSequenceNumber(*req.starting);
    if (!seq) {
      return ApiError::InvalidArgument("StartingSequenceNumber " + std::string(*req.starting) +
                                       " used in " + std::string(req.operation) + " on shard " +
                                       shard_text + " in stream " + name + " under account " +
                                       account + " is invalid.");
    }
    if (seq->shard != found->id) {
      return ApiError::InvalidArgument(
          "Invalid StartingSequenceNumber. It encodes " + ShardIdString(seq->shard) +
          ", while it was used in a call to a shard with " + shard_text);
    }
    if (seq->stream_created_ms != info->spec.created_ms) {
      return ApiError::InvalidArgument(
          "StartingSequenceNumber " + std::string(*req.starting) + " used in " +
          std::string(req.operation) + " on shard " + shard_text + " in stream " + name +
          " under account " + account + " is invalid because it did not come from this stream.");
    }
    // Index i names the position before offset i: record o has index o + 1.
    from.type = T::kAt;
    from.offset = journal::Offset{
        req.type == "AT_SEQUENCE_NUMBER" && seq->index > 0 ? seq->index - 1 : seq->index};
  } else if (req.type == "TRIM_HORIZON") {
    from.type = T::kTrimHorizon;
  } else if (req.type == "LATEST") {
    from.type = T::kLatest;
  } else {
    if (!req.timestamp) {
      return ApiError::InvalidArgument(
          "Must specify timestampInMillis parameter for iterator of type "
          "AT_TIMESTAMP. Current request has no timestamp parameter.");
    }
    if (*req.timestamp > options_.clock->NowMs()) {
      return ApiError::InvalidArgument(
          "The timestampInMillis parameter cannot be greater than the "
          "currentTimestampInMillis. timestampInMillis: " +
          std::to_string(*req.timestamp) +
          ", currentTimestampInMillis: " + std::to_string(options_.clock->NowMs()));
    }
    from.type = T::kAtTimestamp;
    from.timestamp_ms = *req.timestamp;
  }
  auto reader_at = service_.Read(name, found->id, from);
  if (!reader_at.ok()) {
    if (reader_at.status().code() == StatusCode::kInvalidArgument) {
      return ApiError::InvalidArgument("StartingSequenceNumber " + std::string(*req.starting) +
                                       " used in " + std::string(req.operation) + " on shard " +
                                       shard_text + " in stream " + name + " under account " +
                                       account + " is invalid.");
    }
    return ServiceError(reader_at.status(), name, request_id);
  }
  return OpenedShard{info->spec, found->id, std::move(reader_at).value()};
}

HttpResponse KinesisHandler::GetShardIterator(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  StreamRef ref = ReadStreamRef(reader, errors, root, options_.region, options_.account_id);
  auto shard_id = reader.String(root, "ShardId");
  auto type = reader.String(root, "ShardIteratorType");
  auto starting = reader.String(root, "StartingSequenceNumber");
  auto timestamp = TimestampMs(reader, root, "Timestamp");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!shard_id) errors.Add(std::nullopt, "shardId", "Member must not be null");
  CheckLength(errors, shard_id, "shardId", 1, 128);
  static constexpr std::string_view kTypes[] = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER",
                                                "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};
  if (!type) {
    errors.Add(std::nullopt, "shardIteratorType", "Member must not be null");
  } else if (std::find(std::begin(kTypes), std::end(kTypes), *type) == std::end(kTypes)) {
    errors.Add(*type, "shardIteratorType",
               "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, "
               "AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
  }
  if (starting && !IsSequenceNumberSyntax(*starting)) {
    errors.Add(*starting, "startingSequenceNumber",
               "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})");
  }
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (ref.error) return ErrorResponse(*ref.error, call.request_id);
  const std::string& name = *ref.name;
  auto opened = OpenShardAt({name, *shard_id, *type, starting, timestamp, "GetShardIterator"},
                            call.request_id);
  if (!opened.ok()) return ErrorResponse(opened.error(), call.request_id);
  IteratorParts it{name, opened.value().spec.created_ms, opened.value().shard,
                   opened.value().reader->position().value, options_.clock->NowMs()};
  json::Writer w;
  w.BeginObject();
  w.Key("ShardIterator");
  w.String(iterators_.Encode(it));
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

HttpResponse KinesisHandler::GetRecords(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto iterator = reader.String(root, "ShardIterator");
  auto limit = reader.Integer(root, "Limit");
  auto arn = reader.String(root, "StreamARN");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!iterator) errors.Add(std::nullopt, "shardIterator", "Member must not be null");
  CheckLength(errors, iterator, "shardIterator", 1, 512);
  CheckRange(errors, limit, "limit", 1, static_cast<int64_t>(kKinesisMaxGetRecords));
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  auto parts = iterators_.Decode(*iterator);
  if (!parts) {
    return ErrorResponse(ApiError::InvalidArgument("Invalid ShardIterator."), call.request_id);
  }
  const int64_t now = options_.clock->NowMs();
  if (now - parts->issued_ms > kIteratorLifetimeMs) {
    return ErrorResponse(
        {"ExpiredIteratorException",
         "Iterator expired. The iterator was created at time " + AmzUtcString(parts->issued_ms) +
             " while right now it is " + AmzUtcString(now) +
             " which is further in the future than the tolerated delay of " +
             std::to_string(kIteratorLifetimeMs) + " milliseconds."},
        call.request_id);
  }
  if (arn && *arn != StreamArn(parts->stream)) {
    return ErrorResponse(ApiError::InvalidArgument("StreamARN " + std::string(*arn) +
                                                   " does not match the ShardIterator."),
                         call.request_id);
  }
  const std::string& name = parts->stream;
  auto info = service_.Describe(name);
  const streams::Shard* shard = nullptr;
  if (info.ok() && info->spec.created_ms == parts->stream_created_ms) {
    for (const auto& s : info->spec.shards) {
      if (s.id == parts->shard) shard = &s;
    }
  }
  if (shard == nullptr) {
    return ErrorResponse(
        ApiError::NotFound("Shard " + ShardIdString(parts->shard) + " in stream " + name +
                           " under account " + options_.account_id + " does not exist"),
        call.request_id);
  }
  auto shard_reader = service_.Read(
      name, shard->id, {streams::StartingPosition::Type::kAt, journal::Offset{parts->offset}, 0});
  if (!shard_reader.ok()) {
    return ErrorResponse(ServiceError(shard_reader.status(), name, call.request_id),
                         call.request_id);
  }
  std::vector<journal::StoredRecord> records;
  const size_t max = limit ? static_cast<size_t>(*limit) : kKinesisMaxGetRecords;
  // Reads up to the limits. The 10 MiB counts the records' data alone, as AWS does, while the
  // reader counts whole payloads (key header, key, data): it is asked for the data left plus
  // room for every record's key, and records past the cap are dropped again (the next iterator
  // starts at the first of them). The first record is always returned (it is at most 1 MiB).
  size_t data_bytes = 0;
  bool full = false;
  while (!full && records.size() < max && data_bytes < kKinesisMaxGetBytes) {
    const size_t before = records.size();
    const size_t want = max - records.size();
    const size_t room = kKinesisMaxGetBytes - data_bytes +
                        want * (streams::kKeyedHeaderBytes + streams::kMaxPartitionKeyBytes);
    auto n = (*shard_reader)->Next(want, room, records);
    if (!n.ok()) {
      return ErrorResponse(ServiceError(n.status(), name, call.request_id), call.request_id);
    }
    if (*n == 0) break;
    for (size_t i = before; i < records.size(); ++i) {
      auto keyed = streams::SplitKeyed(records[i].data);
      const size_t size = keyed ? keyed->data.size() : records[i].data.size();
      if (i > 0 && data_bytes + size > kKinesisMaxGetBytes) {
        records.resize(i);
        full = true;
        break;
      }
      data_bytes += size;
    }
  }
  const journal::Offset next =
      records.empty() ? (*shard_reader)->position() : records.back().offset.Next();
  auto end = service_.Read(name, shard->id, {streams::StartingPosition::Type::kLatest, {}, 0});
  const uint64_t end_offset = end.ok() ? (*end)->position().value : next.value;
  json::Writer w;
  w.BeginObject();
  w.Key("Records");
  w.BeginArray();
  for (const auto& r : records) {
    if (!WriteKinesisRecord(w, parts->stream_created_ms, shard->id, r)) {
      spdlog::error("kinesis: stream {} shard {} offset {}: the record is not keyed; skipped", name,
                    shard->id, r.offset.value);
    }
  }
  w.EndArray();
  const bool drained = !shard->open && shard->end_offset && next >= *shard->end_offset;
  if (drained) {
    WriteChildShards(w, info->spec, shard->id);
  } else {
    w.Key("NextShardIterator");
    w.String(iterators_.Encode(
        {name, parts->stream_created_ms, shard->id, next.value, options_.clock->NowMs()}));
  }
  w.Key("MillisBehindLatest");
  int64_t behind = 0;
  if (next.value < end_offset && !records.empty()) {
    behind = std::max<int64_t>(0, now - records.back().arrival_ms);
  }
  w.Int(behind);
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

// ---- control plane ----------------------------------------------------------------------------

namespace {

// Reads the stream reference of a control-plane call. Returns the name, or the error response.
struct Named {
  std::string name;
  std::optional<HttpResponse> error;
};

}  // namespace

#define SLUICE_KINESIS_STREAM(call, root, reader, errors, named) \
  JsonReader reader;                                             \
  ValidationErrors errors;                                       \
  StreamRef named##_ref = ReadStreamRef(reader, errors, root, options_.region, options_.account_id);

HttpResponse KinesisHandler::CreateStream(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto name = reader.String(root, "StreamName");
  auto shard_count = reader.Integer(root, "ShardCount");
  auto mode_details = reader.Struct(root, "StreamModeDetails");
  std::optional<std::string_view> mode;
  if (mode_details && !reader.failed()) mode = reader.String(*mode_details, "StreamMode");
  auto tags = reader.Struct(root, "Tags");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!name) errors.Add(std::nullopt, "streamName", "Member must not be null");
  CheckName(errors, name, "streamName");
  CheckRange(errors, shard_count, "shardCount", 1, INT32_MAX);
  if (mode_details && !mode) {
    errors.Add(std::nullopt, "streamModeDetails.streamMode", "Member must not be null");
  }
  if (mode && *mode != "PROVISIONED" && *mode != "ON_DEMAND") {
    errors.Add(*mode, "streamModeDetails.streamMode",
               "Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]");
  }
  std::map<std::string, std::string> tag_map;
  if (tags) {
    for (auto [k, v] : *tags) {
      std::string_view value;
      if (v.get(value)) {
        return ErrorResponse(ApiError::Serialization("Unexpected token received from parser"),
                             call.request_id);
      }
      tag_map.emplace(std::string(k), std::string(value));
    }
    if (tag_map.size() > 50) {
      return ErrorResponse(
          {"InvalidArgumentException",
           "Failed to create stream " + std::string(*name) + " under account " +
               options_.account_id + " because a given tag set exceeds the limit of 50 tags."},
          call.request_id);
    }
  }
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  const bool on_demand = mode && *mode == "ON_DEMAND";
  if (on_demand && shard_count) {
    return ErrorResponse(
        {"ValidationException",
         "ShardCount must not be specified for streams with the ON_DEMAND capacity mode."},
        call.request_id);
  }
  if (!on_demand && !shard_count) {
    return ErrorResponse(
        ApiError::InvalidArgument("ShardCount is required for streams with the PROVISIONED "
                                  "capacity mode."),
        call.request_id);
  }
  const uint32_t shards =
      on_demand ? options_.on_demand_shards : static_cast<uint32_t>(*shard_count);
  MutexLock admin(admin_mu_);
  if (const uint32_t open = OpenShardsAcrossStreams(); open + shards > options_.shard_limit) {
    return ErrorResponse(ShardLimitError(open, shards), call.request_id);
  }
  auto spec = streams::StreamSpec::WithEvenShards(std::string(*name),
                                                  streams::StreamKind::kStandalone, shards);
  spec.on_demand = on_demand;
  spec.enforce_shard_limits = options_.enforce_shard_limits;
  spec.tags = std::move(tag_map);
  Status st = service_.Create(std::move(spec));
  if (!st.ok()) return ErrorResponse(ServiceError(st, *name, call.request_id), call.request_id);
  spdlog::info("kinesis: created stream {} ({} shards, {})", *name, shards,
               on_demand ? "ON_DEMAND" : "PROVISIONED");
  if (options_.create_stream_ms > 0) {
    BeginTransition(std::string(*name), StreamStatus::kCreating, options_.create_stream_ms);
  }
  return JsonResponse(200, "", call.request_id);
}

HttpResponse KinesisHandler::DeleteStream(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  SLUICE_KINESIS_STREAM(call, root, reader, errors, target);
  auto enforce = reader.Boolean(root, "EnforceConsumerDeletion");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (target_ref.error) return ErrorResponse(*target_ref.error, call.request_id);
  const std::string& name = *target_ref.name;
  MutexLock admin(admin_mu_);
  auto info = service_.Describe(name);
  if (!info.ok() || StatusOf(name) == StreamStatus::kDeleting) {
    return ErrorResponse(StreamNotFound(name), call.request_id);
  }
  if (options_.readers) {
    if (auto readers = options_.readers(name); !readers.empty()) {
      std::string list;
      for (const auto& r : readers) list += (list.empty() ? "" : ", ") + r;
      return ErrorResponse(
          ApiError::InUse("Stream " + name + " under account " + options_.account_id +
                          " is the source of delivery stream(s) " + list + "; delete them first."),
          call.request_id);
    }
  }
  if (!info->spec.consumers.empty() && !enforce.value_or(false)) {
    return ErrorResponse(
        ApiError::InUse("Stream " + name + " under account " + options_.account_id +
                        " has registered consumers; set "
                        "EnforceConsumerDeletion to delete them with it."),
        call.request_id);
  }
  if (options_.delete_stream_ms > 0) {
    BeginTransition(name, StreamStatus::kDeleting, options_.delete_stream_ms);
  } else {
    Status st = service_.Delete(name);
    if (!st.ok()) return ErrorResponse(ServiceError(st, name, call.request_id), call.request_id);
  }
  spdlog::info("kinesis: deleted stream {}", name);
  return JsonResponse(200, "", call.request_id);
}

namespace {

void WriteSummaryFields(json::Writer& w, const streams::StreamSpec& spec, std::string_view arn,
                        std::string_view status) {
  w.Key("StreamName");
  w.String(spec.name);
  w.Key("StreamARN");
  w.String(arn);
  w.Key("StreamStatus");
  w.String(status);
  WriteModeDetails(w, spec);
  w.Key("RetentionPeriodHours");
  w.Uint(spec.retention_hours);
  w.Key("StreamCreationTimestamp");
  w.Raw(EpochSecondsText(spec.created_ms));
  w.Key("EnhancedMonitoring");
  w.BeginArray();
  w.BeginObject();
  w.Key("ShardLevelMetrics");
  w.BeginArray();
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.Key("EncryptionType");
  w.String("NONE");
}

}  // namespace

HttpResponse KinesisHandler::DescribeStream(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  SLUICE_KINESIS_STREAM(call, root, reader, errors, target);
  auto limit = reader.Integer(root, "Limit");
  auto start = reader.String(root, "ExclusiveStartShardId");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  CheckRange(errors, limit, "limit", 1, 10000);
  CheckLength(errors, start, "exclusiveStartShardId", 1, 128);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (target_ref.error) return ErrorResponse(*target_ref.error, call.request_id);
  const std::string& name = *target_ref.name;
  auto info = service_.Describe(name);
  if (!info.ok()) return ErrorResponse(StreamNotFound(name), call.request_id);
  std::optional<uint32_t> after;
  if (start) after = ParseShardId(*start);
  const size_t max = limit ? static_cast<size_t>(*limit) : 100;
  json::Writer w;
  w.BeginObject();
  w.Key("StreamDescription");
  w.BeginObject();
  WriteSummaryFields(w, info->spec, StreamArn(name), StatusName(StatusOf(name)));
  w.Key("Shards");
  w.BeginArray();
  size_t n = 0;
  bool more = false;
  auto shards = info->spec.shards;
  std::sort(shards.begin(), shards.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (const auto& s : shards) {
    if (start && (!after || s.id <= *after)) continue;
    if (n == max) {
      more = true;
      break;
    }
    WriteShard(w, info->spec, s);
    ++n;
  }
  w.EndArray();
  w.Key("HasMoreShards");
  w.Bool(more);
  w.EndObject();
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

HttpResponse KinesisHandler::DescribeStreamSummary(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  SLUICE_KINESIS_STREAM(call, root, reader, errors, target);
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (target_ref.error) return ErrorResponse(*target_ref.error, call.request_id);
  const std::string& name = *target_ref.name;
  auto info = service_.Describe(name);
  if (!info.ok()) return ErrorResponse(StreamNotFound(name), call.request_id);
  json::Writer w;
  w.BeginObject();
  w.Key("StreamDescriptionSummary");
  w.BeginObject();
  WriteSummaryFields(w, info->spec, StreamArn(name), StatusName(StatusOf(name)));
  w.Key("OpenShardCount");
  w.Uint(OpenShards(info->spec));
  w.Key("ConsumerCount");
  w.Uint(info->spec.consumers.size());
  w.EndObject();
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

HttpResponse KinesisHandler::ListStreams(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto limit = reader.Integer(root, "Limit");
  auto start = reader.String(root, "ExclusiveStartStreamName");
  auto token = reader.String(root, "NextToken");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  CheckRange(errors, limit, "limit", 1, 10000);
  CheckName(errors, start, "exclusiveStartStreamName");
  CheckLength(errors, token, "nextToken", 1, 1048576);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  std::string after = start ? std::string(*start) : "";
  if (token) {
    auto t = iterators_.DecodeToken(*token);
    if (!t || t->subject != "ListStreams") {
      return ErrorResponse(ApiError::InvalidArgument("NextToken is invalid."), call.request_id);
    }
    if (options_.clock->NowMs() - t->issued_ms > kIteratorLifetimeMs) {
      return ErrorResponse({"ExpiredNextTokenException", "The NextToken has expired."},
                           call.request_id);
    }
    after = t->after;
  }
  const size_t max = limit ? static_cast<size_t>(*limit) : 100;
  std::vector<std::string> names = service_.List(streams::StreamKind::kStandalone);
  json::Writer w;
  w.BeginObject();
  std::vector<streams::StreamInfo> page;
  bool more = false;
  for (const auto& n : names) {
    if (!after.empty() && n <= after) continue;
    if (page.size() == max) {
      more = true;
      break;
    }
    auto info = service_.Describe(n);
    if (info.ok()) page.push_back(*std::move(info));
  }
  w.Key("StreamNames");
  w.BeginArray();
  for (const auto& s : page) w.String(s.spec.name);
  w.EndArray();
  w.Key("HasMoreStreams");
  w.Bool(more);
  if (more && !page.empty()) {
    w.Key("NextToken");
    w.String(iterators_.EncodeToken("ListStreams", page.back().spec.name, options_.clock->NowMs()));
  }
  w.Key("StreamSummaries");
  w.BeginArray();
  for (const auto& s : page) {
    w.BeginObject();
    w.Key("StreamName");
    w.String(s.spec.name);
    w.Key("StreamARN");
    w.String(StreamArn(s.spec.name));
    w.Key("StreamStatus");
    w.String(StatusName(StatusOf(s.spec.name)));
    WriteModeDetails(w, s.spec);
    w.Key("StreamCreationTimestamp");
    w.Raw(EpochSecondsText(s.spec.created_ms));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

namespace {

// ShardFilter (ListShards). AT_TIMESTAMP lists the shards open at the time, FROM_TIMESTAMP those
// open at or after it; a time before the stream's creation counts as its creation. A stream's
// first shards (no parent) opened with it; a reshard records when it opened and closed shards.
// A closed shard of a catalog older than those times has none: it counts as closed now. Sluice
// keeps closed shards listed until their stream goes.
bool ShardMatchesFilter(std::string_view type, const streams::Shard& s, std::optional<int64_t> time,
                        const streams::StreamSpec& spec, int64_t now_ms) {
  const bool root = !s.parent && !s.adjacent_parent;
  if (type == "AT_LATEST") return s.open;
  if (type == "AT_TRIM_HORIZON") return root;
  if (type != "AT_TIMESTAMP" && type != "FROM_TIMESTAMP") {
    return true;  // FROM_TRIM_HORIZON, AFTER_SHARD_ID (handled by the caller)
  }
  const int64_t at = std::max(time.value_or(now_ms), spec.created_ms);
  const int64_t opened = s.opened_ms != 0 ? s.opened_ms : root ? spec.created_ms : now_ms;
  const bool closed_by = !s.open && (s.closed_ms != 0 ? s.closed_ms : now_ms) <= at;
  if (closed_by) return false;
  return type == "FROM_TIMESTAMP" || opened <= at;
}

}  // namespace

HttpResponse KinesisHandler::ListShards(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto name_member = reader.String(root, "StreamName");
  auto arn_member = reader.String(root, "StreamARN");
  auto token = reader.String(root, "NextToken");
  auto start = reader.String(root, "ExclusiveStartShardId");
  auto limit = reader.Integer(root, "MaxResults");
  auto created = TimestampMs(reader, root, "StreamCreationTimestamp");
  auto filter = reader.Struct(root, "ShardFilter");
  std::optional<std::string_view> filter_type, filter_shard;
  std::optional<int64_t> filter_time;
  if (filter && !reader.failed()) {
    filter_type = reader.String(*filter, "Type");
    filter_shard = reader.String(*filter, "ShardId");
    filter_time = TimestampMs(reader, *filter, "Timestamp");
  }
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  CheckName(errors, name_member, "streamName");
  CheckRange(errors, limit, "maxResults", 1, 10000);
  CheckLength(errors, token, "nextToken", 1, 1048576);
  CheckLength(errors, start, "exclusiveStartShardId", 1, 128);
  static constexpr std::string_view kFilters[] = {"AFTER_SHARD_ID",    "AT_TRIM_HORIZON",
                                                  "FROM_TRIM_HORIZON", "AT_LATEST",
                                                  "AT_TIMESTAMP",      "FROM_TIMESTAMP"};
  if (filter && !filter_type)
    errors.Add(std::nullopt, "shardFilter.type", "Member must not be null");
  if (filter_type &&
      std::find(std::begin(kFilters), std::end(kFilters), *filter_type) == std::end(kFilters)) {
    errors.Add(*filter_type, "shardFilter.type",
               "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, "
               "FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]");
  }
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  std::string name;
  std::optional<uint32_t> after;
  if (token) {
    if (name_member || arn_member || start || created) {
      return ErrorResponse(
          ApiError::InvalidArgument("NextToken and StreamName cannot be provided together."),
          call.request_id);
    }
    auto t = iterators_.DecodeToken(*token);
    if (!t || t->subject.rfind("ListShards/", 0) != 0) {
      return ErrorResponse(ApiError::InvalidArgument("NextToken is invalid."), call.request_id);
    }
    if (options_.clock->NowMs() - t->issued_ms > kIteratorLifetimeMs) {
      return ErrorResponse(
          {"ExpiredNextTokenException", "The timestamp of the NextToken has expired."},
          call.request_id);
    }
    name = t->subject.substr(std::string_view("ListShards/").size());
    after = ParseShardId(t->after);
  } else {
    StreamRef ref = ReadStreamRef(reader, errors, root, options_.region, options_.account_id);
    if (ref.error) return ErrorResponse(*ref.error, call.request_id);
    name = *ref.name;
    if (start) after = ParseShardId(*start);
  }
  auto info = service_.Describe(name);
  if (!info.ok()) return ErrorResponse(StreamNotFound(name), call.request_id);
  if (created && *created != info->spec.created_ms) {
    return ErrorResponse(StreamNotFound(name), call.request_id);
  }
  auto shards = info->spec.shards;
  std::sort(shards.begin(), shards.end(), [](auto& a, auto& b) { return a.id < b.id; });
  // ShardFilter: AFTER_SHARD_ID lists shards after ShardId; AT_LATEST the open shards;
  // AT_TRIM_HORIZON / FROM_TRIM_HORIZON all shards not expired (Sluice keeps closed shards
  // listed); AT_TIMESTAMP / FROM_TIMESTAMP the shards open at (or since) the time.
  std::optional<uint32_t> filter_after;
  if (filter_type && *filter_type == "AFTER_SHARD_ID") {
    if (!filter_shard) {
      return ErrorResponse(
          ApiError::InvalidArgument(
              "ShardId must be specified when ShardFilter type is AFTER_SHARD_ID."),
          call.request_id);
    }
    filter_after = ParseShardId(*filter_shard);
  }
  if (filter_type && (*filter_type == "AT_TIMESTAMP" || *filter_type == "FROM_TIMESTAMP") &&
      !filter_time) {
    return ErrorResponse(ApiError::InvalidArgument("Timestamp must be specified when ShardFilter "
                                                   "type is AT_TIMESTAMP or FROM_TIMESTAMP."),
                         call.request_id);
  }
  const size_t max = limit ? static_cast<size_t>(std::min<int64_t>(*limit, 1000)) : 1000;
  const int64_t now_ms = options_.clock->NowMs();
  json::Writer w;
  w.BeginObject();
  w.Key("Shards");
  w.BeginArray();
  size_t n = 0;
  std::optional<uint32_t> last;
  bool more = false;
  for (const auto& s : shards) {
    if (after && s.id <= *after) continue;
    if (filter_after && s.id <= *filter_after) continue;
    if (filter_type && !ShardMatchesFilter(*filter_type, s, filter_time, info->spec, now_ms)) {
      continue;
    }
    if (n == max) {
      more = true;
      break;
    }
    WriteShard(w, info->spec, s);
    last = s.id;
    ++n;
  }
  w.EndArray();
  if (more && last) {
    w.Key("NextToken");
    w.String(iterators_.EncodeToken("ListShards/" + name, ShardIdString(*last),
                                    options_.clock->NowMs()));
  }
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

HttpResponse KinesisHandler::ChangeRetention(Call& call, bool increase) {
  SLUICE_KINESIS_PARSE(call, root);
  SLUICE_KINESIS_STREAM(call, root, reader, errors, target);
  auto hours = reader.Integer(root, "RetentionPeriodHours");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!hours) errors.Add(std::nullopt, "retentionPeriodHours", "Member must not be null");
  CheckRange(errors, hours, "retentionPeriodHours", 1, INT32_MAX);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (target_ref.error) return ErrorResponse(*target_ref.error, call.request_id);
  const std::string& name = *target_ref.name;
  const std::string account = options_.account_id;
  if (*hours < 24 || *hours > 8760) {
    return ErrorResponse(
        ApiError::InvalidArgument("Minimum allowed retention period is 24 hours. Maximum allowed "
                                  "retention period is 8760 hours. Requested retention period (" +
                                  std::to_string(*hours) + " hours) is too " +
                                  (*hours < 24 ? "short." : "long.")),
        call.request_id);
  }
  std::optional<ApiError> refused;
  Status st = service_.Update(name, [&](streams::StreamSpec& spec) {
    const auto current = static_cast<int64_t>(spec.retention_hours);
    if (increase && *hours < current) {
      refused = ApiError::InvalidArgument(
          "Requested retention period (" + std::to_string(*hours) + " hours) for stream " + name +
          " can not be shorter than existing retention period (" + std::to_string(current) +
          " hours). Use DecreaseRetentionPeriod API.");
    } else if (!increase && *hours > current) {
      refused = ApiError::InvalidArgument(
          "Requested retention period (" + std::to_string(*hours) + " hours) for stream " + name +
          " can not be longer than existing retention period (" + std::to_string(current) +
          " hours). Use IncreaseRetentionPeriod API.");
    }
    if (refused) return Status::FailedPrecondition(refused->message);
    spec.retention_hours = static_cast<uint32_t>(*hours);
    return Status::Ok();
  });
  if (refused) return ErrorResponse(*refused, call.request_id);
  if (!st.ok()) return ErrorResponse(ServiceError(st, name, call.request_id), call.request_id);
  (void)account;
  return JsonResponse(200, "", call.request_id);
}

HttpResponse KinesisHandler::AddTags(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  SLUICE_KINESIS_STREAM(call, root, reader, errors, target);
  auto tags = reader.Struct(root, "Tags");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!tags) errors.Add(std::nullopt, "tags", "Member must not be null");
  std::map<std::string, std::string> add;
  if (tags) {
    for (auto [k, v] : *tags) {
      std::string_view value;
      if (v.get(value)) {
        return ErrorResponse(ApiError::Serialization("Unexpected token received from parser"),
                             call.request_id);
      }
      CheckLength(errors, k, "tags.key", 1, 128);
      CheckLength(errors, value, "tags.value", 0, 256);
      add.emplace(std::string(k), std::string(value));
    }
    if (add.empty()) errors.Add("{}", "tags", "Member must have length greater than or equal to 1");
  }
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (target_ref.error) return ErrorResponse(*target_ref.error, call.request_id);
  const std::string& name = *target_ref.name;
  std::optional<ApiError> refused;
  Status st = service_.Update(name, [&](streams::StreamSpec& spec) {
    auto merged = spec.tags;
    for (auto& [k, v] : add) merged[k] = v;
    if (merged.size() > 50) {
      refused = ApiError::InvalidArgument("Failed to add tags to stream " + name +
                                          " under account " + options_.account_id +
                                          " because a given tag set exceeds the limit of 50 tags.");
      return Status::FailedPrecondition(refused->message);
    }
    spec.tags = std::move(merged);
    return Status::Ok();
  });
  if (refused) return ErrorResponse(*refused, call.request_id);
  if (!st.ok()) return ErrorResponse(ServiceError(st, name, call.request_id), call.request_id);
  return JsonResponse(200, "", call.request_id);
}

HttpResponse KinesisHandler::RemoveTags(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  SLUICE_KINESIS_STREAM(call, root, reader, errors, target);
  auto keys = reader.List(root, "TagKeys");
  std::vector<std::string> remove;
  if (keys && !reader.failed()) {
    for (auto k : *keys) {
      auto key = reader.StringValue(k);
      if (!key) break;
      CheckLength(errors, key, "tagKeys.member", 1, 128);
      remove.emplace_back(*key);
    }
  }
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!keys) errors.Add(std::nullopt, "tagKeys", "Member must not be null");
  if (keys && (remove.empty() || remove.size() > 50)) {
    errors.Add(std::nullopt, "tagKeys",
               remove.empty() ? "Member must have length greater than or equal to 1"
                              : "Member must have length less than or equal to 50");
  }
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (target_ref.error) return ErrorResponse(*target_ref.error, call.request_id);
  const std::string& name = *target_ref.name;
  Status st = service_.Update(name, [&](streams::StreamSpec& spec) {
    for (const auto& k : remove) spec.tags.erase(k);
    return Status::Ok();
  });
  if (!st.ok()) return ErrorResponse(ServiceError(st, name, call.request_id), call.request_id);
  return JsonResponse(200, "", call.request_id);
}

HttpResponse KinesisHandler::ListTags(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  SLUICE_KINESIS_STREAM(call, root, reader, errors, target);
  auto start = reader.String(root, "ExclusiveStartTagKey");
  auto limit = reader.Integer(root, "Limit");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  CheckLength(errors, start, "exclusiveStartTagKey", 1, 128);
  CheckRange(errors, limit, "limit", 1, 50);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (target_ref.error) return ErrorResponse(*target_ref.error, call.request_id);
  const std::string& name = *target_ref.name;
  auto info = service_.Describe(name);
  if (!info.ok()) return ErrorResponse(StreamNotFound(name), call.request_id);
  const size_t max = limit ? static_cast<size_t>(*limit) : 50;
  json::Writer w;
  w.BeginObject();
  w.Key("Tags");
  w.BeginArray();
  size_t n = 0;
  bool more = false;
  for (const auto& [k, v] : info->spec.tags) {
    if (start && k <= *start) continue;
    if (n == max) {
      more = true;
      break;
    }
    w.BeginObject();
    w.Key("Key");
    w.String(k);
    w.Key("Value");
    w.String(v);
    w.EndObject();
    ++n;
  }
  w.EndArray();
  w.Key("HasMoreTags");
  w.Bool(more);
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

// ---- enhanced fan-out consumers ---------------------------------------------------------------

namespace {

constexpr size_t kMaxConsumersPerStream = 20;

std::string ConsumerArn(std::string_view stream_arn, const streams::RegisteredConsumer& c) {
  return std::string(stream_arn) + "/consumer/" + c.name + ":" +
         std::to_string(c.created_ms / 1000);
}

void WriteConsumer(json::Writer& w, std::string_view stream_arn,
                   const streams::RegisteredConsumer& c, bool with_stream) {
  w.BeginObject();
  w.Key("ConsumerName");
  w.String(c.name);
  w.Key("ConsumerARN");
  w.String(ConsumerArn(stream_arn, c));
  w.Key("ConsumerStatus");
  w.String("ACTIVE");
  w.Key("ConsumerCreationTimestamp");
  w.Raw(EpochSecondsText(c.created_ms));
  if (with_stream) {
    w.Key("StreamARN");
    w.String(stream_arn);
  }
  w.EndObject();
}

}  // namespace

// The stream and consumer a consumer call names: StreamARN + ConsumerName, or ConsumerARN.
struct KinesisHandler::ConsumerRef {
  std::string stream;
  std::string consumer;
  std::optional<int64_t> created_secs;  // from a ConsumerARN
};

ApiResult<KinesisHandler::ConsumerRef> KinesisHandler::ReadConsumerRef(
    JsonReader& reader, ValidationErrors& errors, simdjson::dom::object root,
    bool allow_consumer_arn) const {
  auto stream_arn = reader.String(root, "StreamARN");
  auto consumer_name = reader.String(root, "ConsumerName");
  std::optional<std::string_view> consumer_arn;
  if (allow_consumer_arn) consumer_arn = reader.String(root, "ConsumerARN");
  if (reader.failed()) return reader.error();
  CheckName(errors, consumer_name, "consumerName");
  CheckLength(errors, stream_arn, "streamARN", 1, 2048);
  CheckLength(errors, consumer_arn, "consumerARN", 1, 2048);
  if (!allow_consumer_arn) {
    if (!stream_arn) errors.Add(std::nullopt, "streamARN", "Member must not be null");
    if (!consumer_name) errors.Add(std::nullopt, "consumerName", "Member must not be null");
  }
  if (!errors.empty()) return errors.ToError();
  const std::string prefix = StreamArn("");
  ConsumerRef ref;
  if (consumer_arn) {
    // <stream arn>/consumer/<name>:<created secs>
    std::string_view a = *consumer_arn;
    size_t marker = a.find("/consumer/");
    size_t colon = a.rfind(':');
    if (a.substr(0, prefix.size()) != prefix || marker == std::string_view::npos ||
        colon == std::string_view::npos || colon < marker) {
      return ApiError::InvalidArgument("ConsumerARN " + std::string(a) +
                                       " is not a consumer ARN of this server.");
    }
    ref.stream = std::string(a.substr(prefix.size(), marker - prefix.size()));
    ref.consumer = std::string(a.substr(marker + 10, colon - marker - 10));
    int64_t secs = 0;
    for (char c : a.substr(colon + 1)) {
      if (c < '0' || c > '9') {
        return ApiError::InvalidArgument("ConsumerARN " + std::string(a) +
                                         " is not a consumer ARN of this server.");
      }
      secs = secs * 10 + (c - '0');
    }
    ref.created_secs = secs;
    return ref;
  }
  if (!stream_arn || !consumer_name) {
    return ApiError::InvalidArgument(
        "Either ConsumerARN or both ConsumerName and StreamARN must be provided.");
  }
  if (stream_arn->substr(0, prefix.size()) != prefix) {
    return ApiError::InvalidArgument("StreamARN " + std::string(*stream_arn) +
                                     " is not a stream ARN of this server.");
  }
  ref.stream = std::string(stream_arn->substr(prefix.size()));
  ref.consumer = std::string(*consumer_name);
  return ref;
}

HttpResponse KinesisHandler::RegisterConsumer(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto ref = ReadConsumerRef(reader, errors, root, false);
  if (!ref.ok()) return ErrorResponse(ref.error(), call.request_id);
  const std::string& stream = ref.value().stream;
  const std::string& name = ref.value().consumer;
  MutexLock admin(admin_mu_);
  std::optional<ApiError> refused;
  streams::RegisteredConsumer added{name, options_.clock->NowMs()};
  Status st = service_.Update(stream, [&](streams::StreamSpec& spec) {
    for (const auto& c : spec.consumers) {
      if (c.name == name) {
        refused = ApiError::InUse("Consumer " + name + " under stream " + stream +
                                  " already exists for account " + options_.account_id + ".");
        return Status::FailedPrecondition(refused->message);
      }
    }
    if (spec.consumers.size() >= kMaxConsumersPerStream) {
      refused = ApiError{"LimitExceededException",
                         "Consumer limit of " + std::to_string(kMaxConsumersPerStream) +
                             " reached for stream " + stream + " under account " +
                             options_.account_id + "."};
      return Status::FailedPrecondition(refused->message);
    }
    spec.consumers.push_back(added);
    return Status::Ok();
  });
  if (refused) return ErrorResponse(*refused, call.request_id);
  if (!st.ok()) return ErrorResponse(ServiceError(st, stream, call.request_id), call.request_id);
  json::Writer w;
  w.BeginObject();
  w.Key("Consumer");
  WriteConsumer(w, StreamArn(stream), added, false);
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

std::optional<streams::RegisteredConsumer> KinesisHandler::FindConsumer(
    const ConsumerRef& ref, std::optional<ApiError>& error) const {
  auto info = service_.Describe(ref.stream);
  if (!info.ok()) {
    error = StreamNotFound(ref.stream);
    return std::nullopt;
  }
  for (const auto& c : info->spec.consumers) {
    if (c.name == ref.consumer && (!ref.created_secs || *ref.created_secs == c.created_ms / 1000)) {
      return c;
    }
  }
  error = ApiError::NotFound("Consumer " + ref.consumer + " under stream " + ref.stream +
                             " not found for account " + options_.account_id + ".");
  return std::nullopt;
}

HttpResponse KinesisHandler::DescribeConsumer(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto ref = ReadConsumerRef(reader, errors, root, true);
  if (!ref.ok()) return ErrorResponse(ref.error(), call.request_id);
  std::optional<ApiError> error;
  auto consumer = FindConsumer(ref.value(), error);
  if (!consumer) return ErrorResponse(*error, call.request_id);
  json::Writer w;
  w.BeginObject();
  w.Key("ConsumerDescription");
  WriteConsumer(w, StreamArn(ref.value().stream), *consumer, true);
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

HttpResponse KinesisHandler::ListConsumers(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto stream_arn = reader.String(root, "StreamARN");
  auto token = reader.String(root, "NextToken");
  auto limit = reader.Integer(root, "MaxResults");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!stream_arn) errors.Add(std::nullopt, "streamARN", "Member must not be null");
  CheckLength(errors, stream_arn, "streamARN", 1, 2048);
  CheckRange(errors, limit, "maxResults", 1, 10000);
  CheckLength(errors, token, "nextToken", 1, 1048576);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  const std::string prefix = StreamArn("");
  if (stream_arn->substr(0, prefix.size()) != prefix) {
    return ErrorResponse(ApiError::InvalidArgument("StreamARN " + std::string(*stream_arn) +
                                                   " is not a stream ARN of this server."),
                         call.request_id);
  }
  const std::string stream(stream_arn->substr(prefix.size()));
  std::string after;
  if (token) {
    auto t = iterators_.DecodeToken(*token);
    if (!t || t->subject != "ListStreamConsumers/" + stream) {
      return ErrorResponse(ApiError::InvalidArgument("NextToken is invalid."), call.request_id);
    }
    if (options_.clock->NowMs() - t->issued_ms > kIteratorLifetimeMs) {
      return ErrorResponse({"ExpiredNextTokenException", "The NextToken has expired."},
                           call.request_id);
    }
    after = t->after;
  }
  auto info = service_.Describe(stream);
  if (!info.ok()) return ErrorResponse(StreamNotFound(stream), call.request_id);
  const size_t max = limit ? static_cast<size_t>(*limit) : 100;
  auto consumers = info->spec.consumers;
  std::sort(consumers.begin(), consumers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  json::Writer w;
  w.BeginObject();
  w.Key("Consumers");
  w.BeginArray();
  size_t n = 0;
  std::string last;
  bool more = false;
  for (const auto& c : consumers) {
    if (!after.empty() && c.name <= after) continue;
    if (n == max) {
      more = true;
      break;
    }
    WriteConsumer(w, *stream_arn, c, false);
    last = c.name;
    ++n;
  }
  w.EndArray();
  if (more) {
    w.Key("NextToken");
    w.String(
        iterators_.EncodeToken("ListStreamConsumers/" + stream, last, options_.clock->NowMs()));
  }
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

HttpResponse KinesisHandler::DeregisterConsumer(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto ref = ReadConsumerRef(reader, errors, root, true);
  if (!ref.ok()) return ErrorResponse(ref.error(), call.request_id);
  MutexLock admin(admin_mu_);
  std::optional<ApiError> error;
  if (!FindConsumer(ref.value(), error)) return ErrorResponse(*error, call.request_id);
  Status st = service_.Update(ref.value().stream, [&](streams::StreamSpec& spec) {
    std::erase_if(spec.consumers, [&](const auto& c) { return c.name == ref.value().consumer; });
    return Status::Ok();
  });
  if (!st.ok()) {
    return ErrorResponse(ServiceError(st, ref.value().stream, call.request_id), call.request_id);
  }
  return JsonResponse(200, "", call.request_id);
}

// ---- SubscribeToShard -------------------------------------------------------------------------

void KinesisHandler::SubscribeToShard(Call& call) {
  auto parsed = ParseBody(call.body);
  if (!parsed.ok()) return call.respond(ErrorResponse(parsed.error(), call.request_id));
  simdjson::dom::object root = parsed.value();
  JsonReader reader;
  ValidationErrors errors;
  auto consumer_arn = reader.String(root, "ConsumerARN");
  auto shard_id = reader.String(root, "ShardId");
  auto position = reader.Struct(root, "StartingPosition");
  std::optional<std::string_view> type, sequence;
  std::optional<int64_t> timestamp;
  if (position && !reader.failed()) {
    type = reader.String(*position, "Type");
    sequence = reader.String(*position, "SequenceNumber");
    timestamp = TimestampMs(reader, *position, "Timestamp");
  }
  if (reader.failed()) return call.respond(ErrorResponse(reader.error(), call.request_id));
  if (!consumer_arn) errors.Add(std::nullopt, "consumerARN", "Member must not be null");
  if (!shard_id) errors.Add(std::nullopt, "shardId", "Member must not be null");
  CheckLength(errors, shard_id, "shardId", 1, 128);
  if (!position) errors.Add(std::nullopt, "startingPosition", "Member must not be null");
  if (position && !type) {
    errors.Add(std::nullopt, "startingPosition.type", "Member must not be null");
  }
  static constexpr std::string_view kTypes[] = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER",
                                                "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};
  if (type && std::find(std::begin(kTypes), std::end(kTypes), *type) == std::end(kTypes)) {
    errors.Add(*type, "startingPosition.type",
               "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, "
               "AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
  }
  if (!errors.empty()) return call.respond(ErrorResponse(errors.ToError(), call.request_id));
  ValidationErrors none;
  auto ref = ReadConsumerRef(reader, none, root, true);
  if (!ref.ok()) return call.respond(ErrorResponse(ref.error(), call.request_id));
  std::optional<ApiError> error;
  auto consumer = FindConsumer(ref.value(), error);
  if (!consumer) return call.respond(ErrorResponse(*error, call.request_id));
  auto opened =
      OpenShardAt({ref.value().stream, *shard_id, *type, sequence, timestamp, "SubscribeToShard"},
                  call.request_id);
  if (!opened.ok()) return call.respond(ErrorResponse(opened.error(), call.request_id));
  const std::string arn = ConsumerArn(StreamArn(ref.value().stream), *consumer);
  if (!call.respond.can_stream()) {
    return call.respond(
        ErrorResponse(ApiError::InvalidArgument("SubscribeToShard needs a streaming transport."),
                      call.request_id));
  }
  auto out = call.respond.Stream(200, {{"Content-Type", "application/vnd.amazon.eventstream"},
                                       {"x-amzn-RequestId", call.request_id}});
  out->Write(EncodeEvent("initial-response", "{}"));
  Subscription sub;
  sub.consumer_arn = arn;
  sub.stream = ref.value().stream;
  sub.stream_created_ms = opened.value().spec.created_ms;
  sub.shard = opened.value().shard;
  sub.reader = std::move(opened.value().reader);
  sub.out = std::move(out);
  sub.deadline_ms = options_.clock->MonotonicMs() + KinesisSubscriptions::kLifetimeMs;
  subscriptions_.Add(std::move(sub));
}

void KinesisHandler::StopSubscriptions() {
  subscriptions_.Stop();
}

// ---- resharding -------------------------------------------------------------------------------

namespace {

// The service words shards and streams neutrally ("shard 3 of stream s"); Kinesis says
// "Shard shardId-000000000003 in stream s under account 000000000000".
std::string AwsShardWording(const std::string& message, const std::string& account) {
  static const std::regex kPair(R"(shards (\d+) and (\d+) of stream (\S+))");
  static const std::regex kOne(R"(shard (\d+) of stream (\S+))");
  auto id = [](const std::string& digits) { return ShardIdString(std::stoul(digits)); };
  std::string out = message;
  std::smatch m;
  if (std::regex_search(out, m, kPair)) {
    out = m.prefix().str() + "Shards " + id(m[1]) + " and " + id(m[2]) + " in stream " +
          m[3].str() + " under account " + account + m.suffix().str();
  } else if (std::regex_search(out, m, kOne)) {
    out = m.prefix().str() + "Shard " + id(m[1]) + " in stream " + m[2].str() + " under account " +
          account + m.suffix().str();
  }
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

}  // namespace

ApiResult<std::string> KinesisHandler::ReshardTarget(Call& /*call*/, JsonReader& reader,
                                                     ValidationErrors& errors,
                                                     simdjson::dom::object root) {
  StreamRef ref = ReadStreamRef(reader, errors, root, options_.region, options_.account_id);
  if (reader.failed()) return reader.error();
  if (ref.error) return *ref.error;
  if (!ref.name)
    return ApiError::InvalidArgument("Either StreamName or StreamARN must be provided.");
  return *ref.name;
}

std::optional<ApiError> KinesisHandler::RefuseWhileUpdating(const std::string& stream) {
  if (StatusOf(stream) != streams::StreamStatus::kUpdating) return std::nullopt;
  return ApiError::InUse("Stream " + stream + " under account " + options_.account_id +
                         " not ACTIVE, instead in state UPDATING");
}

void KinesisHandler::ReshardDone(const std::string& stream) {
  if (options_.update_stream_ms > 0) {
    BeginTransition(stream, streams::StreamStatus::kUpdating, options_.update_stream_ms);
  }
}

ApiError KinesisHandler::ShardLimitError(uint32_t current, uint32_t added) const {
  return {"LimitExceededException",
          "This request would exceed the shard limit for the account " + options_.account_id +
              " in " + options_.region + ". Current shard count for the account: " +
              std::to_string(current) + ". Limit: " + std::to_string(options_.shard_limit) +
              ". Number of additional shards that would have resulted from this request: " +
              std::to_string(added) + ". Refer to the AWS Service Limits page " +
              "(https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for "
              "current limits and how to request higher limits."};
}

ApiError KinesisHandler::ReshardError(const Status& st, const std::string& stream,
                                      const std::string& request_id) const {
  switch (st.code()) {
    case StatusCode::kNotFound:
      // The service names the shard when it is the shard that is missing.
      if (st.message().find("shard") != std::string::npos) {
        return ApiError::NotFound(AwsShardWording(st.message(), options_.account_id));
      }
      return StreamNotFound(stream);
    case StatusCode::kInvalidArgument:
      return ApiError::InvalidArgument(AwsShardWording(st.message(), options_.account_id));
    case StatusCode::kResourceExhausted:
      return {"LimitExceededException", AwsShardWording(st.message(), options_.account_id)};
    case StatusCode::kFailedPrecondition: return ApiError::InUse(st.message());
    default: return ServiceError(st, stream, request_id);
  }
}

HttpResponse KinesisHandler::SplitShard(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto target = ReshardTarget(call, reader, errors, root);
  auto shard_id = reader.String(root, "ShardToSplit");
  auto key = reader.String(root, "NewStartingHashKey");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!shard_id) errors.Add(std::nullopt, "shardToSplit", "Member must not be null");
  if (!key) errors.Add(std::nullopt, "newStartingHashKey", "Member must not be null");
  if (key && (key->empty() || key->find_first_not_of("0123456789") != std::string_view::npos)) {
    errors.Add(*key, "newStartingHashKey",
               "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
  }
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (!target.ok()) return ErrorResponse(target.error(), call.request_id);
  const std::string& stream = target.value();
  auto shard = ParseShardId(*shard_id);
  auto hash = streams::HashKey::Parse(*key);
  if (!shard) {
    return ErrorResponse(
        ApiError::NotFound("Could not find shard " + std::string(*shard_id) + " in stream " +
                           stream + " under account " + options_.account_id + "."),
        call.request_id);
  }
  if (!hash) {
    return ErrorResponse(
        ApiError::InvalidArgument("NewStartingHashKey " + std::string(*key) +
                                  " used in SplitShard() on shard " + ShardIdString(*shard) +
                                  " in stream " + stream + " under account " + options_.account_id +
                                  " is not in the hash key range."),
        call.request_id);
  }
  MutexLock admin(admin_mu_);
  if (auto busy = RefuseWhileUpdating(stream)) return ErrorResponse(*busy, call.request_id);
  if (const uint32_t open = OpenShardsAcrossStreams(); open + 1 > options_.shard_limit) {
    return ErrorResponse(ShardLimitError(open, 1), call.request_id);
  }
  Status st = service_.SplitShard(stream, *shard, *hash);
  if (!st.ok()) return ErrorResponse(ReshardError(st, stream, call.request_id), call.request_id);
  spdlog::info("kinesis: stream {}: split {} at {}", stream, ShardIdString(*shard), *key);
  ReshardDone(stream);
  return JsonResponse(200, "", call.request_id);
}

HttpResponse KinesisHandler::MergeShards(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto target = ReshardTarget(call, reader, errors, root);
  auto first = reader.String(root, "ShardToMerge");
  auto second = reader.String(root, "AdjacentShardToMerge");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!first) errors.Add(std::nullopt, "shardToMerge", "Member must not be null");
  if (!second) errors.Add(std::nullopt, "adjacentShardToMerge", "Member must not be null");
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (!target.ok()) return ErrorResponse(target.error(), call.request_id);
  const std::string& stream = target.value();
  auto a = ParseShardId(*first);
  auto b = ParseShardId(*second);
  if (!a || !b) {
    return ErrorResponse(
        ApiError::NotFound("Could not find shard " + std::string(!a ? *first : *second) +
                           " in stream " + stream + " under account " + options_.account_id + "."),
        call.request_id);
  }
  MutexLock admin(admin_mu_);
  if (auto busy = RefuseWhileUpdating(stream)) return ErrorResponse(*busy, call.request_id);
  Status st = service_.MergeShards(stream, *a, *b);
  if (!st.ok()) return ErrorResponse(ReshardError(st, stream, call.request_id), call.request_id);
  spdlog::info("kinesis: stream {}: merged {} and {}", stream, ShardIdString(*a),
               ShardIdString(*b));
  ReshardDone(stream);
  return JsonResponse(200, "", call.request_id);
}

HttpResponse KinesisHandler::UpdateShardCount(Call& call) {
  SLUICE_KINESIS_PARSE(call, root);
  JsonReader reader;
  ValidationErrors errors;
  auto target = ReshardTarget(call, reader, errors, root);
  auto count = reader.Integer(root, "TargetShardCount");
  auto scaling = reader.String(root, "ScalingType");
  if (reader.failed()) return ErrorResponse(reader.error(), call.request_id);
  if (!count) errors.Add(std::nullopt, "targetShardCount", "Member must not be null");
  if (count && *count < 1) {
    errors.Add(std::to_string(*count), "targetShardCount",
               "Member must have value greater than or equal to 1");
  }
  if (!scaling) errors.Add(std::nullopt, "scalingType", "Member must not be null");
  if (scaling && *scaling != "UNIFORM_SCALING") {
    errors.Add(*scaling, "scalingType", "Member must satisfy enum value set: [UNIFORM_SCALING]");
  }
  if (!errors.empty()) return ErrorResponse(errors.ToError(), call.request_id);
  if (!target.ok()) return ErrorResponse(target.error(), call.request_id);
  const std::string& stream = target.value();
  MutexLock admin(admin_mu_);
  auto info = service_.Describe(stream);
  if (!info.ok()) return ErrorResponse(StreamNotFound(stream), call.request_id);
  if (info->spec.on_demand) {
    return ErrorResponse({"ValidationException",
                          "UpdateShardCount is only supported for data streams with the "
                          "provisioned capacity mode."},
                         call.request_id);
  }
  if (auto busy = RefuseWhileUpdating(stream)) return ErrorResponse(*busy, call.request_id);
  const size_t current = OpenShards(info->spec);
  const auto wanted = static_cast<uint32_t>(std::min<int64_t>(*count, UINT32_MAX));
  if (const uint32_t open = OpenShardsAcrossStreams();
      open - current + wanted > options_.shard_limit) {
    return ErrorResponse(
        ShardLimitError(open, static_cast<uint32_t>(wanted > current ? wanted - current : 0)),
        call.request_id);
  }
  Status st = service_.UpdateShardCount(stream, wanted);
  if (!st.ok()) return ErrorResponse(ReshardError(st, stream, call.request_id), call.request_id);
  spdlog::info("kinesis: stream {}: shard count {} -> {}", stream, current, wanted);
  ReshardDone(stream);
  json::Writer w;
  w.BeginObject();
  w.Key("StreamName");
  w.String(stream);
  w.Key("CurrentShardCount");
  w.Uint(current);
  w.Key("TargetShardCount");
  w.Uint(wanted);
  w.Key("StreamARN");
  w.String(StreamArn(stream));
  w.EndObject();
  return JsonResponse(200, w.Take(), call.request_id);
}

}  // namespace sluice::api
