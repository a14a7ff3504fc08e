#include "warehouse/csv.h"

#include <gtest/gtest.h>

namespace sluice::warehouse {
namespace {

TEST(CsvTest, RowsEndAtNewlinesOutsideQuotes) {
  const std::string csv = "1,\"a\nb\"\r\n2,x\n3,last";
  auto rows = SplitCsvRows(csv);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ(csv.substr((*rows)[0].begin, (*rows)[0].end - (*rows)[0].begin), "1,\"a\nb\"\r\n");
  EXPECT_EQ(csv.substr((*rows)[2].begin), "3,last");
}

TEST(CsvTest, UnterminatedQuoteIsAnError) {
  EXPECT_FALSE(SplitCsvRows("1,\"abc\n").ok());
}

TEST(CsvTest, EmptyUnquotedIsNullAndQuotedEmptyIsEmptyString) {
  auto fields = ParseCsvRow(",\"\",\"a\"\"b\",c,\n");
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ(fields->size(), 5u);
  EXPECT_FALSE((*fields)[0].has_value());
  EXPECT_EQ((*fields)[1], "");
  EXPECT_EQ((*fields)[2], "a\"b");
  EXPECT_EQ((*fields)[3], "c");
  EXPECT_FALSE((*fields)[4].has_value());
}

TEST(CsvTest, StrayQuotesAreErrors) {
  EXPECT_FALSE(ParseCsvRow("a\"b,c").ok());
  EXPECT_FALSE(ParseCsvRow("\"a\"b,c").ok());
}

}  // namespace
}  // namespace sluice::warehouse
