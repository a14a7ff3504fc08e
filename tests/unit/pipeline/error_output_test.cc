#include "pipeline/error_output.h"

#include <gtest/gtest.h>

#include "objectstore/file_store.h"
#include "pipeline/delivery_worker.h"

namespace sluice::pipeline {
namespace {

constexpr int64_t kInstant = 1535365805123;  // 2018-08-27 10:30:05.123 UTC

class ErrorOutputWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stream_.name = "orders";
    stream_.staged.url = "file:///unused";
    stream_.error_output_prefix = "errors/!{firehose:error-output-type}/";
    batch_.id = BatchId{"orders", 0, 7, 9};
    batch_.version = 3;
    batch_.oldest_ms = kInstant;
    batch_.records.push_back({journal::Offset{7}, 1'700'000'000'001, "a"});
    batch_.records.push_back({journal::Offset{8}, 1'700'000'000'002, "{\"b\":\"\\u00e9\"}"});
  }
  ErrorOutputWriter Writer() {
    auto keys = KeyMaker::Create(stream_);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    return ErrorOutputWriter(std::move(keys).value(), &store_);
  }

  config::StreamConfig stream_;
  Batch batch_;
  objectstore::FileObjectStore store_{::testing::TempDir() + "/error_output_test"};
};

TEST(ErrorOutputType, NamesAreFirehoseErrorOutputTypes) {
  EXPECT_EQ(ToString(ErrorOutputType::kProcessingFailed), "processing-failed");
  EXPECT_EQ(ToString(ErrorOutputType::kPartitioningFailed), "partitioning-failed");
  EXPECT_EQ(ToString(ErrorOutputType::kActivePartitionExceeded), "activePartitionExceeded");
  EXPECT_EQ(ToString(ErrorOutputType::kDeliveryFailed), "delivery-failed");
  EXPECT_EQ(ToString(ErrorOutputType::kWarehouseFailed), "warehouse-failed");
  EXPECT_EQ(ToString(OutputKind::kStaged), "staged");
  EXPECT_EQ(ToString(OutputKind::kRaw), "raw");
  EXPECT_EQ(ToString(OutputKind::kErrors), "errors");
}

TEST(ErrorCodeFor, StoreErrorsAreS3CodesAndOthersWarehouseCodes) {
  const auto delivery = ErrorOutputType::kDeliveryFailed;
  const auto warehouse = ErrorOutputType::kWarehouseFailed;
  EXPECT_EQ(ErrorCodeFor(delivery, Status::FailedPrecondition("403")), "S3.AccessDenied");
  EXPECT_EQ(ErrorCodeFor(delivery, Status::NotFound("bucket")), "S3.NoSuchBucket");
  EXPECT_EQ(ErrorCodeFor(delivery, Status::InvalidArgument("key")), "S3.InvalidRequest");
  EXPECT_EQ(ErrorCodeFor(delivery, Status::Unavailable("503")), "S3.ServiceUnavailable");
  EXPECT_EQ(ErrorCodeFor(delivery, Status::ResourceExhausted("429")),
            std::string("S3.") + StatusCodeName(StatusCode::kResourceExhausted));
  EXPECT_EQ(ErrorCodeFor(warehouse, Status::FailedPrecondition("denied")),
            "Warehouse.AccessDenied");
  EXPECT_EQ(ErrorCodeFor(warehouse, Status::NotFound("table")), "Warehouse.TableNotFound");
  EXPECT_EQ(ErrorCodeFor(warehouse, Status::InvalidArgument("x")), "Warehouse.InvalidRequest");
  EXPECT_EQ(ErrorCodeFor(warehouse, Status::Unavailable("down")), "Warehouse.ConnectionFailed");
}

