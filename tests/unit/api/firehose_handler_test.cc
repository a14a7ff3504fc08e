// Firehose handler tests against a fake Backend: success shapes, every error shape and status,
// and the CreateDeliveryStream <-> DescribeDeliveryStream config mapping.
#include "api/firehose_handler.h"

#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <string>

#include "api/router.h"
#include "common/base64.h"
#include "common/clock.h"
#include "testutil/api_fake_backend.h"

namespace sluice::api {
namespace {

class FirehoseHandlerTest : public ::testing::Test {
 protected:
  // Sends one request; the fake backend completes synchronously unless deferred.
  std::optional<HttpResponse> Send(std::string_view op, std::string body,
                                   std::string method = "POST") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = "/";
    req.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
    req.headers.emplace_back("x-amz-target", "Firehose_20150804." + std::string(op));
    req.headers.emplace_back("Authorization",
                             "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/firehose/"
                             "aws4_request, SignedHeaders=host, Signature=abc");
    req.body = std::move(body);
    std::optional<HttpResponse> out;
    handler_.Handle(std::move(req), [&out](HttpResponse r) { out = std::move(r); });
    return out;
  }

  // Sends and requires an answer with the AWS JSON headers.
  HttpResponse Call(std::string_view op, std::string body, std::string method = "POST") {
    auto r = Send(op, std::move(body), std::move(method));
    EXPECT_TRUE(r.has_value()) << "no response to " << op;
    if (!r) return {};
    ExpectAwsHeaders(*r);
    return *r;
  }

  static std::string HeaderOf(const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return {};
  }

  static void ExpectAwsHeaders(const HttpResponse& r) {
    static const std::regex kUuid(
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(std::regex_match(HeaderOf(r, "x-amzn-RequestId"), kUuid))
        << "x-amzn-RequestId: " << HeaderOf(r, "x-amzn-RequestId");
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/x-amz-json-1.1");
  }

  static void ExpectError(const HttpResponse& r, int status, std::string_view type,
                          std::string_view message) {
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.body, "{\"__type\":\"" + std::string(type) + "\",\"message\":\"" +
                          std::string(message) + "\"}");
  }

  static std::string Batch(const std::string& stream, const std::vector<std::string>& records) {
    std::string body = "{\"DeliveryStreamName\":\"" + stream + "\",\"Records\":[";
    for (size_t i = 0; i < records.size(); ++i) {
      if (i > 0) body += ',';
      body += "{\"Data\":\"" + base64::Encode(records[i]) + "\"}";
    }
    return body + "]}";
  }

  testutil::ApiFakeBackend backend_;
  ManualClock clock_{1'700'000'000'123};
  FirehoseHandler firehose_{backend_, clock_};
  // Requests go through the router, as the server sends them.
  Router handler_ = [this] {
    Router r;
    r.Add(std::string(kFirehoseTargetPrefix), &firehose_);
    return r;
  }();
};

TEST_F(FirehoseHandlerTest, PutRecordBatchAnswersRecordIdsInRequestOrder) {
  backend_.AddStream("events");
  auto r = Call("PutRecordBatch", Batch("events", {"{\"a\":1}\n", "{\"a\":2}\n"}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      R"({"FailedPutCount":0,"Encrypted":false,"RequestResponses":[{"RecordId":"0000000000000000000000000000000000000000"},{"RecordId":"0000000000000000000000000000000000000001"}]})");
  auto puts = backend_.puts();
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].first, "events");
  EXPECT_EQ(puts[0].second, (std::vector<std::string>{"{\"a\":1}\n", "{\"a\":2}\n"}));
}

TEST_F(FirehoseHandlerTest, PutRecordBatchReportsRefusedRecordsPerRecord) {
  backend_.AddStream("events");
  backend_.RefuseRecord(1);
  auto r = Call("PutRecordBatch", Batch("events", {"a", "b", "c"}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      R"({"FailedPutCount":1,"Encrypted":false,"RequestResponses":[{"RecordId":"0000000000000000000000000000000000000000"},{"ErrorCode":"ServiceUnavailableException","ErrorMessage":"Slow down."},{"RecordId":"0000000000000000000000000000000000000001"}]})");
}

TEST_F(FirehoseHandlerTest, PutRecordBatchAnswersOnlyWhenTheBackendCompletes) {
  backend_.AddStream("events");
  backend_.DeferCompletion();
  auto pending = Send("PutRecordBatch", Batch("events", {"x"}));
  EXPECT_FALSE(pending.has_value());
  std::optional<HttpResponse> out;
  HttpRequest req;
  req.method = "POST";
  req.headers.emplace_back("X-Amz-Target", "Firehose_20150804.PutRecordBatch");
  req.body = Batch("events", {"y"});
  handler_.Handle(std::move(req), [&out](HttpResponse r) { out = std::move(r); });
  EXPECT_FALSE(out.has_value());
  EXPECT_EQ(backend_.CompleteDeferred(), 2u);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 200);
  EXPECT_NE(out->body.find("\"FailedPutCount\":0"), std::string::npos);
}

TEST_F(FirehoseHandlerTest, PutRecordAnswersRecordIdAndEncryptedFalse) {
  backend_.AddStream("events");
  auto r = Call("PutRecord", R"({"DeliveryStreamName":"events","Record":{"Data":")" +
                                 base64::Encode("hi") + R"("}})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"RecordId":"0000000000000000000000000000000000000000","Encrypted":false})");
  ASSERT_EQ(backend_.puts().size(), 1u);
  EXPECT_EQ(backend_.puts()[0].second, std::vector<std::string>{"hi"});
}

