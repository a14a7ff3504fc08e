// `sluice agent` (issue 11): the file input tails files through the on-disk spool into
// `sluice serve`'s Kinesis API; records are read back with GetRecords, byte for byte.
// Rotation (rename, copy-truncate, deletion, growth while rotated), multi-line records, a partial
// last line, kill -9 of the agent while a file is written, and a server outage.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { SluiceServer, makeTempDir, waitFor, waitExit, kinesisCall, firehoseCall, listFiles, sluiceBin, sleep } from "./sluice_harness.mjs";

async function createStream(endpoint, name) {
  const r = await kinesisCall(endpoint, "CreateStream", { StreamName: name, ShardCount: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

// Every record of shard 0 of `stream`, as strings, in order.
async function readAll(endpoint, stream) {
  const shards = await kinesisCall(endpoint, "ListShards", { StreamName: stream });
  const out = [];
  for (const shard of shards.json.Shards) {
    let it = (await kinesisCall(endpoint, "GetShardIterator", {
      StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: "TRIM_HORIZON",
    })).json.ShardIterator;
    for (;;) {
      const r = await kinesisCall(endpoint, "GetRecords", { ShardIterator: it, Limit: 10000 });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      for (const rec of r.json.Records) out.push(Buffer.from(rec.Data, "base64").toString());
      it = r.json.NextShardIterator;
      if (r.json.Records.length === 0 || r.json.MillisBehindLatest === 0 && r.json.Records.length < 10000) {
        if (r.json.Records.length === 0) break;
      }
    }
  }
  return out;
}

class Agent {
  constructor(dir, config) {
    this.dir = dir;
    this.configPath = path.join(dir, "agent.yaml");
    fs.writeFileSync(this.configPath, config);
    this.stderr = "";
    this.allStderr = "";
  }
  start() {
    this.stderr = "";
    this.child = spawn(sluiceBin(), ["agent", "--config", this.configPath, "--state-dir", path.join(this.dir, "state")],
      { stdio: ["ignore", "ignore", "pipe"], cwd: this.dir });
    this.child.stderr.on("data", (d) => { this.stderr += d.toString(); this.allStderr += d.toString(); });
  }
  async stop() {
    this.child.kill("SIGTERM");
    return waitExit(this.child, 30000, "sluice agent after SIGTERM");
  }
  async kill9() {
    this.child.kill("SIGKILL");
    return waitExit(this.child, 10000, "sluice agent after SIGKILL");
  }
}

function config(logGlob, endpoint, extra = "") {
  return `inputs:
  - name: app
    type: file
    paths: ["${logGlob}"]
    poll_interval_ms: 20
    close_inactive_ms: 300
${extra}outputs:
  - name: orders
    type: kinesis
    stream: orders
    endpoint: ${endpoint}
    backoff_base_ms: 20
    backoff_max_ms: 200
`;
}

async function waitRecords(endpoint, n, what, agent) {
  let got = [];
  await waitFor(async () => { got = await readAll(endpoint, "orders"); return got.length >= n; },
    60000, what, () => `have ${got.length}/${n}; agent stderr:\n${agent.allStderr.slice(-4000)}`);
  return got;
}

test("check-config: unknown keys are errors with file:line", async () => {
  const dir = makeTempDir("agent-cfg");
  const p = path.join(dir, "agent.yaml");
  fs.writeFileSync(p, "inputs:\n  - name: a\n    type: file\n    paths: [x]\n    colour: red\noutputs:\n  - {name: o, type: kinesis, stream: s}\n");
  const child = spawn(sluiceBin(), ["agent", "check-config", "--config", p], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  const { code } = await waitExit(child, 10000, "check-config");
  assert.equal(code, 2);
  assert.match(err, /agent\.yaml:5: unknown key 'colour' in a file input/);
});

test("file input: lines, partial last line, rename and copy-truncate rotation, deletion", async () => {
  const dir = makeTempDir("agent-file");
  const server = new SluiceServer(path.join(dir, "server"));
  const endpoint = await server.start();
  await createStream(endpoint, "orders");
  const logs = path.join(dir, "logs");
  fs.mkdirSync(logs);
  const log = path.join(logs, "app.log");
  fs.writeFileSync(log, '{"n":1}\n{"n":2}\n{"n":3');  // partial last line
  const agent = new Agent(dir, config(path.join(logs, "app.log*"), endpoint, "    copy_truncate: true\n"));
  agent.start();
  try {
    let got = await waitRecords(endpoint, 2, "the two complete lines", agent);
    assert.deepEqual(got, ['{"n":1}\n', '{"n":2}\n']);
    fs.appendFileSync(log, "}\n");  // completes the partial line
    got = await waitRecords(endpoint, 3, "the completed line", agent);
    assert.equal(got[2], '{"n":3}\n');
    // Rename rotation; the rotated file still grows (the writer has it open), then a new file.
    fs.renameSync(log, log + ".1");
    fs.appendFileSync(log + ".1", '{"n":4}\n');
    fs.writeFileSync(log, '{"n":5}\n');
    got = await waitRecords(endpoint, 5, "lines across a rename rotation", agent);
    // Copy-truncate: copy, write one more line to the original, truncate.
    fs.appendFileSync(log, '{"n":6}\n');
    await waitRecords(endpoint, 6, "line 6", agent);
    fs.copyFileSync(log, log + ".2");
    fs.truncateSync(log, 0);
    fs.appendFileSync(log, '{"n":7}\n');
    // Deletion of a file still being read.
    fs.unlinkSync(log + ".1");
    fs.appendFileSync(log, '{"n":8}\n');
    got = await waitRecords(endpoint, 8, "lines after copy-truncate and deletion", agent);
    // SIGTERM drains the spool: after it, would-be duplicates have arrived.
    const r = await agent.stop();
    assert.equal(r.code, 0, agent.stderr);
    got = await readAll(endpoint, "orders");
    assert.deepEqual(got.map((s) => JSON.parse(s).n).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
  } finally {
    if (agent.child.exitCode === null) await agent.kill9();
    await server.stop();
  }
});

test("file input: multi-line records by a start pattern", async () => {
  const dir = makeTempDir("agent-ml");
  const server = new SluiceServer(path.join(dir, "server"));
  const endpoint = await server.start();
  await createStream(endpoint, "orders");
  const log = path.join(dir, "trace.log");
  const text = "2026-01-01 boom\n  at a()\n  at b()\n2026-01-02 ok\n2026-01-03 again\n  at c()\n";
  fs.writeFileSync(log, text);
  const agent = new Agent(dir, config(log, endpoint, `    multiline_start: "^\\\\d{4}-"\n    flush_partial_ms: 200\n`));
  agent.start();
  try {
    const got = await waitRecords(endpoint, 3, "three multi-line records", agent);
    assert.deepEqual(got, ["2026-01-01 boom\n  at a()\n  at b()\n", "2026-01-02 ok\n", "2026-01-03 again\n  at c()\n"]);
    assert.equal((await agent.stop()).code, 0);
  } finally {
    if (agent.child.exitCode === null) await agent.kill9();
    await server.stop();
  }
});

test("crash: kill -9 of the agent 20 times while a file is written; an outage of the server", async () => {
  const dir = makeTempDir("agent-crash");
  const server = new SluiceServer(path.join(dir, "server"));
  let endpoint = await server.start();
  await createStream(endpoint, "orders");
  const log = path.join(dir, "app.log");
  fs.writeFileSync(log, "");
  const agent = new Agent(dir, config(log, endpoint));
  let written = 0;
  const write = (n) => {
    let s = "";
    for (let i = 0; i < n; i++) s += JSON.stringify({ seq: written++, pad: "x".repeat(50) }) + "\n";
    fs.appendFileSync(log, s);
  };
  for (let round = 0; round < 20; round++) {
    agent.start();
    write(200);
    // Kill once the agent has made progress this round (it logs when it follows the file).
    await waitFor(() => agent.stderr.includes("following"), 20000, "the agent to start", () => agent.stderr);
    write(100);
    await sleep(round * 7 % 60);
    await agent.kill9();
  }
  // Outage: server down while lines are written and the agent spools them.
  const port = endpoint.split(":").pop();  // reused below
  await server.stop();
  agent.start();
  write(500);
  await waitFor(() => agent.stderr.includes("not accepted, retrying"), 20000, "the agent to see the outage", () => agent.stderr);
  // The same data dir and port: the agent's endpoint is fixed in its config.
  const server2 = new SluiceServer(path.join(dir, "server2"));
  server2.start = async function () {
    const ready = path.join(dir, "ready2.txt");
    this.child = spawn(sluiceBin(), ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir",
      path.join(dir, "server"), "--ready-file", ready], { stdio: ["ignore", "ignore", "pipe"] });
    this.child.stderr.on("data", (d) => { this.stderr += d.toString(); });
    await waitFor(() => fs.existsSync(ready) && fs.readFileSync(ready, "utf8").endsWith("\n"), 20000,
      "the restarted server", () => this.stderr);
    return `http://127.0.0.1:${port}`;
  };
  endpoint = await server2.start();
  try {
    const got = await waitRecords(endpoint, written, "every line after 20 crashes and an outage", agent);
    const seen = new Map();
    for (const s of got) { const n = JSON.parse(s).seq; seen.set(n, (seen.get(n) || 0) + 1); }
    for (let i = 0; i < written; i++) assert.ok(seen.has(i), `line ${i} missing`);
    const duplicates = got.length - written;
    const counted = [...agent.allStderr.matchAll(/resending (\d+) record\(s\)/g)].reduce((a, m) => a + Number(m[1]), 0);
    console.log(`# ${written} lines, ${duplicates} duplicate(s), ${counted} counted as possible duplicates`);
    assert.ok(duplicates <= counted, `${duplicates} duplicate(s), ${counted} counted as possible`);
    assert.ok(duplicates <= 20 * 500, `${duplicates} duplicates exceed one batch per crash`);
    assert.equal((await agent.stop()).code, 0, agent.stderr);
    assert.equal((await readAll(endpoint, "orders")).length, got.length, "nothing more after the drain");
  } finally {
    if (agent.child.exitCode === null) await agent.kill9();
    await server2.stop();
  }
});

test("firehose output: PutRecordBatch into sluice serve, delivered objects byte for byte", async () => {
  const dir = makeTempDir("agent-fh");
  const dataDir = path.join(dir, "server");
  const server = new SluiceServer(dataDir);
  const endpoint = await server.start();
  const created = await firehoseCall(endpoint, "CreateDeliveryStream", {
    DeliveryStreamName: "logs",
    ExtendedS3DestinationConfiguration: {
      RoleARN: "arn:aws:iam::123456789012:role/agent", BucketARN: "arn:aws:s3:::agent-bucket",
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  const log = path.join(dir, "app.log");
  let text = "";
  for (let i = 0; i < 3000; i++) text += `{"i":${i},"msg":"héllo ${"z".repeat(i % 97)}"}\n`;
  fs.writeFileSync(log, text);
  const agent = new Agent(dir, `inputs:
  - {name: app, type: file, paths: ["${log}"], poll_interval_ms: 20}
outputs:
  - {name: fh, type: firehose, stream: logs, endpoint: "${endpoint}"}
`);
  agent.start();
  try {
    const root = path.join(dataDir, "buckets", "agent-bucket");
    const delivered = () => Buffer.concat(listFiles(root).map((f) => fs.readFileSync(f))).toString();
    await waitFor(() => Buffer.byteLength(delivered()) >= Buffer.byteLength(text) ? true : null, 60000,
      "the delivered objects", () => agent.allStderr);
    assert.equal(delivered(), text);
    assert.equal((await agent.stop()).code, 0);
  } finally {
    if (agent.child.exitCode === null) await agent.kill9();
    await server.stop();
  }
});

test("outage: the spool quota pauses the input; everything arrives after the endpoint is back", async () => {
  const dir = makeTempDir("agent-quota");
  const server = new SluiceServer(path.join(dir, "server"));
  const endpoint = await server.start();
  await createStream(endpoint, "orders");
  const port = endpoint.split(":").pop();
  await server.stop();
  const log = path.join(dir, "app.log");
  const lines = [];
  for (let i = 0; i < 6000; i++) lines.push(JSON.stringify({ seq: i, pad: "q".repeat(500) }) + "\n");
  fs.writeFileSync(log, lines.join(""));  // about 3 MB, three times the spool quota
  const agent = new Agent(dir, config(log, endpoint).replace("inputs:", "spool:\n  max_mb: 1\ninputs:"));
  agent.start();
  let child;
  try {
    await waitFor(() => agent.allStderr.includes("spool full"), 30000, "the input to pause", () => agent.allStderr);
    const spoolBytes = () => listFiles(path.join(dir, "state", "spool")).reduce((n, f) => n + fs.statSync(f).size, 0);
    assert.ok(spoolBytes() <= 3 * 1024 * 1024, `spool holds ${spoolBytes()} bytes`);
    const ready = path.join(dir, "ready2.txt");
    child = spawn(sluiceBin(), ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir",
      path.join(dir, "server"), "--ready-file", ready], { stdio: ["ignore", "ignore", "ignore"] });
    await waitFor(() => fs.existsSync(ready) && fs.readFileSync(ready, "utf8").endsWith("\n"), 20000, "the server");
    const got = await waitRecords(endpoint, lines.length, "every line after the outage", agent);
    assert.deepEqual(got, lines);
    assert.match(agent.allStderr, /spool has room again; reading resumed/);
    assert.equal((await agent.stop()).code, 0);
  } finally {
    if (agent.child.exitCode === null) await agent.kill9();
    if (child) { child.kill("SIGTERM"); await waitExit(child, 30000, "sluice serve"); }
  }
});
