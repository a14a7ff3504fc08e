// Warehouse load throughput into a throwaway PostgreSQL 15: the loader in append and merge modes
// versus `psql -c "\copy ..."` of the same CSV into an identical table, in the same run.
//
// Usage: warehouse_bench [--rows N] [--batch B] [--seconds S]
//   --rows N     rows per measurement (default 500000); --seconds S sets N = S * 150000
//   --batch B    rows per LoadBatch (default 100000)
// Prints rows/s for each method and the append/psql ratio (target >= 0.9).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "testutil/warehouse_pg.h"
#include "warehouse/csv.h"
#include "warehouse/loader.h"

namespace {

using sluice::warehouse::Column;
using sluice::warehouse::MakeColumn;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<Column> Columns() {
  return {*MakeColumn("id", "bigint"),
          *MakeColumn("customer", "text"),
          *MakeColumn("sku", "text"),
          *MakeColumn("qty", "integer"),
          *MakeColumn("amount", "numeric(12,2)"),
          *MakeColumn("paid", "boolean"),
          *MakeColumn("ts", "timestamp"),
          *MakeColumn("note", "text")};
}

std::string Rows(size_t first, size_t n) {
  std::string csv;
  csv.reserve(n * 110);
  char line[256];
  for (size_t i = first; i < first + n; ++i) {
    const int len = std::snprintf(
        line, sizeof line,
        "%zu,customer-%zu,SKU-%05zu,%zu,%zu.%02zu,%s,2025-01-%02zuT10:%02zu:%02zuZ,\"note, %zu\"\n",
        i, i % 9973, i % 50000, i % 17 + 1, i % 1000, i % 100, (i % 2) ? "true" : "false",
        i % 28 + 1, i % 60, i % 60, i);
    csv.append(line, static_cast<size_t>(len));
  }
  return csv;
}

const char* kDdl =
    " (id bigint, customer text, sku text, qty integer, amount numeric(12,2), paid boolean, ts "
    "timestamptz, note text)";

// Times loading every batch (the loader encodes each row set as COPY CSV itself).
double LoadAll(sluice::warehouse::Loader& loader, const std::string& tag,
               const std::vector<sluice::transform::RowSet>& batches, size_t batch_rows) {
  const double start = Now();
  for (size_t b = 0; b < batches.size(); ++b) {
    const std::string id = tag + "/0/" + std::to_string(b * batch_rows);
    auto r = loader.Load({id, batches[b], ""});
    if (!r.ok()) {
      std::fprintf(stderr, "%s: %s\n", tag.c_str(), r.status().ToString().c_str());
      std::exit(1);
    }
  }
  return Now() - start;
}

}  // namespace

int main(int argc, char** argv) {
  size_t rows = 500'000;
  size_t batch_rows = 100'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const size_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--rows") rows = value;
    if (flag == "--batch") batch_rows = value;
    if (flag == "--seconds") rows = value * 150'000;
  }
  if (rows == 0 || batch_rows == 0) return 2;
  auto pg = sluice::testutil::WarehousePg::Start();
  if (!pg.ok()) {
    std::fprintf(stderr, "postgres: %s\n", pg.status().ToString().c_str());
    return 1;
  }
  std::vector<sluice::transform::RowSet> batches;
  std::string all;
  for (size_t first = 0; first < rows; first += batch_rows) {
    const std::string csv = Rows(first, std::min(batch_rows, rows - first));
    auto set = sluice::warehouse::RowSetFromCsv(Columns(), csv);
    if (!set.ok()) {
      std::fprintf(stderr, "rows: %s\n", set.status().ToString().c_str());
      return 1;
    }
    batches.push_back(std::move(set).value());
    all += csv;
  }
  char path[] = "/tmp/sluice-wh-bench-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);
  std::ofstream(path) << all;

  for (const char* t : {"via_psql", "via_append", "via_merge"}) {
    (void)(*pg)->Query(std::string("CREATE TABLE ") + t + kDdl);
  }
  (void)(*pg)->Query("ALTER TABLE via_merge ADD PRIMARY KEY (id)");

  // psql \copy of the whole file.
  const std::string dsn = (*pg)->Dsn();
  const std::string cmd =
      "psql -q -X \"" + dsn + "\" -c \"\\copy via_psql FROM '" + path + "' WITH (FORMAT csv)\"";
  double start = Now();
  if (std::system(cmd.c_str()) != 0) return 1;
  const double psql_s = Now() - start;

  sluice::warehouse::WarehouseConfig config;
  config.engine = sluice::warehouse::Engine::kPostgres;
  config.dsn = dsn;
  config.table = "via_append";
  auto append = sluice::warehouse::OpenLoader(config);
  config.table = "via_merge";
  config.mode = sluice::warehouse::LoadMode::kMerge;
  config.key = {"id"};
  auto merge = sluice::warehouse::OpenLoader(config);
  if (!append.ok() || !merge.ok()) return 1;
  const double append_s = LoadAll(**append, "append", batches, batch_rows);
  const double merge_s = LoadAll(**merge, "merge", batches, batch_rows);
  // Merge again over existing keys: every row becomes an UPDATE.
  const double remerge_s = LoadAll(**merge, "remerge", batches, batch_rows);

  std::printf("warehouse_bench: %zu rows x 8 columns, %zu rows per batch, PostgreSQL 15\n", rows,
              batch_rows);
  std::printf("  psql \\copy          %10.0f rows/s\n", rows / psql_s);
  std::printf("  loader append       %10.0f rows/s  (%.2fx psql)\n", rows / append_s,
              psql_s / append_s);
  std::printf("  loader merge (new)  %10.0f rows/s  (%.2fx psql)\n", rows / merge_s,
              psql_s / merge_s);
  std::printf("  loader merge (upd)  %10.0f rows/s  (%.2fx psql)\n", rows / remerge_s,
              psql_s / remerge_s);
  unlink(path);
  return 0;
}