TEST_F(FirehoseHandlerTest, PutRecordRefusedFailsTheCallWith503SlowDown) {
  backend_.AddStream("events");
  backend_.RefuseRecord(0);
  auto r = Call("PutRecord", R"({"DeliveryStreamName":"events","Record":{"Data":"aGk="}})");
  ExpectError(r, 503, "ServiceUnavailableException", "Slow down.");
}

TEST_F(FirehoseHandlerTest, PutToUnknownStreamIsResourceNotFound) {
  auto r = Call("PutRecordBatch", Batch("nope", {"x"}));
  ExpectError(r, 400, "ResourceNotFoundException",
              "Firehose nope under account 000000000000 not found.");
  r = Call("PutRecord", R"({"DeliveryStreamName":"nope","Record":{"Data":"aGk="}})");
  ExpectError(r, 400, "ResourceNotFoundException",
              "Firehose nope under account 000000000000 not found.");
}

TEST_F(FirehoseHandlerTest, UnknownTargetIsUnknownOperation) {
  auto r = Call("Frobnicate", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"("__type":"UnknownOperationException")"), std::string::npos);
  HttpRequest req;
  req.method = "POST";
  req.headers.emplace_back("X-Amz-Target", "Kinesis_20131202.PutRecord");
  std::optional<HttpResponse> out;
  handler_.Handle(std::move(req), [&out](HttpResponse x) { out = std::move(x); });
  ASSERT_TRUE(out.has_value());
  ExpectAwsHeaders(*out);
  EXPECT_NE(out->body.find(R"("__type":"UnknownOperationException")"), std::string::npos);
}

TEST_F(FirehoseHandlerTest, NonPostIsAccessDenied) {
  auto r = Call("ListDeliveryStreams", "", "GET");
  ExpectError(r, 400, "AccessDeniedException",
              "Unable to determine service/operation name to be authorized");
}

TEST_F(FirehoseHandlerTest, MalformedJsonIsSerializationException) {
  auto r = Call("PutRecordBatch", R"({"DeliveryStreamName":"events","Records":[)");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"("__type":"SerializationException")"), std::string::npos) << r.body;
}

TEST_F(FirehoseHandlerTest, WrongMemberTypesAreSerializationExceptions) {
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":5,"Records":[]})"), 400,
              "SerializationException",
              "class java.math.BigDecimal can not be converted to an String");
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":{}})"), 400,
              "SerializationException", "Start of structure or map found where not expected.");
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":[{"Data":true}]})"),
              400, "SerializationException",
              "class java.lang.Boolean can not be converted to a Blob");
  ExpectError(Call("ListDeliveryStreams", R"({"Limit":"10"})"), 400, "SerializationException",
              "class java.lang.String can not be converted to an Integer");
  ExpectError(Call("PutRecordBatch", "[1]"), 400, "SerializationException",
              "Start of list found where not expected");
}

TEST_F(FirehoseHandlerTest, InvalidBase64IsSerializationExceptionWithAwsText) {
  backend_.AddStream("e");
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":[{"Data":"abc"}]})"),
              400, "SerializationException",
              "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple "
              "of 4 bytes but found: 3");
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":[{"Data":"ab!d"}]})"),
              400, "SerializationException",
              "'ab!d' can not be converted to a Blob: Invalid Base64 character: '!'");
  // A non-ASCII character is quoted whole (the body stays UTF-8).
  ExpectError(
      Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":[{"Data":"YWJj\u00fa=="}]})"),
      400, "SerializationException",
      "'YWJj\xc3\xba==' can not be converted to a Blob: Invalid Base64 character: '\xc3\xba'");
  ExpectError(
      Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":[{"Data":"\ud83d\ude00"}]})"),
      400, "SerializationException",
      "'\xf0\x9f\x98\x80' can not be converted to a Blob: Invalid Base64 character: "
      "'\xf0\x9f\x98\x80'");
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":[{"Data":"YR=="}]})"),
              400, "SerializationException",
              "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character "
              "dectected");
  EXPECT_TRUE(backend_.puts().empty());
}

TEST_F(FirehoseHandlerTest, RecordOverOneThousandKibIsValidationException) {
  backend_.AddStream("e");
  std::string ok(1'024'000, 'x');
  std::string big(1'024'001, 'x');
  ExpectError(Call("PutRecordBatch", Batch("e", {"small", big})), 400, "ValidationException",
              "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 "
              "cap=1024001]' at 'records.2.member.data' failed to satisfy constraint: Member must "
              "have length less than or equal to 1024000");
  ExpectError(Call("PutRecord", R"({"DeliveryStreamName":"e","Record":{"Data":")" +
                                    base64::Encode(big) + R"("}})"),
              400, "ValidationException",
              "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 "
              "cap=1024001]' at 'record.data' failed to satisfy constraint: Member must have "
              "length less than or equal to 1024000");
  EXPECT_EQ(Call("PutRecordBatch", Batch("e", {ok})).status, 200);
  ASSERT_EQ(backend_.puts().size(), 1u);
  EXPECT_EQ(backend_.puts()[0].second[0].size(), 1'024'000u);
}

