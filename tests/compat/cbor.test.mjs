// Kinesis over CBOR, as the Java SDKs and the KCL speak it (application/x-amz-cbor-1.1), against
// a real `sluice serve`. Requests are encoded and responses decoded by cbor-x, an encoder
// independent of the server's libcbor. Until the Kinesis handler lands, every Kinesis_20131202
// operation answers UnknownOperationException; what this checks is that a CBOR client gets that
// answer (and any error) as CBOR it can decode, and that a malformed CBOR body gets a CBOR
// SerializationException.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { decode, Encoder, Tag } from "cbor-x";

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

async function post(target, contentType, body) {
  const res = await fetch(endpoint + "/", {
    method: "POST",
    headers: { "Content-Type": contentType, "X-Amz-Target": target },
    body,
    signal: AbortSignal.timeout(10000),
  });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

// What the Java SDK sends: a map with a byte-string blob and a tag-1 timestamp in milliseconds.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
function javaLikeBody(fields) {
  return encoder.encode(fields);
}

test("a CBOR ListStreams answers UnknownOperationException as CBOR", async () => {
  const body = javaLikeBody({ Limit: 10, ExclusiveStartStreamName: "a" });
  const { res, bytes } = await post("Kinesis_20131202.ListStreams", CBOR, body);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), CBOR);
  assert.ok(res.headers.get("x-amzn-requestid"), "x-amzn-RequestId header");
  const answer = decode(bytes);
  assert.equal(answer.__type, "UnknownOperationException");
  assert.equal(answer.message, "Unknown operation: Kinesis_20131202.ListStreams");
});

test("a CBOR request with blobs, ms timestamps and an indefinite map is read, not refused", async () => {
  // cbor-x's encoding: definite map, Data as a byte string, Timestamp as tag 1 + integer ms.
  const body = javaLikeBody({
    StreamName: "s",
    ShardId: "shardId-000000000000",
    ShardIteratorType: "AT_TIMESTAMP",
    // A BigInt makes cbor-x write an integer (1b + 8 bytes), as the Java SDK does.
    Timestamp: new Tag(BigInt(1441215410867), 1),
    Data: Buffer.from([0, 1, 2, 255]),
  });
  assert.equal(body.includes(Buffer.from("c11b0000014f8f21f2b3", "hex")), true,
    "cbor-x wrote tag 1 + uint64 ms");
  let { res, bytes } = await post("Kinesis_20131202.GetShardIterator", CBOR, body);
  assert.equal(res.status, 400);
  assert.equal(decode(bytes).__type, "UnknownOperationException");

  // A plain JS number of ms: cbor-x writes a float64 under tag 1 (still milliseconds).
  const floatBody = javaLikeBody({ Timestamp: new Tag(1441215410867, 1) });
  assert.equal(floatBody.includes(Buffer.from("c1fb4274f8f21f2b3000", "hex")), true);
  ({ res, bytes } = await post("Kinesis_20131202.GetShardIterator", CBOR, floatBody));
  assert.equal(res.status, 400);
  assert.equal(decode(bytes).__type, "UnknownOperationException");

  // The Java SDK's own framing: an indefinite-length map (bf ... ff).
  const indefinite = Buffer.concat([
    Buffer.from([0xbf]),
    encoder.encode("StreamName"), encoder.encode("s"),
    encoder.encode("Timestamp"), Buffer.from("c11b0000014f8f21f2b3", "hex"),
    Buffer.from([0xff]),
  ]);
  ({ res, bytes } = await post("Kinesis_20131202.GetShardIterator", CBOR, indefinite));
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), CBOR);
  assert.equal(decode(bytes).__type, "UnknownOperationException");
});

test("a malformed CBOR body answers SerializationException as CBOR", async () => {
  const good = javaLikeBody({ StreamName: "s" });
  for (const bad of [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])]),
    Buffer.from([0xbf, 0x01, 0x02, 0xff]), Buffer.alloc(100, 0x9f)]) {
    const { res, bytes } = await post("Kinesis_20131202.ListStreams", CBOR, bad);
    assert.equal(res.status, 400, `status for ${bad.toString("hex")}`);
    assert.equal(res.headers.get("content-type"), CBOR);
    assert.ok(res.headers.get("x-amzn-requestid"));
    const answer = decode(bytes);
    assert.equal(answer.__type, "SerializationException");
    assert.equal(typeof answer.message, "string");
  }
});

test("a JSON Kinesis request still gets JSON", async () => {
  const { res, bytes } = await post("Kinesis_20131202.ListStreams", "application/x-amz-json-1.1",
    "{}");
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), "application/x-amz-json-1.1");
  assert.equal(JSON.parse(bytes.toString("utf8")).__type, "UnknownOperationException");
});
