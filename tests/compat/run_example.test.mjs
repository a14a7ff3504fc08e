// `make run` as a user runs it: scripts/run-example (what `make run` calls after building) from a
// fresh copy of the checkout with no ./var, RUN_ONCE=1. It must exit 0 and print the warehouse
// rows the first time — round 1 shipped a `make run` that failed on every clean clone while a
// harness test of "the same pipeline" passed. Every example the script can run is covered here.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { makeTempDir } from "./sluice_harness.mjs";

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const sluice = path.resolve(process.env.SLUICE_BIN);

// A fresh directory holding what a clean clone has of scripts/ and examples/ (tracked files only).
function freshCheckout(name, { without = [] } = {}) {
  const dir = makeTempDir(name);
  const listed = spawnSync("git", ["-C", repo, "ls-files", "-z", "scripts", "examples"],
    { encoding: "utf8" });
  assert.equal(listed.status, 0, listed.stderr);
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    if (without.some((w) => file.startsWith(w))) continue;
    fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(repo, file), path.join(dir, file));
  }
  assert.ok(!fs.existsSync(path.join(dir, "var")));
  return dir;
}

function runExample(dir) {
  return new Promise((resolve) => {
    const child = spawn("bash", ["scripts/run-example"], {
      cwd: dir,
      env: { ...process.env, RUN_ONCE: "1", SLUICE: sluice, LISTEN: "127.0.0.1:0", ADMIN_LISTEN: "127.0.0.1:0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill("SIGKILL"), 90000);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

const sqlite = (db, sql) => spawnSync("sqlite3", [db, sql], { encoding: "utf8" }).stdout.trim();

test("make run's script runs the orders example on a fresh checkout, twice", async () => {
  const dir = freshCheckout("run-orders");
  const first = await runExample(dir);
  assert.equal(first.code, 0, `stdout:\n${first.stdout}\nstderr:\n${first.stderr}`);
  assert.match(first.stdout, /sluice is listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(first.stdout, /Warehouse \(SQLite \.\/var\/warehouse\.db\):/);
  // The reporting view's header and at least one city row.
  assert.match(first.stdout, /ship_city\s+orders\s+revenue/);
  assert.match(first.stdout, /\n\s+\S+\s+\d+\s+\d+(\.\d+)?\n/);
  assert.match(first.stdout, /processing-failed/);
  const db = path.join(dir, "var", "warehouse.db");
  assert.equal(sqlite(db, "SELECT count(*), count(DISTINCT order_id) FROM orders"), "62|31");
  // The second run re-sends the same orders into the same ./var: merged, the same totals.
  const second = await runExample(dir);
  assert.equal(second.code, 0, `stdout:\n${second.stdout}\nstderr:\n${second.stderr}`);
  assert.equal(sqlite(db, "SELECT count(*) FROM sluice_load_ledger"), "2");
  assert.equal(sqlite(db, "SELECT count(*), count(DISTINCT order_id) FROM orders"), "62|31");
});

test("without the orders example the script runs the quickstart on embedded defaults", async () => {
  const dir = freshCheckout("run-quickstart", { without: ["examples/orders/"] });
  const run = await runExample(dir);
  assert.equal(run.code, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  assert.match(run.stdout, /Delivered objects/);
  assert.match(run.stdout, /var\/buckets\/events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/events-1-/);
});
