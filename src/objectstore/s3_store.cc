#include "objectstore/s3_store.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>

#include "common/base64.h"

namespace sluice::objectstore {

struct S3ObjectStore::Request {
  std::string operation;  // "PutObject", ... for messages
  std::string method;     // GET PUT POST DELETE
  std::string key;        // full S3 key, not encoded; empty = the bucket itself
  std::string query;      // canonical (CanonicalQuery)
  std::string_view body;
  std::string content_type;
  bool content_md5 = false;
};

struct S3ObjectStore::Response {
  long status = 0;
  std::string body;
  std::string etag;
};

namespace {

constexpr size_t kMaxParts = 10'000;

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string XmlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t end = s.find(';', i);
    if (end == std::string_view::npos) {
      out.push_back(s[i]);
      continue;
    }
    std::string_view entity = s.substr(i + 1, end - i - 1);
    if (entity == "amp")
      out += '&';
    else if (entity == "lt")
      out += '<';
    else if (entity == "gt")
      out += '>';
    else if (entity == "quot")
      out += '"';
    else if (entity == "apos")
      out += '\'';
    else if (!entity.empty() && entity[0] == '#') {
      unsigned long cp = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X')
                             ? std::strtoul(std::string(entity.substr(2)).c_str(), nullptr, 16)
                             : std::strtoul(std::string(entity.substr(1)).c_str(), nullptr, 10);
      // UTF-8 encode the code point.
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
      }
    } else {
      out.append(s.substr(i, end - i + 1));
    }
    i = end;
  }
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Text of every <tag>...</tag> in `xml`, starting at `from`, entity-decoded.
std::vector<std::string> XmlAll(std::string_view xml, const std::string& tag) {
  std::vector<std::string> out;
  std::string open = "<" + tag + ">";
  std::string close = "</" + tag + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(XmlDecode(xml.substr(start, end - start)));
    pos = end + close.size();
  }
  return out;
}

std::string XmlFirst(std::string_view xml, const std::string& tag) {
  auto all = XmlAll(xml, tag);
  return all.empty() ? "" : all.front();
}

// What a user should check for each S3 authorization failure.
std::string DeniedHint(const std::string& code, const aws::Credentials& credentials) {
  std::string from = " (credentials from " + credentials.source + ")";
  if (code == "SignatureDoesNotMatch") return ": check the secret access key" + from;
  if (code == "InvalidAccessKeyId") return ": check the access key id" + from;
  if (code == "ExpiredToken" || code == "InvalidToken")
    return ": the session token is expired or invalid" + from;
  if (code == "RequestTimeTooSkewed") return ": the local clock is off; sync it with NTP";
  return ": check the bucket policy and IAM permissions for this key" + from;
}

bool IsThrottle(long status, const std::string& code) {
  return status == 429 || code == "SlowDown" || code == "Throttling" ||
         code == "ThrottlingException" || code == "RequestLimitExceeded" ||
         code == "TooManyRequests";
}

struct Upload {
  std::string_view data;
  size_t pos = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* upload = static_cast<Upload*>(userdata);
  size_t n = std::min(size * nitems, upload->data.size() - upload->pos);
  std::memcpy(buffer, upload->data.data() + upload->pos, n);
  upload->pos += n;
  return n;
}

int SeekBody(void* userdata, curl_off_t offset, int origin) {
  auto* upload = static_cast<Upload*>(userdata);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > upload->data.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  upload->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * nmemb);
  return size * nmemb;
}

size_t WriteHeader(char* ptr, size_t size, size_t nitems, void* userdata) {
  std::string_view line(ptr, size * nitems);
  constexpr std::string_view kEtag = "etag:";
  if (line.size() > kEtag.size() && strncasecmp(line.data(), kEtag.data(), kEtag.size()) == 0) {
    std::string value(line.substr(kEtag.size()));
    auto strip = [&](const char* chars) {
      value.erase(0, value.find_first_not_of(chars));
      value.erase(value.find_last_not_of(chars) + 1);
    };
    strip(" \t\r\n");
    *static_cast<std::string*>(userdata) = value;
  }
  return size * nitems;
}

