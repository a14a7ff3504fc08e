// SigV4 verification of AWS JSON-protocol requests (Firehose, Kinesis), header-signed
// (Authorization: AWS4-HMAC-SHA256 ...) and presigned (X-Amz-Algorithm ... in the query string),
// per AWS's published algorithm: canonical request → string to sign → HMAC-SHA256 with the key
// derived from the secret, the date, the region and the service. Failures come back as the
// AWS error a JSON-protocol service answers (type, message, HTTP status), never naming a secret.
//
// What is checked, in order: exactly one of header and query auth (MissingAuthenticationToken-
// Exception when neither); every part present (IncompleteSignatureException); the credential
// scope (<date>/<configured region>/<service>/aws4_request) and the request date within the
// allowed clock skew, or, presigned, before X-Amz-Date + X-Amz-Expires (InvalidSignature-
// Exception); a known access key and, for temporary credentials, the matching
// X-Amz-Security-Token (UnrecognizedClientException); X-Amz-Content-Sha256, when sent, equal to
// the body's hash; the signature, compared in constant time (InvalidSignatureException).
//
// Thread safety: Verify may be called from any number of threads; the signing-key cache is
// behind a mutex. The key set is immutable: a reload builds a new Verifier.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "auth/policy.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace sluice::auth {

using Headers = std::vector<std::pair<std::string, std::string>>;

// An error as the service answers it: {"__type": type, "message": message} with http_status.
struct AuthError {
  std::string type;
  std::string message;
  int http_status = 400;
};

struct AccessKey {
  std::string id;
  std::string secret;         // the secret access key itself (SigV4 verification needs it)
  std::string session_token;  // temporary credentials: requests must carry this token
  std::string user;           // the principal's name: arn:aws:iam::<account>:user/<user>
  std::shared_ptr<const Policy> policy;  // shared by every request of this key
};

// Who signed a request. Attached to the request by the router; read by the handlers.
struct Identity {
  std::string key_id;
  std::string principal_arn;  // arn:aws:iam::<account>:user/<user>
  std::shared_ptr<const Policy> policy;
};

// The parts of a request a signature covers. The views must outlive the Verify call.
struct RequestView {
  std::string_view method;
  std::string_view target;  // path and query: "/?X-Amz-Algorithm=..."
  const Headers* headers = nullptr;
  std::string_view body;
};

struct VerifierOptions {
  std::vector<std::string> regions = {"us-east-1"};  // credential scopes accepted
  std::string account_id = "000000000000";           // for principal ARNs
  int64_t max_skew_ms = 5 * 60 * 1000;               // AWS's JSON services allow 5 minutes
  const Clock* clock = &Clock::System();
};

class Verifier {
 public:
  Verifier(VerifierOptions options, std::vector<AccessKey> keys);
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // The signer's identity, or the error to answer. `service` is the signing name the request's
  // API uses ("firehose", "kinesis").
  std::variant<Identity, AuthError> Verify(const RequestView& request,
                                           std::string_view service) const;

  size_t key_count() const { return keys_.size(); }

 private:
  using SigningKey = std::array<unsigned char, 32>;
  SigningKey KeyFor(const AccessKey& key, std::string_view date, std::string_view region,
                    std::string_view service) const;

  VerifierOptions options_;
  std::map<std::string, AccessKey, std::less<>> keys_;
  mutable Mutex mu_;
  // (key id, date, region, service) -> derived key. Bounded: cleared when it reaches kMaxCached.
  static constexpr size_t kMaxCached = 4096;
  mutable std::map<std::tuple<std::string, std::string, std::string, std::string>, SigningKey>
      cache_ SLUICE_GUARDED_BY(mu_);
};

// ---- the algorithm, exposed for tests and for signing clients (bench, tests) ----

std::string Sha256Hex(std::string_view data);
// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - _ . ~) stay,
// everything else is %XX (upper-case hex); '/' stays when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);
// Percent-decoding ('+' stays '+'); malformed escapes stay as they are.
std::string UriDecode(std::string_view s);
// The canonical query string of `query` (without '?'): parameters decoded, re-encoded, sorted by
// name then value; `skip` (X-Amz-Signature for presigned requests) is left out.
std::string CanonicalQuery(std::string_view query, std::string_view skip = {});
// The canonical request. `signed_headers` are lower-case names separated by ';'. nullopt when a
// signed header is absent from the request.
std::optional<std::string> CanonicalRequest(const RequestView& request,
                                            std::string_view signed_headers,
                                            std::string_view payload_hash,
                                            std::string_view skip_query_param = {});
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// The signature (hex) of `string_to_sign` with the key derived from `secret`.
std::string Sign(std::string_view secret, std::string_view date, std::string_view region,
                 std::string_view service, std::string_view string_to_sign);

}  // namespace sluice::auth
