// `sluice put` against a fake Firehose endpoint: batching limits, retry of the failed subset
// after FailedPutCount > 0 and after a 503, give-up messages, oversized records, SigV4 signing
// and connection reuse. Run: SLUICE_BIN=<build>/src/cli/sluice node --test put_retry.test.mjs
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { createHash, createHmac } from "node:crypto";

import { SignatureV4 } from "@smithy/signature-v4";

import { batchAnswer, makeTempDir, runPut, startFakeFirehose } from "./sluice_harness.mjs";

let tmp;
before(() => {
  tmp = makeTempDir("put");
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The SHA-256 / HMAC-SHA-256 shape the SDK signer expects (a constructor with an optional key).
class Sha256 {
  constructor(secret) {
    this.h = secret ? createHmac("sha256", secret) : createHash("sha256");
  }
  update(data) {
    this.h.update(data);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

function lines(n, tag = "r") {
  return Array.from({ length: n }, (_, i) => `{"${tag}":${i}}\n`);
}

// Fast retries so the tests spend little time sleeping in backoff.
const kFast = ["--backoff-base-ms", "5", "--backoff-max-ms", "20"];

test("failed records and a 503 are retried until every record is acknowledged", async () => {
  const input = lines(20);
  const fake = await startFakeFirehose((call) => {
    if (call.index === 0) {
      return { status: 503, body: { __type: "ServiceUnavailableException", message: "Slow down." } };
    }
    if (call.index === 1) return batchAnswer(call, new Set([1, 5, 19]));
    return batchAnswer(call);
  });
  try {
    const { code, stderr } = await runPut(["--stream", "orders", "--endpoint", fake.endpoint,
      ...kFast], { input: input.join("") });
    assert.equal(code, 0, stderr);
    assert.equal(fake.calls.length, 3);
    for (const call of fake.calls) {
      assert.equal(call.method, "POST");
      assert.equal(call.url, "/");
      assert.equal(call.target, "Firehose_20150804.PutRecordBatch");
      assert.equal(call.headers["content-type"], "application/x-amz-json-1.1");
      assert.equal(call.body.DeliveryStreamName, "orders");
    }
    // The 503 call and its retry carry everything; the third carries exactly the failed subset.
    assert.deepEqual(fake.calls[0].records.map(String), input);
    assert.deepEqual(fake.calls[1].records.map(String), input);
    assert.deepEqual(fake.calls[2].records.map(String), [input[1], input[5], input[19]]);
    assert.match(stderr, /delivered 20 records/);
    // One TCP connection for all three calls.
    assert.equal(fake.connections, 1);
  } finally {
    await fake.close();
  }
});

test("records that keep failing are reported with their error and a non-zero exit", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call, new Set([0]),
    ["InternalFailure", "disk on fire"]));
  try {
    const { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint,
      "--max-retries", "3", ...kFast], { input: lines(4).join("") });
    assert.equal(code, 1, stderr);
    assert.equal(fake.calls.length, 4);  // 1 attempt + 3 retries of record 0
    assert.match(stderr, /1 of 4 records were NOT delivered to stream 's'/);
    assert.match(stderr, /InternalFailure: disk on fire/);
    assert.match(stderr, /<stdin>:1/);
  } finally {
    await fake.close();
  }
});

test("a non-retryable error stops the run and counts every unsent record", async () => {
  const fake = await startFakeFirehose(() => ({
    status: 400,
    body: { __type: "ResourceNotFoundException", message: "Firehose nope not found." },
  }));
  try {
    const { code, stderr } = await runPut(["--stream", "nope", "--endpoint", fake.endpoint,
      ...kFast], { input: lines(1200).join("") });
    assert.equal(code, 1, stderr);
    assert.equal(fake.calls.length, 1);
    assert.match(stderr, /1,200 of 1,200 records were NOT delivered/);
    assert.match(stderr, /ResourceNotFoundException: Firehose nope not found\. \(HTTP 400\)/);
  } finally {
    await fake.close();
  }
});

test("an unreachable endpoint fails after the retry budget with the transport error", async () => {
  const fake = await startFakeFirehose(() => batchAnswer({ records: [] }));
  const endpoint = fake.endpoint;
  await fake.close();  // nothing listens on this port any more
  const { code, stderr } = await runPut(["--stream", "s", "--endpoint", endpoint,
    "--max-retries", "2", ...kFast], { input: lines(3).join("") });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /3 of 3 records were NOT delivered/);
  assert.match(stderr, /Couldn't connect to server|Connection refused/);
});

test("batches hold at most 500 records", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call));
  try {
    const input = lines(1201);
    const { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint],
      { input: input.join("") });
    assert.equal(code, 0, stderr);
    assert.deepEqual(fake.calls.map((c) => c.records.length), [500, 500, 201]);
    assert.deepEqual(fake.calls.flatMap((c) => c.records.map(String)), input);
  } finally {
    await fake.close();
  }
});

