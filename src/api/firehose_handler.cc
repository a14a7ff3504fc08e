#include "api/firehose_handler.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "api/firehose_config.h"
#include "api/json_input.h"
#include "api/router.h"
#include "auth/authorize.h"
#include "common/base64.h"
#include "common/json_writer.h"

namespace sluice::api {
namespace {

constexpr std::array<std::string_view, 4> kStreamTypes = {"DirectPut", "KinesisStreamAsSource",
                                                          "MSKAsSource", "DatabaseAsSource"};

// A parsed and validated Put: the stream name and the decoded records.
struct PutInput {
  std::string stream;
  journal::RecordBatch records;
};

// The validation path of record `index` of a PutRecordBatch (1-based), or of PutRecord's record
// (index 0); built only for an error.
std::string DataPath(size_t index) {
  return index == 0 ? "record.data" : "records." + std::to_string(index) + ".member.data";
}

// Decodes the blob member "Data" of `record` straight into the next record of `batch`. False when
// it is absent (`errors` gets "must not be null") or does not decode (`reader` failed).
bool ReadData(JsonReader& reader, ValidationErrors& errors, simdjson::dom::object record,
              size_t index, journal::RecordBatch& batch) {
  auto text = reader.BlobText(record, "Data");
  if (!text) {
    if (!reader.failed()) errors.Add(std::nullopt, DataPath(index), "Member must not be null");
    return false;
  }
  auto n = reader.DecodeBlobTo(*text, batch.Room(base64::MaxDecodedSize(text->size())));
  if (!n) return false;
  batch.Add(*n);
  if (*n > kMaxRecordBytes) {
    errors.Add(BlobRepr(*n), DataPath(index),
               "Member must have length less than or equal to " + std::to_string(kMaxRecordBytes));
  }
  return true;
}

ApiResult<PutInput> ParsePutRecord(std::string_view body) {
  auto root = ParseBody(body);
  if (!root.ok()) return root.error();
  JsonReader reader;
  ValidationErrors errors;
  PutInput in;
  auto name = reader.String(root.value(), "DeliveryStreamName");
  if (!reader.failed()) ValidateStreamName(name, "deliveryStreamName", true, errors);
  auto record = reader.Struct(root.value(), "Record");
  if (record) {
    ReadData(reader, errors, *record, 0, in.records);
  } else if (!reader.failed()) {
    errors.Add(std::nullopt, "record", "Member must not be null");
  }
  if (reader.failed()) return reader.error();
  if (!errors.empty()) return errors.ToError();
  in.stream = std::string(*name);
  return in;
}

// The hot path: 500 records of a few KiB each. Each record is decoded from the parsed string
// straight into the request's RecordBatch, which moves on to the journal as it is.
ApiResult<PutInput> ParsePutRecordBatch(std::string_view body) {
  auto root = ParseBody(body);
  if (!root.ok()) return root.error();
  JsonReader reader;
  ValidationErrors errors;
  PutInput in;
  auto name = reader.String(root.value(), "DeliveryStreamName");
  if (!reader.failed()) ValidateStreamName(name, "deliveryStreamName", true, errors);
  auto records = reader.List(root.value(), "Records");
  size_t count = 0;
  if (records) {
    // The decoded records are smaller than the body that carries them in base64.
    in.records.Reserve(records->size(), base64::MaxDecodedSize(body.size()));
    for (auto item : *records) {
      ++count;
      auto record = reader.StructValue(item);
      if (reader.failed()) break;
      if (!record) {
        errors.Add(std::nullopt, "records." + std::to_string(count) + ".member",
                   "Member must not be null");
        continue;
      }
      ReadData(reader, errors, *record, count, in.records);
      if (reader.failed()) break;
    }
  }
  if (reader.failed()) return reader.error();
  if (!records) {
    errors.Add(std::nullopt, "records", "Member must not be null");
  } else if (count == 0) {
    errors.Add("[]", "records", "Member must have length greater than or equal to 1");
  } else if (count > kMaxBatchRecords) {
    // AWS prints the list's members; Sluice prints their count (the exact text is unverified).
    errors.Add("[" + std::to_string(count) + " records]", "records",
               "Member must have length less than or equal to " + std::to_string(kMaxBatchRecords));
  }
  if (!errors.empty()) return errors.ToError();
  if (in.records.bytes() > kMaxBatchBytes) {
    return ApiError::InvalidArgument("Records size exceeds 4 MB limit");
  }
  in.stream = std::string(*name);
  return in;
}

// Tag keys and values: the model's patterns ^(?!aws:)[\p{L}\p{Z}\p{N}_.\/=+\-@%]*$ (keys) and
// ^[\p{L}\p{Z}\p{N}_.\/=+\-@%]*$ (values). Letters, separators and digits outside ASCII (any
// byte >= 0x80 of UTF-8) are accepted as \p{L}/\p{Z}/\p{N}.
bool MatchesTagPattern(std::string_view v) {
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    bool ok = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == ' ' || c == '_' || c == '.' || c == '/' || c == '=' ||
              c == '+' || c == '-' || c == '@' || c == '%';
    if (!ok) return false;
  }
  return true;
}

void CheckTagKey(ValidationErrors& errors, std::string_view key, const std::string& path) {
  if (key.empty() || key.size() > 128) {
    errors.Add(key, path,
               key.empty() ? "Member must have length greater than or equal to 1"
                           : "Member must have length less than or equal to 128");
  }
  if (!MatchesTagPattern(key) || key.substr(0, 4) == "aws:") {
    errors.Add(key, path,
               "Member must satisfy regular expression pattern: "
               "^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.\\/=+\\-@%]*$");
  }
}

// A Tags or TagKeys list: required, 1..50 members.
void CheckTagListLength(ValidationErrors& errors, bool present, size_t n, const std::string& path) {
  if (!present) {
    errors.Add(std::nullopt, path, "Member must not be null");
  } else if (n == 0) {
    errors.Add("[]", path, "Member must have length greater than or equal to 1");
  } else if (n > Backend::kMaxTags) {
    errors.Add("[" + std::to_string(n) + " members]", path,
               "Member must have length less than or equal to 50");
  }
}

// The DeliveryStreamName of a request on one stream, validated; nullopt after an error.
std::optional<std::string> StreamNameOf(JsonReader& reader, simdjson::dom::object root,
                                        ValidationErrors& errors) {
  auto name = reader.String(root, "DeliveryStreamName");
  if (!reader.failed()) ValidateStreamName(name, "deliveryStreamName", true, errors);
  if (!name) return std::nullopt;
  return std::string(*name);
}

}  // namespace

