#include "transform/row_set.h"

#include <gtest/gtest.h>

#include "transform/pipeline.h"
#include "unit/transform/test_util.h"

namespace sluice::transform {
namespace {

RowSet TwoColumns() {
  return RowSet({Column{"id", ColumnType::kBigint}, Column{"name"}});
}

TEST(RowSetTest, ValuesAreNullUntilSetAndKeepTheirKindAndText) {
  RowSet rows = TwoColumns();
  rows.AddRow(7);
  rows.Set(0, ValueKind::kNumber, "12");
  rows.AddRow(9);
  rows.Set(1, ValueKind::kString, "");
  ASSERT_EQ(rows.row_count(), 2u);
  EXPECT_EQ(rows.kind(0, 0), ValueKind::kNumber);
  EXPECT_EQ(rows.text(0, 0), "12");
  EXPECT_TRUE(rows.is_null(0, 1));
  EXPECT_TRUE(rows.is_null(1, 0));
  EXPECT_FALSE(rows.is_null(1, 1)) << "the empty string is not null";
  EXPECT_EQ(rows.text(1, 1), "");
  EXPECT_EQ(rows.source_record(0), 7u);
  EXPECT_EQ(rows.source_record(1), 9u);
}

TEST(RowSetTest, ProjectTakesColumnsByNameWithTheTargetsTypesAndNullForMissing) {
  RowSet rows = TwoColumns();
  rows.AddRow(0);
  rows.Set(0, ValueKind::kNumber, "1");
  rows.Set(1, ValueKind::kString, "alice");
  RowSet projected =
      rows.Project({Column{"name", ColumnType::kText}, Column{"absent", ColumnType::kDate},
                    Column{"id", ColumnType::kText}});
  ASSERT_EQ(projected.column_count(), 3u);
  EXPECT_EQ(projected.columns()[1].type, ColumnType::kDate);
  EXPECT_EQ(projected.columns()[2].type, ColumnType::kText);
  EXPECT_EQ(projected.text(0, 0), "alice");
  EXPECT_TRUE(projected.is_null(0, 1));
  EXPECT_EQ(projected.text(0, 2), "1");
  EXPECT_EQ(projected.kind(0, 2), ValueKind::kNumber);
}

TEST(RowSetTest, MergeOrdersRowsByBatchRecordAndUnitesColumns) {
  // Partition A holds batch records 0 and 2, partition B record 1 (exploded into two rows).
  RowSet a = TwoColumns();
  a.AddRow(0);
  a.Set(0, ValueKind::kNumber, "10");
  a.AddRow(1);
  a.Set(0, ValueKind::kNumber, "12");
  RowSet b({Column{"name"}, Column{"extra"}});
  b.AddRow(0);
  b.Set(0, ValueKind::kString, "b-first");
  b.AddRow(0);
  b.Set(1, ValueKind::kString, "b-second");
  RowSet merged = RowSet::Merge({&a, &b}, {{0, 2}, {1}});
  ASSERT_EQ(merged.column_count(), 3u);
  EXPECT_EQ(merged.columns()[0].name, "id");
  EXPECT_EQ(merged.columns()[0].type, ColumnType::kBigint);
  EXPECT_EQ(merged.columns()[2].name, "extra");
  ASSERT_EQ(merged.row_count(), 4u);
  EXPECT_EQ(merged.source_record(0), 0u);
  EXPECT_EQ(merged.text(0, 0), "10");
  EXPECT_EQ(merged.source_record(1), 1u);
  EXPECT_EQ(merged.text(1, 1), "b-first");
  EXPECT_TRUE(merged.is_null(1, 0));
  EXPECT_EQ(merged.source_record(2), 1u);
  EXPECT_EQ(merged.text(2, 2), "b-second");
  EXPECT_EQ(merged.source_record(3), 2u);
  EXPECT_EQ(merged.text(3, 0), "12");
}

TEST(RowSetTest, ChainRowsCarryTheSchemaTypesAndTheirSourceRecords) {
  std::vector<testing::JsonSpec> specs = {
      {"schema",
       R"j({"columns":[{"name":"id","type":"bigint"},{"name":"amount","type":"numeric(8,2)"}]})j"},
      {"rules", R"([{"set":"tag","expr":"'x'"}])"}};
  FormatSpec format;
  format.kind = FormatSpec::Kind::kCsv;
  auto chain = testing::BuildChain(specs, format);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  std::vector<SourceRecord> batch = {{R"({"id":"5","amount":1.5})", 0, "a"},
                                     {R"({"id":"nope"})", 0, "b"},
                                     {R"({"id":6})", 0, "c"}};
  BatchResult result = (*chain)->Process(batch, ProcessOptions{.collect_rows = true});
  const RowSet& rows = result.rows;
  ASSERT_GE(rows.column_count(), 2u);
  EXPECT_EQ(rows.columns()[0], (Column{"id", ColumnType::kBigint}));
  EXPECT_EQ(rows.columns()[1], (Column{"amount", ColumnType::kNumeric, 8, 2}));
  ASSERT_EQ(rows.row_count(), 2u) << "the failed record has no row";
  EXPECT_EQ(rows.source_record(0), 0u);
  EXPECT_EQ(rows.text(0, 0), "5");
  EXPECT_EQ(rows.text(0, 1), "1.50");
  EXPECT_EQ(rows.source_record(1), 2u);
  EXPECT_TRUE(rows.is_null(1, 1));
}

}  // namespace
}  // namespace sluice::transform