// Errors another attempt may fix: a peer that is temporarily unreachable or failing
// (Unavailable: 5xx, dropped connections, timeouts) or throttling us (ResourceExhausted: 429,
// SlowDown). Everything else (403, 404, bad input) fails the same way again.
bool IsRetryable(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kResourceExhausted;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<S3Location> ParseS3Url(const std::string& url) {
  constexpr std::string_view kScheme = "s3://";
  if (url.rfind(kScheme, 0) != 0)
    return Status::InvalidArgument("'" + url + "' is not an s3:// URL");
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  S3Location loc;
  loc.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) loc.prefix = rest.substr(slash + 1);
  if (loc.bucket.empty())
    return Status::InvalidArgument("object store URL '" + url + "' names no bucket");
  for (char c : loc.bucket) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) {
      return Status::InvalidArgument("object store URL '" + url + "': bucket name '" + loc.bucket +
                                     "' may contain only letters, digits, '-', '.' and '_'");
    }
  }
  while (!loc.prefix.empty() && loc.prefix.front() == '/') loc.prefix.erase(0, 1);
  if (!loc.prefix.empty() && loc.prefix.back() != '/') loc.prefix += '/';
  return loc;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [k, v] : params) {
    k = UriEncode(k, false);
    v = UriEncode(v, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

Result<aws::Credentials> ResolveStoreCredentials(const StoreOptions& options,
                                                 const aws::EnvLookup& env) {
  if (options.access_key_id.empty() != options.secret_access_key.empty()) {
    return Status::FailedPrecondition(
        "object store options set only one of access_key_id / secret_access_key; set both");
  }
  aws::CredentialSources sources;
  sources.access_key_id = options.access_key_id;
  sources.secret_access_key = options.secret_access_key;
  sources.session_token = options.session_token;
  sources.explicit_source = "store options";
  return aws::ResolveCredentials(sources, env);
}

std::string ResolveStoreRegion(const StoreOptions& options, const aws::EnvLookup& env) {
  return aws::ResolveRegion(options.region, env);
}

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Create(const StoreOptions& options,
                                                             const aws::EnvLookup& env,
                                                             S3Hooks hooks) {
  SLUICE_ASSIGN_OR_RETURN(S3Location location, ParseS3Url(options.url));
  if (options.part_size_bytes == 0 || options.max_parallel_parts < 1 || options.max_attempts < 1) {
    return Status::InvalidArgument(
        "S3 options: part_size_bytes, max_parallel_parts and max_attempts must be positive");
  }
  if (!options.endpoint.empty() && options.endpoint.rfind("http://", 0) != 0 &&
      options.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("S3 endpoint '" + options.endpoint +
                                   "' must start with http:// or https://");
  }
  SLUICE_ASSIGN_OR_RETURN(aws::Credentials credentials, ResolveStoreCredentials(options, env));
  std::string region = ResolveStoreRegion(options, env);
  GlobalInit();
  return std::unique_ptr<S3ObjectStore>(new S3ObjectStore(
      options, std::move(location), std::move(credentials), std::move(region), std::move(hooks)));
}

namespace {
std::string BaseUrl(const StoreOptions& options, const S3Location& location,
                    const std::string& region) {
  std::string endpoint =
      options.endpoint.empty() ? "https://s3." + region + ".amazonaws.com" : options.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (options.path_style) return endpoint + "/" + UriEncode(location.bucket, false);
  size_t host = endpoint.find("://") + 3;
  return endpoint.substr(0, host) + location.bucket + "." + endpoint.substr(host);
}
}  // namespace

S3ObjectStore::S3ObjectStore(StoreOptions options, S3Location location,
                             aws::Credentials credentials, std::string region, S3Hooks hooks)
    : options_(std::move(options)),
      location_(std::move(location)),
      credentials_(std::move(credentials)),
      region_(std::move(region)),
      sigv4_("aws:amz:" + region_ + ":s3"),
      base_url_(BaseUrl(options_, location_, region_)),
      hooks_(std::move(hooks)),
      multipart_retrier_(
          RetryPolicy{/*initial_backoff_ms=*/100, /*max_backoff_ms=*/10'000,
                      RetryPolicy::Jitter::kFull, static_cast<uint32_t>(options_.max_attempts)},
          Clock::System(), nullptr, hooks_.sleep, hooks_.seed) {}

S3ObjectStore::~S3ObjectStore() {
  for (void* h : handles_) curl_easy_cleanup(static_cast<CURL*>(h));
}

std::string S3ObjectStore::Describe() const {
  std::string prefix = location_.prefix;
  if (!prefix.empty()) prefix.pop_back();
  return "s3://" + location_.bucket + (prefix.empty() ? "" : "/" + prefix);
}

std::string S3ObjectStore::Where(const std::string& full_key) const {
  return "s3://" + location_.bucket + "/" + full_key;
}

std::string S3ObjectStore::UrlFor(const Request& request) const {
  // The bucket itself is "/bucket" in path style (no trailing slash: that is what S3 and s3rver
  // canonicalize) and "/" for virtual-hosted buckets.
  std::string url = base_url_;
  if (!request.key.empty() || !options_.path_style) url += "/" + UriEncode(request.key, true);
  if (!request.query.empty()) url += "?" + request.query;
  return url;
}

void* S3ObjectStore::AcquireHandle() {
  {
    MutexLock lock(mu_);
    if (!handles_.empty()) {
      void* h = handles_.back();
      handles_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));
      return h;
    }
  }
  return curl_easy_init();
}

