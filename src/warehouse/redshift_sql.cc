#include "warehouse/redshift_sql.h"

#include "warehouse/sql.h"

namespace sluice::warehouse {

Result<RedshiftLoadSql> BuildRedshiftLoadSql(const WarehouseConfig& config,
                                             const LoadBatch& batch) {
  SLUICE_ASSIGN_OR_RETURN(TableName table, ParseTableName(config.table));
  if (batch.staged_url.rfind("s3://", 0) != 0) {
    return Status::InvalidArgument("batch " + batch.batch_id +
                                   ": redshift needs an s3:// staged object, got '" +
                                   batch.staged_url + "'");
  }
  if (batch.columns().empty()) {
    return Status::InvalidArgument("batch " + batch.batch_id + ": no columns");
  }
  const std::string target = table.Quoted();
  const std::string ledger = table.Sibling(kLedgerTable);
  const std::string staging = QuoteIdent(kStagingTable);
  const std::string dedup = QuoteIdent(kDedupTable);
  const std::string cols = ColumnList(batch.columns());
  const bool dedupe = !config.key.empty();
  const std::string source = dedupe ? dedup : staging;

  RedshiftLoadSql sql;
  sql.lock = "LOCK " + ledger;
  sql.ledger_check =
      "SELECT rows FROM " + ledger + " WHERE batch_id = " + QuoteLiteral(batch.batch_id);
  sql.statements.push_back("CREATE TEMP TABLE " + staging + " (LIKE " + target + ")");

  std::string copy = "COPY " + staging + " (" + cols + ") FROM " + QuoteLiteral(batch.staged_url);
  const RedshiftAuth& auth = config.redshift;
  if (!auth.iam_role.empty()) {
    copy += " IAM_ROLE " + QuoteLiteral(auth.iam_role);
  } else {
    copy += " ACCESS_KEY_ID " + QuoteLiteral(auth.access_key_id) + " SECRET_ACCESS_KEY " +
            QuoteLiteral(auth.secret_access_key);
    if (!auth.session_token.empty()) copy += " SESSION_TOKEN " + QuoteLiteral(auth.session_token);
  }
  copy += " FORMAT AS CSV TIMEFORMAT 'auto' DATEFORMAT 'auto'";
  if (config.gzip) copy += " GZIP";
  if (!auth.region.empty()) copy += " REGION " + QuoteLiteral(auth.region);
  sql.copy_index = sql.statements.size();
  sql.statements.push_back(std::move(copy));

  if (dedupe) {
    // Redshift COPY does not keep file order, so without order_by the surviving duplicate is
    // unspecified; with it, the greatest order_by wins.
    std::string order;
    if (!config.order_by.empty()) {
      order = " ORDER BY " + QuoteIdent(config.order_by) + " DESC NULLS LAST";
    }
    sql.statements.push_back("CREATE TEMP TABLE " + dedup + " AS SELECT " + cols +
                             " FROM (SELECT " + cols + ", ROW_NUMBER() OVER (PARTITION BY " +
                             NameList(config.key) + order + ") AS sluice_rn FROM " + staging +
                             ") AS ranked WHERE sluice_rn = 1");
  }

  sql.write_index = sql.statements.size();
  if (config.mode == LoadMode::kAppend) {
    sql.statements.push_back("INSERT INTO " + target + " (" + cols + ") SELECT " + cols + " FROM " +
                             source);
  } else {
    std::string on;
    for (const std::string& k : config.key) {
      if (!on.empty()) on += " AND ";
      on += target + "." + QuoteIdent(k) + " = s." + QuoteIdent(k);
    }
    std::string set;
    for (const Column& c : batch.columns()) {
      bool is_key = false;
      for (const std::string& k : config.key) is_key = is_key || k == c.name;
      if (is_key) continue;
      if (!set.empty()) set += ", ";
      set += QuoteIdent(c.name) + " = s." + QuoteIdent(c.name);
    }
    if (set.empty()) set = QuoteIdent(config.key[0]) + " = s." + QuoteIdent(config.key[0]);
    sql.statements.push_back("MERGE INTO " + target + " USING " + source + " AS s ON " + on +
                             " WHEN MATCHED THEN UPDATE SET " + set +
                             " WHEN NOT MATCHED THEN INSERT (" + cols + ") VALUES (" +
                             ColumnList(batch.columns(), "s.") + ")");
  }
  sql.statements.push_back("INSERT INTO " + ledger + " (batch_id, table_name, rows) SELECT " +
                           QuoteLiteral(batch.batch_id) + ", " + QuoteLiteral(config.table) +
                           ", COUNT(*) FROM " + source);
  if (dedupe) sql.statements.push_back("DROP TABLE " + dedup);
  sql.statements.push_back("DROP TABLE " + staging);
  return sql;
}

}  // namespace sluice::warehouse
