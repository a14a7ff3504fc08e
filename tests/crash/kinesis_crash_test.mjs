// kill -9 crash test of the Kinesis Data Streams API (issue 10): 8 writers PutRecords (random
// partition keys, random binary data) to a 4-shard stream while a reader polls GetRecords on
// every shard; `sluice serve` is killed with SIGKILL at a random moment, 20 times, and
// restarted on the same data dir. At the end:
//   - every acknowledged record (a SequenceNumber in a 200 answer) is readable with its exact
//     bytes and partition key, in the shard it was acknowledged in;
//   - per shard, sequence numbers never repeat, and every number acknowledged by a server
//     generation is above every number acknowledged or read in earlier generations (they never
//     go backwards across restarts);
//   - every record the reader was shown is still there, unchanged (readers never see data that
//     a crash takes back).
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test kinesis_crash_test.mjs
// CRASH_SEED=<n> replays the same kill schedule and data.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";

import { kinesisRaw } from "../compat/kinesis_harness.mjs";
import { makeTempDir, prng, SluiceServer, sleep, waitFor } from "../compat/sluice_harness.mjs";

const kCycles = 20;
const kWriters = 8;
const kBatch = 25;
const kShards = 4;
const kStream = "crash";
const shardId = (i) => `shardId-${String(i).padStart(12, "0")}`;

