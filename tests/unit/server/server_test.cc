// Server: the composition root's start and stop order, through the real listener.
#include "server/server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/base64.h"
#include "common/file_util.h"

namespace sluice::server {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// POSTs one Firehose call; returns the HTTP status and fills `body`.
long Call(const std::string& address, const std::string& op, const std::string& json,
          std::string& body) {
  CURL* curl = curl_easy_init();
  std::string url = "http://" + address + "/";
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-amz-json-1.1");
  headers = curl_slist_append(headers, ("X-Amz-Target: Firehose_20150804." + op).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/srv_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(root_);
  }
  ServeOptions Options() {
    std::string yaml =
        "server:\n  listen: 127.0.0.1:0\n  data_dir: " + root_ +
        "\n  disk_reserve_mb: 0\ndelivery_streams:\n  - name: orders\n    buffering:\n"
        "      interval_s: 300\n";
    auto cfg = config::ParseConfig(yaml, "test.yaml");
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    ServeOptions o;
    o.config = *cfg;
    o.ready_file = root_ + "/ready";
    return o;
  }
  std::string Delivered() {
    std::string all;
    const std::string dir = root_ + "/buckets/orders";
    if (!std::filesystem::exists(dir)) return all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) all += *fs::ReadFile(e.path().string());
    }
    return all;
  }
  std::string root_;
};

TEST_F(ServerTest, StartsListeningAndStopFlushesAcknowledgedRecordsBeforeClosing) {
  auto server = Server::Start(Options());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string address = (*server)->Address();
  EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(address, "127.0.0.1:0");
  EXPECT_EQ(*fs::ReadFile(root_ + "/ready"), address + "\n");
  std::string body;
  EXPECT_EQ(
      Call(address, "PutRecordBatch",
           R"({"DeliveryStreamName":"orders","Records":[{"Data":")" + base64::Encode("hello ") +
               R"("},{"Data":")" + base64::Encode("world") + R"("}]})",
           body),
      200)
      << body;
  EXPECT_NE(body.find("\"FailedPutCount\":0"), std::string::npos) << body;
  // The 300 s buffer has not expired: nothing delivered until the stop flushes it.
  EXPECT_EQ(Delivered(), "");
  (*server)->Shutdown();
  EXPECT_EQ(Delivered(), "hello world");
  // Stopped: the listener is gone.
  std::string after;
  EXPECT_EQ(Call(address, "ListDeliveryStreams", "{}", after), 0);
  (*server)->Shutdown();  // idempotent
}

TEST_F(ServerTest, ARestartDeliversNothingTwice) {
  {
    auto server = Server::Start(Options());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    std::string body;
    ASSERT_EQ(Call((*server)->Address(), "PutRecord",
                   R"({"DeliveryStreamName":"orders","Record":{"Data":")" + base64::Encode("once") +
                       R"("}})",
                   body),
              200);
    (*server)->Shutdown();
  }
  auto again = Server::Start(Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  (*again)->Shutdown();
  EXPECT_EQ(Delivered(), "once");
}

TEST_F(ServerTest, AnUnusableListenAddressFailsStartWithItsName) {
  auto o = Options();
  o.config.server.listen = "127.0.0.1:99999";
  auto server = Server::Start(o);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("99999"), std::string::npos)
      << server.status().message();
}

}  // namespace
}  // namespace sluice::server
