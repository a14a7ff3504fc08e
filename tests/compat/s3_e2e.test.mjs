// Issue 4 end to end: `sluice serve` delivering to an S3-compatible server (s3rver, which checks
// SigV4 signatures) on loopback. Records go in through the AWS SDK; objects are read back over
// plain HTTP and compared byte for byte. Covers the Firehose key layout, GZIP/ZSTD, raw backup
// and error output in a second bucket, a wrong secret (delivery-failed error output, secret never
// logged), a store outage (retried until it returns) and kill -9 before delivery (delivered once).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import zlib from "node:zlib";
import { FirehoseClient, PutRecordBatchCommand, PutRecordCommand } from "@aws-sdk/client-firehose";
import { getObject, listKeys, startS3rver } from "./s3_harness.mjs";
import { SluiceServer, listFiles, makeTempDir, waitFor } from "./sluice_harness.mjs";

const kGoodEnv = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

// Starts `server` with `env` layered over this process's environment (AWS_PROFILE and
// AWS_SESSION_TOKEN removed, so only the given credentials apply). The child is spawned
// synchronously inside start(), so the environment is restored before the first await.
async function startWithEnv(server, env) {
  const overrides = { AWS_PROFILE: undefined, AWS_SESSION_TOKEN: undefined, ...env };
  const saved = {};
  for (const [k, v] of Object.entries(overrides)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let started;
  try {
    started = server.start();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return started;
}

// `{url, endpoint, region, path_style}` of a bucket on `s3`, with an optional prefix.
function s3Dest(s3, bucket, prefix) {
  const p = prefix === undefined ? "" : `, prefix: "${prefix}"`;
  return `{url: "s3://${bucket}", endpoint: "${s3.endpoint}", region: us-east-1, path_style: true${p}}`;
}

function writeConfig(dir, streams) {
  const file = path.join(dir, "sluice.yaml");
  fs.writeFileSync(file, `delivery_streams:\n${streams}`);
  return file;
}

// n newline-terminated JSON records with multi-byte UTF-8 and characters that need escaping.
function makeRecords(n, tag) {
  return Array.from({ length: n }, (_, i) => JSON.stringify({
    id: i, tag, city: ["Zürich", "Kraków", "東京", "São Paulo"][i % 4], note: `a,"b"\\c ${"x".repeat(i % 7)}`,
  }) + "\n");
}

// Puts `records` through the SDK (PutRecordBatch in chunks of 25, the last one by PutRecord) and
// asserts every one was acknowledged.
async function putAll(endpoint, stream, records) {
  const client = new FirehoseClient({
    endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    maxAttempts: 1,
  });
  const last = records.length - 1;
  for (let i = 0; i < last; i += 25) {
    const chunk = records.slice(i, Math.min(i + 25, last));
    const res = await client.send(new PutRecordBatchCommand({
      DeliveryStreamName: stream, Records: chunk.map((r) => ({ Data: Buffer.from(r) })),
    }));
    assert.equal(res.FailedPutCount, 0, `PutRecordBatch to ${stream}: ${JSON.stringify(res)}`);
  }
  const res = await client.send(new PutRecordCommand({
    DeliveryStreamName: stream, Record: { Data: Buffer.from(records[last]) },
  }));
  assert.ok(res.RecordId, `PutRecord to ${stream} acknowledged`);
  client.destroy();
}

// Firehose object names: <prefix>YYYY/MM/dd/HH/<stream>-1-YYYY-MM-dd-HH-mm-ss-<id><ext>.
function keyPattern(prefix, stream, ext = "") {
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${esc(prefix)}\\d{4}/\\d\\d/\\d\\d/\\d\\d/${esc(stream)}-1-` +
    `\\d{4}-\\d\\d-\\d\\d-\\d\\d-\\d\\d-\\d\\d-[A-Za-z0-9-]+${esc(ext)}$`);
}

async function stopClean(server) {
  const { code, signal } = await server.stop();
  assert.equal(code, 0, `sluice serve exit after SIGTERM (signal ${signal}); stderr:\n${server.stderr}`);
}

// One test's world: a temp dir, s3rver with `buckets`, and cleanup of both.
async function withS3(name, buckets, body) {
  const dir = makeTempDir(`s3e2e-${name}`);
  const s3Dir = path.join(dir, "s3rver");
  fs.mkdirSync(s3Dir);
  const world = { dir, s3Dir, s3: await startS3rver({ dir: s3Dir, buckets }), servers: [] };
  try {
    await body(world);
  } finally {
    for (const s of world.servers) if (s.child) await s.kill9();
    await world.s3.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("SIGTERM flushes records put through the SDK into one S3 object with the Firehose key layout", async () => {
  await withS3("plain", ["landing"], async (w) => {
    const config = writeConfig(w.dir, `
  - name: clicks
    buffering: {size_mb: 5, interval_s: 900}
    staged: ${s3Dest(w.s3, "landing")}
`);
    const server = new SluiceServer(path.join(w.dir, "data"), ["--config", config]);
    w.servers.push(server);
    const endpoint = await startWithEnv(server, kGoodEnv);
    const records = makeRecords(60, "plain");
    await putAll(endpoint, "clicks", records);
    assert.deepEqual(await listKeys(w.s3.endpoint, "landing"), [],
      "nothing is delivered before the 900 s interval or SIGTERM");
    await stopClean(server);

    const keys = await listKeys(w.s3.endpoint, "landing");
    assert.equal(keys.length, 1, `one object: ${keys}; stderr:\n${server.stderr}`);
    assert.match(keys[0], keyPattern("", "clicks"));
    const body = await getObject(w.s3.endpoint, "landing", keys[0]);
    assert.ok(body.equals(Buffer.from(records.join(""))),
      `object ${keys[0]} holds the records as sent, in order; got ${body.length} bytes:\n` +
      body.toString("utf8").slice(0, 400));
    assert.deepEqual(w.s3.events(), [{ name: "ObjectCreated:Put", bucket: "landing", key: keys[0] }],
      "one PutObject, written once");
  });
});

test("GZIP and ZSTD objects carry .gz / .zst and decompress to the exact records", async () => {
  await withS3("compress", ["landing"], async (w) => {
    const config = writeConfig(w.dir, `
  - name: gzipped
    buffering: {size_mb: 5, interval_s: 900}
    compression: GZIP
    staged: ${s3Dest(w.s3, "landing", "gz/")}
  - name: zstded
    buffering: {size_mb: 5, interval_s: 900}
    compression: ZSTD
    staged: ${s3Dest(w.s3, "landing", "zst/")}
`);
    const server = new SluiceServer(path.join(w.dir, "data"), ["--config", config]);
    w.servers.push(server);
    const endpoint = await startWithEnv(server, kGoodEnv);
    const gzRecords = makeRecords(40, "gzip");
    const zstRecords = makeRecords(45, "zstd");
    await putAll(endpoint, "gzipped", gzRecords);
    await putAll(endpoint, "zstded", zstRecords);
    await stopClean(server);

    const keys = await listKeys(w.s3.endpoint, "landing");
    assert.equal(keys.length, 2, `one object per stream: ${keys}; stderr:\n${server.stderr}`);
    const gzKey = keys.find((k) => k.startsWith("gz/"));
    const zstKey = keys.find((k) => k.startsWith("zst/"));
    assert.match(gzKey ?? "", keyPattern("gz/", "gzipped", ".gz"));
    assert.match(zstKey ?? "", keyPattern("zst/", "zstded", ".zst"));

    const gz = await getObject(w.s3.endpoint, "landing", gzKey);
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b], "gzip magic");
    assert.equal(zlib.gunzipSync(gz).toString("utf8"), gzRecords.join(""));

    const zst = await getObject(w.s3.endpoint, "landing", zstKey);
    assert.deepEqual([...zst.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "zstd magic");
    const plain = execFileSync("zstd", ["-d", "-c", "-q"], { input: zst, timeout: 30000 });
    assert.equal(plain.toString("utf8"), zstRecords.join(""));
  });
});

test("raw backup and processing-failed error output land in a second bucket", async () => {
  await withS3("raw", ["landing", "archive"], async (w) => {
    const config = writeConfig(w.dir, `
  - name: orders
    buffering: {size_mb: 5, interval_s: 900}
    format: jsonl
    staged: ${s3Dest(w.s3, "landing", "orders/")}
    raw: ${s3Dest(w.s3, "archive", "raw/")}
    errors: ${s3Dest(w.s3, "archive", "errors/!{firehose:error-output-type}/")}
`);
    const server = new SluiceServer(path.join(w.dir, "data"), ["--config", config]);
    w.servers.push(server);
    const endpoint = await startWithEnv(server, kGoodEnv);
    const good = makeRecords(30, "raw");
    const bad = '{"id": 99, "broken": [\n';
    const records = [...good.slice(0, 10), bad, ...good.slice(10)];
    await putAll(endpoint, "orders", records);
    await stopClean(server);

    const staged = await listKeys(w.s3.endpoint, "landing");
    assert.equal(staged.length, 1, `one staged object: ${staged}; stderr:\n${server.stderr}`);
    assert.match(staged[0], keyPattern("orders/", "orders"));
    const rows = (await getObject(w.s3.endpoint, "landing", staged[0])).toString("utf8")
      .trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(rows, good.map((r) => JSON.parse(r)), "staged JSON lines are the valid records");

    const archive = await listKeys(w.s3.endpoint, "archive");
    const raw = archive.filter((k) => k.startsWith("raw/"));
    const errors = archive.filter((k) => k.startsWith("errors/"));
    assert.equal(raw.length + errors.length, archive.length, `only raw/ and errors/: ${archive}`);
    assert.equal(raw.length, 1, `one raw backup object: ${archive}`);
    assert.match(raw[0], keyPattern("raw/", "orders"));
    const rawBody = await getObject(w.s3.endpoint, "archive", raw[0]);
    assert.ok(rawBody.equals(Buffer.from(records.join(""))),
      "the raw backup holds every source record as sent, the invalid one included");

    assert.equal(errors.length, 1, `one error output object: ${archive}`);
    assert.match(errors[0], /^errors\/processing-failed\/\d{4}\/\d\d\/\d\d\/\d\d\//);
    const failed = (await getObject(w.s3.endpoint, "archive", errors[0])).toString("utf8")
      .trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(failed.length, 1);
    assert.equal(failed[0].errorCode, "Transform.InvalidJson");
    assert.equal(Buffer.from(failed[0].rawData, "base64").toString("utf8"), bad);
  });
});

test("a wrong secret ends as delivery-failed error output with the records and no secret", async () => {
  const secret = "wrongSecretValue4711";
  await withS3("badkey", ["landing"], async (w) => {
    const failedDir = path.join(w.dir, "failed");
    const config = writeConfig(w.dir, `
  - name: clicks
    buffering: {size_mb: 5, interval_s: 0}
    retry_duration_s: 2
    staged: ${s3Dest(w.s3, "landing")}
    errors: {url: "file://${failedDir}", prefix: "clicks/!{firehose:error-output-type}/"}
`);
    const server = new SluiceServer(path.join(w.dir, "data"), ["--config", config]);
    w.servers.push(server);
    const endpoint = await startWithEnv(server,
      { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: secret });
    const records = makeRecords(20, "badkey");
    await putAll(endpoint, "clicks", records);
    // Delivery may split the puts into several batches; wait until every record is accounted for.
    const errorRecords = () => listFiles(failedDir).flatMap((f) =>
      fs.readFileSync(f, "utf8").trim().split("\n").filter((l) => l).map((l) => JSON.parse(l)));
    await waitFor(() => errorRecords().length >= records.length, 60000,
      "delivery-failed error output for every record", () => `stderr:\n${server.stderr}`);
    await stopClean(server);

    const files = listFiles(failedDir);
    for (const f of files) {
      assert.match(path.relative(failedDir, f),
        /^clicks\/delivery-failed\/\d{4}\/\d\d\/\d\d\/\d\d\/clicks-1-/);
    }
    const errors = errorRecords();
    assert.deepEqual(errors.map((e) => Buffer.from(e.rawData, "base64").toString("utf8")).sort(),
      [...records].sort(), "every acknowledged record is in the error output exactly once, as sent");
    for (const e of errors) {
      assert.match(e.errorMessage, /403 SignatureDoesNotMatch/, "errorMessage names the S3 error");
      assert.ok(!e.errorMessage.includes(secret), `errorMessage leaks the secret: ${e.errorMessage}`);
      assert.ok(e.attemptsMade >= 2, `retried within the 2 s retry duration: ${e.attemptsMade}`);
      assert.equal(typeof e.errorCode, "string");
    }
    assert.ok(!server.stderr.includes(secret), "stderr never contains the secret");
    assert.match(server.stderr, /failed \(attempt 2\)/, "the put was retried");
    assert.deepEqual(await listKeys(w.s3.endpoint, "landing"), [], "nothing reached the bucket");
  });
});

test("records acknowledged while the store is down are delivered once it is back", async () => {
  await withS3("outage", ["landing"], async (w) => {
    const config = writeConfig(w.dir, `
  - name: clicks
    buffering: {size_mb: 5, interval_s: 0}
    staged: ${s3Dest(w.s3, "landing")}
`);
    const server = new SluiceServer(path.join(w.dir, "data"), ["--config", config]);
    w.servers.push(server);
    const endpoint = await startWithEnv(server, kGoodEnv);
    const port = w.s3.port;
    await w.s3.stop();

    const records = makeRecords(50, "outage");
    await putAll(endpoint, "clicks", records);
    await waitFor(() => /put .* failed \(attempt 2\)/.test(server.stderr), 60000,
      "sluice to retry the put while s3rver is down", () => `stderr:\n${server.stderr}`);

    w.s3 = await startS3rver({ dir: w.s3Dir, buckets: ["landing"], port });
    await stopClean(server);

    const keys = await listKeys(w.s3.endpoint, "landing");
    assert.ok(keys.length >= 1, `objects after the outage; stderr:\n${server.stderr}`);
    const bodies = [];
    for (const k of keys) {
      assert.match(k, keyPattern("", "clicks"));
      bodies.push((await getObject(w.s3.endpoint, "landing", k)).toString("utf8"));
    }
    assert.deepEqual(w.s3.events().map((e) => e.key).sort(), keys, "each object written once");
    const lines = bodies.join("").split(/(?<=\n)/).sort();
    assert.deepEqual(lines, [...records].sort(),
      "every acknowledged record delivered exactly once, as sent");
    assert.match(server.stderr, /failed \(attempt 1\): Unavailable: .*PutObject failed: Couldn't connect/,
      "the failed attempts say why");
  });
});

test("kill -9 before delivery, then restart and SIGTERM, delivers every record once", async () => {
  await withS3("kill9", ["landing"], async (w) => {
    const config = writeConfig(w.dir, `
  - name: clicks
    buffering: {size_mb: 5, interval_s: 900}
    staged: ${s3Dest(w.s3, "landing")}
`);
    const dataDir = path.join(w.dir, "data");
    const first = new SluiceServer(dataDir, ["--config", config]);
    w.servers.push(first);
    const endpoint = await startWithEnv(first, kGoodEnv);
    const records = makeRecords(70, "kill9");
    await putAll(endpoint, "clicks", records);
    await first.kill9();
    assert.deepEqual(await listKeys(w.s3.endpoint, "landing"), [], "nothing delivered before kill -9");

    const second = new SluiceServer(dataDir, ["--config", config]);
    w.servers.push(second);
    await startWithEnv(second, kGoodEnv);
    await stopClean(second);

    const keys = await listKeys(w.s3.endpoint, "landing");
    assert.equal(keys.length, 1, `one object: ${keys}; stderr:\n${second.stderr}`);
    assert.match(keys[0], keyPattern("", "clicks"));
    const body = await getObject(w.s3.endpoint, "landing", keys[0]);
    assert.equal(body.toString("utf8"), records.join(""), "every record once, in order, as sent");
    assert.deepEqual(w.s3.events(), [{ name: "ObjectCreated:Put", bucket: "landing", key: keys[0] }],
      "the object was written exactly once");
  });
});

test("an object above the 16 MiB multipart threshold arrives whole and in order", async () => {
  await withS3("multipart", ["landing"], async (w) => {
    const config = writeConfig(w.dir, `
  - name: big
    buffering: {size_mb: 64, interval_s: 900}
    staged: ${s3Dest(w.s3, "landing", "big/")}
`);
    const server = new SluiceServer(path.join(w.dir, "data"), ["--config", config]);
    w.servers.push(server);
    const endpoint = await startWithEnv(server, kGoodEnv);
    // 24 distinct records of 900 000 bytes: 21.6 MB, three 8 MiB parts.
    const records = Array.from({ length: 24 }, (_, i) =>
      crypto.createHash("sha256").update(String(i)).digest("hex").repeat(28125).slice(0, 899999) + "\n");
    const client = new FirehoseClient({
      endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
      maxAttempts: 1,
    });
    for (let i = 0; i < records.length; i += 4) {
      const res = await client.send(new PutRecordBatchCommand({
        DeliveryStreamName: "big", Records: records.slice(i, i + 4).map((r) => ({ Data: Buffer.from(r) })),
      }));
      assert.equal(res.FailedPutCount, 0);
    }
    client.destroy();
    await stopClean(server);

    const keys = await listKeys(w.s3.endpoint, "landing");
    assert.equal(keys.length, 1, `one object: ${keys}; stderr:\n${server.stderr}`);
    assert.match(keys[0], keyPattern("big/", "big"));
    const body = await getObject(w.s3.endpoint, "landing", keys[0]);
    const expected = Buffer.from(records.join(""));
    const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");
    assert.deepEqual({ bytes: body.length, sha256: sha(body) },
      { bytes: expected.length, sha256: sha(expected) }, "the object is the records as sent");
    assert.deepEqual(w.s3.events(), [{ name: "ObjectCreated:Post", bucket: "landing", key: keys[0] }],
      "written by one CompleteMultipartUpload (s3rver reports it as ObjectCreated:Post)");
  });
});
