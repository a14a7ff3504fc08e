// The Kinesis side of the command line against a real `sluice serve` (and a fake endpoint for
// the retry path): `sluice streams` for Kinesis streams, `sluice put --kinesis` with partition
// keys, and `sluice tail` from every kind of start, caught up or following.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test kinesis_cli.test.mjs
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  kinesisCall, makeTempDir, putRecordsAnswer, sluiceBin, SluiceServer, startFakeFirehose, waitExit,
  waitFor,
} from "./sluice_harness.mjs";

// Runs `sluice <args>` with `input` on stdin; resolves {code, stdout, stderr}.
async function sluice(args, { input = "", env = {}, timeoutMs = 60000 } = {}) {
  const child = spawn(sluiceBin(), args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d.toString()));
  child.stderr.on("data", (d) => (stderr += d.toString()));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  const { code } = await waitExit(child, timeoutMs, `sluice ${args.join(" ")}`);
  return { code, stdout, stderr };
}

let server;
let endpoint;
before(async () => {
  server = new SluiceServer(path.join(makeTempDir("kinesis-cli"), "data"));
  endpoint = await server.start();
});
after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, server.stderr);
});

const put = (stream, input, extra = []) =>
  sluice(["put", "--no-progress", "--kinesis", stream, "--endpoint", endpoint, ...extra], { input });
