// The admin listener: after known traffic — Firehose PutRecord and PutRecordBatch with records
// that fail processing, and a delivery stream whose destination is down — every counter and gauge
// of /metrics has its exact expected value, the exposition passes `promtool check metrics`, and
// /healthz and /readyz answer (503 once the disk quota is reached).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { FirehoseClient, PutRecordBatchCommand, PutRecordCommand } from "@aws-sdk/client-firehose";
import { SluiceServer, makeTempDir, waitFor } from "./sluice_harness.mjs";

// Parses the text exposition into {"name{labels}": value}.
function parseMetrics(text) {
  const out = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

async function scrape(server) {
  const res = await fetch(`${server.admin}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, m: parseMetrics(text) };
}

// A TCP port with nothing listening on it (bound, then closed).
async function deadPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  return port;
}

function client(endpoint) {
  return new FirehoseClient({
    endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    maxAttempts: 1,
  });
}

test("counters and gauges have their exact values after known traffic; promtool accepts them", async () => {
  const dir = makeTempDir("metrics");
  const b = path.join(dir, "buckets");
  const port = await deadPort();
  const config = path.join(dir, "sluice.yaml");
  fs.writeFileSync(config, `
delivery_streams:
  - name: orders
    buffering: {size_mb: 5, interval_s: 1}
    processors:
      - schema:
          columns:
            - {name: id, type: bigint, required: true}
            - {name: qty, type: integer, required: true}
      - rules:
          - {fail_if: "qty <= 0", message: "quantity must be positive"}
    format: {csv: {header: false}}
    staged: {url: "file://${b}/staging"}
    raw: {url: "file://${b}/raw"}
    errors: {url: "file://${b}/failed", prefix: "orders/!{firehose:error-output-type}/"}
  - name: down
    buffering: {size_mb: 5, interval_s: 1}
    retry_duration_s: 2
    staged: {url: "s3://landing", endpoint: "http://127.0.0.1:${port}", region: us-east-1, path_style: true}
    errors: {url: "file://${b}/down-failed"}
`);
  const server = new SluiceServer(path.join(dir, "data"), ["--config", config],
    { env: { AWS_ACCESS_KEY_ID: "K", AWS_SECRET_ACCESS_KEY: "S" } });
  const endpoint = await server.start();
  try {
    assert.ok(server.admin, "the admin listener is on");
    const fh = client(endpoint);
    // orders: 1 record by PutRecord (delivered first, its own object), then 9 by PutRecordBatch,
    // 3 of which fail the rule.
    const key = (name, labels) => `${name}{${labels}}`;
    const o = 'stream="orders",partition="0"';
    const d = 'stream="down",partition="0"';
    const one = `{"id":0,"qty":1}\n`;
    await fh.send(new PutRecordCommand({ DeliveryStreamName: "orders", Record: { Data: Buffer.from(one) } }));
    await waitFor(async () => (await scrape(server)).m['sluice_firehose_delivery_to_s3_object_count_total{stream="orders",partition="0"}'] === 1,
      20000, "the first object to be delivered", () => server.stderr);
    const batch = [];
    for (let i = 1; i <= 9; i++) batch.push(`{"id":${i},"qty":${i % 3 === 0 ? 0 : i}}\n`);
    const res = await fh.send(new PutRecordBatchCommand({
      DeliveryStreamName: "orders", Records: batch.map((r) => ({ Data: Buffer.from(r) })),
    }));
    assert.equal(res.FailedPutCount, 0);
    // down: 4 records; the store is unreachable, so after the retry duration they go to error
    // output as delivery-failed. Meanwhile their age shows as data freshness.
    const down = ["a", "b", "c", "d"].map((x) => `{"x":"${x}"}\n`);
    await fh.send(new PutRecordBatchCommand({
      DeliveryStreamName: "down", Records: down.map((r) => ({ Data: Buffer.from(r) })),
    }));
    await waitFor(async () => (await scrape(server)).m['sluice_firehose_delivery_to_s3_data_freshness_seconds{stream="down",partition="0"}'] > 0,
      20000, "down's data freshness to grow during the outage");

    const { m, text } = await waitFor(async () => {
      const s = await scrape(server);
      return s.m[key("sluice_firehose_delivery_to_s3_object_count_total", o)] === 2 &&
        s.m[key("sluice_firehose_error_output_records_total", 'stream="down",type="delivery-failed"')] === 4 &&
        // The checkpoint moves just after the error output is written.
        s.m[key("sluice_firehose_delivery_to_s3_data_freshness_seconds", d)] === 0
        ? s : null;
    }, 30000, "both orders objects, down's error output and its checkpoint", () => server.stderr);

    const bytes = (rs) => rs.reduce((n, r) => n + Buffer.byteLength(r), 0);
    const expected = {
      'sluice_firehose_incoming_records_total{stream="orders"}': 10,
      'sluice_firehose_incoming_bytes_total{stream="orders"}': bytes([one, ...batch]),
      'sluice_firehose_incoming_put_requests_total{stream="orders"}': 2,
      'sluice_firehose_throttled_records_total{stream="orders"}': 0,
      'sluice_firehose_incoming_records_total{stream="down"}': 4,
      'sluice_firehose_incoming_bytes_total{stream="down"}': bytes(down),
      'sluice_firehose_incoming_put_requests_total{stream="down"}': 1,
      [key("sluice_firehose_delivery_to_s3_records_total", o)]: 7,
      [key("sluice_firehose_delivery_to_s3_success_total", o)]: 2,
      [key("sluice_firehose_delivery_to_s3_object_count_total", o)]: 2,
      [key("sluice_firehose_delivery_to_s3_failures_total", o)]: 0,
      [key("sluice_firehose_delivery_to_s3_data_freshness_seconds", o)]: 0,
      [key("sluice_firehose_backup_to_s3_records_total", o)]: 10,
      [key("sluice_firehose_backup_to_s3_bytes_total", o)]: bytes([one, ...batch]),
      [key("sluice_firehose_backup_to_s3_success_total", o)]: 2,
      'sluice_firehose_succeed_processing_records_total{stream="orders"}': 7,
      'sluice_firehose_failed_processing_records_total{stream="orders"}': 3,
      'sluice_firehose_execute_processing_success_total{stream="orders"}': 2,
      'sluice_firehose_execute_processing_duration_seconds_count{stream="orders"}': 2,
      'sluice_firehose_error_output_records_total{stream="orders",type="processing-failed"}': 3,
      [key("sluice_firehose_delivery_to_s3_records_total", d)]: 0,
      [key("sluice_firehose_delivery_to_s3_success_total", d)]: 0,
      [key("sluice_firehose_delivery_to_s3_object_count_total", d)]: 0,
      [key("sluice_firehose_delivery_to_s3_data_freshness_seconds", d)]: 0,
      'sluice_firehose_error_output_records_total{stream="down",type="delivery-failed"}': 4,
      'sluice_http_requests_total{operation="PutRecord",status="200"}': 1,
      'sluice_http_requests_total{operation="PutRecordBatch",status="200"}': 2,
      'sluice_journal_quota_bytes': 10240 * 1024 * 1024,
      'sluice_firehose_delivery_streams': 2,
      'sluice_ready': 1,
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(m[k], v, `${k}\n${text}`);
    // The outage's failed attempts are retried (how many depends on the backoff's jitter).
    assert.ok(m[key("sluice_firehose_delivery_to_s3_failures_total", d)] >= 1, text);
    assert.equal(m['sluice_delivery_retries_total{stream="down",destination="s3"}'],
      m[key("sluice_firehose_delivery_to_s3_failures_total", d)]);
    assert.equal(m['sluice_http_request_duration_seconds_count{operation="PutRecordBatch"}'], 2);
    assert.ok(!text.includes("secret") && !text.includes('"S"'), "no credentials in /metrics");

    // promtool (Debian package prometheus) accepts the exposition.
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(check.error, undefined, "promtool must be installed (Debian package prometheus)");
    assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);

    const health = await fetch(`${server.admin}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${server.admin}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), "ready\n");
    assert.equal((await fetch(`${server.admin}/nope`)).status, 404);
    assert.equal((await fetch(`${server.admin}/metrics`, { method: "POST", body: "x" })).status, 405);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
  }
});