namespace {

struct ErrorMapping {
  StatusCode code;
  const char* type;
  int http_status;
};

// The one table mapping a Backend's whole-call codes to Firehose errors; codes not listed are
// InternalFailure/500.
constexpr std::array<ErrorMapping, 7> kFirehoseErrors = {{
    {StatusCode::kNotFound, "ResourceNotFoundException", 400},
    {StatusCode::kAlreadyExists, "ResourceInUseException", 400},
    {StatusCode::kInvalidArgument, "InvalidArgumentException", 400},
    {StatusCode::kFailedPrecondition, "ResourceInUseException", 400},
    {StatusCode::kResourceExhausted, "LimitExceededException", 400},
    {StatusCode::kUnavailable, "ServiceUnavailableException", 503},
    {StatusCode::kAborted, "ConcurrentModificationException", 400},
}};

constexpr char kRecordNotDurable[] = "The record could not be stored durably; retry.";

}  // namespace

ApiError FirehoseError(const Status& status) {
  for (const auto& m : kFirehoseErrors) {
    if (m.code == status.code()) return {m.type, status.message(), m.http_status};
  }
  return ApiError::InternalFailure(status.message());
}

ApiError FirehoseRecordError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kResourceExhausted: return ApiError::ServiceUnavailable("Slow down.");
    case StatusCode::kUnavailable: return ApiError::ServiceUnavailable(kRecordNotDurable);
    default: return ApiError::InternalFailure("The record could not be stored; retry.");
  }
}

std::string FirehoseRecordId(uint64_t incarnation, uint32_t shard, uint64_t offset) {
  // "%016llx%08x%016llx", without printf's cost on the hot path (one per record answered).
  std::string id(40, '0');
  auto put = [&id](size_t end, uint64_t v, int digits) {
    for (int i = 0; i < digits; ++i, v >>= 4) id[end - 1 - i] = "0123456789abcdef"[v & 0xf];
  };
  put(16, incarnation, 16);
  put(24, shard, 8);
  put(40, offset, 16);
  return id;
}

std::string DeliveryStreamArn(const Backend& backend, std::string_view name) {
  return "arn:aws:firehose:" + backend.Region() + ":" + backend.AccountId() + ":deliverystream/" +
         std::string(name);
}