TEST_F(ErrorOutputWriterTest, ABatchBecomesOneErrorRecordPerSourceRecordUnderItsType) {
  ErrorOutputWriter writer = Writer();
  auto out = writer.ForBatch(batch_, ErrorOutputType::kDeliveryFailed,
                             {4, "S3.ServiceUnavailable", "503 \"Slow Down\"", 1'700'000'000'999});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->store, &store_);
  EXPECT_EQ(out->kind, OutputKind::kErrors);
  EXPECT_EQ(out->error_type, ErrorOutputType::kDeliveryFailed);
  EXPECT_EQ(out->key.rfind("errors/delivery-failed/2018/08/27/10/orders-3-2018-08-27-10-30-05-", 0),
            0u)
      << out->key;
  EXPECT_EQ(out->data,
            "{\"attemptsMade\":4,\"arrivalTimestamp\":1700000000001,\"errorCode\":"
            "\"S3.ServiceUnavailable\",\"errorMessage\":\"503 \\\"Slow Down\\\"\","
            "\"attemptEndingTimestamp\":1700000000999,\"rawData\":\"YQ==\"}\n"
            "{\"attemptsMade\":4,\"arrivalTimestamp\":1700000000002,\"errorCode\":"
            "\"S3.ServiceUnavailable\",\"errorMessage\":\"503 \\\"Slow Down\\\"\","
            "\"attemptEndingTimestamp\":1700000000999,\"rawData\":\"eyJiIjoiXHUwMGU5In0=\"}\n");
}

TEST_F(ErrorOutputWriterTest, TheSameBatchGetsTheSameKeyForEachTypeAndADifferentOnePerType) {
  ErrorOutputWriter writer = Writer();
  auto a = writer.Object(batch_, ErrorOutputType::kWarehouseFailed, "x\n");
  auto b = writer.Object(batch_, ErrorOutputType::kWarehouseFailed, "y\n");
  auto c = writer.Object(batch_, ErrorOutputType::kProcessingFailed, "x\n");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->key, b->key);
  EXPECT_EQ(a->key.rfind("errors/warehouse-failed/", 0), 0u) << a->key;
  EXPECT_EQ(c->key.rfind("errors/processing-failed/", 0), 0u) << c->key;
  EXPECT_EQ(a->data, "x\n");
}

TEST(ErrorOutputWriterRecords, ARecordCarriesTheLambdaArnOnlyWhenOneRan) {
  journal::StoredRecord source{journal::Offset{0}, 10, "xyz"};
  std::string out;
  ErrorOutputWriter::AppendRecord(source, {4, "Lambda.MissingRecordId", "m", 20, "http://h/f"},
                                  out);
  ErrorOutputWriter::AppendRecord(source, {1, "Warehouse.DataError", "bad int", 30}, out);
  EXPECT_EQ(out,
            "{\"attemptsMade\":4,\"arrivalTimestamp\":10,\"errorCode\":\"Lambda.MissingRecordId\","
            "\"errorMessage\":\"m\",\"attemptEndingTimestamp\":20,\"rawData\":\"eHl6\","
            "\"lambdaArn\":\"http://h/f\"}\n"
            "{\"attemptsMade\":1,\"arrivalTimestamp\":10,\"errorCode\":\"Warehouse.DataError\","
            "\"errorMessage\":\"bad int\",\"attemptEndingTimestamp\":30,\"rawData\":\"eHl6\"}\n");
}

TEST(ErrorOutputWriterRecords, OnlyProcessingFailedRecordsOfABatchResultAreWritten) {
  std::vector<transform::SourceRecord> sources = {
      {"ok", 1, "0"}, {"bad", 2, "1"}, {"gone", 3, "2"}};
  transform::BatchResult result;
  result.attempt_ending_ms = 99;
  result.records.resize(3);
  result.records[1].outcome = transform::Outcome::kProcessingFailed;
  result.records[1].error_code = "Transform.InvalidJson";
  result.records[1].error_message = "not JSON";
  result.records[2].outcome = transform::Outcome::kDropped;
  std::string out;
  EXPECT_EQ(ErrorOutputWriter::AppendProcessingFailures(sources, result, out), 1u);
  EXPECT_EQ(out,
            "{\"attemptsMade\":1,\"arrivalTimestamp\":2,\"errorCode\":\"Transform.InvalidJson\","
            "\"errorMessage\":\"not JSON\",\"attemptEndingTimestamp\":99,\"rawData\":\"YmFk\"}\n");
}

}  // namespace
}  // namespace sluice::pipeline
