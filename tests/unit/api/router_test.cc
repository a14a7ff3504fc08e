#include "api/router.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace sluice::api {
namespace {

// Answers with its own name, so a test sees where a request went.
class NamedHandler : public HttpHandler {
 public:
  explicit NamedHandler(std::string name) : name_(std::move(name)) {}
  void Handle(HttpRequest request, Responder respond) override {
    HttpResponse r;
    r.body = name_ + ":" + std::string(request.Header("X-Amz-Target"));
    respond(std::move(r));
  }

 private:
  std::string name_;
};

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("Firehose_20150804.", &firehose_);
    router_.Add("Kinesis_20131202.", &kinesis_);
  }
  HttpResponse Send(std::string method, std::string target) {
    HttpRequest req;
    req.method = std::move(method);
    if (!target.empty()) req.headers.emplace_back("x-amz-target", std::move(target));
    std::optional<HttpResponse> out;
    router_.Handle(std::move(req), [&out](HttpResponse r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(HttpResponse{});
  }
  NamedHandler firehose_{"firehose"};
  NamedHandler kinesis_{"kinesis"};
  Router router_;
};

TEST_F(RouterTest, SendsEachProtocolToItsHandler) {
  EXPECT_EQ(Send("POST", "Firehose_20150804.PutRecord").body,
            "firehose:Firehose_20150804.PutRecord");
  EXPECT_EQ(Send("POST", "Kinesis_20131202.PutRecords").body,
            "kinesis:Kinesis_20131202.PutRecords");
}

TEST_F(RouterTest, UnknownTargetsAndNonPostAnswerAsAws) {
  HttpResponse unknown = Send("POST", "DynamoDB_20120810.GetItem");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("UnknownOperationException"), std::string::npos) << unknown.body;
  HttpResponse none = Send("POST", "");
  EXPECT_NE(none.body.find("UnknownOperationException"), std::string::npos) << none.body;
  HttpResponse get = Send("GET", "Firehose_20150804.ListDeliveryStreams");
  EXPECT_EQ(get.status, 400);
  EXPECT_NE(get.body.find("AccessDeniedException"), std::string::npos) << get.body;
}

}  // namespace
}  // namespace sluice::api
