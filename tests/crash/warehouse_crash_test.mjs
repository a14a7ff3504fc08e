// Exactly-once warehouse loads across kill -9: clients PutRecordBatch continuously into a stream
// whose warehouse is PostgreSQL in append mode WITHOUT a key (a batch loaded twice would double
// its rows), with interval_s 0 so loads and checkpoints happen all the time; `sluice serve` is
// killed with SIGKILL at random moments and restarted on the same data dir. At the end (SIGTERM,
// exit 0) every acknowledged record's row must be in the table exactly once, and no id may appear
// twice. Records that were journaled but whose answer was lost in a kill may also be loaded (once).
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test warehouse_crash_test.mjs
// CRASH_SEED=<n> replays the same kill schedule.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { PgCluster } from "../compat/pg_harness.mjs";
import {
  crashPutClient, makeTempDir, newPutStats, prng, SluiceServer, sleep, waitFor,
} from "../compat/sluice_harness.mjs";

const kClients = 4;
const kKills = 6;
const kBatch = 50;  // records per PutRecordBatch
const kStream = "whcrash";

test("every acknowledged record is loaded into PostgreSQL exactly once across repeated kill -9",
  { timeout: 115000 }, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1000000);
    const random = prng(seed);
    console.log(`crash seed ${seed} (CRASH_SEED=${seed} replays the kill schedule)`);
    const pg = new PgCluster();
    const dir = makeTempDir("whcrash");
    try {
      await pg.init();
      const dataDir = path.join(dir, "data");
      const dsnFile = path.join(dir, "dsn");
      fs.writeFileSync(dsnFile, pg.dsn());
      const config = path.join(dir, "sluice.yaml");
      fs.writeFileSync(config, `
delivery_streams:
  - name: ${kStream}
    buffering: {size_mb: 1, interval_s: 0}
    processors:
      - schema:
          columns:
            - {name: id, type: text, required: true}
            - {name: g, type: integer, required: true}
            - {name: pad, type: text}
    format: {csv: {header: false}}
    staged: {url: "file://${dataDir}/buckets/staging", prefix: "s/"}
    errors: {url: "file://${dataDir}/buckets/failed", prefix: "f/"}
    warehouse:
      engine: postgres
      dsn: "\${secret:file:${dsnFile}}"
      table: loaded
      mode: append
      create_table: true
      retry_duration_s: 300
`);
      const server = new SluiceServer(dataDir, ["--config", config]);
      const state = { endpoint: await server.start(), generation: 0, stop: false };
      const acked = new Set();
      const stats = newPutStats();
      let logs = "";

      const client = (id) => crashPutClient(id, {
        state, stream: kStream, batch: kBatch, acked, stats,
        makeRecord: (key, seq, generation) => {
          return `{"id":"${key}","g":${generation},"pad":"${"x".repeat((seq * 7) % 100)}"}\n`;
        },
      });

      const rowCount = async () => Number((await pg.psql("SELECT count(*) FROM loaded").catch(() => [["0"]]))[0][0]);
      const clients = Array.from({ length: kClients }, (_, i) => client(i));
      const rowsAtKill = [];
      try {
        for (let k = 0; k < kKills; ++k) {
          await sleep(400 + Math.floor(random() * 1200));
          await server.kill9();
          logs += server.stderr;
          rowsAtKill.push(await rowCount());
          state.endpoint = await server.start();
          state.generation++;
        }
        const before = acked.size;
        await waitFor(() => acked.size > before + kBatch, 20000,
          "acknowledged records after the last restart", () => `last error: ${stats.lastError}`);
      } finally {
        state.stop = true;
        await Promise.all(clients);
      }
      const stopped = await server.stop(60000);
      logs += server.stderr;
      assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM exit; stderr:\n${server.stderr}`);

      const dupes = await pg.psql("SELECT id, count(*) FROM loaded GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 20");
      const ids = new Set((await pg.psql("SELECT id FROM loaded")).map((r) => r[0]));
      const total = await rowCount();
      const missing = [...acked].filter((k) => !ids.has(k));
      const unacked = [...ids].filter((k) => !acked.has(k)).length;
      const ledger = (await pg.psql("SELECT count(*) FROM sluice_load_ledger"))[0][0];
      const redelivered = (logs.match(/redelivered batch/g) ?? []).length;
      const skipped = (logs.match(/already in the warehouse ledger; skipped/g) ?? []).length;
      console.log(`warehouse crash summary: ${kKills} kills, ${stats.calls} PutRecordBatch calls ` +
        `(${stats.ok} answered 200, ${stats.errors} failed), ${acked.size} records acknowledged, ` +
        `rows at each kill: ${rowsAtKill.join(", ")}; ${total} rows, ${ids.size} distinct ids, ` +
        `${unacked} loaded but never acknowledged, ${missing.length} missing, ${ledger} ledger batches, ` +
        `${redelivered} batches redelivered after restart, ${skipped} of them skipped by the ledger`);

      assert.ok(acked.size > 0, "no record was acknowledged at all");
      assert.deepEqual(dupes, [], "ids loaded more than once");
      assert.equal(total, ids.size, "row count equals distinct ids");
      assert.equal(missing.length, 0,
        `${missing.length} acknowledged records are not in PostgreSQL, e.g. ${missing.slice(0, 10).join(" ")}`);
      assert.deepEqual(stats.protocol, [], "every 200 answer has one entry per record");
      assert.deepEqual(await pg.psql("SELECT count(*) FROM pg_class WHERE relpersistence = 't'"), [["0"]],
        "temporary tables left behind");
      fs.rmSync(dir, { recursive: true, force: true });  // kept for inspection on failure
    } finally {
      await pg.destroy();
    }
  });
