// A throwaway PostgreSQL 15 cluster for the warehouse tests: initdb into a temp dir, TCP on a free
// loopback port with password (scram-sha-256) auth for the role `sluice`, trust over the unix
// socket (inside the temp dir) for the `postgres` superuser that the test's `psql` helper uses.
// As root, initdb/pg_ctl run as the `postgres` OS user (`runuser -u postgres --`).
// Every wait is bounded; stop() is safe to call twice and after a failed start().
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

import { makeTempDir, waitExit } from "./sluice_harness.mjs";

const kPgBin = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

// A loopback TCP port that was free a moment ago.
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

// Runs a command to completion; resolves {code, stdout, stderr}. `asPostgres` wraps it in
// `runuser -u postgres --` when this process is root.
async function run(cmd, args, { asPostgres = false, input = null, env = {}, timeoutMs = 60000 } = {}) {
  let file = cmd;
  let argv = args;
  if (asPostgres && process.getuid?.() === 0) {
    file = "runuser";
    argv = ["-u", "postgres", "--", cmd, ...args];
  }
  const child = spawn(file, argv, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d.toString()));
  child.stderr.on("data", (d) => (stderr += d.toString()));
  child.stdin.on("error", () => {});
  child.stdin.end(input ?? "");
  const { code, signal } = await waitExit(child, timeoutMs, `${cmd} ${args.join(" ")}`);
  return { code, signal, stdout, stderr };
}

export class PgCluster {
  // `password`: the password of the role `sluice` (the DSN secret of the tests).
  constructor({ password = "s3cr3t-" + Math.random().toString(36).slice(2, 12), database = "wh" } = {}) {
    this.password = password;
    this.user = "sluice";
    this.database = database;
    this.dir = null;
    this.pgdata = null;
    this.port = null;
    this.running = false;
  }

  // The libpq key=value DSN for the password-authenticated role over TCP.
  dsn() {
    return `host=127.0.0.1 port=${this.port} dbname=${this.database} user=${this.user} ` +
      `password=${this.password} connect_timeout=5`;
  }

  async init() {
    this.dir = makeTempDir("pg");
    fs.chmodSync(this.dir, 0o755);  // postgres must traverse it (socket dir, PGDATA)
    this.pgdata = path.join(this.dir, "pgdata");
    fs.mkdirSync(this.pgdata, { mode: 0o700 });
    if (process.getuid?.() === 0) {
      const ids = await run("id", ["-u", "postgres"]);
      const gids = await run("id", ["-g", "postgres"]);
      fs.chownSync(this.pgdata, Number(ids.stdout), Number(gids.stdout));
      fs.chownSync(this.dir, Number(ids.stdout), Number(gids.stdout));
    }
    const r = await run(path.join(kPgBin, "initdb"), ["-D", this.pgdata, "-U", "postgres",
      "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
    { asPostgres: true });
    if (r.code !== 0) throw new Error(`initdb failed (${r.code}): ${r.stderr}`);
    this.port = await freePort();
    await this.start();
    await this.psql(`CREATE ROLE ${this.user} LOGIN PASSWORD '${this.password}'`, { database: "postgres" });
    await this.psql(`CREATE DATABASE ${this.database} OWNER ${this.user}`, { database: "postgres" });
    return this;
  }

  async start() {
    const r = await run(path.join(kPgBin, "pg_ctl"), ["-D", this.pgdata, "-l",
      path.join(this.pgdata, "server.log"), "-w", "-t", "30", "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "start"],
    { asPostgres: true });
    if (r.code !== 0) {
      throw new Error(`pg_ctl start failed (${r.code}): ${r.stderr}\n${this.serverLog()}`);
    }
    this.running = true;
  }

  // Fast shutdown (disconnects clients). Idempotent.
  async stop() {
    if (!this.running || !this.pgdata) return;
    const r = await run(path.join(kPgBin, "pg_ctl"), ["-D", this.pgdata, "-w", "-t", "30", "-m", "fast", "stop"],
      { asPostgres: true });
    if (r.code !== 0) throw new Error(`pg_ctl stop failed (${r.code}): ${r.stderr}`);
    this.running = false;
  }

  // Stops the server (if running) and removes its files.
  async destroy() {
    try {
      await this.stop();
    } finally {
      if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
      this.dir = null;
    }
  }

  serverLog() {
    try {
      return fs.readFileSync(path.join(this.pgdata, "server.log"), "utf8").slice(-4000);
    } catch {
      return "(no server log)";
    }
  }

  // Runs SQL as the superuser over the unix socket with `psql -At`; resolves the output rows as
  // arrays of fields (split on '|'). Throws with psql's stderr on failure.
  async psql(sql, { database = this.database } = {}) {
    const r = await run("psql", ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", this.dir, "-p", String(this.port),
      "-U", "postgres", "-d", database, "-c", sql], { timeoutMs: 30000 });
    if (r.code !== 0) throw new Error(`psql failed (${r.code}) for ${sql.slice(0, 200)}: ${r.stderr}`);
    return r.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("|"));
  }
}