FirehoseHandler::FirehoseHandler(Backend& backend, Clock& clock)
    : backend_(backend), clock_(clock) {}

ApiError FirehoseHandler::StreamError(const Status& status, std::string_view name,
                                      const std::string& request_id) const {
  ApiError e = FirehoseError(status);
  if (e.type == "InternalFailure") {
    // The detail (file names, errno) stays in the server log: a client never sees the server's
    // paths. The request id ties the two together.
    spdlog::error("request {}: stream {}: {}", request_id, name, status.ToString());
    e.message =
        "The request could not be completed because of an internal server error; the "
        "server log has the details (request id " +
        request_id + ").";
    return e;
  }
  std::string where = "Firehose " + std::string(name) + " under account " + backend_.AccountId();
  if (status.code() == StatusCode::kNotFound) e.message = where + " not found.";
  if (status.code() == StatusCode::kAlreadyExists) e.message = where + " already exists.";
  return e;
}

void FirehoseHandler::Handle(HttpRequest request, Responder respond) {
  std::string request_id = NewRequestId();
  std::string_view target = request.Header("X-Amz-Target");
  if (target.substr(0, kFirehoseTargetPrefix.size()) != kFirehoseTargetPrefix) {
    respond(ErrorResponse(ApiError::UnknownOperation("Unknown operation: " + std::string(target)),
                          request_id));
    return;
  }
  std::string_view op = target.substr(kFirehoseTargetPrefix.size());
  std::string_view body = request.body;
  // Authorization: the IAM action and the delivery stream the call names.
  std::string resource = "*";
  if (request.identity || auth::IsControlPlane(op)) {
    auto named = NamedResource(body, {"DeliveryStreamName"});
    if (!named.second.empty()) resource = DeliveryStreamArn(backend_, named.second);
  }
  if (!AuthorizeCall(request, "firehose", op, resource, request_id, respond)) return;
  if (op == "PutRecordBatch") return PutRecordBatch(body, request_id, std::move(respond));
  if (op == "PutRecord") return PutRecord(body, request_id, std::move(respond));
  if (op == "CreateDeliveryStream") return respond(CreateDeliveryStream(body, request_id));
  if (op == "DescribeDeliveryStream") return respond(DescribeDeliveryStream(body, request_id));
  if (op == "ListDeliveryStreams") return respond(ListDeliveryStreams(body, request_id));
  if (op == "DeleteDeliveryStream") return respond(DeleteDeliveryStream(body, request_id));
  if (op == "UpdateDestination") return respond(UpdateDestination(body, request_id));
  if (op == "TagDeliveryStream") return respond(TagDeliveryStream(body, request_id));
  if (op == "UntagDeliveryStream") return respond(UntagDeliveryStream(body, request_id));
  if (op == "ListTagsForDeliveryStream") {
    return respond(ListTagsForDeliveryStream(body, request_id));
  }
  respond(ErrorResponse(
      ApiError::UnknownOperation("Sluice does not implement " + std::string(target)), request_id));
}

void FirehoseHandler::PutRecord(std::string_view body, const std::string& request_id,
                                Responder respond) {
  auto input = ParsePutRecord(body);
  if (!input.ok()) return respond(ErrorResponse(input.error(), request_id));
  std::string stream = input.value().stream;
  backend_.Put(
      stream, std::move(input.value().records),
      [this, stream, request_id, respond = std::move(respond)](Result<PutResult> result) {
        if (!result.ok()) {
          return respond(
              ErrorResponse(StreamError(result.status(), stream, request_id), request_id));
        }
        if (result->entries.size() != 1) {
          return respond(ErrorResponse(
              ApiError::InternalFailure("backend returned a wrong number of entries"), request_id));
        }
        const PutEntry& entry = result->entries.front();
        if (!entry.ok())
          return respond(ErrorResponse(FirehoseRecordError(entry.status), request_id));
        json::Writer w;
        w.BeginObject();
        w.Key("RecordId");
        w.String(FirehoseRecordId(result->incarnation, entry.shard, entry.offset));
        w.Key("Encrypted");
        w.Bool(false);
        w.EndObject();
        respond(JsonResponse(200, w.Take(), request_id));
      });
}

