#include "transform/lambda.h"

#include <curl/curl.h>
#include <simdjson.h>

#include <cstdio>
#include <unordered_map>

#include "common/base64.h"
#include "common/json_writer.h"

namespace sluice::transform {
namespace {

constexpr size_t kMaxResponseBytes = kLambdaPayloadLimit + 1024 * 1024;
constexpr size_t kRecordOverhead = 128;  // JSON framing of one record in the event

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t n = size * nmemb;
  if (body->size() + n > kMaxResponseBytes) return 0;  // aborts the transfer
  body->append(ptr, n);
  return n;
}

size_t WriteHeader(char* ptr, size_t size, size_t nmemb, void* user) {
  size_t n = size * nmemb;
  std::string_view line(ptr, n);
  constexpr std::string_view kName = "x-amz-function-error:";
  if (line.size() >= kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size(); ++i) {
      char c = line[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      if (c != kName[i]) {
        match = false;
        break;
      }
    }
    if (match) *static_cast<bool*>(user) = true;
  }
  return n;
}

class LambdaStage final : public Stage {
 public:
  struct Config {
    std::string url;
    uint32_t retries = LambdaParams::kDefaultRetries;
    uint64_t buffer_bytes = static_cast<uint64_t>(LambdaParams::kDefaultBufferMb * 1024 * 1024);
    int64_t timeout_ms = LambdaParams::kDefaultTimeoutMs;
    std::string stream_arn;
    std::string region;
  };

  explicit LambdaStage(Config config) : config_(std::move(config)) {
    static CurlGlobal global;
    curl_ = curl_easy_init();
  }
  ~LambdaStage() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  LambdaStage(const LambdaStage&) = delete;
  LambdaStage& operator=(const LambdaStage&) = delete;

  bool is_row_stage() const override { return false; }

  void ProcessItems(std::vector<Item>& items, BatchContext& ctx) override {
    std::vector<Item> out;
    out.reserve(items.size());
    std::vector<const Item*> group;
    size_t data_bytes = 0, payload_bytes = 0;
    uint32_t invocation = 0;
    auto flush = [&] {
      if (!group.empty()) Invoke(group, invocation++, ctx, out);
      group.clear();
      data_bytes = payload_bytes = 0;
    };
    for (const Item& item : items) {
      if (ctx.Failed(item.source)) continue;
      ctx.states[item.source].lambda_arn = config_.url;
      size_t payload = (item.data.size() + 2) / 3 * 4 + item.record_id.size() + kRecordOverhead;
      if (payload + 512 > kLambdaPayloadLimit) {
        ctx.Fail(item.source, "Lambda.PayloadTooLarge",
                 "the record (" + std::to_string(item.data.size()) +
                     " bytes) does not fit in a 6 MB Lambda request");
        continue;
      }
      if (!group.empty() && (data_bytes + item.data.size() > config_.buffer_bytes ||
                             payload_bytes + payload + 512 > kLambdaPayloadLimit)) {
        flush();
      }
      group.push_back(&item);
      data_bytes += item.data.size();
      payload_bytes += payload;
    }
    flush();
    items = std::move(out);
  }

 private:
  std::string InvocationId(const std::vector<const Item*>& group, uint32_t index) const {
    uint64_t h1 = Fnv1a(config_.stream_arn, 14695981039346656037ULL);
    for (const Item* item : group) h1 = Fnv1a(item->record_id, h1);
    uint64_t h2 = Fnv1a(std::to_string(index), h1 ^ 0x9e3779b97f4a7c15ULL);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(h1 >> 32),
                  static_cast<unsigned>((h1 >> 16) & 0xffff), static_cast<unsigned>(h1 & 0xffff),
                  static_cast<unsigned>(h2 >> 48),
                  static_cast<unsigned long long>(h2 & 0xffffffffffffULL));
    return buf;
  }

  std::string Event(const std::vector<const Item*>& group, uint32_t index,
                    const BatchContext& ctx) const {
    std::string body;
    body += "{\"invocationId\":";
    json::AppendString(body, InvocationId(group, index));
    body += ",\"deliveryStreamArn\":";
    json::AppendString(body, config_.stream_arn);
    body += ",\"region\":";
    json::AppendString(body, config_.region);
    body += ",\"records\":[";
    for (size_t i = 0; i < group.size(); ++i) {
      if (i > 0) body += ',';
      body += "{\"recordId\":";
      json::AppendString(body, group[i]->record_id);
      body += ",\"approximateArrivalTimestamp\":";
      body += std::to_string((*ctx.input)[group[i]->source].arrival_ms);
      body += ",\"data\":\"";
      base64::EncodeTo(group[i]->data, body);
      body += "\"}";
    }
    body += "]}";
    return body;
  }

  struct Reply {
    std::string data;
    std::string result;
    PartitionKeys keys;
  };

