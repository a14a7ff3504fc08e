// Hostile CreateDeliveryStream input, with the real AWS SDK against `sluice serve` (issue 8):
// round 1 let `BucketARN: arn:aws:s3:::..` deliver into the data dir itself, where a record became
// an API stream definition whose `${secret:exec:…}` ran a command at the next start. Every link
// of that chain is closed here: bucket names follow S3's rules, bucket folders cannot leave
// <data-dir>/buckets (symlinks included), stream definitions are loaded only by name from a
// catalog and only with what the Firehose API expresses, prefixes that can never be written are
// refused at creation, the stream count is bounded, and internal errors carry no server paths.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { test } from "node:test";

import {
  CreateDeliveryStreamCommand, FirehoseClient, ListDeliveryStreamsCommand,
  ListTagsForDeliveryStreamCommand, PutRecordCommand, TagDeliveryStreamCommand,
  UntagDeliveryStreamCommand,
} from "@aws-sdk/client-firehose";

import { listFiles, makeTempDir, sluiceBin, SluiceServer, waitFor, waitExit } from "./sluice_harness.mjs";

const kCreds = { accessKeyId: "AKIDHOSTILE", secretAccessKey: "hostile-secret" };
const client = (endpoint) =>
  new FirehoseClient({ endpoint, region: "us-east-1", credentials: kCreds, maxAttempts: 1 });

function destination(bucket, extra = {}) {
  return {
    RoleARN: "arn:aws:iam::123456789012:role/firehose",
    BucketARN: `arn:aws:s3:::${bucket}`,
    BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    ...extra,
  };
}

async function create(fh, name, bucket, extra = {}, more = {}) {
  return fh.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: name, ExtendedS3DestinationConfiguration: destination(bucket, extra),
    ...more,
  }));
}

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("the call was accepted");
}

