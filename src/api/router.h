// Router: the HttpHandler the listener serves. It sends each request to the protocol handler
// registered for its X-Amz-Target prefix ("Firehose_20150804.", "Kinesis_20131202."), so that
// every protocol sits on the same listener (HTTP/1.1 and HTTP/2) and authentication sits here, in
// one place, for all of them.
//
// A request that is not a POST answers AccessDeniedException (what AWS answers a GET to a JSON
// service endpoint). With a Verifier set (an `auth:` block), every other request must carry a
// valid SigV4 signature for the API's signing name (firehose, kinesis); a failure is answered
// here with the AWS error (CBOR for CBOR requests) and audited, and a success attaches the
// signer's Identity to the request. An X-Amz-Target no handler claims answers
// UnknownOperationException.
//
// Authorization is the handlers' part (they know the resource): AuthorizeCall below.
// Thread safety: Add before serving; SetVerifier and Handle from any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"
#include "auth/sigv4.h"
#include "common/mutex.h"

namespace sluice::api {

// Answers every request UnknownOperationException ("Unknown operation: <X-Amz-Target>"), as the
// router does for a target no handler claims. Stateless.
class UnknownOperationHandler : public HttpHandler {
 public:
  void Handle(HttpRequest request, Responder respond) override;
};

class Router : public HttpHandler {
 public:
  Router() = default;
  // Movable for composition before serving (never while Handle may run).
  Router(Router&& other) noexcept;
  // Requests whose X-Amz-Target starts with `target_prefix` go to `handler` (not owned; it must
  // outlive the router).
  void Add(std::string target_prefix, HttpHandler* handler);
  // Requires SigV4 on every request from now on (null: accept unsigned requests). Requests in
  // flight keep the verifier they started with (a reload swaps it without dropping anything).
  void SetVerifier(std::shared_ptr<const auth::Verifier> verifier);
  void Handle(HttpRequest request, Responder respond) override;

 private:
  std::shared_ptr<const auth::Verifier> verifier() const;

  std::vector<std::pair<std::string, HttpHandler*>> routes_;
  UnknownOperationHandler unknown_;
  mutable Mutex mu_;
  std::shared_ptr<const auth::Verifier> verifier_ SLUICE_GUARDED_BY(mu_);
};

// The authorization hook of a protocol handler, called once per request with the IAM action
// ("firehose:PutRecordBatch") and the resource the request names (a stream or consumer ARN, "*"
// when none). Returns true to go on; false after answering AccessDeniedException through
// `respond`. Denied calls and control-plane calls (auth::IsControlPlane(operation)) are audited;
// for an allowed control-plane call `respond` is wrapped so that the audit line carries the
// call's outcome ("ok" or the error's HTTP status). Without an identity (no `auth:` block)
// everything is allowed.
bool AuthorizeCall(const HttpRequest& request, std::string_view service, std::string_view operation,
                   std::string_view resource, const std::string& request_id, Responder& respond);

// The first of the top-level string members `fields` of a JSON request body, with the field's
// name; empty when none is present (or the body is not a JSON object: the operation then answers
// the SerializationException itself).
std::pair<std::string_view, std::string> NamedResource(
    std::string_view body, std::initializer_list<std::string_view> fields);

}  // namespace sluice::api
