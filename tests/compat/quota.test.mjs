// The disk quota for undelivered data: when it is reached, records are refused per record with
// ServiceUnavailableException "Slow down." (PutRecord: the whole call, HTTP 503), and every record
// that was acknowledged is still delivered.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FirehoseClient, PutRecordBatchCommand, PutRecordCommand } from "@aws-sdk/client-firehose";
import { SluiceServer, listFiles, makeTempDir } from "./sluice_harness.mjs";

test("a full quota refuses records with Slow down. and loses nothing acknowledged", async () => {
  const dir = makeTempDir("quota");
  const config = path.join(dir, "sluice.yaml");
  const bucket = path.join(dir, "bucket");
  fs.writeFileSync(config, `
server: {quota_mb: 1}
delivery_streams:
  - name: q
    buffering: {size_mb: 128, interval_s: 900}
    staged: {url: "file://${bucket}"}
`);
  const server = new SluiceServer(path.join(dir, "data"), ["--config", config]);
  const endpoint = await server.start();
  const acked = [];
  let refused = 0;
  try {
    const client = new FirehoseClient({
      endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
      maxAttempts: 1,
    });
    const payload = "x".repeat(1000);
    let seq = 0;
    for (let call = 0; call < 10 && refused === 0; call++) {
      const records = [];
      for (let i = 0; i < 200; i++) records.push(`{"seq":${seq++},"p":"${payload}"}\n`);
      const res = await client.send(new PutRecordBatchCommand({
        DeliveryStreamName: "q", Records: records.map((r) => ({ Data: Buffer.from(r) })),
      }));
      res.RequestResponses.forEach((e, i) => {
        if (e.RecordId) {
          acked.push(records[i]);
        } else {
          refused++;
          assert.equal(e.ErrorCode, "ServiceUnavailableException");
          assert.equal(e.ErrorMessage, "Slow down.");
        }
      });
      assert.equal(res.FailedPutCount, res.RequestResponses.filter((e) => e.ErrorCode).length);
    }
    assert.ok(refused > 0, "1 MB quota must refuse some of 2 MB of records");
    assert.ok(acked.length > 0);
    await assert.rejects(
      client.send(new PutRecordCommand({ DeliveryStreamName: "q", Record: { Data: Buffer.from(`{"seq":-1,"p":"${"x".repeat(1000)}"}\n`) } })),
      (err) => err.name === "ServiceUnavailableException" && err.$metadata.httpStatusCode === 503);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, `exit code; stderr:\n${server.stderr}`);
  }
  const delivered = listFiles(bucket).map((f) => fs.readFileSync(f, "utf8")).join("");
  assert.equal(delivered, acked.join(""), "every acknowledged record is delivered, in order");
});
