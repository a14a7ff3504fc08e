// Firehose API compatibility with the real AWS SDK for JavaScript v3 against `sluice serve`:
// control plane shapes, PutRecord/PutRecordBatch, delivered objects read back byte for byte,
// SDK error names, restart survival, and `sluice put` end to end.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test firehose.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  CreateDeliveryStreamCommand, DeleteDeliveryStreamCommand, DescribeDeliveryStreamCommand,
  FirehoseClient, ListDeliveryStreamsCommand, PutRecordBatchCommand, PutRecordCommand,
} from "@aws-sdk/client-firehose";

import { listFiles, makeTempDir, runPut, SluiceServer, waitFor } from "./sluice_harness.mjs";

const kBucket = "compat-bucket";
const kStream = "compat-orders";  // Prefix "orders/", records from the SDK
const kPutStream = "compat-put";  // default prefix, records from `sluice put`
const kDoomed = "compat-doomed";  // created and deleted
const kCreds = { accessKeyId: "AKIDCOMPAT", secretAccessKey: "compat-secret" };

let dataDir;
let server;
let client;
const sent = { [kStream]: [], [kPutStream]: [] };  // records acknowledged, in order

function newClient(endpoint) {
  return new FirehoseClient({ endpoint, region: "us-east-1", credentials: kCreds, maxAttempts: 1 });
}

function s3Config(extra = {}) {
  return {
    RoleARN: "arn:aws:iam::123456789012:role/firehose-compat",
    BucketARN: `arn:aws:s3:::${kBucket}`,
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    ...extra,
  };
}

// `{"seq":N,...}\n` records; the seq orders objects when several were delivered.
function record(stream, seq, payload = "") {
  return Buffer.from(`{"stream":"${stream}","seq":${seq}${payload}}\n`);
}

function seqOf(buffer) {
  const m = /"seq":(\d+)/.exec(buffer.subarray(0, 200).toString("latin1"));
  return m ? Number(m[1]) : -1;
}

// The delivered objects of one stream (file names contain "<stream>-<version>-"), excluding
// error output, ordered by the seq of their first record.
function deliveredObjects(stream) {
  const root = path.join(dataDir, "buckets", kBucket);
  return listFiles(root)
    .map((file) => ({ key: path.relative(root, file), file }))
    .filter(({ key }) => path.basename(key).startsWith(`${stream}-`) && !key.startsWith("errors/"))
    .map((o) => ({ ...o, data: fs.readFileSync(o.file) }))
    .sort((a, b) => seqOf(a.data) - seqOf(b.data));
}

// Waits until the delivered bytes of `stream` are at least as long as what was acknowledged,
// then checks they are exactly the acknowledged records, concatenated in order.
async function expectDelivered(stream, timeoutMs = 20000) {
  const expected = Buffer.concat(sent[stream]);
  const total = () => deliveredObjects(stream).reduce((n, o) => n + o.data.length, 0);
  await waitFor(() => total() >= expected.length, timeoutMs,
    `${expected.length} delivered bytes of stream ${stream}`,
    () => `have ${total()} bytes in ${JSON.stringify(deliveredObjects(stream).map((o) => o.key))}`);
  const objects = deliveredObjects(stream);
  const actual = Buffer.concat(objects.map((o) => o.data));
  assert.equal(actual.length, expected.length, "delivered size differs from acknowledged size");
  assert.ok(actual.equals(expected), "delivered bytes differ from the acknowledged records");
  return objects;
}

