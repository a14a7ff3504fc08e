// `sluice replay` end to end (issue 8): records put with the real AWS SDK and delivered by
// `sluice serve` are replayed from a RecordId or a time, and land again as new objects; errors
// name what is wrong and send nothing.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test replay.test.mjs
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  CreateDeliveryStreamCommand, DeleteDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand,
  PutRecordCommand,
} from "@aws-sdk/client-firehose";

import { listFiles, makeTempDir, sluiceBin, SluiceServer, waitExit, waitFor } from "./sluice_harness.mjs";

const kBucket = "replay-bucket";
const kCreds = { accessKeyId: "AKIDREPLAY", secretAccessKey: "replay-secret" };

let dataDir;
let server;
let client;

before(async () => {
  dataDir = makeTempDir("replay");
  server = new SluiceServer(dataDir);
  client = new FirehoseClient({
    endpoint: await server.start(), region: "us-east-1", credentials: kCreds, maxAttempts: 1,
  });
});

after(async () => {
  client?.destroy();
  if (server?.child) await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function createStream(name) {
  await client.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: name,
    DeliveryStreamType: "DirectPut",
    ExtendedS3DestinationConfiguration: {
      RoleARN: "arn:aws:iam::123456789012:role/firehose-replay",
      BucketARN: `arn:aws:s3:::${kBucket}`,
      Prefix: `${name}/`,
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    },
  }));
}

function record(stream, seq) {
  return Buffer.from(`{"stream":"${stream}","seq":${seq}}\n`);
}

// Puts `records` one by one with PutRecord; returns their RecordIds.
async function putEach(stream, records) {
  const ids = [];
  for (const data of records) {
    const out = await client.send(new PutRecordCommand({ DeliveryStreamName: stream, Record: { Data: data } }));
    ids.push(out.RecordId);
  }
  return ids;
}

// The delivered objects of `stream`: [{key, data}], sorted by key.
function objects(stream) {
  const root = path.join(dataDir, "buckets", kBucket, stream);
  return listFiles(root).map((file) => ({ key: path.relative(root, file), data: fs.readFileSync(file) }));
}

function deliveredBytes(stream) {
  return objects(stream).reduce((n, o) => n + o.data.length, 0);
}

// Waits until `stream` has exactly `expected` bytes delivered.
async function waitDelivered(stream, expected) {
  await waitFor(() => deliveredBytes(stream) >= expected, 20000,
    `${expected} delivered bytes of ${stream}`,
    () => `have ${deliveredBytes(stream)} in ${JSON.stringify(objects(stream).map((o) => o.key))}`);
  assert.equal(deliveredBytes(stream), expected, "more bytes delivered than expected");
}

async function runReplay(args, { dir = dataDir, endpoint = server.endpoint, timeoutMs = 60000 } = {}) {
  const child = spawn(sluiceBin(), ["replay", "--no-progress", "--data-dir", dir,
    "--endpoint", endpoint, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d.toString()));
  const { code } = await waitExit(child, timeoutMs, `sluice replay ${args.join(" ")}`);
  return { code, stderr };
}

// The records (lines, sorted) of the objects whose keys are not in `before`.
function newRecords(stream, before) {
  const seen = new Set(before.map((o) => o.key));
  return lines(Buffer.concat(objects(stream).filter((o) => !seen.has(o.key)).map((o) => o.data)));
}

function lines(buffer) {
  return buffer.toString("utf8").split("\n").filter((l) => l !== "").sort();
}

