#include "client/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace sluice::client {
namespace {

size_t AppendToString(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Frees a curl_slist on scope exit.
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

}  // namespace

std::string RegionFromFlagOrEnvironment(const std::string& flag, const aws::EnvLookup& env) {
  return aws::ResolveRegion(flag, env, /*shared_files=*/false);
}

aws::Credentials CredentialsFromEnvironment(const aws::EnvLookup& env) {
  aws::CredentialSources sources;
  sources.shared_files = false;
  auto creds = aws::ResolveCredentials(sources, env);
  if (!creds.ok()) return {};  // none, or half a pair: send unsigned
  return std::move(creds).value();
}

Result<std::unique_ptr<HttpClient>> HttpClient::Create() {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("libcurl: curl_easy_init failed");
  return std::unique_ptr<HttpClient>(new HttpClient(curl));
}

HttpClient::~HttpClient() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

void HttpClient::SetSigV4(const std::string& region, const std::string& service,
                          aws::Credentials creds) {
  signed_ = !creds.access_key_id.empty();
  sigv4_provider_ = "aws:amz:" + region + ":" + service;
  creds_ = std::move(creds);
}

void HttpClient::SetTimeouts(long connect_timeout_ms, long request_timeout_ms) {
  connect_timeout_ms_ = connect_timeout_ms;
  request_timeout_ms_ = request_timeout_ms;
}

Result<HttpResponse> HttpClient::Post(const std::string& url,
                                      const std::vector<std::string>& headers,
                                      std::string_view body) {
  CURL* curl = static_cast<CURL*>(curl_);
  // Options persist on the handle; the connection cache survives curl_easy_reset.
  curl_easy_reset(curl);

  curl_slist* raw_list = nullptr;
  for (const std::string& h : headers) raw_list = curl_slist_append(raw_list, h.c_str());
  if (signed_ && !creds_.session_token.empty()) {
    raw_list =
        curl_slist_append(raw_list, ("X-Amz-Security-Token: " + creds_.session_token).c_str());
  }
  if (!signed_) {
    // Bodies over 1 MiB would otherwise wait for "100 Continue". libcurl signs a header removed
    // this way but does not send it, so signed requests keep Expect and skip the wait instead.
    raw_list = curl_slist_append(raw_list, "Expect:");
  }
  SlistPtr header_list(raw_list);

  HttpResponse response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms_);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request_timeout_ms_);
  curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (signed_) {
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_provider_.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, creds_.access_key_id.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, creds_.secret_access_key.c_str());
  }

  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    return Status::Unavailable("POST " + url + ": " + detail);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace sluice::client
