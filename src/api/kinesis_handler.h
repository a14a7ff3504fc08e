// The Amazon Kinesis Data Streams front end (AWS JSON 1.1, X-Amz-Target:
// Kinesis_20131202.<Op>) on the streams/ service: every stream is a kStandalone ingest stream,
// every shard a journal partition. CBOR requests reach it as JSON through api/cbor_adapter.h.
//
// Operations: CreateStream, DeleteStream, DescribeStream, DescribeStreamSummary, ListStreams,
// ListShards, PutRecord, PutRecords, GetShardIterator, GetRecords,
// IncreaseStreamRetentionPeriod, DecreaseStreamRetentionPeriod, AddTagsToStream,
// RemoveTagsFromStream, ListTagsForStream, SplitShard, MergeShards, UpdateShardCount,
// RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers, DeregisterStreamConsumer,
// SubscribeToShard (an event stream: api/kinesis_subscriptions.h).
// Others answer UnknownOperationException. Streams are addressed by StreamName or StreamARN
// wherever AWS allows either. Shapes, limits and error texts follow aws-wire-spec.md §2.
//
// Status transitions: CREATING, DELETING and UPDATING last KinesisOptions' durations (default 0,
// as kinesalite's --createStreamMs), so that clients' waiters can be tested. A DELETING stream is
// removed by the first request after its time is up.
//
// Thread safety: Handle may be called concurrently from any number of threads. The service must
// outlive the handler, and the handler every pending append completion.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/errors.h"
#include "api/http.h"
#include "api/json_input.h"
#include "api/kinesis_ids.h"
#include "api/kinesis_subscriptions.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "streams/service.h"

namespace sluice::api {

inline constexpr std::string_view kKinesisTargetPrefix = "Kinesis_20131202.";

struct KinesisOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  Clock* clock = &Clock::System();
  int64_t create_stream_ms = 0;       // how long a new stream stays CREATING
  int64_t delete_stream_ms = 0;       // ... a deleted one DELETING
  int64_t update_stream_ms = 0;       // ... a resharded one UPDATING
  uint32_t shard_limit = 500;         // open shards across all streams (LimitExceededException)
  uint32_t on_demand_shards = 4;      // the shards an ON_DEMAND stream starts with
  bool enforce_shard_limits = false;  // new streams enforce AWS's per-shard write limits
  // The delivery streams reading a stream (DeleteStream refuses while there are any).
  std::function<std::vector<std::string>(const std::string& stream)> readers;
};

inline constexpr size_t kKinesisMaxRecords = 500;                   // per PutRecords
inline constexpr size_t kKinesisMaxRecordBytes = 1024 * 1024;       // data + partition key
inline constexpr size_t kKinesisMaxRequestBytes = 5 * 1024 * 1024;  // PutRecords, with keys
inline constexpr size_t kKinesisMaxGetRecords = 10'000;
inline constexpr size_t kKinesisMaxGetBytes = 10 * 1024 * 1024;

class KinesisHandler : public HttpHandler {
 public:
  KinesisHandler(streams::Service& service, IteratorCodec iterators, KinesisOptions options);

  void Handle(HttpRequest request, Responder respond) override;

  // Ends every SubscribeToShard stream (the server calls it before stopping its listener).
  void StopSubscriptions();

  // arn:aws:kinesis:<region>:<account>:stream/<name>
  std::string StreamArn(std::string_view name) const;

 private:
  struct Call;  // one request: its id, body and responder
  void PutRecord(Call& call);
  void PutRecords(Call& call);
  HttpResponse CreateStream(Call& call);
  HttpResponse DeleteStream(Call& call);
  HttpResponse DescribeStream(Call& call);
  HttpResponse DescribeStreamSummary(Call& call);
  HttpResponse ListStreams(Call& call);
  HttpResponse ListShards(Call& call);
  HttpResponse GetShardIterator(Call& call);
  HttpResponse GetRecords(Call& call);
  HttpResponse ChangeRetention(Call& call, bool increase);
  HttpResponse AddTags(Call& call);
  HttpResponse RemoveTags(Call& call);
  HttpResponse ListTags(Call& call);
  HttpResponse RegisterConsumer(Call& call);
  HttpResponse DescribeConsumer(Call& call);
  HttpResponse ListConsumers(Call& call);
  HttpResponse DeregisterConsumer(Call& call);
  HttpResponse SplitShard(Call& call);
  HttpResponse MergeShards(Call& call);
  HttpResponse UpdateShardCount(Call& call);
  // The stream a resharding call names, or its error.
  ApiResult<std::string> ReshardTarget(Call& call, JsonReader& reader, ValidationErrors& errors,
                                       simdjson::dom::object root);
  // ResourceInUseException while the stream is UPDATING (a reshard's transition), else nullopt.
  std::optional<ApiError> RefuseWhileUpdating(const std::string& stream);
  // Starts the UPDATING transition a reshard shows (KinesisOptions::update_stream_ms).
  void ReshardDone(const std::string& stream);
  // LimitExceededException for `added` shards more than the `current` open ones.
  ApiError ShardLimitError(uint32_t current, uint32_t added) const;
  // A reshard's service error as AWS words it.
  ApiError ReshardError(const Status& status, const std::string& stream,
                        const std::string& request_id) const;
  struct StartRequest {
    std::string stream;
    std::string_view shard_id;
    std::string_view type;                     // ShardIteratorType / StartingPosition.Type
    std::optional<std::string_view> starting;  // a sequence number
    std::optional<int64_t> timestamp;          // ms
    std::string_view operation;                // for messages
  };
  struct OpenedShard {
    streams::StreamSpec spec;
    uint32_t shard = 0;
    std::unique_ptr<streams::ShardReader> reader;
  };
  // A reader of the requested shard at the requested start (GetShardIterator, SubscribeToShard),
  // or the AWS error.
  ApiResult<OpenedShard> OpenShardAt(const StartRequest& req, const std::string& request_id);
  void SubscribeToShard(Call& call);
  struct ConsumerRef;
  ApiResult<ConsumerRef> ReadConsumerRef(JsonReader& reader, ValidationErrors& errors,
                                         simdjson::dom::object root, bool allow_consumer_arn) const;
  std::optional<streams::RegisteredConsumer> FindConsumer(const ConsumerRef& ref,
                                                          std::optional<ApiError>& error) const;

  // The status a stream shows now (a transition in progress, else ACTIVE), after finishing
  // transitions whose time is up.
  streams::StreamStatus StatusOf(const std::string& name);
  void Settle();
  void BeginTransition(const std::string& name, streams::StreamStatus status, int64_t duration_ms);
  // "Stream <name> under account <account> not found."
  ApiError StreamNotFound(std::string_view name) const;
  // The error for a service Status about stream `name`.
  ApiError ServiceError(const Status& status, std::string_view name,
                        const std::string& request_id) const;
  uint32_t OpenShardsAcrossStreams() const;

  streams::Service& service_;
  const IteratorCodec iterators_;
  const KinesisOptions options_;
  struct Transition {
    streams::StreamStatus status;
    int64_t until_ms;
  };
  mutable Mutex mu_;
  std::map<std::string, Transition> transitions_ SLUICE_GUARDED_BY(mu_);
  KinesisSubscriptions subscriptions_;
  Mutex admin_mu_;  // serialises control-plane changes (create, delete, reshard, consumers)
};

}  // namespace sluice::api
