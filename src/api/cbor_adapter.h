// CborAdapter: lets a JSON-only protocol handler (the Kinesis one) serve CBOR clients. The Java
// SDKs (v1 >= 1.11.71, v2) and the KCL send Kinesis requests as `application/x-amz-cbor-1.1` and
// expect CBOR answers (aws-wire-spec.md §2.2); the wrapped handler only ever sees and writes
// AWS JSON 1.1.
//
// - A request whose Content-Type is application/x-amz-cbor-1.1 (case-insensitive, parameters
//   ignored) has its body transcoded to JSON (CborRequestToJson, api/cbor_json.h) and its
//   Content-Type set to application/x-amz-json-1.1 before the inner handler sees it. A body that
//   is not valid CBOR is answered here, without the inner handler, with HTTP 400, CBOR
//   {"__type": "SerializationException", "message": ...} and a fresh x-amzn-RequestId.
// - The inner handler's one-shot answer (success or error) has its JSON body transcoded to CBOR
//   (JsonResponseToCbor) and its Content-Type set to application/x-amz-cbor-1.1; the status and
//   the other headers stay, a Content-Length header is corrected. An empty body stays empty. A
//   body that does not transcode (the handler's bug) becomes a 500 InternalFailure, logged.
// - Any other request passes through untouched (moved, not copied, not parsed).
// - Streamed answers (Responder::Stream: SubscribeToShard's event stream) pass through
//   unchanged: event-stream messages have their own framing and their payloads are not
//   transcoded here. What a CBOR client expects inside SubscribeToShard events is the Kinesis
//   handler's concern.
//
// Thread safety: stateless; Handle from any number of threads. The responder it passes on may
// be called from any thread, as the inner handler's contract allows.
#pragma once

#include <string_view>

#include "api/http.h"

namespace sluice::api {

inline constexpr std::string_view kAmzCborContentType = "application/x-amz-cbor-1.1";

// True if `content_type` names application/x-amz-cbor-1.1 (case-insensitive; "; params" and
// surrounding spaces ignored).
bool IsCborContentType(std::string_view content_type);

class CborAdapter : public HttpHandler {
 public:
  // `inner` is not owned and must outlive the adapter.
  explicit CborAdapter(HttpHandler* inner) : inner_(inner) {}
  void Handle(HttpRequest request, Responder respond) override;

 private:
  HttpHandler* inner_;
};

}  // namespace sluice::api