test("batches hold at most 4 MiB of record data and big records are not split", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call));
  try {
    // 900,000-byte records: four fit in 4 MiB (3.6 MB), a fifth would not.
    const big = Array.from({ length: 9 }, (_, i) => `${String(i).repeat(899999)}\n`);
    const file = path.join(tmp, "big.ndjson");
    fs.writeFileSync(file, big.join(""));
    const { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint, file]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(fake.calls.map((c) => c.records.length), [4, 4, 1]);
    for (const call of fake.calls) {
      assert.ok(call.records.reduce((n, r) => n + r.length, 0) <= 4 * 1024 * 1024);
    }
    assert.deepEqual(fake.calls.flatMap((c) => c.records.map(String)), big);
  } finally {
    await fake.close();
  }
});

test("records over 1,000 KiB are reported with file:line and not sent", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call));
  try {
    const file = path.join(tmp, "oversized.ndjson");
    // Line 2 is 1,024,001 bytes with its newline: one byte over the limit. Line 3 is exactly
    // at the limit and must be sent.
    const atLimit = `${"y".repeat(1023999)}\n`;
    fs.writeFileSync(file, `{"ok":1}\n${"x".repeat(1024000)}\n${atLimit}{"ok":2}\n`);
    const { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint, file]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: record is 1,024,001 bytes`));
    assert.match(stderr, /1 of 4 records were NOT delivered.*1 over the 1,000 KiB record limit/);
    assert.deepEqual(fake.calls.flatMap((c) => c.records.map(String)),
      ['{"ok":1}\n', atLimit, '{"ok":2}\n']);
  } finally {
    await fake.close();
  }
});

test("--no-newline strips line endings, empty lines are skipped, files are read in order", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call));
  try {
    const a = path.join(tmp, "a.ndjson");
    const b = path.join(tmp, "b.ndjson");
    fs.writeFileSync(a, '{"a":1}\r\n\n{"a":2}\n');
    fs.writeFileSync(b, '{"b":1}');  // no final newline
    let { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint,
      "--no-newline", a, b]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(fake.calls[0].records.map(String), ['{"a":1}', '{"a":2}', '{"b":1}']);
    ({ code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint, a, b]));
    assert.equal(code, 0, stderr);
    assert.deepEqual(fake.calls[1].records.map(String), ['{"a":1}\r\n', '{"a":2}\n', '{"b":1}']);
  } finally {
    await fake.close();
  }
});

test("an unreadable input file stops the run before anything is sent", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call));
  try {
    const { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint,
      path.join(tmp, "missing.ndjson")]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /missing\.ndjson: cannot open: No such file or directory/);
    assert.equal(fake.calls.length, 0);
  } finally {
    await fake.close();
  }
});

test("requests are signed with SigV4 for firehose when AWS credentials are in the environment", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call));
  try {
    const env = {
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      AWS_SESSION_TOKEN: "session-token-1",
    };
    const { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint,
      "--region", "eu-west-1"], { input: '{"a":1}\n', env });
    assert.equal(code, 0, stderr);
    const call = fake.calls[0];
    const auth = call.headers.authorization;
    const m = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/(\d{8})\/eu-west-1\/firehose\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
    assert.ok(m, `unexpected Authorization header: ${auth}`);
    assert.equal(call.headers["x-amz-security-token"], "session-token-1");
    const signed = m[2].split(";");
    assert.ok(signed.includes("x-amz-security-token"), m[2]);
    assert.ok(signed.includes("x-amz-target"), m[2]);
    // Recompute the signature with the AWS SDK's own signer over the same signed headers.
    const amzDate = call.headers["x-amz-date"];
    const signingDate = new Date(Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1,
      +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15)));
    const headers = {};
    for (const h of signed) headers[h] = call.headers[h];
    const signer = new SignatureV4({
      service: "firehose", region: "eu-west-1", sha256: Sha256,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        sessionToken: env.AWS_SESSION_TOKEN },
      applyChecksum: false,
    });
    const resigned = await signer.sign({
      method: "POST", protocol: "http:", hostname: "127.0.0.1", path: "/", headers, body: call.raw,
    }, { signingDate });
    assert.equal(resigned.headers.authorization, auth);
  } finally {
    await fake.close();
  }
});

test("requests are unsigned without AWS credentials", async () => {
  const fake = await startFakeFirehose((call) => batchAnswer(call));
  try {
    const { code, stderr } = await runPut(["--stream", "s", "--endpoint", fake.endpoint],
      { input: '{"a":1}\n', env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" } });
    assert.equal(code, 0, stderr);
    assert.equal(fake.calls[0].headers.authorization, undefined);
  } finally {
    await fake.close();
  }
});
