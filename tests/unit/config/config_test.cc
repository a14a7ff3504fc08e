#include "config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sluice::config {
namespace {

Result<Config> Parse(const std::string& yaml) {
  return ParseConfig(yaml, "sluice.yaml");
}

// A typed processor from JSON parameters (the form the transform tests use).
transform::ProcessorSpec SpecFromJson(const std::string& type, const std::string& json) {
  auto params = transform::ParamValue::FromJson(json);
  EXPECT_TRUE(params.ok()) << params.status().ToString();
  auto spec = transform::ParseProcessorSpec(type, *params, type);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? std::move(spec).value() : transform::ProcessorSpec{};
}

TEST(Config, EmptyFileMeansDefaults) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen, "127.0.0.1:4573");
  EXPECT_EQ(c->server.data_dir, "./var");
  EXPECT_TRUE(c->streams.empty());
}

TEST(Config, ParsesAStreamWithEverySection) {
  auto c = Parse(R"(
server: {listen: "0.0.0.0:9000", data_dir: /tmp/x, quota_mb: 100}
delivery_streams:
  - name: orders
    buffering: {size_mb: 1, interval_s: 0}
    processors:
      - flatten: {explode: items, separator: "_"}
      - rules: [{drop_if: "status == 'test'"}]
    format: {csv: {header: true}}
    compression: GZIP
    staged: {url: "file://./var/buckets/staging", prefix: "orders/!{timestamp:yyyy/MM/dd}/"}
    raw: {url: "file://./var/buckets/raw", prefix: "orders/"}
    errors: {url: "file://./var/buckets/failed", prefix: "orders/!{firehose:error-output-type}/"}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen, "0.0.0.0:9000");
  EXPECT_EQ(c->server.quota_mb, 100u);
  ASSERT_EQ(c->streams.size(), 1u);
  const StreamConfig& s = c->streams[0];
  EXPECT_EQ(s.buffering.size_mb, 1u);
  EXPECT_EQ(s.buffering.interval_s, 0u);
  ASSERT_EQ(s.processors.size(), 2u);
  EXPECT_EQ(s.processors[0].type(), "flatten");
  const auto& flatten = std::get<transform::FlattenParams>(s.processors[0].params);
  EXPECT_EQ(flatten.explode, std::vector<std::string>{"items"});
  EXPECT_EQ(flatten.separator, "_");
  EXPECT_EQ(flatten.given, (std::vector<std::string>{"explode", "separator"}));
  const auto& rules = std::get<transform::RulesParams>(s.processors[1].params);
  ASSERT_EQ(rules.rules.size(), 1u);
  EXPECT_EQ(rules.rules[0].kind, transform::RulesParams::Rule::Kind::kDropIf);
  EXPECT_EQ(rules.rules[0].expr, "status == 'test'");
  EXPECT_EQ(s.format.kind, transform::FormatSpec::Kind::kCsv);
  EXPECT_TRUE(s.format.header);
  EXPECT_EQ(s.compression, compress::Format::kGzip);
  EXPECT_EQ(s.error_output_prefix, "orders/!{firehose:error-output-type}/");
}

