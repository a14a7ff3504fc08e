#include "pipeline/warehouse_sink.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <set>

namespace sluice::pipeline {
namespace {

using simdjson::dom::element;

Result<std::string> StringField(element obj, const char* key, const std::string& where,
                                bool required) {
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS) {
    if (required) return Status::InvalidArgument(where + "." + key + " is required");
    return std::string();
  }
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) return std::string(s);
  if (v.is_int64() || v.is_uint64() || v.is_double() || v.is_bool()) return simdjson::minify(v);
  return Status::InvalidArgument(where + "." + key + " must be a string");
}

// Columns from the stream's processors: the schema's columns (with types), then rules' `set`.
Status ColumnsFromProcessors(const config::StreamConfig& stream,
                             std::vector<warehouse::Column>& out) {
  simdjson::dom::parser parser;
  std::set<std::string> seen;
  for (const auto& p : stream.processors) {
    element doc;
    if (parser.parse(p.params_json).get(doc) != simdjson::SUCCESS) continue;
    if (p.type == "schema") {
      simdjson::dom::array cols;
      if (doc["columns"].get(cols) != simdjson::SUCCESS) continue;
      out.clear();
      seen.clear();
      for (element c : cols) {
        SLUICE_ASSIGN_OR_RETURN(std::string name, StringField(c, "name", "schema column", true));
        SLUICE_ASSIGN_OR_RETURN(std::string type, StringField(c, "type", "schema column", false));
        SLUICE_ASSIGN_OR_RETURN(warehouse::Column col,
                                warehouse::MakeColumn(name, type.empty() ? "text" : type));
        out.push_back(col);
        seen.insert(name);
      }
    } else if (p.type == "rules") {
      simdjson::dom::array rules;
      if (doc.get(rules) != simdjson::SUCCESS && doc["rules"].get(rules) != simdjson::SUCCESS)
        continue;
      for (element r : rules) {
        std::string_view set;
        if (r["set"].get(set) == simdjson::SUCCESS && seen.insert(std::string(set)).second) {
          SLUICE_ASSIGN_OR_RETURN(warehouse::Column col,
                                  warehouse::MakeColumn(std::string(set), "text"));
          out.push_back(col);
        }
      }
    }
  }
  return Status::Ok();
}

void AppendWarehouseField(std::string& out, const std::optional<std::string>& v) {
  if (!v) return;  // NULL: empty and unquoted
  if (v->empty() || v->find_first_of(",\"\r\n") != std::string::npos) {
    out += '"';
    for (char c : *v) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
    return;
  }
  out += *v;
}

}  // namespace