void S3ObjectStore::ReleaseHandle(void* handle) {
  MutexLock lock(mu_);
  handles_.push_back(handle);
}

Result<S3ObjectStore::Response> S3ObjectStore::PerformOnce(const Request& request) {
  CURL* h = static_cast<CURL*>(AcquireHandle());
  if (h == nullptr) return Status::Internal("curl_easy_init failed");
  std::string url = UrlFor(request);
  Response response;
  Upload upload{request.body, 0};

  // Every header we add is signed by curl and sent as is (curl 7.88 signs a removed header like
  // "Expect:" without sending it, so we never remove one).
  curl_slist* headers = nullptr;
  headers = curl_slist_append(
      headers, ("x-amz-content-sha256: " + Hex(Digest(EVP_sha256(), request.body))).c_str());
  if (!credentials_.session_token.empty()) {
    headers =
        curl_slist_append(headers, ("x-amz-security-token: " + credentials_.session_token).c_str());
  }
  if (request.content_md5) {
    headers = curl_slist_append(
        headers, ("Content-MD5: " + base64::Encode(Digest(EVP_md5(), request.body))).c_str());
  }
  if (!request.content_type.empty()) {
    headers = curl_slist_append(headers, ("Content-Type: " + request.content_type).c_str());
  }

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, credentials_.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_timeout_s));
  // curl adds "Expect: 100-continue" (unsigned, which S3 accepts) to large uploads; do not wait
  // for the interim response, send the body at once.
  curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.etag);
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &upload);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  requests_sent_.fetch_add(1);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // A broken connection must not be reused.
    curl_easy_cleanup(h);
    std::string what =
        Where(request.key) + ": " + request.operation + " failed: " + curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL: return Status::InvalidArgument(what);
      default:
        // Connect failures, resets, timeouts, empty replies, DNS hiccups: try again later.
        return Status::Unavailable(what);
    }
  }
  ReleaseHandle(h);
  return response;
}