TEST_F(FirehoseHandlerTest, SeveralViolationsAreJoinedAsAwsDoes) {
  std::string big(1'024'001, 'x');
  ExpectError(Call("PutRecordBatch", Batch("e", {big, "ok", big})), 400, "ValidationException",
              "2 validation errors detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 "
              "cap=1024001]' at 'records.1.member.data' failed to satisfy constraint: Member must "
              "have length less than or equal to 1024000; Value 'java.nio.HeapByteBuffer[pos=0 "
              "lim=1024001 cap=1024001]' at 'records.3.member.data' failed to satisfy constraint: "
              "Member must have length less than or equal to 1024000");
}

TEST_F(FirehoseHandlerTest, MoreThanFiveHundredRecordsIsValidationException) {
  backend_.AddStream("e");
  std::vector<std::string> records(501, "r");
  ExpectError(Call("PutRecordBatch", Batch("e", records)), 400, "ValidationException",
              "1 validation error detected: Value '[501 records]' at 'records' failed to satisfy "
              "constraint: Member must have length less than or equal to 500");
  records.pop_back();
  auto r = Call("PutRecordBatch", Batch("e", records));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"" + FirehoseRecordId(0, 0, 499) + "\""), std::string::npos);
}

TEST_F(FirehoseHandlerTest, EmptyRecordListIsValidationException) {
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":"e","Records":[]})"), 400,
              "ValidationException",
              "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: "
              "Member must have length greater than or equal to 1");
}

TEST_F(FirehoseHandlerTest, BatchOverFourMibIsInvalidArgument) {
  backend_.AddStream("e");
  std::vector<std::string> records(5, std::string(1'000'000, 'y'));
  ExpectError(Call("PutRecordBatch", Batch("e", records)), 400, "InvalidArgumentException",
              "Records size exceeds 4 MB limit");
  EXPECT_TRUE(backend_.puts().empty());
  records.pop_back();  // 4,000,000 bytes fit
  EXPECT_EQ(Call("PutRecordBatch", Batch("e", records)).status, 200);
}

TEST_F(FirehoseHandlerTest, MissingMembersAreNotNullViolations) {
  ExpectError(Call("PutRecordBatch", R"({"DeliveryStreamName":"e"})"), 400, "ValidationException",
              "1 validation error detected: Value null at 'records' failed to satisfy constraint: "
              "Member must not be null");
  ExpectError(Call("PutRecord", R"({"Record":{}})"), 400, "ValidationException",
              "2 validation errors detected: Value null at 'deliveryStreamName' failed to satisfy "
              "constraint: Member must not be null; Value null at 'record.data' failed to satisfy "
              "constraint: Member must not be null");
  ExpectError(Call("DescribeDeliveryStream", ""), 400, "ValidationException",
              "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy "
              "constraint: Member must not be null");
}

TEST_F(FirehoseHandlerTest, BadStreamNamesAreValidationExceptions) {
  ExpectError(Call("DescribeDeliveryStream", R"({"DeliveryStreamName":"bad name"})"), 400,
              "ValidationException",
              "1 validation error detected: Value 'bad name' at 'deliveryStreamName' failed to "
              "satisfy constraint: Member must satisfy regular expression pattern: "
              "[a-zA-Z0-9_.-]+");
  std::string long_name(65, 'a');
  ExpectError(Call("DescribeDeliveryStream", R"({"DeliveryStreamName":")" + long_name + "\"}"), 400,
              "ValidationException",
              "1 validation error detected: Value '" + long_name +
                  "' at 'deliveryStreamName' failed to satisfy constraint: Member must have "
                  "length less than or equal to 64");
  ExpectError(Call("DescribeDeliveryStream", R"({"DeliveryStreamName":""})"), 400,
              "ValidationException",
              "2 validation errors detected: Value '' at 'deliveryStreamName' failed to satisfy "
              "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
              "Value '' at 'deliveryStreamName' failed to satisfy constraint: Member must have "
              "length greater than or equal to 1");
}

TEST_F(FirehoseHandlerTest, ListDeliveryStreamsPagesAlphabetically) {
  for (const char* n : {"delta", "alpha", "echo", "charlie", "bravo"}) backend_.AddStream(n);
  EXPECT_EQ(Call("ListDeliveryStreams", R"({"Limit":2})").body,
            R"({"DeliveryStreamNames":["alpha","bravo"],"HasMoreDeliveryStreams":true})");
  EXPECT_EQ(
      Call("ListDeliveryStreams", R"({"Limit":2,"ExclusiveStartDeliveryStreamName":"bravo"})").body,
      R"({"DeliveryStreamNames":["charlie","delta"],"HasMoreDeliveryStreams":true})");
  EXPECT_EQ(
      Call("ListDeliveryStreams", R"({"Limit":2,"ExclusiveStartDeliveryStreamName":"delta"})").body,
      R"({"DeliveryStreamNames":["echo"],"HasMoreDeliveryStreams":false})");
  EXPECT_EQ(
      Call("ListDeliveryStreams", "{}").body,
      R"({"DeliveryStreamNames":["alpha","bravo","charlie","delta","echo"],"HasMoreDeliveryStreams":false})");
  EXPECT_EQ(
      Call("ListDeliveryStreams", "").body,
      R"({"DeliveryStreamNames":["alpha","bravo","charlie","delta","echo"],"HasMoreDeliveryStreams":false})");
}