Result<warehouse::WarehouseConfig> ParseWarehouseConfig(const config::StreamConfig& stream) {
  const std::string where = "stream " + stream.name + ": warehouse";
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(stream.warehouse_json).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return Status::InvalidArgument(where + " must be a mapping");
  }
  static const std::set<std::string> kKeys = {
      "engine",           "dsn",          "table",    "mode",  "key",
      "order_by",         "create_table", "columns",  "views", "statement_timeout_ms",
      "retry_duration_s", "pool_size",    "redshift", "gzip"};
  simdjson::dom::object obj = doc.get_object();
  for (auto field : obj) {
    if (kKeys.count(std::string(field.key)) == 0) {
      return Status::InvalidArgument(
          where + ": unknown key '" + std::string(field.key) +
          "' (allowed: engine, dsn, table, mode, key, order_by, create_table, columns, "
          "views, statement_timeout_ms, retry_duration_s, pool_size, redshift, gzip)");
    }
  }
  warehouse::WarehouseConfig c;
  SLUICE_ASSIGN_OR_RETURN(std::string engine, StringField(doc, "engine", where, false));
  if (!engine.empty()) {
    SLUICE_ASSIGN_OR_RETURN(c.engine, warehouse::ParseEngine(engine));
  }
  SLUICE_ASSIGN_OR_RETURN(c.dsn, StringField(doc, "dsn", where, true));
  SLUICE_ASSIGN_OR_RETURN(c.table, StringField(doc, "table", where, true));
  SLUICE_ASSIGN_OR_RETURN(std::string mode, StringField(doc, "mode", where, false));
  if (!mode.empty()) {
    SLUICE_ASSIGN_OR_RETURN(c.mode, warehouse::ParseLoadMode(mode));
  }
  element key;
  if (doc["key"].get(key) == simdjson::SUCCESS) {
    std::string_view single;
    simdjson::dom::array list;
    if (key.get(single) == simdjson::SUCCESS) {
      c.key.emplace_back(single);
    } else if (key.get(list) == simdjson::SUCCESS) {
      for (element k : list) {
        std::string_view s;
        if (k.get(s) != simdjson::SUCCESS)
          return Status::InvalidArgument(where + ".key must list column names");
        c.key.emplace_back(s);
      }
    } else {
      return Status::InvalidArgument(where + ".key must be a column name or a list of them");
    }
  }
  SLUICE_ASSIGN_OR_RETURN(c.order_by, StringField(doc, "order_by", where, false));
  bool b = false;
  if (doc["create_table"].get(b) == simdjson::SUCCESS) c.create_table = b;
  if (doc["gzip"].get(b) == simdjson::SUCCESS) c.gzip = b;
  uint64_t n = 0;
  if (doc["statement_timeout_ms"].get(n) == simdjson::SUCCESS)
    c.statement_timeout_ms = static_cast<uint32_t>(n);
  if (doc["retry_duration_s"].get(n) == simdjson::SUCCESS)
    c.retry_duration_s = static_cast<uint32_t>(n);
  if (doc["pool_size"].get(n) == simdjson::SUCCESS) c.pool_size = static_cast<uint32_t>(n);
  simdjson::dom::object views;
  if (doc["views"].get(views) == simdjson::SUCCESS) {
    for (auto v : views) {
      std::string_view sql;
      if (v.value.get(sql) != simdjson::SUCCESS)
        return Status::InvalidArgument(where + ".views values must be SQL text");
      c.views[std::string(v.key)] = std::string(sql);
    }
  }
  element rs;
  if (doc["redshift"].get(rs) == simdjson::SUCCESS) {
    SLUICE_ASSIGN_OR_RETURN(c.redshift.iam_role,
                            StringField(rs, "iam_role", where + ".redshift", false));
    SLUICE_ASSIGN_OR_RETURN(c.redshift.access_key_id,
                            StringField(rs, "access_key_id", where + ".redshift", false));
    SLUICE_ASSIGN_OR_RETURN(c.redshift.secret_access_key,
                            StringField(rs, "secret_access_key", where + ".redshift", false));
    SLUICE_ASSIGN_OR_RETURN(c.redshift.session_token,
                            StringField(rs, "session_token", where + ".redshift", false));
    SLUICE_ASSIGN_OR_RETURN(c.redshift.region,
                            StringField(rs, "region", where + ".redshift", false));
  }
  simdjson::dom::array cols;
  if (doc["columns"].get(cols) == simdjson::SUCCESS) {
    for (element col : cols) {
      SLUICE_ASSIGN_OR_RETURN(std::string name, StringField(col, "name", where + ".columns", true));
      SLUICE_ASSIGN_OR_RETURN(std::string type,
                              StringField(col, "type", where + ".columns", false));
      SLUICE_ASSIGN_OR_RETURN(warehouse::Column wc,
                              warehouse::MakeColumn(name, type.empty() ? "text" : type));
      c.columns.push_back(wc);
    }
  } else {
    SLUICE_RETURN_IF_ERROR(ColumnsFromProcessors(stream, c.columns));
  }
  if (c.columns.empty()) {
    return Status::InvalidArgument(where +
                                   ": no columns: add a schema processor or warehouse.columns");
  }
  Status st = warehouse::Validate(c);
  if (!st.ok()) return st.WithContext(where);
  return c;
}