test("replay --from the first RecordId delivers every record again as new objects", async () => {
  const stream = "replay-ids";
  await createStream(stream);
  const records = [0, 1, 2, 3].map((seq) => record(stream, seq));
  const ids = await putEach(stream, records);
  const all = Buffer.concat(records);
  await waitDelivered(stream, all.length);
  const first = objects(stream);

  const { code, stderr } = await runReplay(["--stream", stream, "--from", ids[0]]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /stream 'replay-ids': 4 records \(\d+ bytes\) from partition 0 \(offsets 0-3\)/);
  assert.match(stderr, /new batches with new batch ids/);
  assert.match(stderr, /a merge warehouse updates the rows by key, an append warehouse receives them again/);
  assert.match(stderr, /delivered 4 records to stream 'replay-ids'/);

  await waitDelivered(stream, 2 * all.length);
  // The first delivery is untouched; the replay wrote new objects holding the records again.
  for (const o of first) {
    assert.ok(objects(stream).some((n) => n.key === o.key && n.data.equals(o.data)), `${o.key} changed`);
  }
  assert.deepEqual(newRecords(stream, first), lines(all), "the new objects do not hold the records");

  // Replay stops at the last record present when it started: running it again sends the
  // original four and the four replayed ones, nothing more.
  const second = objects(stream);
  const again = await runReplay(["--stream", stream, "--from", ids[0]]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /8 records .* \(offsets 0-7\)/);
  await waitDelivered(stream, 4 * all.length);
  assert.deepEqual(newRecords(stream, second), lines(Buffer.concat([all, all])));
});

