// HTTP/2 (h2c with prior knowledge) on the port that serves HTTP/1.1: the AWS SDK for JavaScript
// v3 with its HTTP/2 request handler (the Kinesis client's default transport) against the real
// `sluice serve`, and raw node:http2 streams on one session answered concurrently.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test http2.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { after, before, test } from "node:test";

import {
  CreateDeliveryStreamCommand, FirehoseClient, ListDeliveryStreamsCommand, PutRecordBatchCommand,
  PutRecordCommand,
} from "@aws-sdk/client-firehose";
import { KinesisClient, ListStreamsCommand } from "@aws-sdk/client-kinesis";
import { NodeHttp2Handler } from "@smithy/node-http-handler";

import { makeTempDir, SluiceServer, waitFor } from "./sluice_harness.mjs";

const kStream = "h2-orders";
const kCreds = { accessKeyId: "AKIDCOMPAT", secretAccessKey: "compat-secret" };

let dataDir;
let server;
let endpoint;
let client;

before(async () => {
  dataDir = makeTempDir("h2");
  server = new SluiceServer(dataDir);
  endpoint = await server.start();
  client = new FirehoseClient({
    endpoint, region: "us-east-1", credentials: kCreds, maxAttempts: 1,
    requestHandler: new NodeHttp2Handler({ requestTimeout: 10000 }),
  });
});

after(async () => {
  client?.destroy();
  if (server?.child) {
    const { code } = await server.stop();
    assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test("ListDeliveryStreams over HTTP/2 answers the empty list", async () => {
  const out = await client.send(new ListDeliveryStreamsCommand({}));
  assert.deepEqual(out.DeliveryStreamNames, []);
  assert.equal(out.HasMoreDeliveryStreams, false);
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.ok(out.$metadata.requestId, "x-amzn-RequestId reaches the SDK");
});

test("CreateDeliveryStream over HTTP/2 creates a stream", async () => {
  const out = await client.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: kStream,
    DeliveryStreamType: "DirectPut",
    ExtendedS3DestinationConfiguration: {
      RoleARN: "arn:aws:iam::123456789012:role/firehose-h2",
      BucketARN: "arn:aws:s3:::h2-bucket",
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
    },
  }));
  assert.match(out.DeliveryStreamARN, /:deliverystream\/h2-orders$/);
  const list = await client.send(new ListDeliveryStreamsCommand({}));
  assert.deepEqual(list.DeliveryStreamNames, [kStream]);
});

test("PutRecordBatch over HTTP/2, also many calls at once on one session", async () => {
  const records = Array.from({ length: 50 }, (_, i) => ({ Data: Buffer.from(`{"i":${i}}\n`) }));
  const out = await client.send(new PutRecordBatchCommand({
    DeliveryStreamName: kStream, Records: records,
  }));
  assert.equal(out.FailedPutCount, 0);
  assert.equal(out.RequestResponses.length, 50);
  for (const r of out.RequestResponses) assert.match(r.RecordId, /^[0-9a-f]+$/);

  // The handler multiplexes these as concurrent streams of one connection.
  const calls = Array.from({ length: 20 }, (_, i) => client.send(new PutRecordCommand({
    DeliveryStreamName: kStream, Record: { Data: Buffer.from(`{"call":${i}}\n`) },
  })));
  const answers = await Promise.all(calls);
  assert.equal(new Set(answers.map((a) => a.RecordId)).size, 20, "distinct record ids");
});

test("An error over HTTP/2 reaches the SDK as ResourceNotFoundException", async () => {
  await assert.rejects(client.send(new PutRecordBatchCommand({
    DeliveryStreamName: "no-such-stream", Records: [{ Data: Buffer.from("x") }],
  })), (err) => {
    assert.equal(err.name, "ResourceNotFoundException", `${err.name}: ${err.message}`);
    assert.equal(err.$metadata?.httpStatusCode, 400);
    assert.match(err.message, /no-such-stream/);
    return true;
  });
});

// One raw request on `session`; resolves {status, headers, body}.
function h2Request(session, headers, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    const chunks = [];
    let head;
    req.on("response", (h) => (head = h));
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve({
      status: head[":status"], headers: head, body: Buffer.concat(chunks).toString("utf8"),
    }));
    req.on("error", reject);
    req.end(body);
  });
}

test("Raw node:http2 session: prior knowledge, concurrent streams, and HTTP/1.1 alongside", async () => {
  const session = http2.connect(endpoint);
  try {
    await waitFor(() => session.remoteSettings?.maxConcurrentStreams, 10000,
      "the server's SETTINGS frame");
    assert.equal(session.alpnProtocol, "h2c");
    assert.equal(session.remoteSettings.maxConcurrentStreams, 128);
    const list = (i) => h2Request(session, {
      ":method": "POST", ":path": "/", "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "Firehose_20150804.ListDeliveryStreams",
    }, JSON.stringify({ Limit: 1 + (i % 3) }));
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => list(i)));
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(a.headers["content-type"], "application/x-amz-json-1.1");
      assert.deepEqual(JSON.parse(a.body).DeliveryStreamNames, [kStream]);
    }
    const unknown = await h2Request(session, {
      ":method": "POST", ":path": "/", "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "Firehose_20150804.NoSuchOperation",
    }, "{}");
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /UnknownOperationException/);
  } finally {
    session.close();
  }

  // HTTP/1.1 on the same port.
  const body = await new Promise((resolve, reject) => {
    const req = http.request(`${endpoint}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "Firehose_20150804.ListDeliveryStreams" },
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
    req.on("error", reject);
    req.end("{}");
  });
  assert.deepEqual(JSON.parse(body).DeliveryStreamNames, [kStream]);
});

test("The Kinesis client's default transport (HTTP/2) reaches the Kinesis handler", async () => {
  const kinesis = new KinesisClient({ endpoint, region: "us-east-1", credentials: kCreds,
    maxAttempts: 1 });
  try {
    assert.ok(kinesis.config.requestHandler instanceof NodeHttp2Handler,
      "the Kinesis client defaults to NodeHttp2Handler");
    const out = await kinesis.send(new ListStreamsCommand({}));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.deepEqual(out.StreamNames, []);
  } finally {
    kinesis.destroy();
  }
});