void FirehoseHandler::PutRecordBatch(std::string_view body, const std::string& request_id,
                                     Responder respond) {
  auto input = ParsePutRecordBatch(body);
  if (!input.ok()) return respond(ErrorResponse(input.error(), request_id));
  std::string stream = input.value().stream;
  size_t count = input.value().records.size();
  backend_.Put(
      stream, std::move(input.value().records),
      [this, stream, count, request_id, respond = std::move(respond)](Result<PutResult> result) {
        if (!result.ok()) {
          return respond(
              ErrorResponse(StreamError(result.status(), stream, request_id), request_id));
        }
        if (result->entries.size() != count) {
          return respond(ErrorResponse(
              ApiError::InternalFailure("backend returned a wrong number of entries"), request_id));
        }
        int64_t failed = 0;
        for (const auto& e : result->entries) failed += e.ok() ? 0 : 1;
        json::Writer w;
        w.BeginObject();
        w.Key("FailedPutCount");
        w.Int(failed);
        w.Key("Encrypted");
        w.Bool(false);
        w.Key("RequestResponses");
        w.BeginArray();
        for (const auto& e : result->entries) {
          w.BeginObject();
          if (e.ok()) {
            w.Key("RecordId");
            w.String(FirehoseRecordId(result->incarnation, e.shard, e.offset));
          } else {
            ApiError error = FirehoseRecordError(e.status);
            w.Key("ErrorCode");
            w.String(error.type);
            w.Key("ErrorMessage");
            w.String(error.message);
          }
          w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        respond(JsonResponse(200, w.Take(), request_id));
      });
}

HttpResponse FirehoseHandler::CreateDeliveryStream(std::string_view body,
                                                   const std::string& request_id) {
  auto parsed = ParseCreateDeliveryStream(body);
  if (!parsed.ok()) return ErrorResponse(parsed.error(), request_id);
  config::StreamConfig cfg = std::move(parsed.value());
  std::string name = cfg.name;
  Status created = backend_.CreateStream(std::move(cfg), clock_.NowMs());
  if (!created.ok()) return ErrorResponse(StreamError(created, name, request_id), request_id);
  json::Writer w;
  w.BeginObject();
  w.Key("DeliveryStreamARN");
  w.String(DeliveryStreamArn(backend_, name));
  w.EndObject();
  return JsonResponse(200, w.Take(), request_id);
}

HttpResponse FirehoseHandler::DescribeDeliveryStream(std::string_view body,
                                                     const std::string& request_id) {
  auto root = ParseBody(body);
  if (!root.ok()) return ErrorResponse(root.error(), request_id);
  JsonReader reader;
  ValidationErrors errors;
  auto name = reader.String(root.value(), "DeliveryStreamName");
  if (!reader.failed()) ValidateStreamName(name, "deliveryStreamName", true, errors);
  CheckRange(errors, reader.Integer(root.value(), "Limit"), "limit", 1, 10000);
  auto start = reader.String(root.value(), "ExclusiveStartDestinationId");
  if (start && (start->empty() || start->size() > 100)) {
    errors.Add(*start, "exclusiveStartDestinationId",
               start->empty() ? "Member must have length greater than or equal to 1"
                              : "Member must have length less than or equal to 100");
  }
  if (reader.failed()) return ErrorResponse(reader.error(), request_id);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), request_id);
  auto info = backend_.DescribeStream(std::string(*name));
  if (!info.ok()) return ErrorResponse(StreamError(info.status(), *name, request_id), request_id);
  info->arn = DeliveryStreamArn(backend_, *name);
  json::Writer w;
  w.BeginObject();
  w.Key("DeliveryStreamDescription");
  WriteDeliveryStreamDescription(*info, w);
  w.EndObject();
  return JsonResponse(200, w.Take(), request_id);
}

