#include "auth/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace sluice::auth {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kEmptyBodyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kHex[] = "0123456789abcdef";

AuthError Incomplete(std::string m) {
  return {"IncompleteSignatureException", std::move(m)};
}
AuthError Invalid(std::string m) {
  return {"InvalidSignatureException", std::move(m)};
}
AuthError Unrecognized() {
  return {"UnrecognizedClientException", "The security token included in the request is invalid."};
}
AuthError Mismatch() {
  return Invalid(
      "The request signature we calculated does not match the signature you provided. Check your "
      "AWS Secret Access Key and signing method. Consult the service documentation for details.");
}

std::string Hex(const unsigned char* d, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[d[i] >> 4];
    out[2 * i + 1] = kHex[d[i] & 0xF];
  }
  return out;
}

std::array<unsigned char, 32> Hmac(const unsigned char* key, size_t key_len,
                                   std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key, static_cast<int>(key_len),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::array<unsigned char, 32> DeriveKey(std::string_view secret, std::string_view date,
                                        std::string_view region, std::string_view service) {
  std::string k = "AWS4";
  k += secret;
  auto k_date = Hmac(reinterpret_cast<const unsigned char*>(k.data()), k.size(), date);
  OPENSSL_cleanse(k.data(), k.size());
  auto k_region = Hmac(k_date.data(), k_date.size(), region);
  auto k_service = Hmac(k_region.data(), k_region.size(), service);
  return Hmac(k_service.data(), k_service.size(), "aws4_request");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view HeaderOf(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

bool HasHeader(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& kv) { return IEquals(kv.first, name); });
}

// The decoded query parameters of `query`, in order.
std::vector<std::pair<std::string, std::string>> QueryParams(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view name = part.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    out.emplace_back(UriDecode(name), UriDecode(value));
  }
  return out;
}

// "20150830T123600Z" -> ms since the epoch; nullopt if not ISO-8601 basic format.
std::optional<int64_t> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && (s[i] < '0' || s[i] > '9')) return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string FormatAmzDate(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// The parts of a signature, from the Authorization header or the query string.
struct SignatureParts {
  std::string credential;
  std::string signed_headers;
  std::string signature;
  std::string amz_date;
  std::string security_token;
  std::optional<int64_t> expires_s;  // presigned only
  bool presigned = false;
};

std::variant<SignatureParts, AuthError> FromHeader(std::string_view authorization,
                                                   const Headers& headers) {
  SignatureParts parts;
  std::string_view rest = authorization;
  if (rest.substr(0, kAlgorithm.size()) == kAlgorithm) {
    rest.remove_prefix(kAlgorithm.size());
  } else {
    // Another scheme (SigV2, Basic...): none of the SigV4 parts can be found in it.
    rest = {};
  }
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = Trim(item.substr(0, eq)), value = Trim(item.substr(eq + 1));
    if (name == "Credential") parts.credential = std::string(value);
    if (name == "SignedHeaders") parts.signed_headers = std::string(value);
    if (name == "Signature") parts.signature = std::string(value);
  }
  parts.amz_date = std::string(HeaderOf(headers, "X-Amz-Date"));
  if (parts.amz_date.empty()) parts.amz_date = std::string(HeaderOf(headers, "Date"));
  std::string missing;
  if (parts.credential.empty()) missing += "Authorization header requires 'Credential' parameter. ";
  if (parts.signature.empty()) missing += "Authorization header requires 'Signature' parameter. ";
  if (parts.signed_headers.empty()) {
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  }
  if (parts.amz_date.empty()) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) return Incomplete(missing + "Authorization=" + std::string(authorization));
  parts.security_token = std::string(HeaderOf(headers, "X-Amz-Security-Token"));
  return parts;
}

std::variant<SignatureParts, AuthError> FromQuery(
    const std::vector<std::pair<std::string, std::string>>& params) {
  SignatureParts parts;
  parts.presigned = true;
  std::string algorithm, expires;
  for (const auto& [k, v] : params) {
    if (k == "X-Amz-Algorithm") algorithm = v;
    if (k == "X-Amz-Credential") parts.credential = v;
    if (k == "X-Amz-Signature") parts.signature = v;
    if (k == "X-Amz-SignedHeaders") parts.signed_headers = v;
    if (k == "X-Amz-Date") parts.amz_date = v;
    if (k == "X-Amz-Expires") expires = v;
    if (k == "X-Amz-Security-Token") parts.security_token = v;
  }
  std::string missing;
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"X-Amz-Algorithm", &algorithm},
        {"X-Amz-Credential", &parts.credential},
        {"X-Amz-Signature", &parts.signature},
        {"X-Amz-SignedHeaders", &parts.signed_headers},
        {"X-Amz-Date", &parts.amz_date}}) {
    if (value->empty()) {
      missing += "AWS query-string parameters must include '";
      missing += name;
      missing += "'. ";
    }
  }
  if (!missing.empty()) return Incomplete(missing + "Re-examine the query-string parameters.");
  if (algorithm != kAlgorithm) {
    return Incomplete("X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'");
  }
  if (!expires.empty()) {
    int64_t v = 0;
    bool ok = expires.size() <= 7 && expires.find_first_not_of("0123456789") == std::string::npos;
    if (ok) v = std::stoll(expires);
    if (!ok || v > 604800) {
      return Invalid("X-Amz-Expires must be less than a week (in seconds) that is 604800");
    }
    parts.expires_s = v;
  }
  return parts;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return Hex(d, sizeof d);
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kUpper[c >> 4];
      out += kUpper[c & 0xF];
    }
  }
  return out;
}