TEST_F(FirehoseHandlerTest, ListDeliveryStreamsDefaultsToTenAndFiltersByType) {
  for (int i = 0; i < 12; ++i) backend_.AddStream("s" + std::to_string(100 + i));
  backend_.AddStream("zk1", "KinesisStreamAsSource");
  auto r = Call("ListDeliveryStreams", "{}");
  EXPECT_NE(r.body.find(R"("s109"],"HasMoreDeliveryStreams":true)"), std::string::npos) << r.body;
  EXPECT_EQ(Call("ListDeliveryStreams", R"({"DeliveryStreamType":"KinesisStreamAsSource"})").body,
            R"({"DeliveryStreamNames":["zk1"],"HasMoreDeliveryStreams":false})");
  ExpectError(Call("ListDeliveryStreams", R"({"Limit":0})"), 400, "ValidationException",
              "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
              "Member must have value greater than or equal to 1");
}

constexpr char kCreateOrders[] =
    R"json({"DeliveryStreamName":"orders","DeliveryStreamType":"DirectPut",)json"
    R"json("ExtendedS3DestinationConfiguration":{"RoleARN":"arn:aws:iam::123456789012:role/fh",)json"
    R"json("BucketARN":"arn:aws:s3:::staging","Prefix":"orders/!{timestamp:yyyy/MM/dd}/",)json"
    R"json("ErrorOutputPrefix":"errors/!{firehose:error-output-type}/",)json"
    R"json("BufferingHints":{"SizeInMBs":64,"IntervalInSeconds":60},"CompressionFormat":"GZIP",)json"
    R"json("EncryptionConfiguration":{"NoEncryptionConfig":"NoEncryption"},)json"
    R"json("ProcessingConfiguration":{"Enabled":true,"Processors":[)json"
    R"json({"Type":"AppendDelimiterToRecord","Parameters":[]},)json"
    R"json({"Type":"MetadataExtraction","Parameters":[)json"
    R"json({"ParameterName":"MetadataExtractionQuery","ParameterValue":"{id:.id}"},)json"
    R"json({"ParameterName":"JsonParsingEngine","ParameterValue":"JQ-1.6"}]}]},)json"
    R"json("S3BackupMode":"Enabled","S3BackupConfiguration":{"RoleARN":"arn:aws:iam::123456789012:role/fh",)json"
    R"json("BucketARN":"arn:aws:s3:::raw","Prefix":"raw/"},)json"
    R"json("FileExtension":".csv.gz","CustomTimeZone":"UTC"},)json"
    R"json("Tags":[{"Key":"team","Value":"data"}]})json";

TEST_F(FirehoseHandlerTest, CreateDeliveryStreamMapsTheConfig) {
  auto r = Call("CreateDeliveryStream", kCreateOrders);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      r.body,
      R"({"DeliveryStreamARN":"arn:aws:firehose:us-east-1:000000000000:deliverystream/orders"})");
  auto info = backend_.DescribeStream("orders");
  ASSERT_TRUE(info.ok());
  const config::StreamConfig& c = info->config;
  EXPECT_EQ(c.name, "orders");
  EXPECT_EQ(c.type, config::SourceType::kDirectPut);
  EXPECT_TRUE(info->state.from_api);
  EXPECT_EQ(info->state.create_timestamp_ms, 1'700'000'000'123);
  EXPECT_EQ(c.staged.url, "bucket://staging");
  EXPECT_EQ(c.staged.prefix, "orders/!{timestamp:yyyy/MM/dd}/");
  EXPECT_EQ(c.error_output_prefix, "errors/!{firehose:error-output-type}/");
  EXPECT_EQ(c.buffering.size_mb, 64u);
  EXPECT_EQ(c.buffering.interval_s, 60u);
  EXPECT_EQ(c.compression, compress::Format::kGzip);
  ASSERT_EQ(c.processors.size(), 2u);
  EXPECT_EQ(c.processors[0].type(), "AppendDelimiterToRecord");
  EXPECT_TRUE(c.processors[0].Is<transform::AppendDelimiterParams>());
  EXPECT_EQ(c.processors[1].type(), "MetadataExtraction");
  const auto& meta = std::get<transform::MetadataExtractionParams>(c.processors[1].params);
  EXPECT_EQ(meta.query, "{id:.id}");
  EXPECT_EQ(meta.json_parsing_engine, "JQ-1.6");
  EXPECT_EQ(meta.given, (std::vector<std::string>{"MetadataExtractionQuery", "JsonParsingEngine"}));
  EXPECT_EQ(c.raw.url, "bucket://raw");
  EXPECT_EQ(c.raw.prefix, "raw/");
  EXPECT_EQ(c.file_extension, std::optional<std::string>(".csv.gz"));
  EXPECT_EQ(c.custom_time_zone, "UTC");
  EXPECT_EQ(c.tags.at("team"), "data");
}

