// examples/kinesis-orders as its README runs it: `examples/kinesis-orders/run` from a fresh
// directory (RUN_ONCE=1, a free port). The producer creates orders-kds and sends the sample
// orders keyed by customer id; the delivery stream reading orders-kds must load exactly the rows
// the orders example loads. The producer is also checked on its own against a plain server.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { listFiles, makeTempDir, sluiceBin, SluiceServer } from "./sluice_harness.mjs";

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const example = path.join(repo, "examples/kinesis-orders");
const sqlite = (db, sql) => spawnSync("sqlite3", [db, sql], { encoding: "utf8" }).stdout.trim();
const samples = fs.readFileSync(path.join(repo, "examples/orders/orders.jsonl"), "utf8").split("\n").filter(Boolean);

function runScript(script, args, { cwd, env = {} }) {
  return new Promise((resolve) => {
    const child = spawn("bash", [script, ...args], {
      cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill("SIGKILL"), 90000);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test("the producer creates orders-kds and sends the 41 sample orders keyed by customer id", async () => {
  const server = new SluiceServer(path.join(makeTempDir("kinesis-orders-producer"), "data"));
  const endpoint = await server.start();
  try {
    for (let round = 1; round <= 2; round++) {  // the second run finds the stream and only sends
      const produced = await runScript(path.join(example, "produce"), [sluiceBin(), endpoint], { cwd: repo });
      assert.equal(produced.code, 0, produced.stderr);
      assert.match(produced.stderr, /delivered 41 records to stream 'orders-kds'/);
    }
    const tail = spawnSync(sluiceBin(), ["tail", "orders-kds", "--format", "json", "--endpoint", endpoint],
      { encoding: "utf8", timeout: 30000 });
    assert.equal(tail.status, 0, tail.stderr);
    const records = tail.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(records.length, 82);
    assert.equal(new Set(records.map((r) => r.shard)).size, 2, "2 shards, both used");
    for (const r of records) {
      let order = null;
      try { order = JSON.parse(r.data); } catch { /* the sample's one non-JSON record */ }
      if (order?.customer?.id !== undefined) assert.equal(r.partition_key, String(order.customer.id));
    }
    const sent = records.map((r) => r.data.trimEnd()).sort();
    assert.deepEqual(sent, [...samples, ...samples].sort());
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr);
  }
});

test("examples/kinesis-orders/run loads 62 line-item rows through the Kinesis stream", async () => {
  const cwd = makeTempDir("kinesis-orders");
  const r = await runScript(path.join(example, "run"), [], {
    cwd, env: { RUN_ONCE: "1", SLUICE: sluiceBin(), LISTEN: "127.0.0.1:0" },
  });
  assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /\(41 records in the stream\)/);
  assert.match(r.stdout, /ship_city\s+orders\s+revenue/);
  const db = path.join(cwd, "var", "warehouse.db");
  assert.equal(sqlite(db, "SELECT count(*), count(DISTINCT order_id) FROM orders"), "62|31");
  assert.equal(sqlite(db, "SELECT count(*) FROM orders WHERE status = 'test' OR qty <= 0"), "0");
  assert.equal(sqlite(db, "SELECT line_total FROM orders WHERE order_id = 1001 AND line_no = 1"), "41.74");
  const errors = listFiles(path.join(cwd, "var/buckets/failed")).flatMap((f) =>
    fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l).errorCode));
  assert.equal(errors.length, 7);
  assert.ok(listFiles(path.join(cwd, "var/buckets/raw")).length >= 1);
});