test("replay --from a time delivers only the records that arrived since, and --dry-run sends nothing", async () => {
  const stream = "replay-time";
  await createStream(stream);
  const early = [0, 1, 2].map((seq) => record(stream, seq));
  const late = [3, 4, 5, 6, 7].map((seq) => record(stream, seq));
  const put = async (batch) => {
    const out = await client.send(new PutRecordBatchCommand({
      DeliveryStreamName: stream, Records: batch.map((Data) => ({ Data })),
    }));
    assert.equal(out.FailedPutCount, 0);
  };
  await put(early);
  // The early records arrived at or before `mark` (they were acknowledged); the late ones are
  // sent once the clock has passed it, so they arrive after.
  const mark = Date.now();
  await waitFor(() => Date.now() > mark, 1000, "the clock to pass the mark");
  await put(late);
  const all = Buffer.concat([...early, ...late]);
  await waitDelivered(stream, all.length);
  const first = objects(stream);
  const from = new Date(mark + 1).toISOString();

  const dry = await runReplay(["--stream", stream, "--from", from, "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /5 records .* from partition 0 \(offsets 3-7\)/);
  assert.match(dry.stderr, /dry run: nothing sent/);

  const { code, stderr } = await runReplay(["--stream", stream, "--from", from]);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /delivered 5 records/);
  await waitDelivered(stream, all.length + Buffer.concat(late).length);
  assert.deepEqual(newRecords(stream, first), lines(Buffer.concat(late)));
});

test("replay refuses an unknown stream, a bad time, --to before --from and a RecordId of a deleted incarnation", async () => {
  const stream = "replay-errors";
  await createStream(stream);
  const [old] = await putEach(stream, [record(stream, 0)]);
  await waitDelivered(stream, record(stream, 0).length);

  let r = await runReplay(["--stream", "no-such-stream", "--from", "0:0"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /stream 'no-such-stream' has no journal under .* \(streams there: .*replay-errors/);

  r = await runReplay(["--stream", "..", "--from", "0:0"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /invalid stream name '\.\.'/);

  r = await runReplay(["--stream", stream, "--from", "2026-12-01T10:00:00"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--from '2026-12-01T10:00:00' is not a time: expected ISO-8601 with a zone/);

  r = await runReplay(["--stream", stream, "--from", "2026-12-01T10:00:00Z", "--to", "2026-12-01T09:00:00Z"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--to \(2026-12-01T09:00:00\.000Z\) is before --from \(2026-12-01T10:00:00\.000Z\)/);

  // Deleting and re-creating the stream starts a new incarnation with an empty journal: the old
  // RecordId names nothing that still exists, even though offset 0 is taken again.
  await client.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: stream }));
  await createStream(stream);
  await putEach(stream, [record(stream, 100)]);
  const before = objects(stream).length;
  r = await runReplay(["--stream", stream, "--from", old]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--from is a RecordId of another incarnation of stream 'replay-errors'/);
  assert.doesNotMatch(r.stderr, /delivered/);
  assert.equal(objects(stream).length, before);
});

// The use case: a rule was wrong; after fixing it in the config and restarting the server,
// replaying the stream reloads the rows. A merge warehouse updates them by key, an append one
// gets them a second time. The streams come from a config file, so the restart gives them a new
// incarnation over the same journal: a RecordId of the first run still names its record.
test("after a rule fix and a restart, replay updates a merge warehouse by key and appends to an append one", async () => {
  const cwd = makeTempDir("replay-wh");
  const dir = path.join(cwd, "var");
  const sqlite = (db, sql) => spawnSync("sqlite3", [path.join(dir, db), sql], { encoding: "utf8" }).stdout.trim();
  const ledger = (db) => (fs.existsSync(path.join(dir, db)) ? Number(sqlite(db, "SELECT count(*) FROM sluice_load_ledger")) : 0);
  const config = path.join(cwd, "sluice.yaml");
  const stream = (name, mode, factor) => `
  - name: ${name}
    buffering: {size_mb: 1, interval_s: 1}
    processors:
      - schema: {columns: [{name: id, type: bigint, required: true}, {name: v, type: integer, required: true}]}
      - rules: [{set: score, expr: "string.format('%d', v * ${factor})"}]
    format: {csv: {header: true}}
    staged: {url: "file://./var/buckets/${name}"}
    warehouse: {engine: sqlite, dsn: ./var/${name}.db, table: t, mode: ${mode}, key: [id], create_table: true}`;
  const writeConfig = (factor) => fs.writeFileSync(config,
    `delivery_streams:${stream("wh_merge", "merge", factor)}${stream("wh_append", "append", factor)}\n`);
  const records = [1, 2, 3].map((id) => ({ Data: Buffer.from(`{"id":${id},"v":${id}}\n`) }));

  writeConfig(3);  // the bug: the score should be v * 2
  let wh = new SluiceServer(dir, ["--config", config], { cwd });
  let sdk = new FirehoseClient({ endpoint: await wh.start(), region: "us-east-1", credentials: kCreds, maxAttempts: 1 });
  let firstId;
  try {
    for (const name of ["wh_merge", "wh_append"]) {
      const out = await sdk.send(new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records }));
      assert.equal(out.FailedPutCount, 0);
      if (name === "wh_merge") firstId = out.RequestResponses[0].RecordId;
    }
    await waitFor(() => ledger("wh_merge.db") >= 1 && ledger("wh_append.db") >= 1, 20000,
      "the first loads", () => wh.stderr);
  } finally {
    sdk.destroy();
    assert.equal((await wh.stop()).code, 0, wh.stderr);
  }
  assert.equal(sqlite("wh_merge.db", "SELECT group_concat(score, ',') FROM (SELECT score FROM t ORDER BY id)"), "3,6,9");

  writeConfig(2);  // the fix
  wh = new SluiceServer(dir, ["--config", config], { cwd });
  const endpoint = await wh.start();
  try {
    let r = await runReplay(["--stream", "wh_merge", "--from", firstId], { dir, endpoint });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /3 records .* from partition 0 \(offsets 0-2\)/);
    r = await runReplay(["--stream", "wh_append", "--from", "0"], { dir, endpoint });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /delivered 3 records/);
    await waitFor(() => ledger("wh_merge.db") >= 2 && ledger("wh_append.db") >= 2, 20000,
      "the replayed loads", () => wh.stderr);
  } finally {
    assert.equal((await wh.stop()).code, 0, wh.stderr);
  }
  // New batch ids: the ledger took the replayed batches instead of skipping them.
  assert.equal(ledger("wh_merge.db"), 2);
  assert.equal(sqlite("wh_merge.db", "SELECT group_concat(id || '=' || score, ',') FROM (SELECT * FROM t ORDER BY id)"),
    "1=2,2=4,3=6");
  assert.equal(sqlite("wh_append.db", "SELECT group_concat(score, ',') FROM (SELECT score FROM t ORDER BY id, CAST(score AS INTEGER))"),
    "2,3,4,6,6,9");
  fs.rmSync(cwd, { recursive: true, force: true });
});