Status S3ObjectStore::ErrorFor(const Request& request, const Response& response) const {
  std::string code = XmlFirst(response.body, "Code");
  std::string message = XmlFirst(response.body, "Message");
  std::string detail = std::to_string(response.status) + (code.empty() ? "" : " " + code);
  std::string where = Where(request.key) + ": " + request.operation;
  if (response.status == 403 || response.status == 401) {
    return Status::FailedPrecondition(where + " denied (" + detail + ")" +
                                      DeniedHint(code, credentials_));
  }
  std::string tail = message.empty() ? "" : ": " + message;
  if (response.status == 404) {
    return Status::NotFound(where + " found nothing (" + detail + ")" + tail);
  }
  if (IsThrottle(response.status, code)) {
    return Status::ResourceExhausted(where + " throttled (" + detail + ")" + tail);
  }
  if (response.status >= 500 || code == "RequestTimeout" || code == "InternalError") {
    return Status::Unavailable(where + " failed (" + detail + ")" + tail);
  }
  return Status::InvalidArgument(where + " rejected (" + detail + ")" + tail);
}

Result<S3ObjectStore::Response> S3ObjectStore::Execute(const Request& request) {
  Result<Response> result = PerformOnce(request);
  if (!result.ok()) return result.status();
  // CompleteMultipartUpload may answer 200 with an <Error> body.
  bool error_body = result->status == 200 && request.operation == "CompleteMultipartUpload" &&
                    result->body.find("<Error>") != std::string::npos;
  if (result->status >= 200 && result->status < 300 && !error_body) return result;
  Response failed = std::move(result).value();
  if (error_body) failed.status = 500;
  return ErrorFor(request, failed);
}

Result<S3ObjectStore::Response> S3ObjectStore::ExecuteWithRetries(const Request& request) {
  std::optional<Response> response;
  Retrier::Outcome outcome = multipart_retrier_.Run(
      [&]() -> Status {
        Result<Response> r = Execute(request);
        if (!r.ok()) return r.status();
        response = std::move(r).value();
        return Status::Ok();
      },
      [](const Status& s) { return IsRetryable(s) ? kRetryForever : 0; });
  if (outcome.ok()) return std::move(*response);
  if (outcome.attempts == 1) return outcome.status;
  return Status(outcome.status.code(), outcome.status.message() + " (after " +
                                           std::to_string(outcome.attempts) + " attempts)");
}

Status S3ObjectStore::Put(const std::string& key, std::string_view data) {
  if (key.empty()) return Status::InvalidArgument("object key must not be empty");
  std::string full_key = location_.prefix + key;
  if (data.size() > options_.multipart_threshold_bytes) return PutMultipart(full_key, data);
  return PutSingle(full_key, data);
}

Status S3ObjectStore::PutSingle(const std::string& full_key, std::string_view data) {
  Request r{"PutObject", "PUT", full_key, "", data, "application/octet-stream", true};
  SLUICE_ASSIGN_OR_RETURN(Response response, Execute(r));
  return Status::Ok();
}