test("round 1's chain is refused at CreateDeliveryStream and nothing reaches the data dir", async () => {
  const dataDir = makeTempDir("hostile-chain");
  const server = new SluiceServer(dataDir);
  const fh = client(await server.start());
  try {
    for (const bucket of ["..", ".", "a..b", "Upper", "ab", "a".repeat(64), "10.0.0.1"]) {
      const e = await rejection(create(fh, "evil", bucket,
        { Prefix: "api-streams/!{timestamp:yyyy}", ErrorOutputPrefix: "e/!{firehose:error-output-type}/",
          FileExtension: ".yaml" }));
      assert.equal(e.name, "ValidationException", `${bucket}: ${e.message}`);
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.match(e.message, /Member must name a valid S3 bucket/);
    }
    const listed = await fh.send(new ListDeliveryStreamsCommand({}));
    assert.deepEqual(listed.DeliveryStreamNames, []);
    // A valid bucket with the same prefix lands inside its own bucket folder, never beside the
    // server's state.
    await create(fh, "fine", "fine-bucket", { Prefix: "api-streams/!{timestamp:yyyy}",
      ErrorOutputPrefix: "e/!{firehose:error-output-type}/", FileExtension: ".yaml" });
    await fh.send(new PutRecordCommand({ DeliveryStreamName: "fine",
      Record: { Data: Buffer.from("name: pwned\n") } }));
    await waitFor(() => listFiles(path.join(dataDir, "buckets/fine-bucket")).length > 0, 15000,
      "the record in its bucket", () => server.stderr);
    const definitions = fs.readdirSync(path.join(dataDir, "api-streams")).sort();
    assert.deepEqual(definitions, ["catalog", "fine.yaml"]);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("a bucket folder that is a symlink out of <data-dir>/buckets is refused", async () => {
  const dataDir = makeTempDir("hostile-symlink");
  const outside = makeTempDir("hostile-outside");
  fs.mkdirSync(path.join(dataDir, "buckets"), { recursive: true });
  fs.symlinkSync(outside, path.join(dataDir, "buckets", "escape"));
  const server = new SluiceServer(dataDir);
  const fh = client(await server.start());
  try {
    const e = await rejection(create(fh, "escaper", "escape"));
    assert.equal(e.name, "InvalidArgumentException", e.message);
    assert.match(e.message, /resolves outside the server's buckets directory/);
    assert.ok(!e.message.includes(dataDir), `the answer shows a server path: ${e.message}`);
    assert.deepEqual((await fh.send(new ListDeliveryStreamsCommand({}))).DeliveryStreamNames, []);
    assert.deepEqual(fs.readdirSync(outside), []);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("only cataloged definitions holding what the API expresses are loaded; the server starts", async () => {
  const dataDir = makeTempDir("hostile-catalog");
  const marker = path.join(dataDir, "pwned");
  let server = new SluiceServer(dataDir);
  let fh = client(await server.start());
  await create(fh, "kept", "kept-bucket", {}, { Tags: [{ Key: "team", Value: "data" }] });
  assert.equal((await server.stop()).code, 0, server.stderr);

  const dir = path.join(dataDir, "api-streams");
  const planted = (name, extra) => `name: ${name}\nstaged:\n  url: "file://${dataDir}/journal"\n${extra}`;
  // Not in the catalog: never read.
  fs.writeFileSync(path.join(dir, "planted.yaml"), planted("planted", ""));
  // In the catalog, but naming what only a config file may: refused, reported, skipped.
  fs.writeFileSync(path.join(dir, "tampered.yaml"), `name: tampered\nstaged:\n  url: "bucket://ok-bucket"\n` +
    `warehouse:\n  engine: sqlite\n  dsn: "\${secret:exec:touch ${marker}}"\n  table: t\n`);
  fs.writeFileSync(path.join(dir, "filey.yaml"), planted("filey", ""));
  fs.appendFileSync(path.join(dir, "catalog"), "tampered\nfiley\n../journal\n");

  server = new SluiceServer(dataDir);
  fh = client(await server.start());
  try {
    const listed = await fh.send(new ListDeliveryStreamsCommand({}));
    assert.deepEqual(listed.DeliveryStreamNames, ["kept"]);
    assert.ok(!fs.existsSync(marker), "a definition's exec: secret ran");
    assert.match(server.stderr, /API-created stream 'tampered' not loaded: .*warehouse/);
    assert.match(server.stderr, /API-created stream 'filey' not loaded: .*bucket named by BucketARN/);
    assert.match(server.stderr, /API-created stream '\.\.\/journal' not loaded/);
    assert.ok(!server.stderr.includes("planted"), "an uncataloged file was read");
    // Tags given at creation survived the restart.
    const tags = await fh.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: "kept" }));
    assert.deepEqual(tags.Tags, [{ Key: "team", Value: "data" }]);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("prefixes that can never be written are refused at creation with a 400", async () => {
  const dataDir = makeTempDir("hostile-prefix");
  const server = new SluiceServer(dataDir);
  const fh = client(await server.start());
  try {
    const bad = ["../../../tmp/escape/", "/etc/", "./", "x//y/", "a\u0000b/", "!{timestamp:../../}",
      "p".repeat(1025), "!{nope:x}/"];
    for (const Prefix of bad) {
      const e = await rejection(create(fh, "prefixed", "prefix-bucket",
        { Prefix, ErrorOutputPrefix: "err/!{firehose:error-output-type}/" }));
      assert.equal(e.$metadata.httpStatusCode, 400, `${JSON.stringify(Prefix)}: ${e.name}`);
      assert.ok(["InvalidArgumentException", "ValidationException"].includes(e.name), e.name);
    }
    const e = await rejection(create(fh, "prefixed", "prefix-bucket",
      { Prefix: "ok/", ErrorOutputPrefix: "../err/" }));
    assert.equal(e.name, "InvalidArgumentException");
    assert.match(e.message, /error output prefix '\.\.\/err\/'/);
    assert.deepEqual((await fh.send(new ListDeliveryStreamsCommand({}))).DeliveryStreamNames, []);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("tags: Tag, ListTags, Untag with the SDK, and the 50-tag limit", async () => {
  const dataDir = makeTempDir("hostile-tags");
  const server = new SluiceServer(dataDir);
  const fh = client(await server.start());
  try {
    await create(fh, "tagged", "tag-bucket", {}, { Tags: [{ Key: "a", Value: "1" }] });
    await fh.send(new TagDeliveryStreamCommand({ DeliveryStreamName: "tagged",
      Tags: [{ Key: "b", Value: "2" }, { Key: "a", Value: "3" }] }));
    let out = await fh.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: "tagged" }));
    assert.deepEqual(out.Tags, [{ Key: "a", Value: "3" }, { Key: "b", Value: "2" }]);
    assert.equal(out.HasMoreTags, false);
    await fh.send(new UntagDeliveryStreamCommand({ DeliveryStreamName: "tagged", TagKeys: ["a"] }));
    out = await fh.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: "tagged" }));
    assert.deepEqual(out.Tags, [{ Key: "b", Value: "2" }]);
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    const e = await rejection(fh.send(new TagDeliveryStreamCommand({ DeliveryStreamName: "tagged",
      Tags: many })));
    assert.equal(e.name, "LimitExceededException", e.message);
    out = await fh.send(new ListTagsForDeliveryStreamCommand({ DeliveryStreamName: "tagged" }));
    assert.equal(out.Tags.length, 1);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("the number of delivery streams is bounded: LimitExceededException", async () => {
  const dataDir = makeTempDir("hostile-limit");
  const config = path.join(dataDir, "sluice.yaml");
  fs.writeFileSync(config, "server:\n  max_delivery_streams: 3\n");
  const server = new SluiceServer(dataDir, ["--config", config]);
  const fh = client(await server.start());
  try {
    for (let i = 0; i < 3; i++) await create(fh, `s${i}`, "limit-bucket");
    const e = await rejection(create(fh, "s3", "limit-bucket"));
    assert.equal(e.name, "LimitExceededException", e.message);
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.message, /quota of 3 delivery streams/);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("an internal failure (file descriptors exhausted) answers without the server's paths", async () => {
  const dataDir = makeTempDir("hostile-fds");
  const ready = path.join(dataDir, "ready");
  const child = spawn("prlimit", ["--nofile=48:48", sluiceBin(), "serve", "--listen", "127.0.0.1:0",
    "--admin-listen", "127.0.0.1:0", "--data-dir", dataDir, "--ready-file", ready], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  try {
    const addr = await waitFor(() => fs.existsSync(ready) && fs.readFileSync(ready, "utf8").trim(),
      20000, "the server to start", () => stderr);
    const fh = client(`http://${addr}`);
    let failure = null;
    for (let i = 0; i < 60 && !failure; i++) {
      try {
        await create(fh, `fd${i}`, "fd-bucket");
      } catch (e) {
        failure = e;
      }
    }
    assert.ok(failure, "48 file descriptors held 60 streams");
    assert.ok(["InternalFailure", "ServiceUnavailableException"].includes(failure.name), failure.name);
    assert.ok(!failure.message.includes(dataDir), `the answer shows a server path: ${failure.message}`);
    assert.match(failure.message, /request id [0-9a-f-]{36}/);
  } finally {
    child.kill("SIGTERM");
    await waitExit(child, 30000, "sluice serve");
  }
});

test("HEAD answers have no body, so a kept-alive connection stays in step", async () => {
  const dataDir = makeTempDir("hostile-head");
  const server = new SluiceServer(dataDir);
  const endpoint = new URL(await server.start());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (method, body) => new Promise((resolve, reject) => {
    const req = http.request({ host: endpoint.hostname, port: endpoint.port, path: "/", method, agent,
      headers: { "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Firehose_20150804.ListDeliveryStreams" } }, (res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, text, socket: req.socket }));
    });
    req.on("error", reject);
    req.end(body);
  });
  try {
    const head = await request("HEAD");
    assert.equal(head.text, "");
    const post = await request("POST", "{}");
    assert.equal(post.socket, head.socket, "the connection was not reused");
    assert.equal(post.status, 200);
    assert.deepEqual(JSON.parse(post.text), { DeliveryStreamNames: [], HasMoreDeliveryStreams: false });
  } finally {
    agent.destroy();
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});
