// The Amazon Data Firehose front end (AWS JSON 1.1, X-Amz-Target: Firehose_20150804.<Op>) on a
// Backend. It parses and validates requests exactly as the wire contract says, calls the Backend,
// and renders responses and AWS errors. Every response carries x-amzn-RequestId and
// Content-Type: application/x-amz-json-1.1.
//
// Operations: PutRecord, PutRecordBatch, CreateDeliveryStream, DescribeDeliveryStream,
// ListDeliveryStreams, DeleteDeliveryStream, UpdateDestination, TagDeliveryStream,
// UntagDeliveryStream, ListTagsForDeliveryStream. Others answer UnknownOperationException.
// Authorization headers are accepted and not verified yet; their contents are never logged.
//
// Thread safety: Handle may be called concurrently from any number of threads; the handler keeps
// no per-request state. The Backend must be thread-safe and outlive the handler; the handler must
// outlive every pending Backend::Put completion (server/ stops the HTTP server and drains the
// journal's commit queue before destroying it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "api/backend.h"
#include "api/errors.h"
#include "api/http.h"
#include "common/clock.h"

namespace sluice::api {

inline constexpr std::string_view kFirehoseTargetPrefix = "Firehose_20150804.";

// The Firehose error table: a Backend's whole-call Status as the AWS error Firehose answers.
//   kNotFound           -> ResourceNotFoundException 400
//   kAlreadyExists      -> ResourceInUseException 400
//   kInvalidArgument    -> InvalidArgumentException 400
//   kFailedPrecondition -> ResourceInUseException 400
//   kResourceExhausted  -> LimitExceededException 400
//   kUnavailable        -> ServiceUnavailableException 503
//   kAborted            -> ConcurrentModificationException 400
//   anything else       -> InternalFailure 500
// REQUIRES: !status.ok(). The message is the status message.
ApiError FirehoseError(const Status& status);
// The per-record error of PutRecord / PutRecordBatch (ErrorCode, ErrorMessage):
//   kResourceExhausted -> ServiceUnavailableException "Slow down." (the journal's quota)
//   kUnavailable       -> ServiceUnavailableException "The record could not be stored durably;
//                         retry."
//   anything else      -> InternalFailure
ApiError FirehoseRecordError(const Status& status);
// The RecordId of a durable record: 40 lowercase hex digits, incarnation (16) | shard (8) |
// offset (16); stable and unique per stream incarnation (replay/bound.h parses it).
std::string FirehoseRecordId(uint64_t incarnation, uint32_t shard, uint64_t offset);
// arn:aws:firehose:<region>:<account>:deliverystream/<name>
std::string DeliveryStreamArn(const Backend& backend, std::string_view name);
inline constexpr size_t kMaxBatchRecords = 500;
inline constexpr size_t kMaxRecordBytes = 1'024'000;       // 1,000 KiB, decoded
inline constexpr size_t kMaxBatchBytes = 4 * 1024 * 1024;  // 4 MiB, decoded, whole call

class FirehoseHandler : public HttpHandler {
 public:
  // `clock` stamps CreateTimestamp of streams created through the API.
  explicit FirehoseHandler(Backend& backend, Clock& clock = Clock::System());

  // Serves Firehose_20150804.<Op>; the Router (api/router.h) sends it only those requests.
  void Handle(HttpRequest request, Responder respond) override;

 private:
  void PutRecord(std::string_view body, const std::string& request_id, Responder respond);
  void PutRecordBatch(std::string_view body, const std::string& request_id, Responder respond);
  HttpResponse CreateDeliveryStream(std::string_view body, const std::string& request_id);
  HttpResponse DescribeDeliveryStream(std::string_view body, const std::string& request_id);
  HttpResponse ListDeliveryStreams(std::string_view body, const std::string& request_id);
  HttpResponse DeleteDeliveryStream(std::string_view body, const std::string& request_id);
  // The AWS error for a whole-call Backend failure concerning stream `name`.
  HttpResponse UpdateDestination(std::string_view body, const std::string& request_id);
  static ApiError ConcurrentModification(const std::string& name, uint64_t given, uint64_t current);
  HttpResponse TagDeliveryStream(std::string_view body, const std::string& request_id);
  HttpResponse UntagDeliveryStream(std::string_view body, const std::string& request_id);
  HttpResponse ListTagsForDeliveryStream(std::string_view body, const std::string& request_id);
  // The AWS error for a backend status about stream `name`; an internal failure is logged with
  // the request id and answered without its detail.
  ApiError StreamError(const Status& status, std::string_view name,
                       const std::string& request_id) const;

  Backend& backend_;
  Clock& clock_;
};

}  // namespace sluice::api