HttpResponse FirehoseHandler::ListDeliveryStreams(std::string_view body,
                                                  const std::string& request_id) {
  auto root = ParseBody(body);
  if (!root.ok()) return ErrorResponse(root.error(), request_id);
  JsonReader reader;
  ValidationErrors errors;
  auto limit = reader.Integer(root.value(), "Limit");
  CheckRange(errors, limit, "limit", 1, 10000);
  auto type = reader.String(root.value(), "DeliveryStreamType");
  if (type) {
    bool known = false;
    for (auto t : kStreamTypes) known = known || t == *type;
    if (!known) {
      errors.Add(*type, "deliveryStreamType",
                 "Member must satisfy enum value set: [DirectPut, KinesisStreamAsSource, "
                 "MSKAsSource, DatabaseAsSource]");
    }
  }
  auto start = reader.String(root.value(), "ExclusiveStartDeliveryStreamName");
  if (!reader.failed()) {
    ValidateStreamName(start, "exclusiveStartDeliveryStreamName", false, errors);
  }
  if (reader.failed()) return ErrorResponse(reader.error(), request_id);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), request_id);

  size_t max = static_cast<size_t>(limit.value_or(10));
  std::vector<std::string> names = backend_.ListStreams();
  json::Writer w;
  w.BeginObject();
  w.Key("DeliveryStreamNames");
  w.BeginArray();
  size_t listed = 0;
  bool more = false;
  for (const std::string& n : names) {
    if (start && n <= *start) continue;
    if (type) {
      auto info = backend_.DescribeStream(n);
      if (!info.ok() || config::SourceTypeName(info->config.type) != *type) continue;
    }
    if (listed == max) {
      more = true;
      break;
    }
    w.String(n);
    ++listed;
  }
  w.EndArray();
  w.Key("HasMoreDeliveryStreams");
  w.Bool(more);
  w.EndObject();
  return JsonResponse(200, w.Take(), request_id);
}

HttpResponse FirehoseHandler::DeleteDeliveryStream(std::string_view body,
                                                   const std::string& request_id) {
  auto root = ParseBody(body);
  if (!root.ok()) return ErrorResponse(root.error(), request_id);
  JsonReader reader;
  ValidationErrors errors;
  auto name = reader.String(root.value(), "DeliveryStreamName");
  if (!reader.failed()) ValidateStreamName(name, "deliveryStreamName", true, errors);
  (void)reader.Boolean(root.value(), "AllowForceDelete");
  if (reader.failed()) return ErrorResponse(reader.error(), request_id);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), request_id);
  Status st = backend_.DeleteStream(std::string(*name));
  if (!st.ok()) return ErrorResponse(StreamError(st, *name, request_id), request_id);
  return JsonResponse(200, "{}", request_id);
}

HttpResponse FirehoseHandler::TagDeliveryStream(std::string_view body,
                                                const std::string& request_id) {
  auto root = ParseBody(body);
  if (!root.ok()) return ErrorResponse(root.error(), request_id);
  JsonReader reader;
  ValidationErrors errors;
  auto name = StreamNameOf(reader, root.value(), errors);
  std::map<std::string, std::string> tags;
  auto list = reader.List(root.value(), "Tags");
  size_t n = 0;
  if (list) {
    for (auto item : *list) {
      ++n;
      std::string path = "tags." + std::to_string(n) + ".member";
      auto tag = reader.StructValue(item);
      if (!tag) {
        if (!reader.failed()) errors.Add(std::nullopt, path, "Member must not be null");
        continue;
      }
      auto key = reader.String(*tag, "Key");
      auto value = reader.String(*tag, "Value");
      if (reader.failed()) break;
      if (!key) {
        errors.Add(std::nullopt, path + ".key", "Member must not be null");
        continue;
      }
      CheckTagKey(errors, *key, path + ".key");
      std::string_view v = value.value_or("");
      if (v.size() > 256) {
        errors.Add(v, path + ".value", "Member must have length less than or equal to 256");
      }
      if (!MatchesTagPattern(v)) {
        errors.Add(v, path + ".value",
                   "Member must satisfy regular expression pattern: "
                   "^[\\p{L}\\p{Z}\\p{N}_.\\/=+\\-@%]*$");
      }
      tags[std::string(*key)] = std::string(v);
    }
  }
  if (reader.failed()) return ErrorResponse(reader.error(), request_id);
  CheckTagListLength(errors, list.has_value(), n, "tags");
  if (!errors.empty()) return ErrorResponse(errors.ToError(), request_id);
  Status st = backend_.UpdateTags(*name, tags, {});
  if (!st.ok()) return ErrorResponse(StreamError(st, *name, request_id), request_id);
  return JsonResponse(200, "{}", request_id);
}

