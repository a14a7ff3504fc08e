// Kinesis over CBOR, as the Java SDKs and the KCL speak it (application/x-amz-cbor-1.1), against
// a real `sluice serve`. Requests are encoded and responses decoded by the npm `cbor` package, an
// encoder independent of the server's libcbor: PutRecords with byte-string blobs,
// GetShardIterator AT_TIMESTAMP with a tag-1 millisecond timestamp (AWS's deviation from
// RFC 8949's seconds), GetRecords answering byte strings and tag-1 ms arrival times, a service
// error and a malformed body both answered as CBOR.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import cbor from "cbor";

import { makeTempDir, SluiceServer } from "./sluice_harness.mjs";

const CBOR = "application/x-amz-cbor-1.1";
let server;
let endpoint;

before(async () => {
  server = new SluiceServer(makeTempDir("cbor"));
  endpoint = await server.start();
});

after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
});

async function post(op, body, contentType = CBOR) {
  const res = await fetch(endpoint + "/", {
    method: "POST",
    headers: { "Content-Type": contentType, "X-Amz-Target": `Kinesis_20131202.${op}` },
    body,
    signal: AbortSignal.timeout(10000),
  });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function call(op, fields) {
  const { res, bytes } = await post(op, cbor.encode(fields));
  assert.equal(res.headers.get("content-type"), CBOR, `${op}: content type`);
  assert.ok(res.headers.get("x-amzn-requestid"), "x-amzn-RequestId header");
  return { status: res.status, body: bytes.length ? cbor.decodeFirstSync(bytes) : {}, bytes };
}

// A tag-1 timestamp holding integer milliseconds, encoded as the Java SDK does (c1 1b <u64>).
function msTimestamp(ms) {
  return new cbor.Tagged(1, ms);  // an integer Number: cbor writes 1b + 8 bytes past 2^32
}

test("PutRecords, GetShardIterator AT_TIMESTAMP and GetRecords over CBOR", async () => {
  let r = await call("CreateStream", { StreamName: "cbor-s", ShardCount: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const before = Date.now() - 1000;
  const payloads = [Buffer.from([0, 1, 2, 255, 254]), Buffer.from("hello"), Buffer.alloc(0)];
  r = await call("PutRecords", { StreamName: "cbor-s",
    Records: payloads.map((Data, i) => ({ Data, PartitionKey: `k${i}` })) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.FailedRecordCount, 0);
  assert.equal(r.body.Records.length, 3);
  for (const rec of r.body.Records) assert.match(rec.SequenceNumber, /^\d{56}$/);

  r = await call("GetShardIterator", { StreamName: "cbor-s", ShardId: "shardId-000000000000",
    ShardIteratorType: "AT_TIMESTAMP", Timestamp: msTimestamp(before) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // The request really carried tag 1 + uint64 (c1 1b ...), not a float or seconds.
  assert.ok(cbor.encode(msTimestamp(before)).toString("hex").startsWith("c11b"));
  const iterator = r.body.ShardIterator;
  assert.ok(iterator.startsWith("AAAAAAAAAAE"));

  r = await call("GetRecords", { ShardIterator: iterator });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.Records.length, 3);
  r.body.Records.forEach((rec, i) => {
    assert.ok(Buffer.isBuffer(rec.Data), "Data is a CBOR byte string");
    assert.deepEqual(rec.Data, payloads[i]);
    assert.equal(rec.PartitionKey, `k${i}`);
    // ApproximateArrivalTimestamp: tag 1 holding integer milliseconds. The decoder turns tag 1
    // into a Date reading the value as seconds, so a millisecond value lands ~1000x later; read
    // the raw tag instead.
  });
  const raw = cbor.decodeFirstSync(r.bytes, { tags: { 1: (v) => ({ tag1: v }) } });
  for (const rec of raw.Records) {
    const ms = Number(rec.ApproximateArrivalTimestamp.tag1);
    assert.ok(Number.isInteger(ms), "an integer");
    assert.ok(ms >= before && ms <= Date.now() + 1000, `milliseconds: ${ms}`);
  }
  assert.equal(typeof raw.MillisBehindLatest, "number");
  assert.ok(raw.NextShardIterator);
});

test("service errors and malformed bodies answer as CBOR", async () => {
  let r = await call("DescribeStreamSummary", { StreamName: "no-such-stream" });
  assert.equal(r.status, 400);
  assert.equal(r.body.__type, "ResourceNotFoundException");
  assert.equal(r.body.message, "Stream no-such-stream under account 000000000000 not found.");

  r = await call("GetRecords", { ShardIterator: "AAAAAAAAAAEforged" });
  assert.equal(r.body.__type, "InvalidArgumentException");
  assert.equal(r.body.message, "Invalid ShardIterator.");

  r = await call("NoSuchOperation", {});
  assert.equal(r.body.__type, "UnknownOperationException");

  // Truncated CBOR (a map announcing a member it does not carry).
  const { res, bytes } = await post("ListStreams", Buffer.from("a1", "hex"));
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), CBOR);
  assert.equal(cbor.decodeFirstSync(bytes).__type, "SerializationException");
});

test("an indefinite-length map (as the Java SDK writes) is read", async () => {
  // bf 6a "StreamName" 66 "cbor-s" ff
  const body = Buffer.concat([Buffer.from("bf", "hex"), cbor.encode("StreamName"),
    cbor.encode("cbor-s"), Buffer.from("ff", "hex")]);
  const { res, bytes } = await post("DescribeStreamSummary", body);
  assert.equal(res.status, 200);
  const answer = cbor.decodeFirstSync(bytes, { tags: { 1: (v) => ({ tag1: v }) } });
  assert.equal(answer.StreamDescriptionSummary.StreamName, "cbor-s");
  assert.ok(Number.isInteger(Number(answer.StreamDescriptionSummary.StreamCreationTimestamp.tag1)));
});

test("JSON requests on the same endpoint still get JSON", async () => {
  const { res, bytes } = await post("ListStreams", "{}", "application/x-amz-json-1.1");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/x-amz-json-1.1");
  assert.deepEqual(JSON.parse(bytes.toString()).StreamNames, ["cbor-s"]);
});
