// examples/orders end to end, as `make run` runs it: the example's config unchanged, its sample
// data sent with `sluice put`; the SQLite warehouse must hold exactly the expected rows and the
// reporting view, and the failed folder one error record per bad sample record.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { SluiceServer, listFiles, makeTempDir, runPut, waitFor } from "./sluice_harness.mjs";

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const sqlite = (db, sql) => spawnSync("sqlite3", [db, sql], { encoding: "utf8" }).stdout.trim();

test("the orders example loads 62 line-item rows, merges on re-send, and keeps the failures", async () => {
  const cwd = makeTempDir("orders");  // the example's ./var paths resolve here
  const server = new SluiceServer(path.join(cwd, "var"),
    ["--config", path.join(repo, "examples/orders/sluice.yaml")], { cwd });
  const endpoint = await server.start();
  const db = path.join(cwd, "var", "warehouse.db");
  const loaded = () => fs.existsSync(db) && sqlite(db, "SELECT count(*) FROM sluice_load_ledger");
  try {
    const input = fs.readFileSync(path.join(repo, "examples/orders/orders.jsonl"), "utf8");
    for (let round = 1; round <= 2; round++) {
      const put = await runPut(["--stream", "orders", "--endpoint", endpoint], { input });
      assert.equal(put.code, 0, put.stderr);
      await waitFor(() => Number(loaded() || 0) >= round, 20000, `batch ${round} in the warehouse ledger`,
        () => server.stderr);
    }
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr);
  }
  // 31 of the 41 sample records are Ok (3 dropped test orders, 7 failures): 62 line items. The
  // second round re-sends the same orders: merge on (order_id, line_no) keeps 62 rows.
  assert.equal(sqlite(db, "SELECT count(*), count(DISTINCT order_id) FROM orders"), "62|31");
  assert.equal(sqlite(db, "SELECT count(*) FROM sluice_load_ledger"), "2");
  assert.equal(sqlite(db, "SELECT count(*) FROM orders WHERE status = 'test' OR qty <= 0"), "0");
  assert.equal(sqlite(db, "SELECT line_total FROM orders WHERE order_id = 1001 AND line_no = 1"), "41.74");
  assert.equal(sqlite(db, "SELECT sum(orders) FROM order_revenue_by_city"), "31");
  const failed = listFiles(path.join(cwd, "var/buckets/failed"));
  assert.equal(failed.length, 2, "one processing-failed object per batch");
  const errors = fs.readFileSync(failed[0], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(errors.map((e) => e.errorCode).sort(), [
    "Rules.FailIf", "Rules.FailIf", "Rules.FailIf", "Rules.FailIf", "Rules.FailIf",
    "Schema.ConversionFailed", "Transform.InvalidJson"]);
  assert.equal(listFiles(path.join(cwd, "var/buckets/raw")).length, 2);
});