TEST_F(FirehoseHandlerTest, DescribeDeliveryStreamRendersTheCreatedConfig) {
  ASSERT_EQ(Call("CreateDeliveryStream", kCreateOrders).status, 200);
  auto r = Call("DescribeDeliveryStream", R"({"DeliveryStreamName":"orders"})");
  EXPECT_EQ(r.status, 200);
  const std::string common =
      R"("RoleARN":"arn:aws:iam::123456789012:role/fh","BucketARN":"arn:aws:s3:::staging",)"
      R"("Prefix":"orders/!{timestamp:yyyy/MM/dd}/","ErrorOutputPrefix":"errors/!{firehose:error-output-type}/",)"
      R"("BufferingHints":{"SizeInMBs":64,"IntervalInSeconds":60},"CompressionFormat":"GZIP",)"
      R"("EncryptionConfiguration":{"NoEncryptionConfig":"NoEncryption"})";
  const std::string expected =
      R"({"DeliveryStreamDescription":{"DeliveryStreamName":"orders",)"
      R"("DeliveryStreamARN":"arn:aws:firehose:us-east-1:000000000000:deliverystream/orders",)"
      R"("DeliveryStreamStatus":"ACTIVE","DeliveryStreamEncryptionConfiguration":{"Status":"DISABLED"},)"
      R"("DeliveryStreamType":"DirectPut","VersionId":"1","CreateTimestamp":1700000000.123,)"
      R"("Source":{"DirectPutSourceDescription":{}},"Destinations":[{"DestinationId":"destinationId-000000000001",)"
      R"("S3DestinationDescription":{)" +
      common + R"(},"ExtendedS3DestinationDescription":{)" + common +
      R"json(,"ProcessingConfiguration":{"Enabled":true,"Processors":[{"Type":"AppendDelimiterToRecord","Parameters":[]},)json"
      R"json({"Type":"MetadataExtraction","Parameters":[{"ParameterName":"MetadataExtractionQuery","ParameterValue":"{id:.id}"},)json"
      R"json({"ParameterName":"JsonParsingEngine","ParameterValue":"JQ-1.6"}]}]},)json"
      R"("S3BackupMode":"Enabled","S3BackupDescription":{"RoleARN":"arn:aws:iam::123456789012:role/fh",)"
      R"("BucketARN":"arn:aws:s3:::raw","Prefix":"raw/","BufferingHints":{"SizeInMBs":5,"IntervalInSeconds":300},)"
      R"("CompressionFormat":"UNCOMPRESSED","EncryptionConfiguration":{"NoEncryptionConfig":"NoEncryption"}},)"
      R"("FileExtension":".csv.gz","CustomTimeZone":"UTC"}}],"HasMoreDestinations":false}})";
  EXPECT_EQ(r.body, expected);
}

// A CreateDeliveryStream body with one processor of `type` and `params` ({ParameterName,
// ParameterValue} objects, as JSON).
std::string CreateWithProcessor(const std::string& type, const std::string& params) {
  return R"({"DeliveryStreamName":"p","ExtendedS3DestinationConfiguration":{"RoleARN":"r",)"
         R"("BucketARN":"arn:aws:s3:::bkt","ProcessingConfiguration":{"Enabled":true,)"
         R"("Processors":[{"Type":")" +
         type + R"(","Parameters":[)" + params + "]}]}}}";
}

TEST_F(FirehoseHandlerTest, ProcessingParametersMapOntoTypedProcessors) {
  ASSERT_EQ(
      Call("CreateDeliveryStream",
           CreateWithProcessor(
               "Lambda", R"({"ParameterName":"LambdaArn","ParameterValue":"http://127.0.0.1:9/f"},)"
                         R"({"ParameterName":"NumberOfRetries","ParameterValue":"5"},)"
                         R"({"ParameterName":"BufferSizeInMBs","ParameterValue":"0.5"})"))
          .status,
      200);
  auto info = backend_.DescribeStream("p");
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->config.processors.size(), 1u);
  const auto& lambda = std::get<transform::LambdaParams>(info->config.processors[0].params);
  EXPECT_EQ(lambda.url, "http://127.0.0.1:9/f");
  EXPECT_EQ(lambda.number_of_retries, 5u);
  EXPECT_EQ(lambda.buffer_size_mb, 0.5);
  EXPECT_EQ(lambda.buffer_interval_s, transform::LambdaParams::kDefaultIntervalS);
  // Describe writes back the parameters that were given, in their order, as strings.
  auto r = Call("DescribeDeliveryStream", R"({"DeliveryStreamName":"p"})");
  EXPECT_NE(
      r.body.find(
          R"json("Processors":[{"Type":"Lambda","Parameters":[{"ParameterName":"LambdaArn",)json"
          R"json("ParameterValue":"http://127.0.0.1:9/f"},{"ParameterName":"NumberOfRetries",)json"
          R"json("ParameterValue":"5"},{"ParameterName":"BufferSizeInMBs","ParameterValue":"0.5"}]}])json"),
      std::string::npos)
      << r.body;
}

TEST_F(FirehoseHandlerTest, BadProcessingParameterIsInvalidArgument) {
  ExpectError(
      Call("CreateDeliveryStream",
           CreateWithProcessor("Lambda",
                               R"({"ParameterName":"LambdaArn","ParameterValue":"http://h/f"},)"
                               R"({"ParameterName":"NumberOfRetries","ParameterValue":"many"})")),
      400, "InvalidArgumentException",
      "extendedS3DestinationConfiguration.processingConfiguration.processors.1.member (Lambda): "
      "parameter \\\"NumberOfRetries\\\" must be an integer, got \\\"many\\\"");
  ExpectError(Call("CreateDeliveryStream",
                   CreateWithProcessor(
                       "MetadataExtraction",
                       R"({"ParameterName":"MetadataExtractionQuery","ParameterValue":"{k:.k}"},)"
                       R"({"ParameterName":"NumberOfRetries","ParameterValue":"1"})")),
              400, "InvalidArgumentException",
              "extendedS3DestinationConfiguration.processingConfiguration.processors.1.member "
              "(MetadataExtraction): unknown parameter \\\"NumberOfRetries\\\"; allowed: "
              "MetadataExtractionQuery, JsonParsingEngine");
  ExpectError(Call("CreateDeliveryStream", CreateWithProcessor("Decompression", "")), 400,
              "InvalidArgumentException",
              "Processor type Decompression is not supported by Sluice.");
  EXPECT_FALSE(backend_.DescribeStream("p").ok());
}

