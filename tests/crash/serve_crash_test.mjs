// kill -9 crash test of the whole server: 8 clients PutRecordBatch continuously while
// `sluice serve` is killed with SIGKILL at random moments (6 times) and restarted on the same
// data dir. At the end the server is stopped with SIGTERM (it must exit 0) and every record that
// was acknowledged (an entry with a RecordId in a 200 answer) must be in the delivered objects.
// Duplicates are allowed (at-least-once) and are counted and printed.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test serve_crash_test.mjs
// CRASH_SEED=<n> replays the same kill schedule.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import {
  crashPutClient, firehoseCall, listFiles, makeTempDir, newPutStats, prng, SluiceServer, sleep, waitFor,
} from "../compat/sluice_harness.mjs";

const kClients = 8;
const kKills = 6;
const kBatch = 40;  // records per PutRecordBatch
const kStream = "crash";
const kBucket = "crash-bucket";

test("every acknowledged record is delivered across repeated kill -9", { timeout: 115000 },
  async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1000000);
    const random = prng(seed);
    console.log(`crash seed ${seed} (CRASH_SEED=${seed} replays the kill schedule)`);
    const dataDir = makeTempDir("crash");
    const server = new SluiceServer(dataDir);
    const state = { endpoint: await server.start(), generation: 0, stop: false };

    const created = await firehoseCall(state.endpoint, "CreateDeliveryStream", {
      DeliveryStreamName: kStream,
      DeliveryStreamType: "DirectPut",
      ExtendedS3DestinationConfiguration: {
        RoleARN: "arn:aws:iam::123456789012:role/crash",
        BucketARN: `arn:aws:s3:::${kBucket}`,
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));

    const acked = new Set();
    const stats = newPutStats();

    const client = (id) => crashPutClient(id, {
      state, stream: kStream, batch: kBatch, acked, stats,
      makeRecord: (key, seq, generation) => {
        return `{"k":"${key}","g":${generation},"p":"${"x".repeat((seq * 7) % 200)}"}\n`;
      },
    });

    const clients = Array.from({ length: kClients }, (_, i) => client(i));
    const ackedAtKill = [];
    try {
      for (let k = 0; k < kKills; ++k) {
        await sleep(300 + Math.floor(random() * 1200));
        await server.kill9();
        ackedAtKill.push(acked.size);
        state.endpoint = await server.start();
        state.generation++;
      }
      // After the last restart the server must take records again.
      const before = acked.size;
      await waitFor(() => acked.size > before + kBatch, 20000,
        "acknowledged records after the last restart", () => `last error: ${stats.lastError}`);
    } finally {
      state.stop = true;
      await Promise.all(clients);
    }

    const stopped = await server.stop(60000);
    assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM exit; stderr:\n${server.stderr}`);

    const root = path.join(dataDir, "buckets", kBucket);
    const readDelivered = () => {
      const counts = new Map();
      const torn = [];
      for (const file of listFiles(root)) {
        const text = fs.readFileSync(file, "utf8");
        const lines = text.split("\n");
        if (lines.at(-1) !== "") torn.push(`${path.relative(root, file)}: no final newline`);
        for (const line of lines.slice(0, -1)) {
          try {
            const key = JSON.parse(line).k;
            counts.set(key, (counts.get(key) ?? 0) + 1);
          } catch {
            torn.push(`${path.relative(root, file)}: bad line ${line.slice(0, 80)}`);
          }
        }
      }
      return { counts, torn };
    };

    let { counts, torn } = readDelivered();
    let missing = [...acked].filter((k) => !counts.has(k));
    let missingAfterSigterm = missing.length;
    if (missing.length > 0) {
      // Not flushed by SIGTERM: start once more and see whether the journal still has them.
      await server.start();
      await waitFor(() => {
        ({ counts, torn } = readDelivered());
        return [...acked].every((k) => counts.has(k));
      }, 30000, "missing records after one more restart").catch(() => {});
      await server.stop(60000);
      ({ counts, torn } = readDelivered());
      missing = [...acked].filter((k) => !counts.has(k));
    }

    let duplicates = 0;
    let unacked = 0;
    for (const [key, n] of counts) {
      duplicates += n - 1;
      if (!acked.has(key)) unacked++;
    }
    console.log(`crash summary: ${kKills} kills, ${stats.calls} PutRecordBatch calls ` +
      `(${stats.ok} answered 200, ${stats.errors} failed), ${acked.size} records acknowledged ` +
      `(at each kill: ${ackedAtKill.join(", ")}), ${stats.failedEntries} failed entries, ` +
      `${counts.size} distinct records delivered, ${duplicates} duplicates, ${unacked} delivered ` +
      `but never acknowledged, ${missingAfterSigterm} missing after SIGTERM, ` +
      `${missing.length} lost; data dir ${dataDir}`);

    assert.deepEqual(torn, [], "delivered objects must be whole");
    assert.ok(acked.size > 0, "no record was acknowledged at all");
    assert.equal(missing.length, 0,
      `${missing.length} acknowledged records were never delivered, e.g. ${missing.slice(0, 10).join(" ")}`);
    assert.equal(missingAfterSigterm, 0,
      `${missingAfterSigterm} acknowledged records were not delivered before SIGTERM exit ` +
      "(they were delivered after another restart)");
    assert.deepEqual(stats.protocol, [], "every 200 answer has one entry per record");
    fs.rmSync(dataDir, { recursive: true, force: true });  // kept for inspection on failure
  });
