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
inline constexpr size_t kMaxBatchRecords = 500;
inline constexpr size_t kMaxRecordBytes = 1'024'000;       // 1,000 KiB, decoded
inline constexpr size_t kMaxBatchBytes = 4 * 1024 * 1024;  // 4 MiB, decoded, whole call

class FirehoseHandler : public HttpHandler {
 public:
  // `clock` stamps CreateTimestamp of streams created through the API.
  explicit FirehoseHandler(Backend& backend, Clock& clock = Clock::System());

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