TEST(Config, UnknownKeyNamesFileLineAndAllowedKeys) {
  auto c = Parse("server:\n  listen: \"127.0.0.1:1\"\n  lisen: x\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("sluice.yaml:3: unknown key 'lisen' in server (allowed: "),
            std::string::npos)
      << c.status().message();
}

TEST(Config, OutOfRangeValueNamesTheBounds) {
  auto c = Parse("delivery_streams:\n  - name: a\n    buffering: {size_mb: 129}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "sluice.yaml:3: 'size_mb' must be an integer from 1 to 128, got '129'"),
            std::string::npos)
      << c.status().message();
}

TEST(Config, BadEnumValueListsAllowedValues) {
  auto c = Parse("delivery_streams:\n  - name: a\n    compression: LZ4\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "must be one of UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY, ZSTD, got 'LZ4'"),
            std::string::npos)
      << c.status().message();
}

TEST(Config, BadStreamNameAndDuplicateStreamAreErrors) {
  EXPECT_FALSE(Parse("delivery_streams:\n  - name: 'a b'\n").ok());
  auto dup = Parse("delivery_streams:\n  - name: a\n  - name: a\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("declared twice"), std::string::npos);
}

TEST(Config, MalformedYamlReportsLine) {
  auto c = Parse("server:\n  listen: [\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("sluice.yaml:", 0), 0u) << c.status().message();
}

TEST(Config, PrefixWithExpressionsNeedsErrorPrefixWithType) {
  auto c = Parse(
      "delivery_streams:\n  - name: a\n    staged: {url: 'file:///tmp/a', prefix: "
      "'x/!{timestamp:yyyy}/'}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("error output prefix is required"), std::string::npos);
  auto d = Parse(
      "delivery_streams:\n  - name: a\n    staged: {url: 'file:///tmp/a', prefix: "
      "'x/!{timestamp:yyyy}/'}\n"
      "    error_output_prefix: 'err/!{timestamp:yyyy}/'\n");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("must contain !{firehose:error-output-type}"),
            std::string::npos);
}

TEST(Config, StreamStateCannotBeSetInTheConfigFile) {
  for (const char* key : {"version: 2", "create_timestamp_ms: 5", "from_api: true"}) {
    auto c = Parse(std::string("delivery_streams:\n  - name: a\n    ") + key + "\n");
    ASSERT_FALSE(c.ok()) << key;
    EXPECT_NE(c.status().message().find("state Sluice keeps for streams created through the API"),
              std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find(":3"), std::string::npos) << c.status().message();
  }
}

TEST(Config, StreamYamlRoundTrips) {
  StreamConfig s;
  s.name = "events.v2";
  StreamState state;
  state.version = 3;
  state.create_timestamp_ms = 1234;
  state.from_api = true;
  s.buffering = {2, 10};
  s.staged = {"bucket://bkt", "p/!{timestamp:yyyy}/", "", "", false};
  s.error_output_prefix = "e/!{firehose:error-output-type}/";
  s.compression = compress::Format::kGzip;
  s.file_extension = ".json.gz";
  s.processors.push_back(
      SpecFromJson("Lambda", R"({"LambdaArn":"http://127.0.0.1:9/x","NumberOfRetries":"2"})"));
  s.tags["team"] = "data";
  auto def = ParseStreamYaml(StreamToYaml(s, state), "stream.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString() << "\n" << StreamToYaml(s, state);
  EXPECT_EQ(def->state.version, 3u);
  EXPECT_EQ(def->state.create_timestamp_ms, 1234);
  EXPECT_TRUE(def->state.from_api);
  const StreamConfig* back = &def->config;
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->buffering.size_mb, 2u);
  EXPECT_EQ(back->buffering.interval_s, 10u);
  EXPECT_EQ(back->staged.url, "bucket://bkt");
  EXPECT_EQ(back->staged.prefix, s.staged.prefix);
  EXPECT_EQ(back->error_output_prefix, s.error_output_prefix);
  EXPECT_EQ(back->compression, compress::Format::kGzip);
  EXPECT_EQ(back->file_extension.value_or(""), ".json.gz");
  ASSERT_EQ(back->processors.size(), 1u);
  EXPECT_EQ(back->processors[0].type(), "Lambda");
  EXPECT_EQ(back->processors[0], s.processors[0]);
  EXPECT_EQ(back->tags.at("team"), "data");
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(Config, UnsupportedStoreSchemeIsAnErrorNamingTheAllowedOnes) {
  auto c = ParseConfig("delivery_streams:\n  - name: a\n    staged: {url: 'gs://x'}\n", "s.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(
      c.status().message().find("staged.url 'gs://x' must be file://<directory> or s3://<bucket>"),
      std::string::npos)
      << c.status().message();
}

TEST(Config, BucketNamesFollowS3Rules) {
  for (const char* good : {"abc", "my.bucket-1", "1.2.3", "192.168.5", "a-b.c"}) {
    EXPECT_TRUE(ValidateBucketName(good).ok()) << good;
  }
  EXPECT_TRUE(ValidateBucketName(std::string(63, 'a')).ok());
  for (const char* bad : {".", "..", "a..b", "Upper", "ab", "192.168.5.4", "-ab", "ab-", "a_b",
                          "a/b", "xn--abc", "sthree-abc", "abc-s3alias", "abc--ol-s3", ""}) {
    EXPECT_EQ(ValidateBucketName(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateBucketName(std::string(64, 'a')).ok());
  EXPECT_NE(ValidateBucketName("a..b").message().find("must not contain '..'"), std::string::npos);
}

TEST(Config, PrefixesThatCannotBecomeObjectKeysAreRefused) {
  // Round 1 accepted these, acknowledged records, then failed every delivery for a day.
  for (const std::string& bad : std::vector<std::string>{
           "../../../tmp/escape/", "/etc/", "./", "x//y/", "a/./b/", "!{timestamp:../../}",
           "!{timestamp:yyyy}//", std::string("a\0b/", 4), "tab\there/", std::string(1025, 'p')}) {
    Status st = ValidatePrefix(bad, false);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ValidatePrefix("x//y/", false).message().find("empty, '.' or '..' folder"),
            std::string::npos);
  // Evaluated, at most 512 characters (1,024 as given).
  EXPECT_FALSE(ValidatePrefix(std::string(600, 'p'), false).ok());
  for (const std::string& good :
       std::vector<std::string>{"", "orders/", "orders", "a.b/..c/", "!{timestamp:yyyy/MM/dd}/",
                                "k=!{partitionKeyFromQuery:id}/", std::string(512, 'p'), "x/.."}) {
    EXPECT_TRUE(ValidatePrefix(good, false).ok())
        << good << ": " << ValidatePrefix(good, false).message();
  }
  EXPECT_TRUE(ValidatePrefix("err/!{firehose:error-output-type}/", true).ok());
}

TEST(Config, ReservedStreamNamesAreRefusedSayingSo) {
  auto c = Parse("delivery_streams:\n  - name: '..'\n    staged: {url: 'file://./out'}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("stream name '..' is reserved"), std::string::npos)
      << c.status().message();
  EXPECT_FALSE(IsValidStreamName("."));
  EXPECT_TRUE(IsValidStreamName("..."));
}

StreamConfig ApiStream() {
  StreamConfig s;
  s.name = "api";
  s.staged.url = "bucket://staging";
  return s;
}

TEST(Config, ApiStreamsHoldOnlyWhatTheFirehoseApiExpresses) {
  EXPECT_TRUE(ValidateApiExpressible(ApiStream()).ok());
  StreamConfig s = ApiStream();
  s.staged.url = "file:///etc";
  EXPECT_FALSE(ValidateApiExpressible(s).ok());
  s = ApiStream();
  s.raw.url = "bucket://..";
  EXPECT_FALSE(ValidateApiExpressible(s).ok());
  s = ApiStream();
  s.warehouse.emplace();
  s.warehouse->dsn = "${secret:exec:touch /tmp/pwned}";
  EXPECT_NE(ValidateApiExpressible(s).message().find("warehouse"), std::string::npos);
  s = ApiStream();
  s.processors.push_back(SpecFromJson("lua", R"({"script":"x"})"));
  EXPECT_FALSE(ValidateApiExpressible(s).ok());
  s = ApiStream();
  s.processors.push_back(SpecFromJson("Lambda", R"({"LambdaArn":"http://${secret:exec:id}/"})"));
  EXPECT_NE(ValidateApiExpressible(s).message().find("secret references"), std::string::npos);
  s = ApiStream();
  s.format.kind = transform::FormatSpec::Kind::kCsv;
  EXPECT_FALSE(ValidateApiExpressible(s).ok());
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(Config, RetentionSizeAndDiskReserveHaveDefaultsBoundsAndRoundTrip) {
  auto defaults = ParseConfig("delivery_streams:\n  - name: a\n", "s.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->server.disk_reserve_mb, 1024u);
  EXPECT_EQ(defaults->streams.at(0).retention_mb, 10240u);
  auto set = ParseConfig(
      "server: {disk_reserve_mb: 0}\ndelivery_streams:\n  - name: a\n    retention_mb: 500\n",
      "s.yaml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->server.disk_reserve_mb, 0u);
  EXPECT_EQ(set->streams.at(0).retention_mb, 500u);
  auto zero = ParseConfig("delivery_streams:\n  - name: a\n    retention_mb: 0\n", "s.yaml");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find(
                "s.yaml:3: 'retention_mb' must be an integer from 1 to 1073741824, got '0'"),
            std::string::npos)
      << zero.status().message();
  auto back = ParseStreamYaml(StreamToYaml(set->streams.at(0)), "stream.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config.retention_mb, 500u);
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(ConfigWarehouse, IsParsedOnceIntoTheTypedConfigWithColumnsFromTheSchema) {
  auto c = Parse(R"y(
delivery_streams:
  - name: orders
    processors:
      - schema: {columns: [{name: id, type: bigint}, {name: amount, type: "numeric(10,2)"}]}
      - rules: [{set: tag, expr: "'x'"}, {drop_if: "id == 0"}]
    format: csv
    warehouse:
      engine: postgres
      dsn: "host=db"
      table: analytics.orders
      mode: merge
      key: id
      order_by: amount
      views: {big: "SELECT 1"}
      statement_timeout_ms: 5000
      pool_size: 4
)y");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->streams[0].warehouse.has_value());
  const warehouse::WarehouseConfig& w = *c->streams[0].warehouse;
  EXPECT_EQ(w.engine, warehouse::Engine::kPostgres);
  EXPECT_EQ(w.table, "analytics.orders");
  EXPECT_EQ(w.mode, warehouse::LoadMode::kMerge);
  EXPECT_EQ(w.key, std::vector<std::string>{"id"});
  EXPECT_EQ(w.order_by, "amount");
  EXPECT_EQ(w.views.at("big"), "SELECT 1");
  EXPECT_EQ(w.statement_timeout_ms, 5000u);
  EXPECT_EQ(w.pool_size, 4u);
  ASSERT_EQ(w.columns.size(), 3u);
  EXPECT_EQ(w.columns[0].type, warehouse::ColumnType::kBigint);
  EXPECT_EQ(w.columns[1].precision, 10u);
  EXPECT_EQ(w.columns[2].name, "tag");
}

TEST(ConfigWarehouse, ErrorsNameFileAndLine) {
  auto unknown = Parse(
      "delivery_streams:\n  - name: a\n    warehouse:\n      dsn: x.db\n      table: t\n"
      "      columns: [{name: id}]\n      tabel: u\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("sluice.yaml:7: unknown key 'tabel' in warehouse"),
            std::string::npos)
      << unknown.status().message();
  auto engine = Parse(
      "delivery_streams:\n  - name: a\n    warehouse:\n      engine: mysql\n      dsn: x\n"
      "      table: t\n");
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find(
                "sluice.yaml:4: warehouse engine 'mysql': expected postgres, redshift or sqlite"),
            std::string::npos)
      << engine.status().message();
  auto columns = Parse("delivery_streams:\n  - name: a\n    warehouse: {dsn: x, table: t}\n");
  ASSERT_FALSE(columns.ok());
  EXPECT_NE(columns.status().message().find(
                "sluice.yaml:3: stream a: warehouse: no columns: add a schema processor or "
                "warehouse.columns"),
            std::string::npos)
      << columns.status().message();
  auto type = Parse(
      "delivery_streams:\n  - name: a\n    warehouse:\n      dsn: x\n      table: t\n"
      "      columns:\n        - {name: id, type: bigint}\n        - {name: v, type: blob}\n");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("sluice.yaml:8: warehouse.columns: column 'v': unknown "
                                         "type 'blob'"),
            std::string::npos)
      << type.status().message();
  auto merge = Parse(
      "delivery_streams:\n  - name: a\n    warehouse: {dsn: x, table: t, mode: merge, "
      "columns: [{name: id}]}\n");
  ASSERT_FALSE(merge.ok());
  EXPECT_NE(merge.status().message().find("mode merge needs key columns"), std::string::npos)
      << merge.status().message();
}

TEST(ConfigWarehouse, DynamicPartitioningCombinesWithPostgresButNotRedshift) {
  const std::string stream = R"(
delivery_streams:
  - name: a
    processors:
      - MetadataExtraction: {MetadataExtractionQuery: "{c:.c}", JsonParsingEngine: JQ-1.6}
      - schema: {columns: [{name: id, type: bigint}]}
    format: csv
    staged: {url: "file:///tmp/x", prefix: "c=!{partitionKeyFromQuery:c}/"}
    error_output_prefix: "e/!{firehose:error-output-type}/"
)";
  auto pg = Parse(stream + "    warehouse: {engine: postgres, dsn: x, table: t}\n");
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  EXPECT_EQ(pg->streams[0].warehouse->columns.size(), 1u);
  auto rs = Parse(stream +
                  "    warehouse: {engine: redshift, dsn: x, table: t, redshift: {iam_role: r}}\n");
  ASSERT_FALSE(rs.ok());
  EXPECT_NE(rs.status().message().find("sluice.yaml:10: stream a: warehouse: engine redshift "
                                       "loads one staged object per batch"),
            std::string::npos)
      << rs.status().message();
}

TEST(ConfigWarehouse, RoundTripsThroughTheStreamYaml) {
  auto c = Parse(R"y(
delivery_streams:
  - name: a
    warehouse:
      engine: redshift
      dsn: "host=rs"
      table: t
      key: [id, sku]
      columns: [{name: id, type: bigint}, {name: sku}, {name: amount, type: "numeric(12,2)"}]
      redshift: {iam_role: "arn:aws:iam::1:role/r", region: eu-west-1}
      gzip: true
)y");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto back = ParseStreamYaml(StreamToYaml(c->streams[0]), "stream.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << StreamToYaml(c->streams[0]);
  ASSERT_TRUE(back->config.warehouse.has_value());
  EXPECT_EQ(back->config.warehouse->engine, warehouse::Engine::kRedshift);
  EXPECT_EQ(back->config.warehouse->key, (std::vector<std::string>{"id", "sku"}));
  EXPECT_EQ(back->config.warehouse->columns, c->streams[0].warehouse->columns);
  EXPECT_EQ(back->config.warehouse->redshift.region, "eu-west-1");
  EXPECT_TRUE(back->config.warehouse->gzip);
}

TEST(ConfigFormat, IsParsedOnceWithItsOptionsAndErrorsNameFileAndLine) {
  auto c = Parse(
      "delivery_streams:\n  - name: a\n    format: {csv: {header: true, delimiter: \"|\", "
      "null: \"\\\\N\"}}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const transform::FormatSpec& f = c->streams[0].format;
  EXPECT_EQ(f.kind, transform::FormatSpec::Kind::kCsv);
  EXPECT_TRUE(f.header);
  EXPECT_EQ(f.delimiter, '|');
  EXPECT_EQ(f.null_text, "\\N");
  auto back = ParseStreamYaml(StreamToYaml(c->streams[0]), "stream.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config.format, f);
  auto bad = Parse("delivery_streams:\n  - name: a\n    format:\n      csv: {delimiter: \"||\"}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sluice.yaml:4: stream a: format: format csv: "),
            std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("must be one character"), std::string::npos)
      << bad.status().message();
}

TEST(ConfigProcessors, BadParameterNamesFileLineProcessorAndParameter) {
  auto c = Parse(R"(delivery_streams:
  - name: a
    format: csv
    processors:
      - flatten: {separator: "."}
      - flatten:
          separator: "_"
          max_depth: 0
)");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "sluice.yaml:8: processors[1] (flatten): parameter \"max_depth\" must be in 1..1000");
  auto schema = Parse(R"Y(delivery_streams:
  - name: a
    format: csv
    processors:
      - schema:
          columns:
            - {name: id, type: bigint}
            - {name: amount, type: "numeric(40,2)"}
)Y");
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(
      schema.status().message().rfind(
          "sluice.yaml:8: processors[0] (schema): column \"amount\": type \"numeric(40,2)\"", 0),
      0u)
      << schema.status().message();
}

TEST(ConfigProcessors, UnknownParameterAndTypeListTheKnownOnes) {
  auto c = Parse("delivery_streams:\n  - name: a\n    processors:\n      - lua: {scrpt: x}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(
      c.status().message(),
      "sluice.yaml:4: processors[0] (lua): unknown parameter \"scrpt\"; allowed: file, script");
  auto t = Parse("delivery_streams:\n  - name: a\n    processors:\n      - flaten: {}\n");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().rfind("sluice.yaml:4: processors[0] (flaten): unknown processor "
                                       "type \"flaten\"; allowed: flatten, schema",
                                       0),
            0u)
      << t.status().message();
  auto meta = Parse(
      "delivery_streams:\n  - name: a\n    processors:\n      - MetadataExtraction:\n"
      "          JsonParsingEngine: JQ-1.6\n");
  ASSERT_FALSE(meta.ok());
  EXPECT_EQ(meta.status().message().rfind("sluice.yaml:5: processors[0] (MetadataExtraction): "
                                          "parameter \"MetadataExtractionQuery\" is required",
                                          0),
            0u)
      << meta.status().message();
}

TEST(ConfigProcessors, YamlScalarsKeepTheirTypes) {
  auto c = Parse(R"(delivery_streams:
  - name: a
    format: csv
    processors:
      - flatten: {separator: "5", max_depth: 3}
      - Lambda: {LambdaArn: "http://h/f", NumberOfRetries: 2, BufferSizeInMBs: "0.5"}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& flatten = std::get<transform::FlattenParams>(c->streams[0].processors[0].params);
  EXPECT_EQ(flatten.separator, "5");
  EXPECT_EQ(flatten.max_depth, 3u);
  const auto& lambda = std::get<transform::LambdaParams>(c->streams[0].processors[1].params);
  EXPECT_EQ(lambda.number_of_retries, 2u);
  EXPECT_EQ(lambda.buffer_size_mb, 0.5);
  auto bad = Parse(
      "delivery_streams:\n  - name: a\n    format: csv\n    processors:\n"
      "      - flatten: {separator: 5}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      bad.status().message(),
      "sluice.yaml:5: processors[0] (flatten): parameter \"separator\" must be a string, got 5");
}

TEST(ConfigProcessors, TypedParametersRoundTripThroughStreamYaml) {
  auto c = Parse(R"Y(delivery_streams:
  - name: a
    format: csv
    processors:
      - RecordDeAggregation: {SubRecordType: DELIMITED, Delimiter: "IyMjIw=="}
      - flatten: {explode: order.lines, arrays: join, join_separator: "|", explode_empty: drop}
      - schema:
          columns:
            - {name: id, type: bigint, required: true}
            - {name: amount, source: order.amount, type: "numeric(10,2)", default: 0}
            - {name: ts, type: timestamp, formats: [epoch_ms, "%d/%m/%Y"]}
            - {name: note, default: "n/a"}
            - {name: extra, type: json, default: {a: [1, "x"]}}
      - rules:
          - {drop_if: "status == 'test'"}
          - {fail_if: "amount < 0", message: "negative \"amount\""}
          - {set: total, expr: "amount * 2"}
      - lua: {script: "function process(r) return 'Ok' end"}
      - MetadataExtraction: {MetadataExtractionQuery: "{k:.k}", JsonParsingEngine: JQ-1.6}
)Y");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const StreamConfig& s = c->streams[0];
  ASSERT_EQ(s.processors.size(), 6u);
  const std::string yaml = StreamToYaml(s);
  auto back = ParseStreamYaml(yaml, "stream.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  ASSERT_EQ(back->config.processors.size(), s.processors.size());
  for (size_t i = 0; i < s.processors.size(); ++i) {
    EXPECT_EQ(back->config.processors[i], s.processors[i])
        << i << ": " << transform::ProcessorSpecParams(s.processors[i]).ToJson() << "\n"
        << yaml;
  }
  EXPECT_EQ(std::get<transform::DeAggregationParams>(s.processors[0].params).delimiter, "####");
}

TEST(ConfigWarehouse, EveryKeyOfTheSchemaTableIsDocumented) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/docs/config.md");
  ASSERT_TRUE(in.good());
  std::stringstream docs;
  docs << in.rdbuf();
  for (const ConfigKey& key : WarehouseConfigKeys()) {
    EXPECT_NE(docs.str().find("| `" + key.name + "` |"), std::string::npos)
        << key.name << " (" << key.help << ") is missing from docs/config.md";
  }
}

}  // namespace
}  // namespace sluice::config