  // One HTTP attempt. Returns false with (code, message) when the invocation failed.
  bool Attempt(const std::string& event, const std::vector<const Item*>& group,
               std::vector<Reply>& replies, Failure& failure) {
    if (curl_ == nullptr) {
      failure = {"Lambda.ConnectionFailed", "cannot create an HTTP client"};
      return false;
    }
    std::string body;
    bool function_error = false;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, event.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(event.size()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms));
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &function_error);
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      failure = {"Lambda.Timeout", "no response from " + config_.url + " within " +
                                       std::to_string(config_.timeout_ms) + " ms"};
      return false;
    }
    if (rc == CURLE_WRITE_ERROR) {
      failure = {"Lambda.JsonProcessingException", "the response exceeds the 6 MB limit"};
      return false;
    }
    if (rc != CURLE_OK) {
      failure = {"Lambda.ConnectionFailed",
                 config_.url + ": " + std::string(curl_easy_strerror(rc))};
      return false;
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    std::string snippet = body.substr(0, 200);
    if (status < 200 || status > 299) {
      std::string code = status == 429   ? "Lambda.InvokeLimitExceeded"
                         : status == 403 ? "Lambda.InvokeAccessDenied"
                         : status == 404 ? "Lambda.ResourceNotFound"
                                         : "Lambda.ServiceException";
      failure = {code, "HTTP " + std::to_string(status) + " from " + config_.url + ": " + snippet};
      return false;
    }
    if (function_error) {
      failure = {"Lambda.FunctionError", "the function failed: " + snippet};
      return false;
    }
    return ParseResponse(body, group, replies, failure);
  }

  bool ParseResponse(const std::string& body, const std::vector<const Item*>& group,
                     std::vector<Reply>& replies, Failure& failure) {
    auto bad = [&](const std::string& why) {
      failure = {"Lambda.JsonProcessingException", "invalid response: " + why};
      return false;
    };
    simdjson::dom::element root;
    auto err = parser_.parse(body).get(root);
    if (err) return bad(std::string("not JSON (") + simdjson::error_message(err) + ")");
    simdjson::dom::array records;
    if (root["records"].get_array().get(records)) return bad("no \"records\" array");
    std::unordered_map<std::string_view, size_t> index;
    for (size_t i = 0; i < group.size(); ++i) index.emplace(group[i]->record_id, i);
    replies.assign(group.size(), Reply{});
    std::vector<bool> seen(group.size(), false);
    for (auto rec : records) {
      std::string_view id, result, data;
      if (rec["recordId"].get_string().get(id)) return bad("a record has no string recordId");
      auto it = index.find(id);
      if (it == index.end()) {
        failure = {"Lambda.MissingRecordId",
                   "the response has recordId " + json::Quote(id) + " that was not sent"};
        return false;
      }
      if (seen[it->second]) {
        failure = {"Lambda.DuplicatedRecordId",
                   "the response has recordId " + json::Quote(id) + " more than once"};
        return false;
      }
      seen[it->second] = true;
      Reply& reply = replies[it->second];
      if (rec["result"].get_string().get(result) ||
          (result != "Ok" && result != "Dropped" && result != "ProcessingFailed")) {
        return bad("record " + json::Quote(id) +
                   ": result must be Ok, Dropped or ProcessingFailed");
      }
      reply.result = std::string(result);
      if (result == "Ok") {
        if (rec["data"].get_string().get(data))
          return bad("record " + json::Quote(id) + ": no data");
        auto decoded = base64::Decode(data);
        if (!decoded) return bad("record " + json::Quote(id) + ": data is not valid base64");
        reply.data = std::move(*decoded);
      }
      simdjson::dom::object keys;
      if (!rec["metadata"]["partitionKeys"].get_object().get(keys)) {
        for (auto field : keys) {
          std::string_view v;
          if (field.value.get_string().get(v)) {
            return bad("record " + json::Quote(id) + ": partition key " + json::Quote(field.key) +
                       " is not a string");
          }
          reply.keys[std::string(field.key)] = std::string(v);
        }
      }
    }
    for (size_t i = 0; i < group.size(); ++i) {
      if (!seen[i]) {
        failure = {"Lambda.MissingRecordId",
                   "the response has no record for recordId " + json::Quote(group[i]->record_id)};
        return false;
      }
    }
    return true;
  }

  void Invoke(const std::vector<const Item*>& group, uint32_t index, BatchContext& ctx,
              std::vector<Item>& out) {
    std::string event = Event(group, index, ctx);
    std::vector<Reply> replies;
    Failure failure;
    uint32_t attempts = 0;
    bool ok = false;
    while (!ok && attempts <= config_.retries) {
      ++attempts;
      ok = Attempt(event, group, replies, failure);
    }
    for (size_t i = 0; i < group.size(); ++i) {
      const Item& item = *group[i];
      ctx.states[item.source].attempts = std::max(ctx.states[item.source].attempts, attempts);
      if (!ok) {
        ctx.Fail(item.source, failure.code,
                 failure.message + " (after " + std::to_string(attempts) + " attempts)");
        continue;
      }
      Reply& reply = replies[i];
      if (reply.result == "Dropped") continue;
      if (reply.result == "ProcessingFailed") {
        ctx.Fail(item.source, "Lambda.ProcessingFailed",
                 "the Lambda function returned ProcessingFailed for recordId " +
                     std::string(item.record_id));
        continue;
      }
      if (!reply.keys.empty()) ctx.SetPartitionKeys(item.source, std::move(reply.keys));
      out.push_back(Item{item.source, ctx.Own(std::move(reply.data)), item.record_id});
    }
  }

  Config config_;
  CURL* curl_ = nullptr;
  simdjson::dom::parser parser_;
};

}  // namespace

Result<std::unique_ptr<Stage>> MakeLambdaStage(const LambdaParams& params,
                                               const ChainOptions& options) {
  LambdaStage::Config config;
  config.url = params.url;
  config.retries = params.number_of_retries;
  config.buffer_bytes = static_cast<uint64_t>(params.buffer_size_mb * 1024 * 1024);
  config.timeout_ms = params.timeout_ms;
  config.region = options.region;
  config.stream_arn = "arn:aws:firehose:" + options.region + ":" + options.account_id +
                      ":deliverystream/" + options.stream_name;
  return std::unique_ptr<Stage>(new LambdaStage(std::move(config)));
}

}  // namespace sluice::transform
