// Kinesis ingest through the AWS SDK for JavaScript v3 (issue 10): one load generator, the same
// records, against Sluice's Kinesis API, Sluice's Firehose API and the npm emulators kinesalite
// and kinesis-local (kinesis-mock), one server at a time, in one run.
//
// Per target: start the server on a fresh data dir and a free loopback port, create a stream
// (Kinesis: CreateStream with --shards shards, waited ACTIVE; Firehose: delivery stream `bench`
// from a config file, buffering 128 MB / 900 s, as ingest_bench), then --writers concurrent
// writers each send PutRecords (Firehose: PutRecordBatch) of --batch records of --record bytes of
// JSON, one call after another, for --warmup + --seconds. Calls answered inside the measured
// window count: records/s (records the server accepted), p50/p99 request latency; the window
// is --seconds long, or longer until --min-calls calls were answered in it (at most
// --max-seconds), and calls still in flight when it closes do not count; then the
// server's peak RSS (/proc/PID/status VmHWM), the server's CPU (/proc/PID/stat utime+stime) and
// this generator's CPU (process.cpuUsage) over the window. The SDK generator runs on one Node
// thread: at >= 90% of a core it is the limit, and the row says so.
//
// Transport: @aws-sdk/client-kinesis and client-firehose with NodeHttpHandler and a keep-alive
// agent (HTTP/1.1). Target `sluice-kinesis-h2` uses the Kinesis client's default transport,
// NodeHttp2Handler (h2c with prior knowledge on http://); it is not in the default list.
// Sluice acknowledges records after fdatasync; kinesalite and kinesis-local keep them in memory.
//
// Usage: SLUICE_BIN=<build>/src/cli/sluice node bench/kinesis_sdk_bench.mjs
//          [--seconds 10] [--warmup 2] [--writers 8] [--batch 500] [--record 1024] [--shards 1]
//          [--rounds 1] [--dir D] [--min-calls WRITERS] [--max-seconds 90]
//          [--targets sluice-kinesis,sluice-firehose,kinesalite,kinesis-local[,sluice-kinesis-h2]]
// Prints one table row per target and round, the ratios Sluice Kinesis / kinesalite and
// Sluice Kinesis / Sluice Firehose per round, and a JSON line. Exit 1 if any call failed.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { SluiceServer, waitExit, waitFor } from "../tests/compat/sluice_harness.mjs";

// The npm packages are tests/compat's (package.json and lockfile there; `npm ci` installs them).
const here = path.dirname(fileURLToPath(import.meta.url));
const requireCompat = createRequire(path.join(here, "..", "tests", "compat", "package.json"));
const { FirehoseClient, PutRecordBatchCommand } = requireCompat("@aws-sdk/client-firehose");
const { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, PutRecordsCommand } =
  requireCompat("@aws-sdk/client-kinesis");
const { NodeHttp2Handler, NodeHttpHandler } = requireCompat("@smithy/node-http-handler");

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const kSeconds = Number(args.seconds ?? 10);
const kWarmup = Number(args.warmup ?? 2);
const kWriters = Number(args.writers ?? 8);
const kBatch = Number(args.batch ?? 500);
const kRecord = Number(args.record ?? 1024);
const kShards = Number(args.shards ?? 1);
const kRounds = Number(args.rounds ?? 1);
// The window lasts --seconds, and longer (at most --max-seconds) until --min-calls calls were
// answered in it: an emulator whose calls take longer than the window still gets a rate.
const kMaxSeconds = Number(args["max-seconds"] ?? 90);
const kMinCalls = Number(args["min-calls"] ?? kWriters);
const kDir = args.dir ?? os.tmpdir();
const kTargets = (args.targets ?? "sluice-kinesis,sluice-firehose,kinesalite,kinesis-local").split(",");
const kKnown = ["sluice-kinesis", "sluice-firehose", "kinesalite", "kinesis-local", "sluice-kinesis-h2"];
for (const t of kTargets) {
  if (!kKnown.includes(t)) throw new Error(`unknown target ${t}; known: ${kKnown.join(", ")}`);
}
const kStream = "bench";
const kCredentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "bench" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One JSON record of exactly `size` bytes, as bench/ingest_bench.cc makes them.
function makeRecord(seq, size) {
  const head = `{"seq":${seq},"device":"sensor-${String(seq % 97).padStart(2, "0")}",` +
    `"ts":"2024-05-01T12:00:00.000Z","temp_c":21.5,"status":"ok","pad":"`;
  const tail = "\"}";
  return Buffer.from(head + "x".repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

function procStatus(pid, key) {
  const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(key));
  return line ? Number(line.split(/\s+/)[1]) : NaN;
}

// utime + stime of a process in seconds (/proc/PID/stat fields 14 and 15).
function procCpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / 100;  // USER_HZ is 100 on Linux
}

