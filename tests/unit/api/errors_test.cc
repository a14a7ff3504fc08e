#include "api/errors.h"

#include <gtest/gtest.h>

#include <set>

#include "api/firehose_handler.h"

namespace sluice::api {
namespace {

TEST(ErrorTableTest, MapsEveryStatusCodeToItsAwsError) {
  struct Case {
    Status status;
    const char* type;
    int http;
  };
  const Case cases[] = {
      {Status::NotFound("m"), "ResourceNotFoundException", 400},
      {Status::AlreadyExists("m"), "ResourceInUseException", 400},
      {Status::InvalidArgument("m"), "InvalidArgumentException", 400},
      {Status::FailedPrecondition("m"), "ResourceInUseException", 400},
      {Status::ResourceExhausted("m"), "LimitExceededException", 400},
      {Status::Unavailable("m"), "ServiceUnavailableException", 503},
      {Status::IoError("m"), "InternalFailure", 500},
      {Status::Corruption("m"), "InternalFailure", 500},
      {Status::Internal("m"), "InternalFailure", 500},
  };
  for (const auto& c : cases) {
    ApiError e = FirehoseError(c.status);
    EXPECT_EQ(e.type, c.type) << c.status.ToString();
    EXPECT_EQ(e.http_status, c.http) << c.status.ToString();
    EXPECT_EQ(e.message, "m");
  }
}

TEST(ErrorTableTest, MapsPerRecordOutcomesToFirehoseRecordErrors) {
  ApiError quota = FirehoseRecordError(Status::ResourceExhausted("journal quota"));
  EXPECT_EQ(quota.type, "ServiceUnavailableException");
  EXPECT_EQ(quota.message, "Slow down.");
  ApiError disk = FirehoseRecordError(Status::Unavailable("EIO"));
  EXPECT_EQ(disk.type, "ServiceUnavailableException");
  EXPECT_EQ(disk.message, "The record could not be stored durably; retry.");
  EXPECT_EQ(FirehoseRecordError(Status::Internal("x")).type, "InternalFailure");
}

TEST(ErrorTableTest, RecordIdsAreIncarnationShardAndOffsetInHex) {
  EXPECT_EQ(FirehoseRecordId(0x1234, 3, 0xabc), "0000000000001234000000030000000000000abc");
}

TEST(ValidationErrorsTest, RendersOneAndSeveralViolationsAsAws) {
  ValidationErrors one;
  one.Add("x", "a.b", "Member must c");
  EXPECT_EQ(one.ToError().message,
            "1 validation error detected: Value 'x' at 'a.b' failed to satisfy constraint: "
            "Member must c");
  EXPECT_EQ(one.ToError().type, "ValidationException");
  ValidationErrors two;
  two.Add(std::nullopt, "p", "Member must not be null");
  two.Add("y", "q", "Member must d");
  EXPECT_EQ(two.ToError().message,
            "2 validation errors detected: Value null at 'p' failed to satisfy constraint: Member "
            "must not be null; Value 'y' at 'q' failed to satisfy constraint: Member must d");
}

TEST(ValidationErrorsTest, KeepsAtMostTenViolations) {
  ValidationErrors many;
  for (int i = 0; i < 15; ++i) many.Add("v", "p", "c");
  EXPECT_EQ(many.size(), 10u);
  EXPECT_EQ(many.ToError().message.rfind("10 validation errors detected: ", 0), 0u);
}

TEST(ErrorResponseTest, HasAwsHeadersAndBody) {
  HttpResponse r = ErrorResponse(ApiError::ServiceUnavailable("Slow down."), "rid");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"__type":"ServiceUnavailableException","message":"Slow down."})");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0],
            (std::pair<std::string, std::string>{"Content-Type", "application/x-amz-json-1.1"}));
  EXPECT_EQ(r.headers[1], (std::pair<std::string, std::string>{"x-amzn-RequestId", "rid"}));
}

TEST(RequestIdTest, IdsAreDistinctVersionFourUuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(HttpRequestTest, HeaderLookupIgnoresCase) {
  HttpRequest r;
  r.headers.emplace_back("X-Amz-Target", "Firehose_20150804.PutRecord");
  EXPECT_EQ(r.Header("x-amz-target"), "Firehose_20150804.PutRecord");
  EXPECT_EQ(r.Header("X-AMZ-TARGET"), "Firehose_20150804.PutRecord");
  EXPECT_EQ(r.Header("x-amz-targe"), "");
}

}  // namespace
}  // namespace sluice::api