Status S3ObjectStore::PutMultipart(const std::string& full_key, std::string_view data) {
  Request create{
      "CreateMultipartUpload",    "POST", full_key, CanonicalQuery({{"uploads", ""}}), {},
      "application/octet-stream", false};
  SLUICE_ASSIGN_OR_RETURN(Response created, ExecuteWithRetries(create));
  std::string upload_id = XmlFirst(created.body, "UploadId");
  if (upload_id.empty()) {
    return Status::Unavailable(Where(full_key) + ": CreateMultipartUpload returned no UploadId");
  }

  size_t part_size = std::max(options_.part_size_bytes, (data.size() + kMaxParts - 1) / kMaxParts);
  size_t parts = (data.size() + part_size - 1) / part_size;
  std::vector<std::string> etags(parts);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  Mutex error_mu;
  Status first_error;
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < parts && !failed.load(); i = next.fetch_add(1)) {
      Request part{"UploadPart",
                   "PUT",
                   full_key,
                   CanonicalQuery({{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}}),
                   data.substr(i * part_size, part_size),
                   "",
                   true};
      Result<Response> r = ExecuteWithRetries(part);
      if (r.ok() && r->etag.empty()) {
        r = Status::Unavailable(Where(full_key) + ": UploadPart " + std::to_string(i + 1) +
                                " returned no ETag");
      }
      if (!r.ok()) {
        MutexLock lock(error_mu);
        if (!failed.exchange(true)) first_error = r.status();
        return;
      }
      etags[i] = r->etag;
    }
  };
  size_t threads = std::min<size_t>(static_cast<size_t>(options_.max_parallel_parts), parts);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  if (!failed.load()) {
    std::string xml = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < parts; ++i) {
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
             XmlEscape(etags[i]) + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    Request complete{
        "CompleteMultipartUpload", "POST", full_key, CanonicalQuery({{"uploadId", upload_id}}), xml,
        "application/xml",         false};
    Result<Response> done = ExecuteWithRetries(complete);
    if (done.ok()) return Status::Ok();
    first_error = done.status();
  }
  Status abort = AbortMultipart(full_key, upload_id);
  if (!abort.ok()) {
    return Status(first_error.code(), first_error.message() + "; AbortMultipartUpload " +
                                          upload_id +
                                          " also failed, parts may remain: " + abort.message());
  }
  return first_error;
}

Status S3ObjectStore::AbortMultipart(const std::string& full_key, const std::string& upload_id) {
  Request abort{"AbortMultipartUpload",
                "DELETE",
                full_key,
                CanonicalQuery({{"uploadId", upload_id}}),
                {},
                "",
                false};
  Result<Response> r = ExecuteWithRetries(abort);
  // 404 NoSuchUpload: nothing is left behind.
  if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status();
  return Status::Ok();
}

Result<std::string> S3ObjectStore::Get(const std::string& key) {
  Request r{"GetObject", "GET", location_.prefix + key, "", {}, "", false};
  SLUICE_ASSIGN_OR_RETURN(Response response, Execute(r));
  return std::move(response.body);
}

Status S3ObjectStore::Delete(const std::string& key) {
  Request r{"DeleteObject", "DELETE", location_.prefix + key, "", {}, "", false};
  Result<Response> response = Execute(r);
  // Deleting a missing key succeeds on S3 (204); treat a 404 from other stores the same way.
  if (!response.ok() && response.status().code() != StatusCode::kNotFound) return response.status();
  return Status::Ok();
}

Result<std::vector<std::string>> S3ObjectStore::List(const std::string& prefix) {
  std::vector<std::string> keys;
  std::string full_prefix = location_.prefix + prefix;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> params{
        {"encoding-type", "url"},
        {"list-type", "2"},
        {"max-keys", std::to_string(hooks_.list_page_size)},
        {"prefix", full_prefix}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    Request r{"ListObjectsV2", "GET", "", CanonicalQuery(std::move(params)), {}, "", false};
    SLUICE_ASSIGN_OR_RETURN(Response response, Execute(r));
    size_t pos = 0;
    std::string_view body = response.body;
    // With encoding-type=url, S3 percent-encodes keys (so that any byte survives XML); services
    // that ignore the parameter omit <EncodingType> and send plain keys.
    bool url_encoded = XmlFirst(body, "EncodingType") == "url";
    while ((pos = body.find("<Contents>", pos)) != std::string_view::npos) {
      size_t end = body.find("</Contents>", pos);
      if (end == std::string_view::npos) break;
      std::string key = XmlFirst(body.substr(pos, end - pos), "Key");
      if (url_encoded) key = UriDecode(key);
      if (key.rfind(location_.prefix, 0) == 0) keys.push_back(key.substr(location_.prefix.size()));
      pos = end;
    }
    if (XmlFirst(body, "IsTruncated") != "true") break;
    std::string next = XmlFirst(body, "NextContinuationToken");
    if (next.empty() || next == token) {
      return Status::Unavailable(Where(full_prefix) +
                                 ": ListObjectsV2 is truncated but gave no new continuation token");
    }
    token = next;
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace sluice::objectstore