test("/readyz answers 503 naming the disk quota once it is reached; throttled records are counted", async () => {
  const dir = makeTempDir("metrics-quota");
  const config = path.join(dir, "sluice.yaml");
  fs.writeFileSync(config, `
server: {quota_mb: 1}
delivery_streams:
  - name: q
    buffering: {size_mb: 128, interval_s: 900}
    staged: {url: "file://${path.join(dir, "bucket")}"}
`);
  const server = new SluiceServer(path.join(dir, "data"), ["--config", config]);
  const endpoint = await server.start();
  try {
    assert.equal((await fetch(`${server.admin}/readyz`)).status, 200);
    const fh = client(endpoint);
    const payload = "x".repeat(1000);
    let refused = 0, acked = 0, ackedBytes = 0;
    for (let call = 0; call < 10 && refused === 0; call++) {
      const records = [];
      for (let i = 0; i < 200; i++) records.push(`{"n":${call * 200 + i},"p":"${payload}"}\n`);
      const res = await fh.send(new PutRecordBatchCommand({
        DeliveryStreamName: "q", Records: records.map((r) => ({ Data: Buffer.from(r) })),
      }));
      res.RequestResponses.forEach((e, i) => {
        if (e.RecordId) {
          acked++;
          ackedBytes += Buffer.byteLength(records[i]);
        } else {
          refused++;
        }
      });
    }
    assert.ok(refused > 0, "the quota was reached");
    const ready = await fetch(`${server.admin}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /^not ready: disk quota \(nearly\) reached: \d+ of 1048576 bytes undelivered/);
    assert.equal((await fetch(`${server.admin}/healthz`)).status, 200, "still live");
    const { m, text } = await scrape(server);
    assert.equal(m['sluice_firehose_throttled_records_total{stream="q"}'], refused, text);
    assert.equal(m['sluice_firehose_incoming_records_total{stream="q"}'], acked, text);
    assert.equal(m['sluice_firehose_incoming_bytes_total{stream="q"}'], ackedBytes, text);
    assert.equal(m.sluice_ready, 0);
    assert.ok(m.sluice_journal_quota_used_ratio >= 0.95, text);
  } finally {
    await server.stop();
  }
});

test("admin_listen off starts no admin listener", async () => {
  const dir = makeTempDir("metrics-off");
  const server = new SluiceServer(path.join(dir, "data"), ["--admin-listen", "off"]);
  await server.start();
  try {
    assert.equal(server.admin, null);
  } finally {
    await server.stop();
  }
});
