// Issue 5 end to end: `sluice serve --config` loads each delivered batch into a real PostgreSQL
// (a throwaway cluster, password auth over TCP) through the stream's `warehouse:` block.
//   a. merge on [order_id, line_no] after flatten + schema + rules, a view, the DSN from a
//      ${secret:file:...}; a re-sent order replaces its rows, the later duplicate wins;
//   b. the DSN from ${secret:exec:/bin/cat ...};
//   c. a row the table's CHECK constraint rejects goes to error output as warehouse-failed while
//      the rest of its batch loads;
//   d. PostgreSQL stopped while sluice runs: the batch is retried and loads exactly once when the
//      database is back, and no staging table is left behind.
// In every case the password must appear neither in sluice's stderr nor in any file of its data dir.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";

import { PgCluster } from "./pg_harness.mjs";
import { SluiceServer, listFiles, makeTempDir, waitFor } from "./sluice_harness.mjs";

let pg;

before(async () => {
  pg = new PgCluster();
  try {
    await pg.init();
  } catch (err) {
    await pg.destroy();
    throw err;
  }
});

after(async () => {
  if (pg) await pg.destroy();
});

// Writes sluice.yaml for one stream `name` whose buckets live inside `dataDir` (so the secret
// check covers them); `body` is the stream's processors/format/warehouse YAML (indented 4).
function writeConfig(dir, dataDir, name, body, { intervalS = 900 } = {}) {
  const b = path.join(dataDir, "buckets");
  const config = `
delivery_streams:
  - name: ${name}
    buffering: {size_mb: 5, interval_s: ${intervalS}}
${body}
    staged: {url: "file://${b}/staging", prefix: "${name}/"}
    errors: {url: "file://${b}/failed", prefix: "${name}/!{firehose:error-output-type}/"}
`;
  const file = path.join(dir, "sluice.yaml");
  fs.writeFileSync(file, config);
  return file;
}

async function put(endpoint, stream, lines) {
  const client = new FirehoseClient({
    endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
  });
  try {
    const res = await client.send(new PutRecordBatchCommand({
      DeliveryStreamName: stream, Records: lines.map((l) => ({ Data: Buffer.from(l) })),
    }));
    assert.equal(res.FailedPutCount, 0, JSON.stringify(res.RequestResponses));
  } finally {
    client.destroy();
  }
}

// Rows of `sql`, or null while the table does not exist yet (it is created at the first load).
async function rowsOrNull(sql) {
  try {
    return await pg.psql(sql);
  } catch (err) {
    if (/does not exist/.test(String(err))) return null;
    throw err;
  }
}

// The password must not appear in stderr nor in any byte of any file under the data dir.
function assertNoSecret(server, dataDir, secret) {
  assert.ok(!server.stderr.includes(secret), `the password appears in sluice's stderr:\n${server.stderr}`);
  const leaks = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && fs.readFileSync(p).includes(secret)) leaks.push(p);
    }
  };
  walk(dataDir);
  assert.deepEqual(leaks, [], "files under the data dir that hold the password");
}

const order = (id, city, items, extra = {}) =>
  JSON.stringify({ order_id: id, customer: { address: { city } }, items, ...extra }) + "\n";