test("acknowledged Kinesis records survive 20 kill -9 cycles; sequence numbers never repeat or go backwards",
  { timeout: 140000 }, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1000000);
    const random = prng(seed);
    console.log(`kinesis crash seed ${seed} (CRASH_SEED=${seed} replays it)`);
    const dataDir = makeTempDir("kinesis-crash");
    const server = new SluiceServer(dataDir);
    const state = { endpoint: await server.start(), generation: 0, stop: false };

    const created = await kinesisRaw(state.endpoint, "CreateStream", { StreamName: kStream, ShardCount: kShards });
    assert.equal(created.status, 200, created.text);

    // "<shard>/<seq>" -> {key, data (base64), generation}
    const acked = new Map();
    const seen = new Map();  // what the reader was shown, same shape
    const problems = [];
    const stats = { calls: 0, ok: 0, failedEntries: 0, errors: 0, reads: 0, lastError: "" };

    const remember = (map, what, shard, r, generation) => {
      const id = `${shard}/${r.seq}`;
      const prior = map.get(id);
      if (prior && (prior.key !== r.key || prior.data !== r.data)) {
        problems.push(`${what} ${id} twice with different records (generations ${prior.generation} and ${generation})`);
      } else if (prior && what === "acknowledged") {
        problems.push(`sequence number ${id} acknowledged twice (generations ${prior.generation} and ${generation})`);
      }
      if (!prior) map.set(id, { key: r.key, data: r.data, generation, shard, seq: BigInt(r.seq) });
    };

    const writer = async (w) => {
      let n = 0;
      while (!state.stop) {
        const { endpoint, generation } = state;
        const records = Array.from({ length: kBatch }, () => {
          const data = Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
          return { PartitionKey: `w${w}-${n++}-${Math.floor(random() * 1e9).toString(36)}`, Data: data.toString("base64") };
        });
        stats.calls++;
        try {
          const res = await kinesisRaw(endpoint, "PutRecords", { StreamName: kStream, Records: records }, { timeoutMs: 10000 });
          if (res.status === 200 && res.json?.Records?.length === kBatch) {
            stats.ok++;
            res.json.Records.forEach((e, i) => {
              if (!e.SequenceNumber) {
                stats.failedEntries++;
                return;
              }
              remember(acked, "acknowledged", e.ShardId, { seq: e.SequenceNumber, key: records[i].PartitionKey, data: records[i].Data }, generation);
            });
            continue;
          }
          if (res.status === 200) problems.push(`PutRecords answered ${res.text.slice(0, 200)}`);
          stats.errors++;
          stats.lastError = `HTTP ${res.status} ${res.text.slice(0, 200)}`;
        } catch (err) {
          stats.errors++;
          stats.lastError = String(err.cause ?? err);
        }
        while (!state.stop && state.generation === generation) await sleep(10);
      }
    };

    // The reader: per shard, continues after the last record it was shown (a new iterator
    // AFTER_SEQUENCE_NUMBER of it after every restart).
    const lastRead = new Map();
    const reader = async () => {
      while (!state.stop) {
        const { endpoint, generation } = state;
        try {
          for (let i = 0; i < kShards && !state.stop; ++i) {
            const shard = shardId(i);
            const last = lastRead.get(shard);
            const itRes = await kinesisRaw(endpoint, "GetShardIterator", {
              StreamName: kStream, ShardId: shard,
              ...(last ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: last } : { ShardIteratorType: "TRIM_HORIZON" }),
            }, { timeoutMs: 10000 });
            if (itRes.status !== 200) throw new Error(`GetShardIterator: HTTP ${itRes.status} ${itRes.text}`);
            let it = itRes.json.ShardIterator;
            for (let polls = 0; polls < 5 && it && !state.stop; ++polls) {
              const res = await kinesisRaw(endpoint, "GetRecords", { ShardIterator: it, Limit: 2000 }, { timeoutMs: 10000 });
              if (res.status !== 200) throw new Error(`GetRecords: HTTP ${res.status} ${res.text}`);
              stats.reads++;
              for (const r of res.json.Records) {
                if (last && BigInt(r.SequenceNumber) <= BigInt(lastRead.get(shard))) {
                  problems.push(`${shard}: read ${r.SequenceNumber} after ${lastRead.get(shard)}`);
                }
                remember(seen, "read", shard, { seq: r.SequenceNumber, key: r.PartitionKey, data: r.Data }, generation);
                lastRead.set(shard, r.SequenceNumber);
              }
              if (res.json.Records.length === 0) break;
              it = res.json.NextShardIterator;
            }
          }
        } catch (err) {
          stats.lastError = `reader: ${err.cause ?? err}`;
          while (!state.stop && state.generation === generation) await sleep(10);
        }
        await sleep(5);
      }
    };

    const writers = Array.from({ length: kWriters }, (_, w) => writer(w));
    const readerDone = reader();
    const ackedAtKill = [];
    try {
      for (let c = 0; c < kCycles; ++c) {
        const before = acked.size;
        // Kill at a random moment once this generation has acknowledged something.
        await waitFor(() => acked.size > before, 20000, `acknowledgements in generation ${state.generation}`,
          () => `last error: ${stats.lastError}; stderr:\n${server.stderr}`);
        await sleep(Math.floor(random() * 900));
        await server.kill9();
        ackedAtKill.push(acked.size);
        state.endpoint = await server.start();
        state.generation++;
      }
      const before = acked.size;
      await waitFor(() => acked.size > before, 20000, "acknowledgements after the last restart",
        () => `last error: ${stats.lastError}`);
    } finally {
      state.stop = true;
      await Promise.all(writers);
      await readerDone;
    }

    // Everything, read back from the trim horizon of every shard.
    const stored = new Map();
    for (let i = 0; i < kShards; ++i) {
      const shard = shardId(i);
      const itRes = await kinesisRaw(state.endpoint, "GetShardIterator", { StreamName: kStream, ShardId: shard, ShardIteratorType: "TRIM_HORIZON" });
      assert.equal(itRes.status, 200, itRes.text);
      let it = itRes.json.ShardIterator;
      let previous = -1n;
      for (;;) {
        const res = await kinesisRaw(state.endpoint, "GetRecords", { ShardIterator: it });
        assert.equal(res.status, 200, res.text);
        for (const r of res.json.Records) {
          const seq = BigInt(r.SequenceNumber);
          if (seq <= previous) problems.push(`${shard}: stored ${r.SequenceNumber} after ${previous}`);
          previous = seq;
          stored.set(`${shard}/${r.SequenceNumber}`, { key: r.PartitionKey, data: r.Data });
        }
        if (res.json.Records.length === 0) break;
        it = res.json.NextShardIterator;
      }
    }
    const stopped = await server.stop(60000);

    const lost = [];
    const changed = [];
    for (const [id, r] of acked) {
      const s = stored.get(id);
      if (!s) lost.push(id);
      else if (s.key !== r.key || s.data !== r.data) changed.push(id);
    }
    const vanished = [...seen].filter(([id, r]) => {
      const s = stored.get(id);
      return !s || s.key !== r.key || s.data !== r.data;
    }).map(([id]) => id);
    // Never backwards across restarts: a number acknowledged by generation g is above every number
    // acknowledged or shown to the reader by generations < g, per shard.
    const backwards = [];
    for (let i = 0; i < kShards; ++i) {
      const shard = shardId(i);
      const maxOf = new Map();  // generation -> max seq acknowledged or shown by it
      for (const r of [...acked.values(), ...seen.values()]) {
        if (r.shard === shard && !(maxOf.get(r.generation) > r.seq)) maxOf.set(r.generation, r.seq);
      }
      const floor = (g) => [...maxOf].filter(([h]) => h < g).reduce((m, [, v]) => (v > m ? v : m), -1n);
      const floors = new Map([...maxOf.keys()].map((g) => [g, floor(g)]));
      for (const r of acked.values()) {
        if (r.shard === shard && r.seq <= floors.get(r.generation)) {
          backwards.push(`${shard}/${r.seq} acknowledged by generation ${r.generation} <= ${floors.get(r.generation)} of an earlier one`);
        }
      }
    }
    console.log(`kinesis crash summary: ${kCycles} kills, ${stats.calls} PutRecords calls (${stats.ok} answered 200, ` +
      `${stats.errors} failed), ${acked.size} records acknowledged (at each kill: ${ackedAtKill.join(", ")}), ` +
      `${stats.failedEntries} failed entries, ${stats.reads} GetRecords calls showed ${seen.size} records, ` +
      `${stored.size} stored, ${lost.length} lost, ${changed.length} changed, ${vanished.length} shown then gone, ` +
      `${backwards.length} backwards; data dir ${dataDir}`);

    assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM exit; stderr:\n${server.stderr}`);
    assert.ok(acked.size > 0, "no record was acknowledged at all");
    assert.deepEqual(problems.slice(0, 20), [], "no sequence number repeats");
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged records lost`);
    assert.deepEqual(changed.slice(0, 20), [], `${changed.length} acknowledged records read back with other bytes or key`);
    assert.deepEqual(backwards.slice(0, 20), [], `${backwards.length} sequence numbers went backwards across a restart`);
    assert.deepEqual(vanished.slice(0, 20), [], `${vanished.length} records shown to the reader were gone or changed after a crash`);
    fs.rmSync(dataDir, { recursive: true, force: true });  // kept for inspection on failure
  });