std::string UriDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string CanonicalQuery(std::string_view query, std::string_view skip) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (auto& [k, v] : QueryParams(query)) {
    if (!skip.empty() && k == skip) continue;
    encoded.emplace_back(UriEncode(k, false), UriEncode(v, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::optional<std::string> CanonicalRequest(const RequestView& request,
                                            std::string_view signed_headers,
                                            std::string_view payload_hash,
                                            std::string_view skip_query_param) {
  std::string_view target = request.target;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (path.empty()) path = "/";
  std::string out;
  out.reserve(256 + request.headers->size() * 48);
  out += request.method;
  out += '\n';
  // Non-S3 services: the path as the client sent it (already percent-encoded) is encoded again.
  out += UriEncode(path, true);
  out += '\n';
  out += CanonicalQuery(query, skip_query_param);
  out += '\n';
  std::string_view names = signed_headers;
  while (!names.empty()) {
    size_t semi = names.find(';');
    std::string_view name = names.substr(0, semi);
    names = semi == std::string_view::npos ? std::string_view{} : names.substr(semi + 1);
    bool found = false;
    out += name;
    out += ':';
    // The SDK for JavaScript v3 signs HTTP/2's :authority pseudo-header by that name; the HTTP/2
    // front end hands it over as the host header.
    std::string_view lookup =
        name == ":authority" && !HasHeader(*request.headers, name) ? "host" : name;
    for (const auto& [k, v] : *request.headers) {
      if (!IEquals(k, lookup)) continue;
      if (found) out += ',';
      found = true;
      // Trimmed, runs of spaces collapsed to one.
      std::string_view value = Trim(v);
      bool space = false;
      for (char c : value) {
        if (c == ' ' || c == '\t') {
          space = true;
          continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
      }
    }
    if (!found) return std::nullopt;
    out += '\n';
  }
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += payload_hash;
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += Sha256Hex(canonical_request);
  return out;
}

std::string Sign(std::string_view secret, std::string_view date, std::string_view region,
                 std::string_view service, std::string_view string_to_sign) {
  auto key = DeriveKey(secret, date, region, service);
  auto sig = Hmac(key.data(), key.size(), string_to_sign);
  return Hex(sig.data(), sig.size());
}

Verifier::Verifier(VerifierOptions options, std::vector<AccessKey> keys)
    : options_(std::move(options)) {
  for (auto& k : keys) {
    std::string id = k.id;
    keys_.emplace(std::move(id), std::move(k));
  }
}

Verifier::SigningKey Verifier::KeyFor(const AccessKey& key, std::string_view date,
                                      std::string_view region, std::string_view service) const {
  auto cache_key =
      std::make_tuple(key.id, std::string(date), std::string(region), std::string(service));
  {
    MutexLock lock(mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end()) return it->second;
  }
  SigningKey derived = DeriveKey(key.secret, date, region, service);
  MutexLock lock(mu_);
  if (cache_.size() >= kMaxCached) cache_.clear();
  cache_.emplace(std::move(cache_key), derived);
  return derived;
}

std::variant<Identity, AuthError> Verifier::Verify(const RequestView& request,
                                                   std::string_view service) const {
  const Headers& headers = *request.headers;
  std::string_view target = request.target;
  size_t q = target.find('?');
  auto params =
      QueryParams(q == std::string_view::npos ? std::string_view{} : target.substr(q + 1));
  bool query_auth = std::any_of(params.begin(), params.end(),
                                [](const auto& kv) { return kv.first == "X-Amz-Algorithm"; });
  bool header_auth = HasHeader(headers, "Authorization");
  if (query_auth && header_auth) {
    return Invalid(
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  }
  if (!query_auth && !header_auth) {
    return AuthError{"MissingAuthenticationTokenException", "Missing Authentication Token"};
  }
  auto parsed =
      header_auth ? FromHeader(HeaderOf(headers, "Authorization"), headers) : FromQuery(params);
  if (auto* e = std::get_if<AuthError>(&parsed)) return std::move(*e);
  SignatureParts& parts = std::get<SignatureParts>(parsed);

  // Credential: <key id>/<date>/<region>/<service>/aws4_request
  std::vector<std::string_view> scope;
  {
    std::string_view c = parts.credential;
    while (true) {
      size_t slash = c.find('/');
      scope.push_back(c.substr(0, slash));
      if (slash == std::string_view::npos) break;
      c.remove_prefix(slash + 1);
    }
  }
  if (scope.size() != 5) {
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        parts.credential + "'");
  }
  auto date_ms = ParseAmzDate(parts.amz_date);
  if (!date_ms) {
    return Incomplete("Date must be in ISO-8601 'basic format'. Got '" + parts.amz_date +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  const int64_t now = options_.clock->NowMs();
  if (parts.presigned) {
    const int64_t expires_ms = parts.expires_s.value_or(900) * 1000;
    if (now > *date_ms + expires_ms) {
      return Invalid("Signature expired: " + parts.amz_date + " is now earlier than " +
                     FormatAmzDate(now - expires_ms) + " (" + FormatAmzDate(now) + " - " +
                     std::to_string(expires_ms / 1000) + " sec.)");
    }
    if (*date_ms > now + options_.max_skew_ms) {
      const std::string minutes = std::to_string(options_.max_skew_ms / 60000);
      return Invalid("Signature not yet current: " + parts.amz_date + " is still later than " +
                     FormatAmzDate(now + options_.max_skew_ms) + " (" + FormatAmzDate(now) + " + " +
                     minutes + " min.)");
    }
  } else {
    const std::string minutes = std::to_string(options_.max_skew_ms / 60000);
    if (*date_ms < now - options_.max_skew_ms) {
      return Invalid("Signature expired: " + parts.amz_date + " is now earlier than " +
                     FormatAmzDate(now - options_.max_skew_ms) + " (" + FormatAmzDate(now) + " - " +
                     minutes + " min.)");
    }
    if (*date_ms > now + options_.max_skew_ms) {
      return Invalid("Signature not yet current: " + parts.amz_date + " is still later than " +
                     FormatAmzDate(now + options_.max_skew_ms) + " (" + FormatAmzDate(now) + " + " +
                     minutes + " min.)");
    }
  }
  const std::string_view key_id = scope[0], date = scope[1], region = scope[2],
                         scope_service = scope[3], terminator = scope[4];
  if (terminator != "aws4_request") {
    return Invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                   std::string(terminator) + "'. ");
  }
  if (std::find(options_.regions.begin(), options_.regions.end(), region) ==
      options_.regions.end()) {
    return Invalid("Credential should be scoped to a valid region, not '" + std::string(region) +
                   "'. ");
  }
  if (scope_service != service) {
    return Invalid("Credential should be scoped to correct service: '" + std::string(service) +
                   "'. ");
  }
  if (date != std::string_view(parts.amz_date).substr(0, 8)) {
    return Invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        std::string(date) + "' != '" + parts.amz_date.substr(0, 8) + "', from '" + parts.amz_date +
        "'.");
  }
  auto key_it = keys_.find(key_id);
  if (key_it == keys_.end()) return Unrecognized();
  const AccessKey& key = key_it->second;
  // Temporary credentials need their token; a long-term key takes none.
  if (parts.security_token.size() != key.session_token.size() ||
      CRYPTO_memcmp(parts.security_token.data(), key.session_token.data(),
                    key.session_token.size()) != 0) {
    return Unrecognized();
  }

  std::string body_hash = Sha256Hex(request.body);
  std::string_view sent_hash = HeaderOf(headers, "X-Amz-Content-Sha256");
  std::vector<std::string_view> payload_hashes;
  if (!sent_hash.empty()) {
    if (sent_hash != body_hash && !(parts.presigned && sent_hash == kUnsignedPayload)) {
      return Invalid(
          "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    payload_hashes.push_back(sent_hash);
  } else {
    payload_hashes.push_back(body_hash);
    // A presigned URL does not cover the body: presigners sign it as UNSIGNED-PAYLOAD (the SDKs)
    // or as the empty body (botocore's SigV4QueryAuth).
    if (parts.presigned) {
      payload_hashes.push_back(kUnsignedPayload);
      payload_hashes.push_back(kEmptyBodyHash);
    }
  }
  if (parts.signature.size() != 64) return Mismatch();
  const std::string scope_text = std::string(date) + "/" + std::string(region) + "/" +
                                 std::string(scope_service) + "/aws4_request";
  const SigningKey signing_key = KeyFor(key, date, region, scope_service);
  for (std::string_view payload_hash : payload_hashes) {
    auto canonical = CanonicalRequest(request, parts.signed_headers, payload_hash,
                                      parts.presigned ? "X-Amz-Signature" : "");
    if (!canonical) return Mismatch();
    std::string to_sign = StringToSign(parts.amz_date, scope_text, *canonical);
    auto mac = Hmac(signing_key.data(), signing_key.size(), to_sign);
    std::string expected = Hex(mac.data(), mac.size());
    if (CRYPTO_memcmp(expected.data(), parts.signature.data(), expected.size()) == 0) {
      return Identity{key.id, "arn:aws:iam::" + options_.account_id + ":user/" + key.user,
                      key.policy};
    }
  }
  return Mismatch();
}

}  // namespace sluice::auth
