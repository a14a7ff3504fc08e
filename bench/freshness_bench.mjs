// Warehouse freshness benchmark (issue 5): steady PutRecordBatch load into a `sluice serve` stream
// with buffering interval_s 1 (--interval) whose warehouse is a throwaway PostgreSQL; for every
// record, the time from its acknowledgement (the 200 answer) to the moment its row is visible in PostgreSQL.
// Visibility is stamped by one persistent psql session polling every --poll-ms for ids at or
// above the lowest id not seen yet.
//
// Usage: SLUICE_BIN=<build>/src/cli/sluice node bench/freshness_bench.mjs
//          [--rate 2000] [--seconds 20] [--batch 100] [--mode append|merge] [--poll-ms 20]
//          [--interval 1]   (the stream's buffering interval_s)
// Prints throughput and p50/p90/p99/max freshness in ms.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { PgCluster } from "../tests/compat/pg_harness.mjs";
import { makeTempDir, SluiceServer, waitFor } from "../tests/compat/sluice_harness.mjs";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const kRate = Number(args.rate ?? 2000);
const kSeconds = Number(args.seconds ?? 20);
const kBatch = Number(args.batch ?? 100);
const kMode = args.mode ?? "append";
const kPollMs = Number(args["poll-ms"] ?? 20);
const kIntervalS = Number(args.interval ?? 1);
const kStream = "fresh";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One long-lived `psql -At` session: query(sql) resolves the output lines.
class PsqlSession {
  constructor(pg) {
    this.child = spawn("psql", ["-X", "-At", "-h", pg.dir, "-p", String(pg.port), "-U", "postgres", "-d", pg.database],
      { stdio: ["pipe", "pipe", "pipe"] });
    this.buffer = "";
    this.waiter = null;
    this.child.stdout.on("data", (d) => {
      this.buffer += d.toString();
      const end = this.buffer.indexOf("__END__\n");
      if (end >= 0 && this.waiter) {
        const out = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 8);
        const w = this.waiter;
        this.waiter = null;
        w(out.split("\n").filter((l) => l !== ""));
      }
    });
    this.stderr = "";
    this.child.stderr.on("data", (d) => (this.stderr += d.toString()));
  }

  query(sql) {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.child.stdin.write(`${sql};\n\\echo __END__\n`);
    });
  }

  close() {
    this.child.stdin.end("\\q\n");
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const pg = new PgCluster();
  const dir = makeTempDir("freshness");
  let server = null;
  let session = null;
  try {
    await pg.init();
    const dataDir = path.join(dir, "data");
    const dsnFile = path.join(dir, "dsn");
    fs.writeFileSync(dsnFile, pg.dsn());
    const config = path.join(dir, "sluice.yaml");
    fs.writeFileSync(config, `
delivery_streams:
  - name: ${kStream}
    buffering: {size_mb: 5, interval_s: ${kIntervalS}}
    processors:
      - schema:
          columns:
            - {name: id, type: bigint, required: true}
            - {name: sent_ms, type: bigint, required: true}
            - {name: payload, type: text}
    format: {csv: {header: false}}
    staged: {url: "file://${dataDir}/buckets/staging", prefix: "s/"}
    errors: {url: "file://${dataDir}/buckets/failed", prefix: "f/"}
    warehouse:
      engine: postgres
      dsn: "\${secret:file:${dsnFile}}"
      table: fresh
      mode: ${kMode}
${kMode === "merge" ? "      key: [id]\n" : ""}      create_table: true
`);
    server = new SluiceServer(dataDir, ["--config", config]);
    const endpoint = await server.start();
    session = new PsqlSession(pg);

    const ackMs = new Map();   // id -> ack time
    const seenMs = new Map();  // id -> first time visible
    let nextId = 1;
    let inflight = 0;
    let errors = 0;
    let lowest = 1;  // lowest id not seen yet
    let polling = true;

    const poller = (async () => {
      // The table appears with the first load.
      while (polling) {
        const rows = await session.query(
          `SELECT id FROM fresh WHERE id >= ${lowest}`);
        const now = Date.now();
        for (const r of rows) {
          const id = Number(r);
          if (Number.isFinite(id) && !seenMs.has(id)) seenMs.set(id, now);
        }
        while (seenMs.has(lowest)) lowest++;
        await sleep(kPollMs);
      }
    })();

    const payload = "p".repeat(60);
    const sendOne = async () => {
      const ids = [];
      const records = [];
      for (let i = 0; i < kBatch; ++i) {
        const id = nextId++;
        ids.push(id);
        records.push({ Data: Buffer.from(`{"id":${id},"sent_ms":${Date.now()},"payload":"${payload}"}\n`).toString("base64") });
      }
      inflight++;
      try {
        const res = await fetch(endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Firehose_20150804.PutRecordBatch" },
          body: JSON.stringify({ DeliveryStreamName: kStream, Records: records }),
        });
        const json = await res.json();
        const now = Date.now();
        if (res.status !== 200) {
          errors += kBatch;
          return;
        }
        json.RequestResponses.forEach((e, i) => {
          if (e.RecordId) ackMs.set(ids[i], now);
          else errors++;
        });
      } catch {
        errors += kBatch;
      } finally {
        inflight--;
      }
    };

    const batchesPerSecond = kRate / kBatch;
    const start = Date.now();
    const sends = [];
    for (let b = 0; b < batchesPerSecond * kSeconds; ++b) {
      const due = start + (b * 1000) / batchesPerSecond;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      sends.push(sendOne());
    }
    await Promise.all(sends);
    const sendEnd = Date.now();
    await waitFor(() => [...ackMs.keys()].every((id) => seenMs.has(id)), 60000,
      "every acknowledged row visible in PostgreSQL", () => `seen ${seenMs.size} of ${ackMs.size}`);
    polling = false;
    await poller;

    const fresh = [...ackMs].map(([id, t]) => seenMs.get(id) - t).sort((a, b) => a - b);
    const seconds = (sendEnd - start) / 1000;
    const result = {
      mode: kMode, interval_s: kIntervalS, target_rate: kRate, batch: kBatch, seconds: Number(seconds.toFixed(2)),
      acknowledged: ackMs.size, failed: errors, ack_throughput_per_s: Math.round(ackMs.size / seconds),
      freshness_ms: {
        p50: percentile(fresh, 50), p90: percentile(fresh, 90), p99: percentile(fresh, 99), max: fresh.at(-1),
        min: fresh[0],
      },
      poll_ms: kPollMs,
    };
    console.log(JSON.stringify(result));
  } finally {
    if (session) session.close();
    if (server) {
      const { code } = await server.stop(60000);
      if (code !== 0) console.error(`sluice serve exit ${code}; stderr:\n${server.stderr}`);
    }
    await pg.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
