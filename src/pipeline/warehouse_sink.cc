#include "pipeline/warehouse_sink.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <set>

#include "transform/error_record.h"

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
  if (c.engine == warehouse::Engine::kRedshift) {
    for (const auto& p : stream.processors) {
      if (p.type == "MetadataExtraction") {
        return Status::InvalidArgument(
            where +
            ": engine redshift loads one staged object per batch and cannot be combined with "
            "dynamic partitioning (MetadataExtraction); use postgres or sqlite");
      }
    }
  }
  Status st = warehouse::Validate(c);
  if (!st.ok()) return st.WithContext(where);
  return c;
}

WarehouseSink::WarehouseSink(const config::StreamConfig& stream, warehouse::WarehouseConfig config,
                             KeyMaker keys, objectstore::ObjectStore* errors,
                             secrets::Resolver* resolver, const Clock* clock,
                             std::unique_ptr<warehouse::Loader> loader)
    : stream_(stream.name),
      config_(std::move(config)),
      errors_(errors),
      resolver_(resolver),
      clock_(clock),
      keys_(std::move(keys)),
      loader_(std::move(loader)) {}

bool WarehouseSink::IsRetryable(const Status& status) const {
  return warehouse::IsRetryable(status);
}

Status WarehouseSink::Deliver(const Batch& batch, const BuiltBatch& built) {
  Status st = Load(batch, built);
  if (st.ok() || resolver_ == nullptr) return st;
  return Status(st.code(), resolver_->redactor().Redact(st.message()));
}

Status WarehouseSink::Load(const Batch& batch, const BuiltBatch& built) {
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
  if (!built.rows || built.rows->empty()) return Status::Ok();
  warehouse::LoadBatch lb;
  lb.batch_id = id;
  size_t staged = 0;
  for (const auto& o : built.outputs) {
    if (o.kind != "staged") continue;
    lb.staged_url = o.store->Describe() + "/" + o.key;
    ++staged;
  }
  if (config_.engine == warehouse::Engine::kRedshift && staged > 1) {
    return Status::FailedPrecondition(
        "batch " + id + ": redshift loads one staged object per batch; this batch has " +
        std::to_string(staged) + " (one per set of partition keys)");
  }
  lb.rows = built.rows->Project(config_.columns);
  SLUICE_ASSIGN_OR_RETURN(warehouse::LoadResult loaded, loader_->Load(lb));
  rows_loaded_ += loaded.rows_loaded;
  if (loaded.outcome == warehouse::LoadOutcome::kSkipped) {
    spdlog::info("stream {}: batch {} is already in the warehouse ledger; skipped", stream_, id);
    return Status::Ok();
  }
  if (loaded.rejected.empty()) return Status::Ok();
  // Rows rejected for their data: one warehouse-failed error record per source record.
  rows_rejected_ += loaded.rejected.size();
  OutputObject out;
  out.kind = "warehouse-failed";
  SLUICE_ASSIGN_OR_RETURN(
      out.key, keys_.ErrorKey(batch.id, batch.version, batch.oldest_ms, "warehouse-failed"));
  const int64_t now_ms = clock_->NowMs();
  std::set<uint32_t> done;
  for (const auto& r : loaded.rejected) {
    if (r.row_index >= lb.rows.row_count()) continue;
    const uint32_t rec = lb.rows.source_record(r.row_index);
    if (rec >= batch.records.size() || !done.insert(rec).second) continue;
    transform::ErrorRecord e;
    e.arrival_ms = batch.records[rec].arrival_ms;
    e.error_code = "Warehouse.DataError";
    e.error_message = r.error;
    e.attempt_ending_ms = now_ms;
    e.raw_data = batch.records[rec].data;
    transform::AppendErrorRecord(e, out.data);
  }
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