TEST_F(FirehoseHandlerTest, DescribeUnknownStreamIsResourceNotFound) {
  ExpectError(Call("DescribeDeliveryStream", R"({"DeliveryStreamName":"ghost"})"), 400,
              "ResourceNotFoundException", "Firehose ghost under account 000000000000 not found.");
}

TEST_F(FirehoseHandlerTest, CreateExistingStreamIsResourceInUse) {
  ASSERT_EQ(Call("CreateDeliveryStream", kCreateOrders).status, 200);
  ExpectError(Call("CreateDeliveryStream", kCreateOrders), 400, "ResourceInUseException",
              "Firehose orders under account 000000000000 already exists.");
}

TEST_F(FirehoseHandlerTest, CreateValidatesBufferingHintsAndDestination) {
  ExpectError(
      Call(
          "CreateDeliveryStream",
          R"({"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"r",)"
          R"("BucketARN":"arn:aws:s3:::bkt","BufferingHints":{"SizeInMBs":129,"IntervalInSeconds":901}}})"),
      400, "ValidationException",
      "2 validation errors detected: Value '129' at "
      "'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy "
      "constraint: Member must have value less than or equal to 128; Value '901' at "
      "'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to satisfy "
      "constraint: Member must have value less than or equal to 900");
  ExpectError(
      Call("CreateDeliveryStream",
           R"({"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"r",)"
           R"("BucketARN":"arn:aws:s3:::bkt","BufferingHints":{"SizeInMBs":5}}})"),
      400, "InvalidArgumentException",
      "BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither.");
  ExpectError(Call("CreateDeliveryStream", R"({"DeliveryStreamName":"x"})"), 400,
              "InvalidArgumentException",
              "A destination configuration is required: ExtendedS3DestinationConfiguration.");
  ExpectError(
      Call(
          "CreateDeliveryStream",
          R"({"DeliveryStreamName":"x","S3DestinationConfiguration":{"RoleARN":"r","BucketARN":"b"}})"),
      400, "ValidationException",
      "1 validation error detected: Value 'b' at 's3DestinationConfiguration.bucketARN' failed "
      "to satisfy constraint: Member must satisfy regular expression pattern: "
      "arn:.*:s3:::[\\\\w\\\\.\\\\-]{1,255}");
  ExpectError(
      Call(
          "CreateDeliveryStream",
          R"({"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::bkt",)"
          R"("CompressionFormat":"LZ4"}})"),
      400, "ValidationException",
      "2 validation errors detected: Value null at "
      "'extendedS3DestinationConfiguration.roleARN' failed to satisfy constraint: Member must not "
      "be null; Value 'LZ4' at 'extendedS3DestinationConfiguration.compressionFormat' failed to "
      "satisfy constraint: Member must satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, "
      "HADOOP_SNAPPY]");
  EXPECT_TRUE(backend_.ListStreams().empty());
}

TEST_F(FirehoseHandlerTest, PlainS3DestinationCreatesWithDefaults) {
  auto r = Call("CreateDeliveryStream",
                R"({"DeliveryStreamName":"p","S3DestinationConfiguration":{"RoleARN":"r",)"
                R"("BucketARN":"arn:aws:s3:::plain"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto info = backend_.DescribeStream("p");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->config.staged.url, "bucket://plain");
  EXPECT_EQ(info->config.buffering.size_mb, 5u);
  EXPECT_EQ(info->config.buffering.interval_s, 300u);
  EXPECT_EQ(info->config.compression, compress::Format::kUncompressed);
  EXPECT_TRUE(info->config.processors.empty());
  EXPECT_TRUE(info->config.raw.empty());
}

TEST_F(FirehoseHandlerTest, DeleteDeliveryStreamRemovesTheStream) {
  backend_.AddStream("gone");
  auto r = Call("DeleteDeliveryStream", R"({"DeliveryStreamName":"gone","AllowForceDelete":true})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  EXPECT_TRUE(backend_.ListStreams().empty());
  ExpectError(Call("DeleteDeliveryStream", R"({"DeliveryStreamName":"gone"})"), 400,
              "ResourceNotFoundException", "Firehose gone under account 000000000000 not found.");
}

// CreateDeliveryStream with `bucket_arn` and an otherwise valid destination.
std::string CreateBody(const std::string& bucket_arn, const std::string& extra = "") {
  return R"({"DeliveryStreamName":"evil","ExtendedS3DestinationConfiguration":{)"
         R"("RoleARN":"arn:aws:iam::123456789012:role/fh","BucketARN":")" +
         bucket_arn + "\"" + extra + "}}";
}

TEST_F(FirehoseHandlerTest, BucketNamesFollowS3NamingRules) {
  // Round 1: "arn:aws:s3:::.." mapped the bucket to the data dir itself.
  for (const std::string& bad : std::vector<std::string>{
           ".", "..", "a..b", "Upper", "ab", std::string(64, 'a'), "192.168.5.4", "-dash", "dash-",
           "under_score", "xn--punycode", "x-s3alias"}) {
    auto r = Call("CreateDeliveryStream", CreateBody("arn:aws:s3:::" + bad));
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find(R"("__type":"ValidationException")"), std::string::npos)
        << bad << ": " << r.body;
    EXPECT_NE(r.body.find("Member must name a valid S3 bucket: bucket name '" + bad + "'"),
              std::string::npos)
        << r.body;
  }
  EXPECT_TRUE(backend_.ListStreams().empty());
  for (const std::string& good : std::vector<std::string>{"abc", std::string(63, 'a'),
                                                          "my.bucket-1", "1.2.3", "192.168.5.4x"}) {
    auto r = Call("CreateDeliveryStream", CreateBody("arn:aws:s3:::" + good));
    EXPECT_EQ(r.status, 200) << good << ": " << r.body;
    ASSERT_TRUE(backend_.DeleteStream("evil").ok());
  }
}