const load1 = () => Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

// A node emulator as a child process; `pid` is the server's own process.
class NodeEmulator {
  constructor(name, script, argv, env, cwd) {
    this.name = name;
    this.output = "";
    this.child = spawn(process.execPath, [script, ...argv], {
      cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (d) => { this.output = (this.output + d.toString()).slice(-20000); };
    this.child.stdout.on("data", keep);
    this.child.stderr.on("data", keep);
  }

  get pid() { return this.child.pid; }

  async waitListening(port, timeoutMs) {
    await waitFor(async () => {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited: ${this.output}`);
      return canConnect(port);
    }, timeoutMs, `${this.name} to listen on ${port}`, () => this.output);
  }

  async stop() {
    this.child.kill("SIGTERM");
    await waitExit(this.child, 10000, this.name).catch(() => {});
  }
}

function httpHandler() {
  return new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: kWriters }),
    requestTimeout: 300000,
  });
}

function kinesisClient(endpoint, h2) {
  return new KinesisClient({
    endpoint, region: "us-east-1", credentials: kCredentials, maxAttempts: 1,
    requestHandler: h2 ? new NodeHttp2Handler({ requestTimeout: 300000 }) : httpHandler(),
  });
}

async function createKinesisStream(client) {
  // Emulators may accept connections a moment before they answer; CreateStream is retried
  // until it is accepted (or the stream exists), then the stream is waited ACTIVE.
  let last = "";
  await waitFor(async () => {
    try {
      await client.send(new CreateStreamCommand({ StreamName: kStream, ShardCount: kShards }));
      return true;
    } catch (e) {
      if (e.name === "ResourceInUseException") return true;
      last = `${e.name}: ${e.message}`;
      // Only a server that is not answering yet is retried (connection refused or reset, 5xx).
      const status = e.$metadata?.httpStatusCode;
      if (!["ECONNREFUSED", "ECONNRESET"].includes(e.code) && !(status >= 500)) {
        throw new Error(`CreateStream failed: ${last}`);
      }
      await sleep(200);
      return false;
    }
  }, 20000, "CreateStream to be answered", () => `last error: ${last}`);
  await waitFor(async () => {
    const out = await client.send(new DescribeStreamSummaryCommand({ StreamName: kStream }));
    return out.StreamDescriptionSummary.StreamStatus === "ACTIVE";
  }, 30000, "the stream to become ACTIVE");
}

function sluiceConfig(dir) {
  const file = path.join(dir, "sluice.yaml");
  fs.writeFileSync(file, `delivery_streams:
  - name: ${kStream}
    buffering: {size_mb: 128, interval_s: 900}
`);
  return file;
}

// Runs `setUp`; if it throws, closes the client and stops the server before rethrowing (an open
// HTTP/2 session or a running server would keep this process alive).
async function orStop(setUp, client, stop) {
  try {
    await setUp();
  } catch (e) {
    client.destroy();
    await stop().catch(() => {});
    throw e;
  }
}

// Starts `target`; returns {pid, send(writerIndex) -> accepted count, stop()}.
async function startTarget(target, dir) {
  const records = Array.from({ length: kBatch }, (_, i) => makeRecord(i, kRecord));
  const kinesisInput = {
    StreamName: kStream,
    Records: records.map((Data, i) => ({ Data, PartitionKey: `pk-${i}` })),
  };
  const kinesisSend = (client) => async () => {
    const out = await client.send(new PutRecordsCommand(kinesisInput));
    return { accepted: kBatch - (out.FailedRecordCount ?? 0), failed: out.FailedRecordCount ?? 0,
      error: out.Records.find((r) => r.ErrorCode)?.ErrorMessage };
  };
  if (target.startsWith("sluice")) {
    const server = new SluiceServer(path.join(dir, "data"), ["--config", sluiceConfig(dir)]);
    const endpoint = await server.start();
    const pid = server.child.pid;
    const stop = async () => {
      const { code } = await server.stop(120000);
      if (code !== 0) throw new Error(`sluice serve exit ${code}; stderr:\n${server.stderr}`);
    };
    if (target === "sluice-firehose") {
      const client = new FirehoseClient({
        endpoint, region: "us-east-1", credentials: kCredentials, maxAttempts: 1,
        requestHandler: httpHandler(),
      });
      const input = { DeliveryStreamName: kStream, Records: records.map((Data) => ({ Data })) };
      const send = async () => {
        const out = await client.send(new PutRecordBatchCommand(input));
        return { accepted: kBatch - (out.FailedPutCount ?? 0), failed: out.FailedPutCount ?? 0,
          error: out.RequestResponses.find((r) => r.ErrorCode)?.ErrorMessage };
      };
      return { pid, send, stop, close: () => client.destroy() };
    }
    const client = kinesisClient(endpoint, target === "sluice-kinesis-h2");
    await orStop(() => createKinesisStream(client), client, stop);
    return { pid, send: kinesisSend(client), stop, close: () => client.destroy() };
  }
  const port = await freePort();
  let emulator;
  if (target === "kinesalite") {
    emulator = new NodeEmulator("kinesalite", requireCompat.resolve("kinesalite/cli.js"),
      ["--port", String(port), "--createStreamMs", "0", "--deleteStreamMs", "0",
        "--updateStreamMs", "0", "--shardLimit", "1000"], {}, dir);
  } else {
    const main = requireCompat.resolve("kinesis-local/main.js");
    emulator = new NodeEmulator("kinesis-local", main, [], {
      KINESIS_MOCK_CERT_PATH: path.join(path.dirname(main), "server.json"),
      KINESIS_MOCK_PLAIN_PORT: String(port), KINESIS_MOCK_TLS_PORT: String(await freePort()),
      CREATE_STREAM_DURATION: "0ms", LOG_LEVEL: "WARN", SHOULD_PERSIST_DATA: "false",
      SHARD_LIMIT: "1000",
    }, dir);
  }
  const client = kinesisClient(`http://127.0.0.1:${port}`, false);
  await orStop(async () => {
    await emulator.waitListening(port, 60000);
    await createKinesisStream(client);
  }, client, () => emulator.stop());
  return { pid: emulator.pid, send: kinesisSend(client), stop: () => emulator.stop(),
    close: () => client.destroy() };
}

async function runTarget(target, round) {
  const dir = fs.mkdtempSync(path.join(kDir, `kinesis_sdk_bench-${target}-`));
  const t = await startTarget(target, dir);
  let stopped = false;
  try {
    const start = performance.now();
    const windowStart = start + kWarmup * 1000;
    const baseStop = windowStart + kSeconds * 1000;
    const capAt = windowStart + kMaxSeconds * 1000;
    let windowEnd = null;  // set by the first answer that closes the window
    let accepted = 0;
    let failedRecords = 0;
    let failedCalls = 0;
    let firstError = null;
    const latencies = [];
    let cpu0 = null;
    let srv0 = 0;
    let load = 0;
    let genCpu = 0;
    let srvCpu = 0;
    let closeWindow;
    const windowClosed = new Promise((r) => { closeWindow = r; });
    const snap = setTimeout(() => {
      cpu0 = process.cpuUsage();
      srv0 = procCpuSeconds(t.pid);
      load = load1();
    }, kWarmup * 1000);
    const writer = async () => {
      while (windowEnd === null) {
        const t0 = performance.now();
        let r;
        try {
          r = await t.send();
        } catch (e) {
          if (windowEnd !== null) return;  // the server is being stopped
          failedCalls++;
          firstError ??= `${e.name}: ${e.message}`;
          await sleep(10);
          continue;
        }
        const t1 = performance.now();
        if (windowEnd !== null) return;
        if (r.failed > 0) firstError ??= r.error;
        failedRecords += r.failed;
        if (t1 < windowStart) continue;
        accepted += r.accepted;
        latencies.push(t1 - t0);
        if ((t1 >= baseStop && latencies.length >= kMinCalls) || t1 >= capAt) {
          windowEnd = t1;
          const cpu = process.cpuUsage(cpu0 ?? undefined);
          genCpu = (cpu.user + cpu.system) / 1e6;
          srvCpu = procCpuSeconds(t.pid) - srv0;
          closeWindow();
        }
      }
    };
    const writers = Promise.all(Array.from({ length: kWriters }, writer));
    await windowClosed;
    clearTimeout(snap);
    const elapsed = (windowEnd - windowStart) / 1000;
    const rssMb = procStatus(t.pid, "VmHWM:") / 1024;
    // Calls still in flight are not counted; stopping the server ends them.
    await t.stop();
    stopped = true;
    await writers;
    t.close();
    latencies.sort((a, b) => a - b);
    return {
      target, round, window_s: elapsed, records_s: accepted / elapsed,
      mb_s: (accepted * kRecord) / elapsed / 1e6, p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99), calls: latencies.length, failed_calls: failedCalls,
      failed_records: failedRecords, first_error: firstError, peak_rss_mb: rssMb,
      server_cpu_pct: (100 * srvCpu) / elapsed, gen_cpu_pct: (100 * genCpu) / elapsed,
      records_per_server_cpu_s: srvCpu > 0 ? accepted / srvCpu : NaN,
      generator_limited: (100 * genCpu) / elapsed >= 90, load1: load,
    };
  } finally {
    if (!stopped) await t.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "-");

async function main() {
  console.log(`machine: ${os.cpus().length} cpus, ${os.cpus()[0]?.model}; load average ` +
    `${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; node ${process.version}`);
  console.log(`load: ${kWriters} writers x ${kTargets.includes("sluice-firehose") ? "PutRecords/PutRecordBatch" : "PutRecords"}` +
    ` of ${kBatch} x ${kRecord} B JSON, ${kShards} shard(s); ${kWarmup} s warm-up + ${kSeconds} s measured; ` +
    `${kRounds} round(s)\n`);
  const header = ["target", "round", "records/s", "MB/s", "p50 ms", "p99 ms", "calls", "window s",
    "failed", "RSS MB",
    "srv CPU", "gen CPU", "rec/srv-CPU-s", "load1"];
  console.log(`${header[0].padEnd(18)}${header.slice(1).map((h) => h.padStart(10)).join(" ")}`);
  const results = [];
  let failed = false;
  for (let round = 1; round <= kRounds; ++round) {
    for (const target of kTargets) {
      let r;
      try {
        r = await runTarget(target, round);
      } catch (e) {
        console.log(`${target.padEnd(18)}${String(round).padStart(10)}  FAILED: ${e.message.split("\n")[0]}`);
        results.push({ target, round, error: e.message });
        failed = true;
        continue;
      }
      results.push(r);
      const row = [r.round, fmt(r.records_s), fmt(r.mb_s, 1), fmt(r.p50_ms, 1), fmt(r.p99_ms, 1),
        r.calls, fmt(r.window_s, 1), r.failed_calls + r.failed_records, fmt(r.peak_rss_mb, 1), `${fmt(r.server_cpu_pct)}%`,
        `${fmt(r.gen_cpu_pct)}%`, fmt(r.records_per_server_cpu_s), fmt(r.load1, 2)];
      console.log(`${target.padEnd(18)}${row.map((c) => String(c).padStart(10)).join(" ")}` +
        (r.generator_limited ? "  <- generator-limited (>= 90% of a core)" : ""));
      if (r.failed_calls + r.failed_records > 0) {
        console.log(`    first failure: ${r.first_error}`);
        failed = true;
      }
    }
  }
  console.log("");
  for (let round = 1; round <= kRounds; ++round) {
    const rate = (t) => results.find((r) => r.target === t && r.round === round)?.records_s;
    const sk = rate("sluice-kinesis");
    const parts = [];
    if (sk && rate("kinesalite")) parts.push(`Sluice Kinesis / kinesalite = ${(sk / rate("kinesalite")).toFixed(2)}x`);
    if (sk && rate("sluice-firehose")) parts.push(`Sluice Kinesis / Sluice Firehose = ${(sk / rate("sluice-firehose")).toFixed(2)}x`);
    if (sk && rate("kinesis-local")) parts.push(`Sluice Kinesis / kinesis-local = ${(sk / rate("kinesis-local")).toFixed(2)}x`);
    if (parts.length > 0) console.log(`round ${round}: ${parts.join("; ")}`);
  }
  console.log("CPU % is of one core over the measured window; gen CPU = this Node process " +
    "(process.cpuUsage); load1 = 1-minute load average at the window's start.");
  console.log(JSON.stringify({ writers: kWriters, batch: kBatch, record: kRecord, shards: kShards, results }));
  return failed ? 1 : 0;
}

process.exitCode = await main();