WarehouseSink::WarehouseSink(const config::StreamConfig& stream, warehouse::WarehouseConfig config,
                             KeyMaker keys, TransformBuilder* builder,
                             objectstore::ObjectStore* errors, secrets::Resolver* resolver)
    : stream_(stream.name),
      config_(std::move(config)),
      builder_(builder),
      errors_(errors),
      resolver_(resolver),
      error_output_(std::move(keys), errors) {}

bool WarehouseSink::IsRetryable(const Status& status) const {
  return warehouse::IsRetryable(status);
}

Result<std::string> WarehouseSink::RowsAsCsv(const transform::BatchResult& result) const {
  std::vector<int> index;  // warehouse column -> result column (-1: absent, NULL)
  for (const auto& col : config_.columns) {
    int found = -1;
    for (size_t i = 0; i < result.columns.size(); ++i) {
      if (result.columns[i] == col.name) found = static_cast<int>(i);
    }
    index.push_back(found);
  }
  std::string csv;
  for (const auto& row : result.rows) {
    for (size_t c = 0; c < index.size(); ++c) {
      if (c > 0) csv += ',';
      if (index[c] >= 0 && static_cast<size_t>(index[c]) < row.size())
        AppendWarehouseField(csv, row[static_cast<size_t>(index[c])]);
    }
    csv += '\n';
  }
  return csv;
}

Status WarehouseSink::Deliver(const Batch& batch, const std::vector<OutputObject>& outputs) {
  Status st = Load(batch, outputs);
  if (st.ok() || resolver_ == nullptr) return st;
  return Status(st.code(), resolver_->redactor().Redact(st.message()));
}

Status WarehouseSink::Load(const Batch& batch, const std::vector<OutputObject>& outputs) {
  const std::string id = batch.id.ToString();
  if (pending_rejects_ && pending_rejects_->first == id) {
    SLUICE_RETURN_IF_ERROR(
        errors_->Put(pending_rejects_->second.key, pending_rejects_->second.data));
    pending_rejects_.reset();
    return Status::Ok();
  }
  if (!loader_) {
    warehouse::LoaderOptions lo;
    lo.resolver = resolver_;
    SLUICE_ASSIGN_OR_RETURN(loader_, warehouse::OpenLoader(config_, lo));
  }
  const transform::BatchResult& result = builder_->last_result();
  warehouse::LoadBatch lb;
  lb.batch_id = id;
  lb.columns = config_.columns;
  SLUICE_ASSIGN_OR_RETURN(lb.csv, RowsAsCsv(result));
  for (const auto& o : outputs) {
    if (o.kind == OutputKind::kStaged) lb.staged_url = o.store->Describe() + "/" + o.key;
  }
  if (result.rows.empty()) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(warehouse::LoadResult loaded, loader_->Load(lb));
  rows_loaded_ += loaded.rows_loaded;
  if (loaded.outcome == warehouse::LoadOutcome::kSkipped) {
    spdlog::info("stream {}: batch {} is already in the warehouse ledger; skipped", stream_, id);
    return Status::Ok();
  }
  if (loaded.rejected.empty()) return Status::Ok();
  // Rows rejected for their data: one warehouse-failed error record per source record.
  rows_rejected_ += loaded.rejected.size();
  std::string records;
  std::set<uint32_t> done;
  for (const auto& r : loaded.rejected) {
    if (r.row_index >= result.row_records.size()) continue;
    uint32_t rec = result.row_records[r.row_index];
    if (rec >= batch.records.size() || !done.insert(rec).second) continue;
    ErrorOutputWriter::AppendRecord(
        batch.records[rec], {1, "Warehouse.DataError", r.error, result.attempt_ending_ms}, records);
  }
  SLUICE_ASSIGN_OR_RETURN(
      OutputObject out,
      error_output_.Object(batch, ErrorOutputType::kWarehouseFailed, std::move(records)));
  spdlog::warn("stream {}: batch {}: {} row(s) rejected by the warehouse went to error output",
               stream_, id, loaded.rejected.size());
  Status st = errors_->Put(out.key, out.data);
  if (!st.ok()) {
    pending_rejects_.emplace(id, std::move(out));
    return st;
  }
  return Status::Ok();
}

}  // namespace sluice::pipeline