TEST_F(FirehoseHandlerTest, ReservedStreamNamesSayTheyAreReserved) {
  for (std::string name : {".", ".."}) {
    ExpectError(Call("DescribeDeliveryStream", R"({"DeliveryStreamName":")" + name + "\"}"), 400,
                "ValidationException",
                "1 validation error detected: Value '" + name +
                    "' at 'deliveryStreamName' failed to satisfy constraint: Member must not be "
                    "'.' or '..': these names are reserved (they name directories)");
  }
}

TEST_F(FirehoseHandlerTest, NullBodyIsAnInputWithNoMembers) {
  ExpectError(Call("DescribeDeliveryStream", "null"), 400, "ValidationException",
              "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy "
              "constraint: Member must not be null");
  auto r = Call("ListDeliveryStreams", "null");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(FirehoseHandlerTest, DuplicateKeysTakeTheLastValue) {
  backend_.AddStream("second");
  auto r = Call("DescribeDeliveryStream",
                R"({"DeliveryStreamName":"first","DeliveryStreamName":"second"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("DeliveryStreamName":"second")"), std::string::npos) << r.body;
}

TEST_F(FirehoseHandlerTest, InternalFailuresDoNotShowServerDetails) {
  // The backend's message may hold paths and errno text; the client gets a request id instead.
  class FailingBackend : public testutil::ApiFakeBackend {
   public:
    Status CreateStream(config::StreamConfig, int64_t) override {
      return Status::IoError("/srv/sluice/var/journal/evil/0: open failed: Too many open files");
    }
  } failing;
  FirehoseHandler handler(failing, clock_);
  HttpRequest req;
  req.method = "POST";
  req.headers.emplace_back("X-Amz-Target", "Firehose_20150804.CreateDeliveryStream");
  req.body = CreateBody("arn:aws:s3:::good-bucket");
  std::optional<HttpResponse> out;
  handler.Handle(std::move(req), [&out](HttpResponse r) { out = std::move(r); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status, 500);
  EXPECT_NE(out->body.find(R"("__type":"InternalFailure")"), std::string::npos) << out->body;
  EXPECT_EQ(out->body.find("/srv"), std::string::npos) << out->body;
  EXPECT_EQ(out->body.find("open files"), std::string::npos) << out->body;
  EXPECT_NE(out->body.find("request id " + HeaderOf(*out, "x-amzn-RequestId")), std::string::npos)
      << out->body;
}

TEST_F(FirehoseHandlerTest, TagsAreAddedListedPagedAndRemoved) {
  ASSERT_EQ(
      Call("CreateDeliveryStream",
           CreateBody("arn:aws:s3:::bkt").insert(29, R"("Tags":[{"Key":"team","Value":"a"}],)"))
          .status,
      200);
  auto r = Call("TagDeliveryStream", R"({"DeliveryStreamName":"evil","Tags":[)"
                                     R"({"Key":"env","Value":"prod"},{"Key":"team","Value":"b"},)"
                                     R"({"Key":"cost center","Value":"42"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
  r = Call("ListTagsForDeliveryStream", R"({"DeliveryStreamName":"evil"})");
  EXPECT_EQ(r.body, R"({"Tags":[{"Key":"cost center","Value":"42"},{"Key":"env","Value":"prod"},)"
                    R"({"Key":"team","Value":"b"}],"HasMoreTags":false})");
  r = Call("ListTagsForDeliveryStream",
           R"({"DeliveryStreamName":"evil","Limit":1,"ExclusiveStartTagKey":"cost center"})");
  EXPECT_EQ(r.body, R"({"Tags":[{"Key":"env","Value":"prod"}],"HasMoreTags":true})");
  r = Call("UntagDeliveryStream", R"({"DeliveryStreamName":"evil","TagKeys":["env","absent"]})");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call("ListTagsForDeliveryStream", R"({"DeliveryStreamName":"evil"})");
  EXPECT_EQ(r.body, R"({"Tags":[{"Key":"cost center","Value":"42"},{"Key":"team","Value":"b"}],)"
                    R"("HasMoreTags":false})");
}

TEST_F(FirehoseHandlerTest, TagRequestsAreValidatedAsAwsDoes) {
  backend_.AddStream("s");
  ExpectError(Call("TagDeliveryStream", R"({"DeliveryStreamName":"s","Tags":[]})"), 400,
              "ValidationException",
              "1 validation error detected: Value '[]' at 'tags' failed to satisfy constraint: "
              "Member must have length greater than or equal to 1");
  auto r = Call("TagDeliveryStream",
                R"({"DeliveryStreamName":"s","Tags":[{"Key":"aws:reserved","Value":"x"}]})");
  EXPECT_NE(r.body.find("at 'tags.1.member.key' failed to satisfy constraint: Member must "
                        "satisfy regular expression pattern"),
            std::string::npos)
      << r.body;
  r = Call("TagDeliveryStream", R"({"DeliveryStreamName":"s","Tags":[{"Key":"k","Value":")" +
                                    std::string(257, 'v') + "\"}]}");
  EXPECT_NE(r.body.find("at 'tags.1.member.value' failed to satisfy constraint: Member must have "
                        "length less than or equal to 256"),
            std::string::npos)
      << r.body;
  ExpectError(Call("UntagDeliveryStream", R"({"DeliveryStreamName":"s"})"), 400,
              "ValidationException",
              "1 validation error detected: Value null at 'tagKeys' failed to satisfy "
              "constraint: Member must not be null");
  ExpectError(Call("ListTagsForDeliveryStream", R"({"DeliveryStreamName":"s","Limit":51})"), 400,
              "ValidationException",
              "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: "
              "Member must have value less than or equal to 50");
  ExpectError(Call("TagDeliveryStream",
                   R"({"DeliveryStreamName":"none","Tags":[{"Key":"k","Value":"v"}]})"),
              400, "ResourceNotFoundException",
              "Firehose none under account 000000000000 not found.");
  // Past 50 tags in all: LimitExceededException, and nothing changes.
  std::string many = R"({"DeliveryStreamName":"s","Tags":[)";
  for (int i = 0; i < 50; ++i)
    many += (i ? "," : "") + std::string(R"({"Key":"k)") + std::to_string(i) + R"(","Value":"v"})";
  ASSERT_EQ(Call("TagDeliveryStream", many + "]}").status, 200);
  r = Call("TagDeliveryStream", R"({"DeliveryStreamName":"s","Tags":[{"Key":"one-more"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"("__type":"LimitExceededException")"), std::string::npos) << r.body;
}

TEST_F(FirehoseHandlerTest, UpdateDestinationMergesIntoTheCurrentConfigAndBumpsTheVersion) {
  ASSERT_EQ(
      Call("CreateDeliveryStream", CreateBody("arn:aws:s3:::bkt", R"(,"Prefix":"v1/")")).status,
      200);
  const std::string head =
      R"({"DeliveryStreamName":"evil","DestinationId":"destinationId-000000000001",)";
  auto r = Call("UpdateDestination", head + R"("CurrentDeliveryStreamVersionId":"1",)"
                                            R"("ExtendedS3DestinationUpdate":{"Prefix":"v2/",)"
                                            R"("CompressionFormat":"GZIP"}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
  auto info = backend_.DescribeStream("evil");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state.version, 2u);
  EXPECT_EQ(info->config.staged.prefix, "v2/");
  EXPECT_EQ(info->config.compression, compress::Format::kGzip);
  EXPECT_EQ(info->config.staged.url, "bucket://bkt") << "members not given are kept";
  EXPECT_EQ(info->config.role_arn, "arn:aws:iam::123456789012:role/fh");

  r = Call("UpdateDestination", head + R"("CurrentDeliveryStreamVersionId":"1",)"
                                       R"("ExtendedS3DestinationUpdate":{"Prefix":"v3/"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"("__type":"ConcurrentModificationException")"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("Fetch VersionId again"), std::string::npos) << r.body;
  EXPECT_EQ(backend_.DescribeStream("evil")->config.staged.prefix, "v2/");

  r = Call("UpdateDestination",
           R"({"DeliveryStreamName":"evil","DestinationId":"destinationId-2",)"
           R"("CurrentDeliveryStreamVersionId":"2","ExtendedS3DestinationUpdate":{}})");
  EXPECT_NE(r.body.find(R"("__type":"InvalidArgumentException")"), std::string::npos) << r.body;
  r = Call("UpdateDestination", head + R"("CurrentDeliveryStreamVersionId":"x2",)"
                                       R"("ExtendedS3DestinationUpdate":{}})");
  EXPECT_NE(r.body.find("at 'currentDeliveryStreamVersionId' failed to satisfy constraint: Member "
                        "must satisfy regular expression pattern: [0-9]+"),
            std::string::npos)
      << r.body;
  r = Call("UpdateDestination", head + R"("CurrentDeliveryStreamVersionId":"2",)"
                                       R"("HttpEndpointDestinationUpdate":{}})");
  EXPECT_NE(r.body.find("HttpEndpointDestinationUpdate is not supported"), std::string::npos)
      << r.body;
  r = Call("UpdateDestination", head + R"("CurrentDeliveryStreamVersionId":"2",)"
                                       R"("ExtendedS3DestinationUpdate":{"BucketARN":)"
                                       R"("arn:aws:s3:::.."}})");
  EXPECT_NE(r.body.find(R"("__type":"ValidationException")"), std::string::npos) << r.body;
  ExpectError(Call("UpdateDestination", R"({"DeliveryStreamName":"none","DestinationId":"d",)"
                                        R"("CurrentDeliveryStreamVersionId":"1"})"),
              400, "ResourceNotFoundException",
              "Firehose none under account 000000000000 not found.");
}

}  // namespace
}  // namespace sluice::api