test("merge mode: flattened orders land once per key, the later duplicate wins, the view answers",
  { timeout: 90000 }, async () => {
    const dir = makeTempDir("wh-merge");
    const dataDir = path.join(dir, "data");
    const dsnFile = path.join(dir, "dsn");
    fs.writeFileSync(dsnFile, pg.dsn() + "\n", { mode: 0o600 });
    const config = writeConfig(dir, dataDir, "orders", `
    processors:
      - flatten: {explode: items, separator: "_"}
      - schema:
          columns:
            - {name: order_id, type: bigint, required: true}
            - {name: line_no, source: items.line, type: integer, required: true}
            - {name: city, source: customer.address.city, type: text}
            - {name: sku, source: items.sku, type: text, required: true}
            - {name: qty, source: items.qty, type: integer, required: true}
            - {name: unit_price, source: items.unit_price, type: "numeric(10,2)", required: true}
      - rules:
          - {drop_if: "sku == 'TEST'"}
          - {fail_if: "qty <= 0", message: "quantity must be positive"}
          - {set: line_total, expr: "string.format('%.2f', qty * tonumber(unit_price))"}
    format: {csv: {header: true}}
    warehouse:
      engine: postgres
      dsn: "\${secret:file:${dsnFile}}"
      table: orders
      mode: merge
      key: [order_id, line_no]
      create_table: true
      retry_duration_s: 120
      views:
        order_units: "SELECT order_id, sum(qty) AS units FROM orders GROUP BY order_id"`, { intervalS: 1 });
    const server = new SluiceServer(dataDir, ["--config", config]);
    const endpoint = await server.start();
    try {
      await put(endpoint, "orders", [
        order(1, "Zürich", [{ line: 1, sku: "A", qty: 2, unit_price: "1.50" },
          { line: 2, sku: "B,\"x\"", qty: 1, unit_price: "2.00" }]),
        order(2, "Oslo", [{ line: 1, sku: "C", qty: 5, unit_price: "0.10" }]),
        order(3, "Lyon", [{ line: 1, sku: "TEST", qty: 1, unit_price: "1" }]),  // dropped by a rule
        order(4, "Rome", [{ line: 1, sku: "E", qty: 0, unit_price: "1" }]),     // fails a rule
      ]);
      await waitFor(async () => (await rowsOrNull("SELECT count(*) FROM orders"))?.[0][0] === "3", 30000,
        "the first batch's 3 rows in PostgreSQL", () => `stderr:\n${server.stderr}`);
      // Second batch: order 1 re-sent with a changed qty on line 2 (merge replaces the row) and
      // order 5 twice in the same batch (the later arrival wins).
      await put(endpoint, "orders", [
        order(5, "Bern", [{ line: 1, sku: "D", qty: 1, unit_price: "3.00" }]),
        order(1, "Zürich", [{ line: 1, sku: "A", qty: 2, unit_price: "1.50" },
          { line: 2, sku: "B,\"x\"", qty: 3, unit_price: "2.00" }]),
        order(5, "Bern", [{ line: 1, sku: "D", qty: 7, unit_price: "3.00" }]),
      ]);
    } finally {
      const { code } = await server.stop();
      assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
    }
    assert.deepEqual(await pg.psql(
      "SELECT order_id, line_no, city, sku, qty, unit_price, line_total FROM orders ORDER BY order_id, line_no"), [
      ["1", "1", "Zürich", "A", "2", "1.50", "3.00"],
      ["1", "2", "Zürich", "B,\"x\"", "3", "2.00", "6.00"],
      ["2", "1", "Oslo", "C", "5", "0.10", "0.50"],
      ["5", "1", "Bern", "D", "7", "3.00", "21.00"],
    ]);
    assert.deepEqual(await pg.psql("SELECT order_id, units FROM order_units ORDER BY order_id"),
      [["1", "5"], ["2", "5"], ["5", "7"]]);
    assert.deepEqual(await pg.psql(
      "SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position"),
    [["bigint"], ["integer"], ["text"], ["text"], ["integer"], ["numeric"], ["text"]]);
    assert.deepEqual(await pg.psql("SELECT count(*) FROM sluice_load_ledger"), [["2"]], "one ledger row per batch");
    const failed = listFiles(path.join(dataDir, "buckets", "failed"));
    assert.equal(failed.length, 1, `one processing-failed object: ${failed}`);
    assert.match(failed[0], /orders\/processing-failed\//);
    assertNoSecret(server, dataDir, pg.password);
    fs.rmSync(dir, { recursive: true, force: true });
  });

test("a DSN from ${secret:exec:/bin/cat file} loads and never shows the password", { timeout: 60000 }, async () => {
  const dir = makeTempDir("wh-exec");
  const dataDir = path.join(dir, "data");
  const dsnFile = path.join(dir, "dsn.txt");
  fs.writeFileSync(dsnFile, pg.dsn() + "\n", { mode: 0o600 });
  const config = writeConfig(dir, dataDir, "events", `
    processors:
      - schema:
          columns:
            - {name: id, type: bigint, required: true}
            - {name: name, type: text}
    format: {csv: {header: false}}
    warehouse:
      engine: postgres
      dsn: "\${secret:exec:/bin/cat ${dsnFile}}"
      table: events
      mode: append
      key: [id]
      create_table: true`);
  const server = new SluiceServer(dataDir, ["--config", config]);
  const endpoint = await server.start();
  try {
    await put(endpoint, "events", ['{"id":1,"name":"one"}\n', '{"id":2,"name":""}\n', '{"id":3}\n']);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
  }
  // '' stays an empty string, a missing field is NULL.
  assert.deepEqual(await pg.psql("SELECT id, coalesce(name, '<null>') FROM events ORDER BY id"),
    [["1", "one"], ["2", ""], ["3", "<null>"]]);
  assertNoSecret(server, dataDir, pg.password);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a row rejected by a CHECK constraint goes to warehouse-failed output; the rest of the batch loads",
  { timeout: 60000 }, async () => {
    await pg.psql("CREATE TABLE poison (id bigint, qty integer CONSTRAINT poison_qty_small CHECK (qty < 100), " +
      "note text); ALTER TABLE poison OWNER TO sluice");
    const dir = makeTempDir("wh-poison");
    const dataDir = path.join(dir, "data");
    process.env.SLUICE_TEST_WH_DSN = pg.dsn();
    const config = writeConfig(dir, dataDir, "poison", `
    processors:
      - schema:
          columns:
            - {name: id, type: bigint, required: true}
            - {name: qty, type: integer, required: true}
            - {name: note, type: text}
    format: jsonl
    warehouse:
      engine: postgres
      dsn: "\${secret:env:SLUICE_TEST_WH_DSN}"
      table: poison
      mode: append
      create_table: false`);
    const records = [
      '{"id":1,"qty":5,"note":"a"}\n',
      '{"id":2,"qty":500,"note":"poison \\u00e9"}\n',
      '{"id":3,"qty":7,"note":"b"}\n',
      '{"id":4,"qty":9}\n',
    ];
    const server = new SluiceServer(dataDir, ["--config", config]);
    const endpoint = await server.start();
    try {
      await put(endpoint, "poison", records);
    } finally {
      const { code } = await server.stop();
      delete process.env.SLUICE_TEST_WH_DSN;
      assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
    }
    assert.deepEqual(await pg.psql("SELECT id, qty, coalesce(note, '<null>') FROM poison ORDER BY id"),
      [["1", "5", "a"], ["3", "7", "b"], ["4", "9", "<null>"]]);
    const failed = listFiles(path.join(dataDir, "buckets", "failed"));
    assert.equal(failed.length, 1, `one error object: ${failed}`);
    assert.match(path.relative(path.join(dataDir, "buckets", "failed"), failed[0]), /^poison\/warehouse-failed\//);
    const errors = fs.readFileSync(failed[0], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0].errorCode, "Warehouse.DataError");
    assert.match(errors[0].errorMessage, /violates check constraint "poison_qty_small"/);
    assert.equal(Buffer.from(errors[0].rawData, "base64").toString(), records[1], "rawData holds the original bytes");
    assertNoSecret(server, dataDir, pg.password);
    fs.rmSync(dir, { recursive: true, force: true });
  });

test("PostgreSQL down while sluice runs: the batch is retried, loads once, leaves no staging table",
  { timeout: 120000 }, async () => {
    const dir = makeTempDir("wh-outage");
    const dataDir = path.join(dir, "data");
    const dsnFile = path.join(dir, "dsn");
    fs.writeFileSync(dsnFile, pg.dsn());
    const config = writeConfig(dir, dataDir, "outage", `
    processors:
      - schema:
          columns:
            - {name: id, type: bigint, required: true}
            - {name: v, type: text}
    format: {csv: {header: false}}
    warehouse:
      engine: postgres
      dsn: "\${secret:file:${dsnFile}}"
      table: outage
      mode: merge
      key: [id]
      create_table: true
      retry_duration_s: 300`, { intervalS: 1 });
    const server = new SluiceServer(dataDir, ["--config", config]);
    const endpoint = await server.start();
    const staged = () => listFiles(path.join(dataDir, "buckets", "staging")).length;
    try {
      await put(endpoint, "outage", [1, 2, 3].map((i) => `{"id":${i},"v":"before"}\n`));
      await waitFor(async () => (await rowsOrNull("SELECT count(*) FROM outage"))?.[0][0] === "3", 30000,
        "the first batch in PostgreSQL", () => `stderr:\n${server.stderr}`);
      await pg.stop();
      try {
        await put(endpoint, "outage", [4, 5, 6].map((i) => `{"id":${i},"v":"during"}\n`));
        // The staged object is written before the load; then loads fail and are retried.
        await waitFor(() => staged() === 2, 30000, "the second batch's staged object",
          () => `stderr:\n${server.stderr}`);
        await waitFor(() => /outage.*failed \(attempt 2\)/.test(server.stderr), 30000,
          "a retried warehouse load in stderr", () => `stderr:\n${server.stderr}`);
      } finally {
        await pg.start();
      }
      await waitFor(async () => (await pg.psql("SELECT count(*) FROM outage"))[0][0] === "6", 60000,
        "the second batch in PostgreSQL after the restart", () => `stderr:\n${server.stderr}`);
    } finally {
      const { code } = await server.stop();
      assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
    }
    assert.deepEqual(await pg.psql("SELECT id, v, count(*) OVER (PARTITION BY id) FROM outage ORDER BY id"), [
      ["1", "before", "1"], ["2", "before", "1"], ["3", "before", "1"],
      ["4", "during", "1"], ["5", "during", "1"], ["6", "during", "1"],
    ]);
    assert.equal(staged(), 2, "two batches staged");
    assert.deepEqual(await pg.psql("SELECT count(*) FROM pg_class WHERE relpersistence = 't'"), [["0"]],
      "temporary tables left in any session");
    assert.deepEqual(await pg.psql(
      "SELECT schemaname || '.' || tablename FROM pg_tables WHERE tablename ILIKE '%stag%'"), [],
    "staging tables left behind");
    assertNoSecret(server, dataDir, pg.password);
    fs.rmSync(dir, { recursive: true, force: true });
  });