async function expectError(promise, name, status = 400) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`);
    assert.equal(err.$metadata?.httpStatusCode, status);
    return true;
  });
}

before(async () => {
  dataDir = makeTempDir("compat");
  server = new SluiceServer(dataDir);
  client = newClient(await server.start());
});

after(async () => {
  client?.destroy();
  if (server?.child) await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test("CreateDeliveryStream returns the stream ARN", async () => {
  const out = await client.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: kStream,
    DeliveryStreamType: "DirectPut",
    ExtendedS3DestinationConfiguration: s3Config({
      Prefix: "orders/", ErrorOutputPrefix: "errors/!{firehose:error-output-type}/",
    }),
  }));
  assert.match(out.DeliveryStreamARN, /^arn:aws:firehose:[a-z0-9-]+:\d{12}:deliverystream\/compat-orders$/);
  for (const name of [kPutStream, kDoomed]) {
    await client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: name, DeliveryStreamType: "DirectPut",
      ExtendedS3DestinationConfiguration: s3Config(),
    }));
  }
});

test("CreateDeliveryStream of an existing name is ResourceInUseException", async () => {
  await expectError(client.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: kStream, DeliveryStreamType: "DirectPut",
    ExtendedS3DestinationConfiguration: s3Config(),
  })), "ResourceInUseException");
});

async function describe(name) {
  return (await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })))
    .DeliveryStreamDescription;
}

async function checkDescription() {
  const d = await waitFor(async () => {
    const desc = await describe(kStream);
    return desc.DeliveryStreamStatus === "ACTIVE" ? desc : null;
  }, 10000, `${kStream} to become ACTIVE`);
  assert.equal(d.DeliveryStreamName, kStream);
  assert.match(d.DeliveryStreamARN, /:deliverystream\/compat-orders$/);
  assert.equal(d.DeliveryStreamType, "DirectPut");
  assert.match(d.VersionId, /^\d{1,50}$/);
  assert.ok(d.CreateTimestamp instanceof Date && !Number.isNaN(d.CreateTimestamp.getTime()),
    `CreateTimestamp ${d.CreateTimestamp}`);
  assert.equal(d.HasMoreDestinations, false);
  assert.equal(d.Destinations.length, 1);
  assert.match(d.Destinations[0].DestinationId, /^[a-zA-Z0-9-]+$/);
  const s3 = d.Destinations[0].ExtendedS3DestinationDescription;
  assert.ok(s3, `no ExtendedS3DestinationDescription in ${JSON.stringify(d.Destinations[0])}`);
  assert.equal(s3.BucketARN, `arn:aws:s3:::${kBucket}`);
  assert.equal(s3.RoleARN, "arn:aws:iam::123456789012:role/firehose-compat");
  assert.equal(s3.Prefix, "orders/");
  assert.equal(s3.ErrorOutputPrefix, "errors/!{firehose:error-output-type}/");
  assert.deepEqual(s3.BufferingHints, { SizeInMBs: 1, IntervalInSeconds: 1 });
  assert.equal(s3.CompressionFormat, "UNCOMPRESSED");
  assert.ok(s3.EncryptionConfiguration, "EncryptionConfiguration is required in the output");
  return d;
}

test("DescribeDeliveryStream has the documented shape", async () => {
  await checkDescription();
});

test("ListDeliveryStreams lists names alphabetically and pages with Limit", async () => {
  const all = await client.send(new ListDeliveryStreamsCommand({}));
  assert.deepEqual(all.DeliveryStreamNames, [kDoomed, kStream, kPutStream]);
  assert.equal(all.HasMoreDeliveryStreams, false);
  const first = await client.send(new ListDeliveryStreamsCommand({ Limit: 1 }));
  assert.deepEqual(first.DeliveryStreamNames, [kDoomed]);
  assert.equal(first.HasMoreDeliveryStreams, true);
  const rest = await client.send(new ListDeliveryStreamsCommand({
    ExclusiveStartDeliveryStreamName: kDoomed,
  }));
  assert.deepEqual(rest.DeliveryStreamNames, [kStream, kPutStream]);
});

test("PutRecord acknowledges with a RecordId", async () => {
  for (let seq = 0; seq < 3; ++seq) {
    const data = record(kStream, seq, ',"text":"caf\u00e9 \u2713 \\"quoted\\""');
    const out = await client.send(new PutRecordCommand({
      DeliveryStreamName: kStream, Record: { Data: data },
    }));
    assert.equal(typeof out.RecordId, "string");
    assert.ok(out.RecordId.length > 0);
    sent[kStream].push(data);
  }
});

test("PutRecordBatch acknowledges every record in request order", async () => {
  let seq = 3;
  for (let call = 0; call < 3; ++call) {
    const records = [];
    for (let i = 0; i < 500; ++i, ++seq) {
      // Arbitrary bytes (no newline) inside some records: Firehose treats Data as a blob.
      const extra = seq % 50 === 0 ? `,"bin":"${Buffer.from([0, 1, 0x7f, 0xc3]).toString("latin1")}"` : "";
      records.push(record(kStream, seq, extra + ',"pad":"' + "p".repeat(seq % 97) + '"'));
    }
    const out = await client.send(new PutRecordBatchCommand({
      DeliveryStreamName: kStream, Records: records.map((Data) => ({ Data })),
    }));
    assert.equal(out.FailedPutCount, 0);
    assert.equal(out.RequestResponses.length, 500);
    const ids = new Set();
    for (const entry of out.RequestResponses) {
      assert.equal(typeof entry.RecordId, "string");
      assert.equal(entry.ErrorCode, undefined);
      ids.add(entry.RecordId);
    }
    assert.equal(ids.size, 500, "RecordIds are unique");
    sent[kStream].push(...records);
  }
});

test("delivered objects hold the records byte for byte under Firehose's key layout", async () => {
  const objects = await expectDelivered(kStream);
  const version = (await describe(kStream)).VersionId;
  for (const { key } of objects) {
    // A Prefix without a timestamp expression gets the default yyyy/MM/dd/HH/ appended.
    assert.match(key, new RegExp(
      `^orders/\\d{4}/\\d{2}/\\d{2}/\\d{2}/${kStream}-${version}-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[A-Za-z0-9-]+$`),
    `object key ${key}`);
  }
});

test("an unknown stream is ResourceNotFoundException", async () => {
  await expectError(client.send(new PutRecordCommand({
    DeliveryStreamName: "no-such-stream", Record: { Data: Buffer.from("x\n") },
  })), "ResourceNotFoundException");
  await expectError(client.send(new PutRecordBatchCommand({
    DeliveryStreamName: "no-such-stream", Records: [{ Data: Buffer.from("x\n") }],
  })), "ResourceNotFoundException");
  await expectError(client.send(new DescribeDeliveryStreamCommand({
    DeliveryStreamName: "no-such-stream",
  })), "ResourceNotFoundException");
});

test("501 records in one PutRecordBatch is ValidationException", async () => {
  const records = Array.from({ length: 501 }, (_, i) => ({ Data: Buffer.from(`{"x":${i}}\n`) }));
  await expectError(client.send(new PutRecordBatchCommand({
    DeliveryStreamName: kStream, Records: records,
  })), "ValidationException");
});

test("a record of 1,001 KiB is ValidationException", async () => {
  const big = Buffer.alloc(1001 * 1024, 0x61);
  await expectError(client.send(new PutRecordCommand({
    DeliveryStreamName: kStream, Record: { Data: big },
  })), "ValidationException");
  await expectError(client.send(new PutRecordBatchCommand({
    DeliveryStreamName: kStream, Records: [{ Data: Buffer.from("ok\n") }, { Data: big }],
  })), "ValidationException");
});

test("malformed JSON is SerializationException with a request id", async () => {
  const res = await fetch(server.endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "Firehose_20150804.PutRecord",
    },
    body: '{"DeliveryStreamName": "compat-orders", "Record": {"Data": ',
  });
  assert.equal(res.status, 400);
  assert.ok(res.headers.get("x-amzn-requestid"), "x-amzn-RequestId header");
  const body = await res.json();
  assert.equal(body.__type.replace(/^.*#/, "").replace(/:.*$/, ""), "SerializationException");
  assert.equal(typeof body.message, "string");
});

test("sluice put delivers a file's lines to a stream", async () => {
  const lines = Array.from({ length: 1200 }, (_, i) => record(kPutStream, i, ',"via":"put"'));
  const file = path.join(dataDir, "put-input.ndjson");
  fs.writeFileSync(file, Buffer.concat(lines));
  const { code, stderr } = await runPut(["--stream", kPutStream, "--endpoint", server.endpoint,
    file], { env: { AWS_ACCESS_KEY_ID: kCreds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: kCreds.secretAccessKey } });
  assert.equal(code, 0, stderr);
  assert.match(stderr, /delivered 1,200 records/);
  sent[kPutStream].push(...lines);
  const objects = await expectDelivered(kPutStream);
  for (const { key } of objects) {
    assert.match(key, new RegExp(
      `^\\d{4}/\\d{2}/\\d{2}/\\d{2}/${kPutStream}-\\d+-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[A-Za-z0-9-]+$`),
    `object key ${key}`);
  }
});

test("sluice put to an unknown stream exits non-zero naming the error", async () => {
  const { code, stderr } = await runPut(["--stream", "no-such-stream", "--endpoint",
    server.endpoint], { input: '{"a":1}\n{"a":2}\n' });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /2 of 2 records were NOT delivered/);
  assert.match(stderr, /ResourceNotFoundException/);
});

test("DeleteDeliveryStream removes the stream", async () => {
  await client.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: kDoomed }));
  await waitFor(async () => {
    try {
      await describe(kDoomed);
      return false;
    } catch (err) {
      if (err.name === "ResourceNotFoundException") return true;
      throw err;
    }
  }, 10000, `${kDoomed} to be deleted`);
  const list = await client.send(new ListDeliveryStreamsCommand({}));
  assert.deepEqual(list.DeliveryStreamNames, [kStream, kPutStream]);
  await expectError(client.send(new DeleteDeliveryStreamCommand({
    DeliveryStreamName: kDoomed,
  })), "ResourceNotFoundException");
});

test("SIGTERM exits 0 and API-created streams survive a restart", async () => {
  const stopped = await server.stop();
  assert.deepEqual(stopped, { code: 0, signal: null }, `stderr:\n${server.stderr}`);
  client.destroy();
  client = newClient(await server.start());
  const list = await client.send(new ListDeliveryStreamsCommand({}));
  assert.deepEqual(list.DeliveryStreamNames, [kStream, kPutStream]);
  await checkDescription();
  // The stream still takes and delivers records after the restart.
  const data = record(kStream, 100000, ',"after":"restart"');
  const out = await client.send(new PutRecordCommand({
    DeliveryStreamName: kStream, Record: { Data: data },
  }));
  assert.ok(out.RecordId);
  sent[kStream].push(data);
  await expectDelivered(kStream);
  const final = await server.stop();
  assert.deepEqual(final, { code: 0, signal: null }, `stderr:\n${server.stderr}`);
});
