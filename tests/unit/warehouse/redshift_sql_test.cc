#include "warehouse/redshift_sql.h"

#include <gtest/gtest.h>

namespace sluice::warehouse {
namespace {

LoadBatch OrdersBatch() {
  return LoadBatch{"orders/0/100-199",
                   transform::RowSet({*MakeColumn("order_id", "bigint"), *MakeColumn("sku", "text"),
                                      *MakeColumn("amount", "numeric(12,2)"),
                                      *MakeColumn("updated_at", "timestamp")}),
                   "s3://stage-bucket/orders/2025/01/01/00/orders-1-2025-01-01-00-00-00-abc.gz"};
}

TEST(RedshiftSqlTest, MergeWithIamRoleOrderByAndGzip) {
  WarehouseConfig config;
  config.engine = Engine::kRedshift;
  config.table = "analytics.orders";
  config.mode = LoadMode::kMerge;
  config.key = {"order_id", "sku"};
  config.order_by = "updated_at";
  config.gzip = true;
  config.redshift.iam_role = "arn:aws:iam::123456789012:role/RedshiftCopy";
  config.redshift.region = "eu-west-1";
  auto sql = BuildRedshiftLoadSql(config, OrdersBatch());
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  EXPECT_EQ(sql->lock, R"(LOCK "analytics"."sluice_load_ledger")");
  EXPECT_EQ(
      sql->ledger_check,
      R"(SELECT rows FROM "analytics"."sluice_load_ledger" WHERE batch_id = 'orders/0/100-199')");
  const std::vector<std::string> expected = {
      R"(CREATE TEMP TABLE "sluice_staging" (LIKE "analytics"."orders"))",
      R"(COPY "sluice_staging" ("order_id", "sku", "amount", "updated_at") FROM 's3://stage-bucket/orders/2025/01/01/00/orders-1-2025-01-01-00-00-00-abc.gz' IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftCopy' FORMAT AS CSV TIMEFORMAT 'auto' DATEFORMAT 'auto' GZIP REGION 'eu-west-1')",
      R"(CREATE TEMP TABLE "sluice_dedup" AS SELECT "order_id", "sku", "amount", "updated_at" FROM (SELECT "order_id", "sku", "amount", "updated_at", ROW_NUMBER() OVER (PARTITION BY "order_id", "sku" ORDER BY "updated_at" DESC NULLS LAST) AS sluice_rn FROM "sluice_staging") AS ranked WHERE sluice_rn = 1)",
      R"(MERGE INTO "analytics"."orders" USING "sluice_dedup" AS s ON "analytics"."orders"."order_id" = s."order_id" AND "analytics"."orders"."sku" = s."sku" WHEN MATCHED THEN UPDATE SET "amount" = s."amount", "updated_at" = s."updated_at" WHEN NOT MATCHED THEN INSERT ("order_id", "sku", "amount", "updated_at") VALUES (s."order_id", s."sku", s."amount", s."updated_at"))",
      R"(INSERT INTO "analytics"."sluice_load_ledger" (batch_id, table_name, rows) SELECT 'orders/0/100-199', 'analytics.orders', COUNT(*) FROM "sluice_dedup")",
      R"(DROP TABLE "sluice_dedup")",
      R"(DROP TABLE "sluice_staging")",
  };
  EXPECT_EQ(sql->statements, expected);
  EXPECT_EQ(sql->copy_index, 1u);
  EXPECT_EQ(sql->write_index, 3u);
}

TEST(RedshiftSqlTest, AppendWithAccessKeysAndNoKeySkipsDeduplication) {
  WarehouseConfig config;
  config.engine = Engine::kRedshift;
  config.table = "events";
  config.redshift.access_key_id = "AKIDEXAMPLE";
  config.redshift.secret_access_key = "wJalr'XUtnFEMI";
  auto sql = BuildRedshiftLoadSql(config, OrdersBatch());
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  const std::vector<std::string> expected = {
      R"(CREATE TEMP TABLE "sluice_staging" (LIKE "events"))",
      R"(COPY "sluice_staging" ("order_id", "sku", "amount", "updated_at") FROM 's3://stage-bucket/orders/2025/01/01/00/orders-1-2025-01-01-00-00-00-abc.gz' ACCESS_KEY_ID 'AKIDEXAMPLE' SECRET_ACCESS_KEY 'wJalr''XUtnFEMI' FORMAT AS CSV TIMEFORMAT 'auto' DATEFORMAT 'auto')",
      R"(INSERT INTO "events" ("order_id", "sku", "amount", "updated_at") SELECT "order_id", "sku", "amount", "updated_at" FROM "sluice_staging")",
      R"(INSERT INTO "sluice_load_ledger" (batch_id, table_name, rows) SELECT 'orders/0/100-199', 'events', COUNT(*) FROM "sluice_staging")",
      R"(DROP TABLE "sluice_staging")",
  };
  EXPECT_EQ(sql->statements, expected);
  EXPECT_EQ(sql->write_index, 2u);
}

TEST(RedshiftSqlTest, IdentifiersAndLiteralsAreQuoted) {
  WarehouseConfig config;
  config.engine = Engine::kRedshift;
  config.table = "we\"ird.ta ble";
  config.redshift.iam_role = "arn";
  LoadBatch batch = OrdersBatch();
  batch.batch_id = "it's/0/1-2";
  batch.rows = transform::RowSet({*MakeColumn("co\"l", "text")});
  auto sql = BuildRedshiftLoadSql(config, batch);
  ASSERT_TRUE(sql.ok());
  EXPECT_EQ(sql->statements[0], R"(CREATE TEMP TABLE "sluice_staging" (LIKE "we""ird"."ta ble"))");
  EXPECT_EQ(sql->ledger_check,
            R"(SELECT rows FROM "we""ird"."sluice_load_ledger" WHERE batch_id = 'it''s/0/1-2')");
}

TEST(RedshiftSqlTest, StagedObjectMustBeAnS3Url) {
  WarehouseConfig config;
  config.engine = Engine::kRedshift;
  config.table = "t";
  config.redshift.iam_role = "arn";
  LoadBatch batch = OrdersBatch();
  batch.staged_url = "file:///tmp/x";
  EXPECT_EQ(BuildRedshiftLoadSql(config, batch).status().code(), StatusCode::kInvalidArgument);
}

TEST(RedshiftSqlTest, ValidateRequiresExactlyOneKindOfCredentials) {
  WarehouseConfig config;
  config.engine = Engine::kRedshift;
  config.table = "t";
  config.dsn = "host=x";
  EXPECT_FALSE(Validate(config).ok());
  config.redshift.iam_role = "arn";
  EXPECT_TRUE(Validate(config).ok());
  config.redshift.access_key_id = "AK";
  config.redshift.secret_access_key = "SK";
  EXPECT_FALSE(Validate(config).ok());
}

}  // namespace
}  // namespace sluice::warehouse