const tailJson = async (stream, extra = []) => {
  const r = await sluice(["tail", stream, "--endpoint", endpoint, "--format", "json", ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
};
const createKinesis = async (name, shards) => {
  const r = await sluice(["streams", "create", name, "--kinesis", "--shards", String(shards), "--endpoint", endpoint]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
};
const describeKinesis = async (name) => {
  const r = await sluice(["streams", "describe", name, "--kinesis", "--endpoint", endpoint]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};

// The shard whose hash-key range holds MD5(key) read as a 128-bit big-endian integer, computed
// here independently of the server.
function shardOf(key, shards) {
  const hash = BigInt(`0x${createHash("md5").update(key, "utf8").digest("hex")}`);
  return shards.find((s) => BigInt(s.HashKeyRange.StartingHashKey) <= hash &&
    hash <= BigInt(s.HashKeyRange.EndingHashKey)).ShardId;
}

test("streams create, list, describe and delete Kinesis streams next to delivery streams", async () => {
  const arn = await createKinesis("cli-k1", 3);
  assert.equal(arn, "arn:aws:kinesis:us-east-1:000000000000:stream/cli-k1");
  const onDemand = await sluice(["streams", "create", "cli-k2", "--kinesis", "--on-demand", "--endpoint", endpoint]);
  assert.equal(onDemand.code, 0, onDemand.stderr);
  const delivery = await sluice(["streams", "create", "cli-d1", "--bucket", "cli-d1-bucket", "--endpoint", endpoint]);
  assert.equal(delivery.code, 0, delivery.stderr);

  const list = await sluice(["streams", "list", "--endpoint", endpoint]);
  assert.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trim().split("\n").map((l) => l.split(/\s+/));
  assert.deepEqual(rows[0], ["NAME", "KIND"]);
  assert.ok(rows.some(([n, k]) => n === "cli-d1" && k === "delivery"), list.stdout);
  assert.ok(rows.some(([n, k]) => n === "cli-k1" && k === "kinesis"), list.stdout);
  assert.ok(rows.some(([n, k]) => n === "cli-k2" && k === "kinesis"), list.stdout);
  const onlyKinesis = await sluice(["streams", "list", "--kind", "kinesis", "--endpoint", endpoint]);
  assert.ok(!onlyKinesis.stdout.includes("cli-d1"), onlyKinesis.stdout);

  const k1 = await describeKinesis("cli-k1");
  assert.equal(k1.StreamDescriptionSummary.StreamStatus, "ACTIVE");
  assert.equal(k1.StreamDescriptionSummary.RetentionPeriodHours, 24);
  assert.equal(k1.StreamDescriptionSummary.StreamModeDetails.StreamMode, "PROVISIONED");
  assert.equal(k1.StreamDescriptionSummary.OpenShardCount, 3);
  assert.deepEqual(k1.Shards.map((s) => s.ShardId),
    ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]);
  assert.equal(k1.Shards[2].HashKeyRange.EndingHashKey, "340282366920938463463374607431768211455");
  const k2 = await describeKinesis("cli-k2");
  assert.equal(k2.StreamDescriptionSummary.StreamModeDetails.StreamMode, "ON_DEMAND");
  assert.equal(k2.Shards.length, 4);

  // A Kinesis name given without --kinesis: the hint says so.
  const wrongKind = await sluice(["streams", "describe", "cli-k1", "--endpoint", endpoint]);
  assert.equal(wrongKind.code, 1);
  assert.match(wrongKind.stderr, /no delivery stream 'cli-k1' \(there is a Kinesis stream of that name: add --kinesis\)/);
  const both = await sluice(["streams", "create", "cli-k3", "--kinesis", "--shards", "2", "--on-demand", "--endpoint", endpoint]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--shards and --on-demand exclude each other/);
  const again = await sluice(["streams", "create", "cli-k1", "--kinesis", "--endpoint", endpoint]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /CreateStream: ResourceInUseException/);

  for (const name of ["cli-k1", "cli-k2"]) {
    const del = await sluice(["streams", "delete", name, "--kinesis", "--endpoint", endpoint]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, `deleted ${name}\n`);
  }
  const gone = await sluice(["streams", "describe", "cli-k1", "--kinesis", "--endpoint", endpoint]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /ResourceNotFoundException: Stream cli-k1 under account 000000000000 not found/);
  const after = await sluice(["streams", "list", "--endpoint", endpoint]);
  assert.ok(!/cli-k[12]/.test(after.stdout), after.stdout);
});

test("put --kinesis routes by --partition-key-field, and tail shows every key and shard", async () => {
  await createKinesis("cli-keys", 4);
  const { Shards } = await describeKinesis("cli-keys");
  const input = [];
  for (let i = 0; i < 300; i++) input.push(JSON.stringify({ n: i, customer: { id: `c${i % 17}` } }));
  input.push(JSON.stringify({ n: 300, customer: { id: 42 } }));  // a number: its JSON text
  input.push("not json");  // no usable key: a random one
  const r = await put("cli-keys", input.join("\n") + "\n", ["--partition-key-field", "customer.id"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /delivered 302 records to stream 'cli-keys'/);
  assert.match(r.stderr, /1 record\(s\) had no usable 'customer\.id' \(first: <stdin>:302\); sent with random partition keys/);

  const records = await tailJson("cli-keys");
  assert.equal(records.length, 302);
  const byN = new Map();
  for (const rec of records) {
    assert.equal(rec.shard, shardOf(rec.partition_key, Shards), `routing of ${rec.partition_key}`);
    assert.match(rec.arrival, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(rec.sequence_number, /^\d{56}$/);
    if (rec.data.startsWith("{")) byN.set(JSON.parse(rec.data).n, rec);
  }
  for (let i = 0; i < 300; i++) assert.equal(byN.get(i).partition_key, `c${i % 17}`);
  assert.equal(byN.get(300).partition_key, "42");
  const random = records.find((rec) => rec.data === "not json\n");
  assert.match(random.partition_key, /^[0-9a-f]{32}$/);
  assert.ok(new Set(records.map((rec) => rec.shard)).size > 1, "17 keys spread over the shards");
  // Per key, tail prints the records in the order they were put.
  for (let k = 0; k < 17; k++) {
    const ns = records.filter((rec) => rec.partition_key === `c${k}`).map((rec) => JSON.parse(rec.data).n);
    assert.deepEqual(ns, [...ns].sort((a, b) => a - b));
  }

  // --partition-key: one key, so one shard; the default data format is one record per line.
  const fixed = await put("cli-keys", "a\nb\nc\n", ["--partition-key", "same"]);
  assert.equal(fixed.code, 0, fixed.stderr);
  const last = (await tailJson("cli-keys")).filter((rec) => rec.partition_key === "same");
  assert.deepEqual(last.map((rec) => rec.data), ["a\n", "b\n", "c\n"]);
  assert.equal(new Set(last.map((rec) => rec.shard)).size, 1);
  const text = await sluice(["tail", "cli-keys", "--shard", last[0].shard, "--endpoint", endpoint]);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(text.stdout.endsWith("a\nb\nc\n"), text.stdout.slice(-50));

  // Without a key option: a random key per record.
  const randomKeys = await put("cli-keys", "x1\nx2\nx3\nx4\n");
  assert.equal(randomKeys.code, 0, randomKeys.stderr);
  const xs = (await tailJson("cli-keys")).filter((rec) => rec.data.startsWith("x"));
  assert.equal(new Set(xs.map((rec) => rec.partition_key)).size, 4);
});

test("tail --from trim-horizon, latest, a time and a sequence number", async () => {
  await createKinesis("cli-from", 2);
  const first = await put("cli-from", Array.from({ length: 20 }, (_, i) => `a${i}`).join("\n") + "\n");
  assert.equal(first.code, 0, first.stderr);
  const a = await tailJson("cli-from", ["--from", "trim-horizon"]);
  assert.equal(a.length, 20);
  const boundary = Math.max(...a.map((rec) => Date.parse(rec.arrival))) + 1;
  await waitFor(() => Date.now() > boundary + 2, 5000, "the clock to pass the first batch");
  const second = await put("cli-from", Array.from({ length: 20 }, (_, i) => `b${i}`).join("\n") + "\n");
  assert.equal(second.code, 0, second.stderr);

  const all = await tailJson("cli-from");
  assert.equal(all.length, 40);
  assert.deepEqual(await tailJson("cli-from", ["--from", "latest"]), []);
  const sorted = (recs) => recs.map((rec) => rec.data.trim()).sort();
  const bs = Array.from({ length: 20 }, (_, i) => `b${i}`).sort();
  assert.deepEqual(sorted(await tailJson("cli-from", ["--from", new Date(boundary).toISOString()])), bs);
  assert.deepEqual(sorted(await tailJson("cli-from", ["--from", String(boundary)])), bs);

  // A sequence number: that record and the later ones of its shard only.
  const shardRecords = all.filter((rec) => rec.shard === all[25].shard);
  const from = shardRecords[Math.floor(shardRecords.length / 2)];
  const expected = shardRecords.filter((rec) => BigInt(rec.sequence_number) >= BigInt(from.sequence_number));
  const got = await tailJson("cli-from", ["--from", from.sequence_number]);
  assert.deepEqual(got.map((rec) => rec.sequence_number), expected.map((rec) => rec.sequence_number));
});

test("tail explains a bad --from, an unknown stream and a sequence number of no shard", async () => {
  const bad = await sluice(["tail", "cli-from", "--from", "yesterday", "--endpoint", endpoint]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad --from 'yesterday': expected trim-horizon, latest, an ISO-8601 time/);
  const unknown = await sluice(["tail", "no-such-stream", "--endpoint", endpoint]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /ResourceNotFoundException: Stream no-such-stream under account 000000000000 not found/);
  const future = await sluice(["tail", "cli-from", "--from", "2999-01-01T00:00:00Z", "--endpoint", endpoint]);
  assert.equal(future.code, 2);
  assert.match(future.stderr, /InvalidArgumentException/);
  const foreign = await sluice(["tail", "cli-from", "--from", "49600000000000000000000000000000000000000000000000000000", "--endpoint", endpoint]);
  assert.equal(foreign.code, 2, foreign.stderr);
  assert.match(foreign.stderr, /--from 49600000000000000000000000000000000000000000000000000000: no shard of stream 'cli-from' holds this sequence number/);
  const unknownShard = await sluice(["tail", "cli-from", "--shard", "shardId-000000000009", "--endpoint", endpoint]);
  assert.equal(unknownShard.code, 1);
  assert.match(unknownShard.stderr, /Shard shardId-000000000009 in stream cli-from under account 000000000000 does not exist/);
});

test("tail --follow prints a record put after it started and keeps running", async () => {
  await createKinesis("cli-follow", 2);
  assert.equal((await put("cli-follow", "before\n")).code, 0);
  const child = spawn(sluiceBin(), ["tail", "cli-follow", "--follow", "--endpoint", endpoint], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d.toString()));
  child.stderr.on("data", (d) => (stderr += d.toString()));
  try {
    await waitFor(() => stdout === "before\n", 15000, "the record put before", () => `stdout ${stdout} stderr ${stderr}`);
    assert.equal((await put("cli-follow", "after\n")).code, 0);
    await waitFor(() => stdout === "before\nafter\n", 15000, "the record put after", () => `stdout ${stdout} stderr ${stderr}`);
    assert.equal(child.exitCode, null, "--follow keeps running when caught up");
  } finally {
    child.kill("SIGTERM");
    await waitExit(child, 10000, "sluice tail --follow after SIGTERM");
  }
});

// Resharding is not served by this build's Kinesis handler (SplitShard/MergeShards), so a fake
// endpoint scripts it: shardId-0 and shardId-1 are closed parents merged into shardId-2.
test("tail drains merged parents before their child, retrying throttling and renewing an expired iterator", async () => {
  const shards = {
    "shardId-000000000000": { records: ["a0", "a1"], closed: true },
    "shardId-000000000001": { records: ["b0"], closed: true },
    "shardId-000000000002": { records: ["c0", "c1"], closed: false },
  };
  const child = { ShardId: "shardId-000000000002", ParentShards: ["shardId-000000000000", "shardId-000000000001"],
    HashKeyRange: { StartingHashKey: "0", EndingHashKey: "340282366920938463463374607431768211455" } };
  let throttled = false;
  let expired = false;
  const fake = await startFakeFirehose((call) => {
    const op = call.target.replace("Kinesis_20131202.", "");
    if (op === "ListShards") {
      return { status: 200, body: { Shards: Object.keys(shards).slice(0, 2).map((ShardId) => ({ ShardId })) } };
    }
    if (op === "GetShardIterator") {
      const after = call.body.ShardIteratorType === "AFTER_SEQUENCE_NUMBER";
      const pos = after ? Number(call.body.StartingSequenceNumber) - 4960 + 1 : 0;
      return { status: 200, body: { ShardIterator: `${call.body.ShardId}|${pos}` } };
    }
    const [id, pos] = call.body.ShardIterator.split("|");
    if (id === "shardId-000000000002" && Number(pos) === 2 && !expired) {
      expired = true;  // the caught-up child's iterator "expires" once
      return { status: 400, body: { __type: "ExpiredIteratorException", message: "Iterator expired." } };
    }
    if (id === "shardId-000000000001" && !throttled) {
      throttled = true;
      return { status: 400, body: { __type: "ProvisionedThroughputExceededException", message: "Rate exceeded for shard" } };
    }
    const shard = shards[id];
    const Records = shard.records.slice(Number(pos)).map((d, i) => ({
      SequenceNumber: `${4960 + Number(pos) + i}`, ApproximateArrivalTimestamp: 1796119200.25,
      Data: Buffer.from(d).toString("base64"), PartitionKey: "k",
    }));
    const body = { Records, MillisBehindLatest: 0 };
    if (shard.closed) body.ChildShards = [child];
    else body.NextShardIterator = `${id}|${shard.records.length}`;
    return { status: 200, body };
  });
  try {
    const r = await sluice(["tail", "merged", "--endpoint", fake.endpoint, "--format", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const records = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(records.map((rec) => rec.data), ["a0", "a1", "b0", "c0", "c1"]);
    assert.equal(records[0].arrival, "2026-12-01T10:00:00.250Z");
    const iterators = fake.calls.filter((c) => c.target.endsWith("GetShardIterator")).map((c) => c.body);
    assert.deepEqual(iterators.map((b) => `${b.ShardId} ${b.ShardIteratorType} ${b.StartingSequenceNumber ?? ""}`), [
      "shardId-000000000000 TRIM_HORIZON ", "shardId-000000000001 TRIM_HORIZON ", "shardId-000000000002 TRIM_HORIZON ",
      "shardId-000000000002 AFTER_SEQUENCE_NUMBER 4961"]);
    const list = fake.calls.find((c) => c.target.endsWith("ListShards")).body;
    assert.deepEqual(list, { StreamName: "merged", ShardFilter: { Type: "AT_TRIM_HORIZON" } });
    assert.ok(throttled && expired);
  } finally {
    await fake.close();
  }
});

// Fast retries so the test spends little time sleeping in backoff.
const kFast = ["--backoff-base-ms", "5", "--backoff-max-ms", "20"];

test("put --kinesis retries only the records that failed, with PutRecords' wire shape", async () => {
  const fake = await startFakeFirehose((call) => {
    if (call.index === 0) {
      return putRecordsAnswer(call, new Map([[1, "ProvisionedThroughputExceededException"],
        [3, "InternalFailure"]]));
    }
    if (call.index === 1) return putRecordsAnswer(call, new Map([[0, "ProvisionedThroughputExceededException"]]));
    return putRecordsAnswer(call);
  });
  try {
    const input = Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: `u${i}` })).join("\n") + "\n";
    const r = await sluice(["put", "--no-progress", "--kinesis", "orders-kds", "--endpoint", fake.endpoint,
      "--partition-key-field", "id", ...kFast], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /delivered 6 records to stream 'orders-kds' in [\d.]+ s \(3 requests, 3 records retried\)/);
    assert.equal(fake.calls.length, 3);
    for (const call of fake.calls) {
      assert.equal(call.target, "Kinesis_20131202.PutRecords");
      assert.equal(call.headers["content-type"], "application/x-amz-json-1.1");
      assert.equal(call.body.StreamName, "orders-kds");
    }
    const keys = (call) => call.body.Records.map((rec) => rec.PartitionKey);
    assert.deepEqual(keys(fake.calls[0]), ["u0", "u1", "u2", "u3", "u4", "u5"]);
    assert.deepEqual(keys(fake.calls[1]), ["u1", "u3"]);
    assert.deepEqual(keys(fake.calls[2]), ["u1"]);
    assert.equal(fake.calls[2].records[0].toString(), '{"id":"u1"}\n');
  } finally {
    await fake.close();
  }
});

test("put --kinesis batches at 500 records and 5 MiB with keys, signs for kinesis, and gives up readably", async () => {
  const fake = await startFakeFirehose((call) => {
    if (call.body.Records.some((rec) => rec.PartitionKey === "doomed")) {
      return putRecordsAnswer(call, new Map(call.body.Records.map((rec, i) => [i, "ProvisionedThroughputExceededException"])));
    }
    return putRecordsAnswer(call);
  });
  try {
    const small = Array.from({ length: 1200 }, (_, i) => `r${i}`).join("\n") + "\n";
    const env = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_SESSION_TOKEN: "" };
    const r = await sluice(["put", "--no-progress", "--kinesis", "s", "--endpoint", fake.endpoint, "--region", "eu-west-1"],
      { input: small, env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fake.calls.map((c) => c.records.length), [500, 500, 200]);
    assert.match(fake.calls[0].headers.authorization,
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/kinesis\/aws4_request, SignedHeaders=[^,]*x-amz-target/);

    // 12 records of 512 KiB with a 256-character key: 9 fit in 5 MiB, the next call takes 3.
    fake.calls.length = 0;
    const big = Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(512 * 1024 - 1, "x")).join("\n") + "\n";
    const key = "k".repeat(256);
    const b = await sluice(["put", "--no-progress", "--kinesis", "s", "--endpoint", fake.endpoint, "--partition-key", key],
      { input: big });
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(fake.calls.map((c) => c.records.length), [9, 3]);
    for (const call of fake.calls) {
      const bytes = call.records.reduce((n, rec) => n + rec.length, 0) + call.records.length * 256;
      assert.ok(bytes <= 5 * 1024 * 1024, `${bytes} bytes in one call`);
    }

    const doomed = await sluice(["put", "--no-progress", "--kinesis", "s", "--endpoint", fake.endpoint,
      "--partition-key", "doomed", "--max-retries", "2", ...kFast], { input: "a\nb\n" });
    assert.equal(doomed.code, 1);
    assert.match(doomed.stderr, /2 record\(s\) not delivered after 3 attempts: ProvisionedThroughputExceededException/);
    assert.match(doomed.stderr, /2 of 2 records were NOT delivered to stream 's'/);
  } finally {
    await fake.close();
  }
});

test("put needs exactly one of --stream and --kinesis, and keys only with --kinesis", async () => {
  const neither = await sluice(["put", "--endpoint", endpoint], { input: "a\n" });
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /give either --stream DELIVERY_STREAM or --kinesis STREAM/);
  const keyless = await sluice(["put", "--stream", "x", "--partition-key", "k", "--endpoint", endpoint], { input: "a\n" });
  assert.equal(keyless.code, 2);
  assert.match(keyless.stderr, /--partition-key and --partition-key-field need --kinesis/);
  const unknown = await put("no-such-kds", "a\n");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /ResourceNotFoundException: Stream no-such-kds under account 000000000000 not found/);
});