HttpResponse FirehoseHandler::UntagDeliveryStream(std::string_view body,
                                                  const std::string& request_id) {
  auto root = ParseBody(body);
  if (!root.ok()) return ErrorResponse(root.error(), request_id);
  JsonReader reader;
  ValidationErrors errors;
  auto name = StreamNameOf(reader, root.value(), errors);
  std::vector<std::string> keys;
  auto list = reader.List(root.value(), "TagKeys");
  if (list) {
    size_t n = 0;
    for (auto item : *list) {
      ++n;
      std::string path = "tagKeys." + std::to_string(n) + ".member";
      auto key = reader.StringValue(item);
      if (reader.failed()) break;
      if (!key) {
        errors.Add(std::nullopt, path, "Member must not be null");
        continue;
      }
      CheckTagKey(errors, *key, path);
      keys.emplace_back(*key);
    }
  }
  if (reader.failed()) return ErrorResponse(reader.error(), request_id);
  CheckTagListLength(errors, list.has_value(), list ? list->size() : 0, "tagKeys");
  if (!errors.empty()) return ErrorResponse(errors.ToError(), request_id);
  Status st = backend_.UpdateTags(*name, {}, keys);
  if (!st.ok()) return ErrorResponse(StreamError(st, *name, request_id), request_id);
  return JsonResponse(200, "{}", request_id);
}

HttpResponse FirehoseHandler::ListTagsForDeliveryStream(std::string_view body,
                                                        const std::string& request_id) {
  auto root = ParseBody(body);
  if (!root.ok()) return ErrorResponse(root.error(), request_id);
  JsonReader reader;
  ValidationErrors errors;
  auto name = StreamNameOf(reader, root.value(), errors);
  auto limit = reader.Integer(root.value(), "Limit");
  CheckRange(errors, limit, "limit", 1, 50);
  auto start = reader.String(root.value(), "ExclusiveStartTagKey");
  if (start) CheckTagKey(errors, *start, "exclusiveStartTagKey");
  if (reader.failed()) return ErrorResponse(reader.error(), request_id);
  if (!errors.empty()) return ErrorResponse(errors.ToError(), request_id);
  auto info = backend_.DescribeStream(*name);
  if (!info.ok()) return ErrorResponse(StreamError(info.status(), *name, request_id), request_id);
  const size_t max = static_cast<size_t>(limit.value_or(static_cast<int64_t>(Backend::kMaxTags)));
  json::Writer w;
  w.BeginObject();
  w.Key("Tags");
  w.BeginArray();
  size_t listed = 0;
  bool more = false;
  for (const auto& [key, value] : info->config.tags) {  // sorted by key
    if (start && key <= *start) continue;
    if (listed == max) {
      more = true;
      break;
    }
    w.BeginObject();
    w.Key("Key");
    w.String(key);
    w.Key("Value");
    w.String(value);
    w.EndObject();
    ++listed;
  }
  w.EndArray();
  w.Key("HasMoreTags");
  w.Bool(more);
  w.EndObject();
  return JsonResponse(200, w.Take(), request_id);
}

HttpResponse FirehoseHandler::UpdateDestination(std::string_view body,
                                                const std::string& request_id) {
  auto input = ParseUpdateDestination(body);
  if (!input.ok()) return ErrorResponse(input.error(), request_id);
  const UpdateDestinationInput& in = input.value();
  auto info = backend_.DescribeStream(in.name);
  if (!info.ok()) return ErrorResponse(StreamError(info.status(), in.name, request_id), request_id);
  if (in.destination_id != kDestinationId) {
    return ErrorResponse(ApiError::InvalidArgument(
                             "Destination " + in.destination_id + " not found for Firehose " +
                             in.name + "; its destination is " + std::string(kDestinationId) + "."),
                         request_id);
  }
  if (in.current_version != info->state.version) {
    return ErrorResponse(ConcurrentModification(in.name, in.current_version, info->state.version),
                         request_id);
  }
  auto updated = ApplyDestinationUpdate(body, info->config);
  if (!updated.ok()) return ErrorResponse(updated.error(), request_id);
  Status st = backend_.UpdateDestination(updated.value(), in.current_version);
  if (st.code() == StatusCode::kAborted) {
    // Another update won between Describe and here.
    auto now = backend_.DescribeStream(in.name);
    return ErrorResponse(
        ConcurrentModification(in.name, in.current_version, now.ok() ? now->state.version : 0),
        request_id);
  }
  if (!st.ok()) return ErrorResponse(StreamError(st, in.name, request_id), request_id);
  return JsonResponse(200, "{}", request_id);
}

ApiError FirehoseHandler::ConcurrentModification(const std::string& name, uint64_t given,
                                                 uint64_t current) {
  return {"ConcurrentModificationException",
          "Cannot update Firehose " + name + ": CurrentDeliveryStreamVersionId " +
              std::to_string(given) + " is not the current version " + std::to_string(current) +
              ". Fetch VersionId again (DescribeDeliveryStream) and retry.",
          400};
}

}  // namespace sluice::api
