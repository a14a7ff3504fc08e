// Shared helpers for the compat and crash tests: start/stop `sluice serve` on port 0, run
// `sluice put`, a fake Firehose endpoint, and bounded waits that fail with a readable message.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

// The binary under test: `sluice` (serve and put).
export function sluiceBin() {
  const bin = process.env.SLUICE_BIN;
  if (!bin) throw new Error("SLUICE_BIN is not set: point it at the sluice binary");
  if (!fs.existsSync(bin)) throw new Error(`SLUICE_BIN=${bin} does not exist`);
  return bin;
}

export function makeTempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sluice-${prefix}-`));
}

// Polls `predicate` every 20 ms until it returns a truthy value, or throws after `timeoutMs`
// with `what` and the optional `detail()` in the message.
export async function waitFor(predicate, timeoutMs, what, detail = () => "") {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}. ${detail()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Waits for a child to exit; resolves {code, signal}, or throws after timeoutMs (and kills it).
export async function waitExit(child, timeoutMs, what) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode };
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const [code, signal] = await Promise.race([once(child, "exit"), timeout]);
    return { code, signal };
  } finally {
    clearTimeout(timer);
  }
}

// A running `sluice serve` on a free port with its own data dir.
export class SluiceServer {
  // `cwd`: the server's working directory (relative file:// URLs in a config resolve against it).
  // `env`: variables added to the server's environment (e.g. SLUICE_TEST_CLOCK_OFFSET_FILE).
  constructor(dataDir, extraArgs = [], { cwd, env } = {}) {
    this.dataDir = dataDir;
    this.extraArgs = extraArgs;
    this.cwd = cwd;
    this.env = env;
    this.stderr = "";
    this.child = null;
    this.endpoint = null;
  }

  async start(timeoutMs = 20000) {
    const readyFile = path.join(this.dataDir, `ready-${process.pid}-${Date.now()}.txt`);
    fs.mkdirSync(this.dataDir, { recursive: true });
    fs.rmSync(readyFile, { force: true });
    // The admin listener on a free port too (tests run in parallel); `this.admin` is its URL.
    const admin = this.extraArgs.includes("--admin-listen") ? [] : ["--admin-listen", "127.0.0.1:0"];
    const args = ["serve", "--listen", "127.0.0.1:0", ...admin,
      "--data-dir", this.dataDir, "--ready-file", readyFile, ...this.extraArgs];
    this.stderr = "";
    this.child = spawn(sluiceBin(), args, {
      stdio: ["ignore", "ignore", "pipe"], cwd: this.cwd,
      env: this.env ? { ...process.env, ...this.env } : process.env,
    });
    this.child.stderr.on("data", (d) => {
      this.stderr = (this.stderr + d.toString()).slice(-20000);
    });
    const child = this.child;
    const addr = await waitFor(() => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`sluice serve exited early (code ${child.exitCode}, signal ` +
          `${child.signalCode}); stderr:\n${this.stderr}`);
      }
      if (!fs.existsSync(readyFile)) return null;
      const text = fs.readFileSync(readyFile, "utf8");
      return text.endsWith("\n") ? text.trim() : null;
    }, timeoutMs, "sluice serve to write its ready file", () => `stderr:\n${this.stderr}`);
    this.endpoint = `http://${addr}`;
    // The startup log line names the admin address ("admin 127.0.0.1:PORT" or "admin off").
    const adminAddr = await waitFor(() => /\(admin (\S+?),/.exec(this.stderr)?.[1], timeoutMs,
      "sluice serve to log its admin address", () => `stderr:\n${this.stderr}`);
    this.admin = adminAddr === "off" ? null : `http://${adminAddr}`;
    return this.endpoint;
  }

  // SIGTERM: the server must flush its buffers and exit 0. Returns {code, signal}.
  async stop(timeoutMs = 30000) {
    if (!this.child) return { code: null, signal: null };
    this.child.kill("SIGTERM");
    const result = await waitExit(this.child, timeoutMs, "sluice serve after SIGTERM");
    this.child = null;
    return result;
  }

  // kill -9: no chance to flush anything.
  async kill9() {
    this.child.kill("SIGKILL");
    const result = await waitExit(this.child, 10000, "sluice serve after SIGKILL");
    this.child = null;
    return result;
  }
}

