#include "warehouse/config.h"

#include <cstdlib>

#include "warehouse/sql.h"

namespace sluice::warehouse {

const char* EngineName(Engine engine) {
  switch (engine) {
    case Engine::kPostgres: return "postgres";
    case Engine::kRedshift: return "redshift";
    case Engine::kSqlite: return "sqlite";
  }
  return "?";
}

Result<Engine> ParseEngine(const std::string& name) {
  if (name == "postgres") return Engine::kPostgres;
  if (name == "redshift") return Engine::kRedshift;
  if (name == "sqlite") return Engine::kSqlite;
  return Status::InvalidArgument("warehouse engine '" + name +
                                 "': expected postgres, redshift or sqlite");
}

const char* LoadModeName(LoadMode mode) {
  return mode == LoadMode::kMerge ? "merge" : "append";
}

Result<LoadMode> ParseLoadMode(const std::string& name) {
  if (name == "append") return LoadMode::kAppend;
  if (name == "merge") return LoadMode::kMerge;
  return Status::InvalidArgument("warehouse mode '" + name + "': expected append or merge");
}

Result<Column> MakeColumn(const std::string& name, const std::string& type) {
  Column c;
  c.name = name;
  if (name.empty()) return Status::InvalidArgument("column with an empty name");
  if (type == "text") {
    c.type = ColumnType::kText;
  } else if (type == "bigint") {
    c.type = ColumnType::kBigint;
  } else if (type == "integer" || type == "int") {
    c.type = ColumnType::kInteger;
  } else if (type == "double") {
    c.type = ColumnType::kDouble;
  } else if (type == "boolean") {
    c.type = ColumnType::kBoolean;
  } else if (type == "timestamp") {
    c.type = ColumnType::kTimestamp;
  } else if (type == "date") {
    c.type = ColumnType::kDate;
  } else if (type == "json") {
    c.type = ColumnType::kJson;
  } else if (type == "numeric") {
    c.type = ColumnType::kNumeric;
  } else if (type.rfind("numeric(", 0) == 0 && type.back() == ')') {
    c.type = ColumnType::kNumeric;
    const std::string inner = type.substr(8, type.size() - 9);
    char* end = nullptr;
    const long precision = std::strtol(inner.c_str(), &end, 10);
    long scale = 0;
    if (*end == ',') scale = std::strtol(end + 1, &end, 10);
    if (*end != '\0' || precision < 1 || precision > 1000 || scale < 0 || scale > precision) {
      return Status::InvalidArgument("column '" + name + "': bad type '" + type + "'");
    }
    c.precision = static_cast<uint32_t>(precision);
    c.scale = static_cast<uint32_t>(scale);
  } else {
    return Status::InvalidArgument("column '" + name + "': unknown type '" + type + "'");
  }
  return c;
}

std::string ColumnTypeName(const Column& column) {
  switch (column.type) {
    case ColumnType::kText: return "text";
    case ColumnType::kBigint: return "bigint";
    case ColumnType::kInteger: return "integer";
    case ColumnType::kDouble: return "double";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kTimestamp: return "timestamp";
    case ColumnType::kDate: return "date";
    case ColumnType::kJson: return "json";
    case ColumnType::kNumeric:
      if (column.precision == 0) return "numeric";
      return "numeric(" + std::to_string(column.precision) + "," + std::to_string(column.scale) +
             ")";
  }
  return "text";
}

Status Validate(const WarehouseConfig& config) {
  SLUICE_RETURN_IF_ERROR(ParseTableName(config.table).status());
  if (config.dsn.empty()) return Status::InvalidArgument("warehouse: dsn is required");
  if (config.mode == LoadMode::kMerge && config.key.empty()) {
    return Status::InvalidArgument("warehouse " + config.table + ": mode merge needs key columns");
  }
  if (config.retry_duration_s > WarehouseConfig::kMaxRetryDurationS) {
    return Status::InvalidArgument("warehouse: retry_duration_s must be <= 7200");
  }
  if (config.pool_size < 1 || config.pool_size > 16) {
    return Status::InvalidArgument("warehouse: pool_size must be 1..16");
  }
  if (config.engine == Engine::kRedshift) {
    const RedshiftAuth& a = config.redshift;
    const bool keys = !a.access_key_id.empty() || !a.secret_access_key.empty();
    if (a.iam_role.empty() == !keys) {
      return Status::InvalidArgument(
          "warehouse redshift: set exactly one of iam_role or access_key_id/secret_access_key");
    }
    if (keys && (a.access_key_id.empty() || a.secret_access_key.empty())) {
      return Status::InvalidArgument(
          "warehouse redshift: access_key_id and secret_access_key go together");
    }
  }
  return Status::Ok();
}

}  // namespace sluice::warehouse
