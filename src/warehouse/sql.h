// SQL text helpers shared by the engines: identifier/literal quoting, type mapping, DDL.
// Pure functions; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "warehouse/config.h"

namespace sluice::warehouse {

// "ab""c" style identifier quoting (PostgreSQL, Redshift and SQLite agree).
std::string QuoteIdent(std::string_view name);
// 'it''s' style literal quoting. REQUIRES: standard_conforming_strings (the default).
std::string QuoteLiteral(std::string_view value);

// A table reference split at the first '.': "analytics.orders" -> {"analytics", "orders"}.
struct TableName {
  std::string schema;  // empty: unqualified
  std::string name;
  std::string Quoted() const;  // "analytics"."orders"
  // Another table in the same schema, quoted.
  std::string Sibling(std::string_view other) const;
};
Result<TableName> ParseTableName(const std::string& table);

// The engine's column type for `column`.
std::string SqlType(Engine engine, const Column& column);

// "a", "b", "c" (quoted, comma separated), optionally qualified by `prefix.`.
std::string ColumnList(const std::vector<Column>& columns, std::string_view prefix = "");
std::string NameList(const std::vector<std::string>& names, std::string_view prefix = "");

// CREATE TABLE IF NOT EXISTS for the target, with a primary key on config.key in merge mode.
std::string CreateTableSql(const WarehouseConfig& config, const TableName& table,
                           const std::vector<Column>& columns);
// CREATE TABLE IF NOT EXISTS for the ledger next to `table`.
std::string CreateLedgerSql(Engine engine, const TableName& table);

}  // namespace sluice::warehouse
