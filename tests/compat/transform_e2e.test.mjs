// End to end through `sluice serve`: the AWS SDK puts nested order JSON into a stream with
// flatten + schema + rules and CSV output; after SIGTERM (which flushes), the staged, raw and
// failed folders must hold exactly the expected rows, the original bytes, and one Firehose error
// record per failed record.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { SluiceServer, listFiles, makeTempDir } from "./sluice_harness.mjs";

function writeConfig(dir) {
  const b = path.join(dir, "buckets");
  const config = `
delivery_streams:
  - name: orders
    buffering: {size_mb: 5, interval_s: 900}
    processors:
      - flatten: {explode: items, separator: "_"}
      - schema:
          columns:
            - {name: order_id, type: bigint, required: true}
            - {name: line, source: items.line, type: integer, required: true}
            - {name: city, source: customer.address.city, type: text}
            - {name: sku, source: items.sku, type: text}
            - {name: qty, source: items.qty, type: integer, required: true}
      - rules:
          - {drop_if: "sku == 'TEST'"}
          - {fail_if: "qty <= 0", message: "quantity must be positive"}
    format: {csv: {header: true}}
    staged: {url: "file://${b}/staging", prefix: "orders/"}
    raw: {url: "file://${b}/raw", prefix: "raw/"}
    errors: {url: "file://${b}/failed", prefix: "orders/!{firehose:error-output-type}/"}
`;
  const file = path.join(dir, "sluice.yaml");
  fs.writeFileSync(file, config);
  return file;
}

const records = [
  { order_id: 1, customer: { address: { city: "Zürich" } }, items: [{ line: 1, sku: "A,1", qty: 2 }, { line: 2, sku: 'B"2', qty: 1 }] },
  { order_id: 2, customer: { address: { city: "Lyon" } }, items: [{ line: 1, sku: "TEST", qty: 1 }] },          // dropped
  { order_id: 3, customer: { address: { city: "Oslo" } }, items: [{ line: 1, sku: "C", qty: 0 }] },             // fails a rule
  { order_id: "x", items: [{ line: 1, sku: "D", qty: 1 }] },                                                   // fails the schema
].map((r) => JSON.stringify(r) + "\n");
records.push('{"order_id": 5, "items": [\n');                                                                // invalid JSON

test("staged rows, raw copy and processing-failed records land where the config says", async () => {
  const dir = makeTempDir("transform-e2e");
  const server = new SluiceServer(path.join(dir, "data"), ["--config", writeConfig(dir)]);
  const endpoint = await server.start();
  try {
    const client = new FirehoseClient({
      endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    });
    const res = await client.send(new PutRecordBatchCommand({
      DeliveryStreamName: "orders", Records: records.map((r) => ({ Data: Buffer.from(r) })),
    }));
    assert.equal(res.FailedPutCount, 0);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
  }
  const b = path.join(dir, "buckets");
  const staged = listFiles(path.join(b, "staging"));
  assert.equal(staged.length, 1, `one staged object: ${staged}`);
  assert.match(path.relative(path.join(b, "staging"), staged[0]), /^orders\/\d{4}\/\d\d\/\d\d\/\d\d\/orders-1-/);
  assert.equal(fs.readFileSync(staged[0], "utf8"),
    'order_id,line,city,sku,qty\n1,1,Zürich,"A,1",2\n1,2,Zürich,"B""2",1\n');

  const raw = listFiles(path.join(b, "raw"));
  assert.equal(raw.length, 1);
  assert.equal(fs.readFileSync(raw[0], "utf8"), records.join(""), "raw backup holds every record as sent");

  const failed = listFiles(path.join(b, "failed"));
  assert.equal(failed.length, 1);
  assert.match(path.relative(path.join(b, "failed"), failed[0]), /^orders\/processing-failed\/\d{4}\//);
  const errors = fs.readFileSync(failed[0], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(errors.map((e) => e.errorCode),
    ["Rules.FailIf", "Schema.ConversionFailed", "Transform.InvalidJson"]);
  assert.deepEqual(errors.map((e) => Buffer.from(e.rawData, "base64").toString()),
    [records[2], records[3], records[4]], "rawData is the original record");
  for (const e of errors) {
    assert.equal(e.attemptsMade, 1);
    assert.equal(typeof e.arrivalTimestamp, "number");
    assert.ok(e.attemptEndingTimestamp >= e.arrivalTimestamp);
    assert.ok(e.errorMessage.length > 0);
  }
  assert.equal(errors[0].errorMessage, "quantity must be positive");
});
