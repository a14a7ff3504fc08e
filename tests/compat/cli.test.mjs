// The `sluice` command line: check-config (validation with file:line, secrets redacted),
// transform (dry run of a stream's processors), and --help on every command.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { makeTempDir, sluiceBin, SluiceServer } from "./sluice_harness.mjs";

const run = (args, input) => spawnSync(sluiceBin(), args, { input, encoding: "utf8", timeout: 30000 });
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

test("check-config prints the setup and never a password", () => {
  const dir = makeTempDir("cli");
  const file = path.join(dir, "c.yaml");
  fs.writeFileSync(file, `
delivery_streams:
  - name: orders
    processors:
      - schema: {columns: [{name: id, type: bigint}]}
    format: csv
    warehouse: {engine: postgres, dsn: "host=db user=u password=hunter2secret", table: t, mode: append}
`);
  const r = run(["check-config", file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /warehouse: postgres table t, mode append/);
  assert.match(r.stdout, /password=\*\*\*\*/);
  assert.ok(!(r.stdout + r.stderr).includes("hunter2secret"));
});

test("check-config names file:line and the allowed values for a bad value", () => {
  const dir = makeTempDir("cli");
  const file = path.join(dir, "c.yaml");
  fs.writeFileSync(file, "delivery_streams:\n  - name: a\n    compression: LZ4\n");
  const r = run(["check-config", file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /c\.yaml:3: 'compression' must be one of UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY, ZSTD, got 'LZ4'/);
});

test("check-config rejects an unknown processor with the allowed list", () => {
  const dir = makeTempDir("cli");
  const file = path.join(dir, "c.yaml");
  fs.writeFileSync(file, "delivery_streams:\n  - name: a\n    processors:\n      - flaten: {}\n");
  const r = run(["check-config", file]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown processor type "flaten"; allowed: flatten, schema/);
});

test("transform runs the orders example's processors and reports each failure", () => {
  const r = run(["transform", "--config", path.join(repo, "examples/orders/sluice.yaml"), "--stream", "orders",
    path.join(repo, "examples/orders/orders.jsonl")]);
  assert.equal(r.status, 1, "some sample records fail the rules on purpose");
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines[0], "order_id,line_no,ordered_at,status,customer_id,customer_email,ship_city,ship_country,sku,qty,unit_price,currency,line_total");
  assert.equal(lines.length - 1, 62, "62 line-item rows from 31 Ok orders");
  assert.match(r.stderr, /line 11: Rules\.FailIf: quantity must be positive/);
  assert.match(r.stderr, /line 23: Schema\.ConversionFailed: column "order_id" \(bigint\): cannot convert "not-a-number"/);
  assert.match(r.stderr, /41 records: 31 Ok, 3 Dropped, 7 ProcessingFailed/);
});

test("every command has --help", () => {
  for (const cmd of [[], ["serve"], ["put"], ["streams"], ["streams", "create"], ["streams", "list"], ["streams", "describe"], ["streams", "delete"], ["tail"], ["transform"], ["replay"], ["check-config"]]) {
    const r = run([...cmd, "--help"]);
    assert.equal(r.status, 0, `${cmd.join(" ")} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage|Options/i);
  }
});

test("serve --log-format json writes one JSON object per line", async () => {
  const server = new SluiceServer(path.join(makeTempDir("cli"), "data"), ["--log-format", "json"]);
  await server.start();
  const { code } = await server.stop();
  assert.equal(code, 0);
  const lines = server.stderr.trim().split("\n");
  assert.ok(lines.length >= 2, server.stderr);
  for (const line of lines) {
    const event = JSON.parse(line);
    assert.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof event.level, "string");
    assert.equal(typeof event.msg, "string");
  }
  assert.ok(lines.some((l) => JSON.parse(l).msg.startsWith("sluice listening on 127.0.0.1:")));
});

test("serve refuses a journal damaged before its tail and --repair-journal recovers it", async () => {
  const data = path.join(makeTempDir("cli"), "data");
  const first = new SluiceServer(data);
  const endpoint = await first.start();
  // "r" is no valid bucket name (3-63 characters), and the default bucket is the stream's name.
  const noBucket = run(["streams", "create", "r", "--endpoint", endpoint, "--interval-s", "900"]);
  assert.equal(noBucket.status, 2);
  assert.match(noBucket.stderr, /bucket name 'r' is not valid: .*give --bucket NAME/);
  const created = run(["streams", "create", "r", "--bucket", "r-bucket", "--endpoint", endpoint,
    "--interval-s", "900"]);
  assert.equal(created.status, 0, created.stderr);
  const put = run(["put", "--stream", "r", "--endpoint", endpoint, "--no-progress"], "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  assert.equal(put.status, 0, put.stderr);
  await first.kill9();  // nothing delivered: the records are only in the journal
  const segment = path.join(data, "journal/streams/r/0/00000000000000000000.log");
  const bytes = fs.readFileSync(segment);
  bytes[32 + 28 + 2] ^= 0xff;  // inside the first record's payload: valid frames follow
  fs.writeFileSync(segment, bytes);
  const refused = spawnSync(sluiceBin(), ["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", data],
    { encoding: "utf8", timeout: 30000 });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /followed by valid frames.*--repair-journal/);
  const repaired = new SluiceServer(data, ["--repair-journal"]);
  await repaired.start();
  const { code } = await repaired.stop();
  assert.equal(code, 0, repaired.stderr);
  assert.match(repaired.stderr, /repaired: truncated at byte 32/);
});
