#include "warehouse/sql.h"

namespace sluice::warehouse {

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteLiteral(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::string TableName::Quoted() const {
  return schema.empty() ? QuoteIdent(name) : QuoteIdent(schema) + "." + QuoteIdent(name);
}

std::string TableName::Sibling(std::string_view other) const {
  return schema.empty() ? QuoteIdent(other) : QuoteIdent(schema) + "." + QuoteIdent(other);
}

Result<TableName> ParseTableName(const std::string& table) {
  const size_t dot = table.find('.');
  TableName out;
  if (dot == std::string::npos) {
    out.name = table;
  } else {
    out.schema = table.substr(0, dot);
    out.name = table.substr(dot + 1);
  }
  if (out.name.empty() || (dot != std::string::npos && out.schema.empty()) ||
      out.name.find('.') != std::string::npos) {
    return Status::InvalidArgument("warehouse table '" + table +
                                   "': expected 'table' or 'schema.table'");
  }
  return out;
}

std::string SqlType(Engine engine, const Column& column) {
  const bool redshift = engine == Engine::kRedshift;
  if (engine == Engine::kSqlite) {
    switch (column.type) {
      case ColumnType::kBigint:
      case ColumnType::kInteger:
      case ColumnType::kBoolean: return "INTEGER";
      case ColumnType::kDouble: return "REAL";
      // numeric stays TEXT so that decimals keep every digit (SQLite has no decimal type).
      default: return "TEXT";
    }
  }
  switch (column.type) {
    case ColumnType::kText: return redshift ? "VARCHAR(65535)" : "text";
    case ColumnType::kBigint: return "bigint";
    case ColumnType::kInteger: return "integer";
    case ColumnType::kDouble: return "double precision";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kTimestamp: return "timestamptz";
    case ColumnType::kDate: return "date";
    case ColumnType::kNumeric:
      if (column.precision == 0) return redshift ? "numeric(38,10)" : "numeric";
      return "numeric(" + std::to_string(column.precision) + "," + std::to_string(column.scale) +
             ")";
    case ColumnType::kJson: return redshift ? "VARCHAR(65535)" : "jsonb";
  }
  return "text";
}

std::string ColumnList(const std::vector<Column>& columns, std::string_view prefix) {
  std::string out;
  for (const Column& c : columns) {
    if (!out.empty()) out += ", ";
    out.append(prefix);
    out += QuoteIdent(c.name);
  }
  return out;
}

std::string NameList(const std::vector<std::string>& names, std::string_view prefix) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out.append(prefix);
    out += QuoteIdent(n);
  }
  return out;
}

std::string CreateTableSql(const WarehouseConfig& config, const TableName& table,
                           const std::vector<Column>& columns) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + table.Quoted() + " (";
  bool first = true;
  for (const Column& c : columns) {
    if (!first) sql += ", ";
    first = false;
    sql += QuoteIdent(c.name) + " " + SqlType(config.engine, c);
  }
  if (config.mode == LoadMode::kMerge && !config.key.empty()) {
    sql += ", PRIMARY KEY (" + NameList(config.key) + ")";
  }
  sql += ")";
  if (config.engine == Engine::kSqlite) sql += " STRICT";
  return sql;
}

std::string CreateLedgerSql(Engine engine, const TableName& table) {
  const std::string ledger = table.Sibling(kLedgerTable);
  switch (engine) {
    case Engine::kSqlite:
      return "CREATE TABLE IF NOT EXISTS " + ledger +
             " (batch_id TEXT PRIMARY KEY, table_name TEXT NOT NULL, rows INTEGER NOT NULL, "
             "rejected INTEGER NOT NULL DEFAULT 0, loaded_at TEXT NOT NULL DEFAULT "
             "(strftime('%Y-%m-%dT%H:%M:%fZ','now')))";
    case Engine::kRedshift:
      return "CREATE TABLE IF NOT EXISTS " + ledger +
             " (batch_id VARCHAR(1024) NOT NULL PRIMARY KEY, table_name VARCHAR(1024) NOT NULL, "
             "rows BIGINT NOT NULL, rejected BIGINT NOT NULL DEFAULT 0, "
             "loaded_at TIMESTAMP NOT NULL DEFAULT GETDATE())";
    case Engine::kPostgres: break;
  }
  return "CREATE TABLE IF NOT EXISTS " + ledger +
         " (batch_id text PRIMARY KEY, table_name text NOT NULL, rows bigint NOT NULL, "
         "rejected bigint NOT NULL DEFAULT 0, loaded_at timestamptz NOT NULL DEFAULT now())";
}

}  // namespace sluice::warehouse