// Runs `sluice put <args>` with `input` on stdin; resolves {code, stderr}.
export async function runPut(args, { input = "", env = {}, timeoutMs = 60000 } = {}) {
  const child = spawn(sluiceBin(), ["put", "--no-progress", ...args], {
    stdio: ["pipe", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d.toString()));
  child.stdin.on("error", () => {});  // the child may exit before reading all of stdin
  child.stdin.end(input);
  const { code, signal } = await waitExit(child, timeoutMs, `sluice put ${args.join(" ")}`);
  return { code, signal, stderr };
}

// A fake Firehose endpoint. `respond(call)` gets {target, headers, body, records, index} (records
// are the decoded Data buffers) and returns {status, body} (body is JSON-serialised).
// Every call is recorded in `calls`; `connections` counts accepted TCP connections.
export async function startFakeFirehose(respond) {
  const fake = { calls: [], connections: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body = null;
      try {
        body = JSON.parse(raw);
      } catch {
        body = null;
      }
      const records = (body?.Records ?? []).map((r) => Buffer.from(r.Data, "base64"));
      const call = {
        index: fake.calls.length, target: req.headers["x-amz-target"], headers: req.headers,
        method: req.method, url: req.url, raw, body, records,
      };
      fake.calls.push(call);
      const { status, body: out } = respond(call);
      const text = JSON.stringify(out);
      res.writeHead(status, {
        "Content-Type": "application/x-amz-json-1.1",
        "Content-Length": Buffer.byteLength(text),
        "x-amzn-RequestId": `req-${call.index}`,
      });
      res.end(text);
    });
  });
  server.on("connection", () => fake.connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  fake.endpoint = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  });
  return fake;
}

// A successful PutRecordBatch answer for `n` records, failing the indices in `failed`.
export function batchAnswer(call, failed = new Set(), error = ["ServiceUnavailableException", "Slow down."]) {
  const RequestResponses = call.records.map((_, i) => failed.has(i)
    ? { ErrorCode: error[0], ErrorMessage: error[1] }
    : { RecordId: `rid-${call.index}-${i}` });
  return { status: 200, body: { FailedPutCount: failed.size, Encrypted: false, RequestResponses } };
}

// Every object file under `dir`, sorted by path (Firehose keys sort by time within a prefix).
// Skips "<key>.tmp.<suffix>" files: in-flight writes of the file:// object store.
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && !entry.name.includes(".tmp.")) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

// --- Shared by the kill -9 tests -------------------------------------------------------------

// mulberry32: a tiny seeded PRNG so a failing kill schedule can be replayed.
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One AWS JSON 1.1 call (`X-Amz-Target: <prefix>.<op>`) with raw fetch (bounded by a 15 s
// timeout); resolves {status, json}.
async function awsJsonCall(endpoint, target, body) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

// One Firehose call; resolves {status, json}.
export const firehoseCall = (endpoint, op, body) => awsJsonCall(endpoint, `Firehose_20150804.${op}`, body);

export function newPutStats() {
  return { calls: 0, ok: 0, failedEntries: 0, errors: 0, lastError: "", protocol: [] };
}

// A client of a crash test: puts batches of `batch` records to `state.endpoint` until
// `state.stop`; record i of a batch is `makeRecord(key, seq, state.generation)` with a unique key
// "<id>-<seq>". Keys of acknowledged records (a RecordId in a 200 answer) go into `acked`. While
// the server is down it waits for `state.generation` to change (the test restarts the server).
export async function crashPutClient(id, { state, stream, batch, makeRecord, acked, stats }) {
  let seq = 0;
  while (!state.stop) {
    const endpoint = state.endpoint;
    const generation = state.generation;
    const ids = [];
    const records = [];
    for (let i = 0; i < batch; ++i, ++seq) {
      const key = `${id}-${seq}`;
      ids.push(key);
      records.push({ Data: Buffer.from(makeRecord(key, seq, generation)).toString("base64") });
    }
    stats.calls++;
    try {
      const res = await firehoseCall(endpoint, "PutRecordBatch", { DeliveryStreamName: stream, Records: records });
      if (res.status === 200) {
        stats.ok++;
        if (res.json.RequestResponses?.length !== batch) {
          stats.protocol.push(`${batch} records answered with ${JSON.stringify(res.json).slice(0, 200)}`);
          continue;
        }
        res.json.RequestResponses.forEach((entry, i) => {
          if (entry.RecordId) acked.add(ids[i]);
          else stats.failedEntries++;
        });
        continue;
      }
      stats.errors++;
      stats.lastError = `HTTP ${res.status} ${JSON.stringify(res.json)}`;
    } catch (err) {
      stats.errors++;
      stats.lastError = String(err.cause ?? err);
    }
    while (!state.stop && state.generation === generation) await sleep(10);
  }
}

// --- Kinesis Data Streams ----------------------------------------------------------------------

// One Kinesis call; resolves {status, json}.
export const kinesisCall = (endpoint, op, body) => awsJsonCall(endpoint, `Kinesis_20131202.${op}`, body);

// A PutRecords answer for a call of the fake endpoint (startFakeFirehose serves any JSON 1.1
// target): the indices in `failed` (a Map index -> ErrorCode) fail, the others get a sequence
// number.
export function putRecordsAnswer(call, failed = new Map()) {
  const Records = call.records.map((_, i) => failed.has(i)
    ? { ErrorCode: failed.get(i), ErrorMessage: failed.get(i) === "InternalFailure" ? "Internal service failure."
      : "Rate exceeded for shard shardId-000000000000 in stream s under account 111111111111." }
    : { SequenceNumber: `${49600000000000000000000000000000000000000000000000000000n + BigInt(call.index * 1000 + i)}`,
      ShardId: "shardId-000000000000" });
  return { status: 200, body: { FailedRecordCount: failed.size, Records } };
}
