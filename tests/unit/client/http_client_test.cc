#include "client/http_client.h"

#include <gtest/gtest.h>

#include <map>

#include "testutil/objectstore_fake_http_server.h"

namespace sluice::client {
namespace {

using testutil::FakeHttpReply;
using testutil::FakeHttpRequest;
using testutil::FakeHttpServer;

aws::EnvLookup MapEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ProducerCredentials, ComeFromTheEnvironmentOnlyAndHalfAPairMeansUnsigned) {
  auto both = CredentialsFromEnvironment(MapEnv({{"AWS_ACCESS_KEY_ID", "AKID"},
                                                 {"AWS_SECRET_ACCESS_KEY", "secret"},
                                                 {"AWS_SESSION_TOKEN", "tok"}}));
  EXPECT_EQ(both.access_key_id, "AKID");
  EXPECT_EQ(both.session_token, "tok");
  EXPECT_TRUE(
      CredentialsFromEnvironment(MapEnv({{"AWS_ACCESS_KEY_ID", "AKID"}})).access_key_id.empty());
  EXPECT_TRUE(CredentialsFromEnvironment(MapEnv({{"HOME", "/nonexistent"}})).access_key_id.empty());
}

TEST(ProducerCredentials, RegionIsTheFlagThenAwsRegionThenDefaultRegion) {
  auto env = MapEnv({{"AWS_REGION", "eu-west-3"}, {"AWS_DEFAULT_REGION", "eu-west-1"}});
  EXPECT_EQ(RegionFromFlagOrEnvironment("ap-south-1", env), "ap-south-1");
  EXPECT_EQ(RegionFromFlagOrEnvironment("", env), "eu-west-3");
  EXPECT_EQ(RegionFromFlagOrEnvironment("", MapEnv({{"AWS_DEFAULT_REGION", "eu-west-1"}})),
            "eu-west-1");
  EXPECT_EQ(RegionFromFlagOrEnvironment("", MapEnv({})), "us-east-1");
}

TEST(HttpClientTest, SignedRequestsCarrySigV4AndTheSessionToken) {
  FakeHttpServer server([](const FakeHttpRequest&) { return FakeHttpReply{200, "{}"}; });
  auto http = HttpClient::Create();
  ASSERT_TRUE(http.ok());
  (*http)->SetSigV4("us-west-2", "firehose", {"AKIDEXAMPLE", "wJalrXUtnFEMI", "session", "test"});
  auto r = (*http)->Post(server.endpoint() + "/",
                         {"X-Amz-Target: Firehose_20150804.ListDeliveryStreams"}, "{}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{}");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string& auth = requests[0].headers.at("authorization");
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << auth;
  EXPECT_NE(auth.find("/us-west-2/firehose/aws4_request"), std::string::npos) << auth;
  EXPECT_EQ(auth.find("wJalrXUtnFEMI"), std::string::npos);
  EXPECT_EQ(requests[0].headers.at("x-amz-security-token"), "session");
}

TEST(HttpClientTest, UnsignedRequestsHaveNoAuthorizationAndOneConnectionIsReused) {
  FakeHttpServer server([](const FakeHttpRequest& r) { return FakeHttpReply{201, r.body}; });
  auto http = HttpClient::Create();
  ASSERT_TRUE(http.ok());
  (*http)->SetSigV4("us-east-1", "firehose", {});
  for (int i = 0; i < 3; ++i) {
    auto r = (*http)->Post(server.endpoint() + "/", {}, "body" + std::to_string(i));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->body, "body" + std::to_string(i));
  }
  for (const auto& r : server.requests()) EXPECT_EQ(r.headers.count("authorization"), 0u);
}

TEST(HttpClientTest, ARefusedConnectionIsUnavailable) {
  int port = 0;
  {
    FakeHttpServer gone([](const FakeHttpRequest&) { return FakeHttpReply{}; });
    port = gone.port();
  }
  auto http = HttpClient::Create();
  ASSERT_TRUE(http.ok());
  (*http)->SetTimeouts(2'000, 2'000);
  auto r = (*http)->Post("http://127.0.0.1:" + std::to_string(port) + "/", {}, "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message().rfind("POST http://127.0.0.1:", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace sluice::client
