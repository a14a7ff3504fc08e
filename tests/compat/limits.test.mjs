// Hostile-client limits (server.limits) against the real `sluice serve`: a slowloris client is cut
// off after the header timeout while other clients keep being served; 2,000 idle connections do
// not stop a new client; at max_connections accepting pauses and resumes when a connection
// closes; a 100 MB declared body is refused before it is read (server RSS stays flat); header
// size and count limits; pipelined and malformed requests never crash the server.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test limits.test.mjs
import assert from "node:assert/strict";
import { once } from "node:events";
import fs from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";

import { makeTempDir, SluiceServer, waitFor } from "./sluice_harness.mjs";

const kListTarget = "Firehose_20150804.ListDeliveryStreams";
const kListBody = "{}";
const kListRequest = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: ${kListTarget}\r\n` +
  `Content-Type: application/x-amz-json-1.1\r\nContent-Length: ${kListBody.length}\r\n\r\n` +
  kListBody;

let dir;
let server;
let port;

function startServer(name, limits) {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  const config = path.join(d, "sluice.yaml");
  fs.writeFileSync(config, ["server:", "  limits:",
    ...Object.entries(limits).map(([k, v]) => `    ${k}: ${v}`)].join("\n") + "\n");
  return new SluiceServer(path.join(d, "data"), ["--config", config]);
}

before(async () => {
  dir = makeTempDir("limits");
  server = startServer("main", { header_timeout_ms: 1000, max_body_bytes: 1048576 });
  port = Number(new URL(await server.start()).port);
});

after(async () => {
  if (server?.child) {
    const { code } = await server.stop();
    assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function connect(p = port) {
  const socket = net.connect({ host: "127.0.0.1", port: p });
  await once(socket, "connect");
  return socket;
}

// Reads HTTP/1.1 responses from `socket` until `count` are complete (or the socket closes);
// resolves their status codes.
function readResponses(socket, count) {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const statuses = [];
    const finish = () => {
      socket.off("data", onData);
      resolve(statuses);
    };
    const onData = (d) => {
      got = Buffer.concat([got, d]);
      for (;;) {
        const end = got.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = got.subarray(0, end).toString();
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (got.length < end + 4 + length) return;
        statuses.push(Number(head.split(" ")[1]));
        got = got.subarray(end + 4 + length);
        if (statuses.length === count) return finish();
      }
    };
    socket.on("data", onData);
    socket.once("close", finish);
    socket.once("error", () => {});
  });
}

async function list(p = port) {
  const socket = await connect(p);
  const done = readResponses(socket, 1);
  socket.write(kListRequest);
  const [status] = await done;
  socket.destroy();
  return status;
}

function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

test("a slowloris client is cut off after the header timeout; others are served", async () => {
  const slow = await connect();
  let closed = false;
  slow.on("close", () => { closed = true; });
  slow.on("error", () => {});
  slow.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  let served = 0;
  // Dribble one header line per request served by a normal client, until the server hangs up.
  await waitFor(async () => {
    if (!closed) slow.write(`X-Slow-${served}: a\r\n`);
    assert.equal(await list(), 200);
    served++;
    return closed;
  }, 60000, "the slowloris connection to be closed");
  assert.ok(served > 0);
  assert.equal(await list(), 200);
});

test("a slow HTTP/1.1 body is cut off below the minimum rate", async () => {
  const slow = await connect();
  let closed = false;
  slow.on("close", () => { closed = true; });
  slow.on("error", () => {});
  slow.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: ${kListTarget}\r\n` +
    "Content-Length: 500000\r\n\r\n{");
  await waitFor(async () => {
    assert.equal(await list(), 200);
    return closed;
  }, 60000, "the slow-body connection to be closed");
});

test("an HTTP/2 stream whose body stalls is reset; the connection keeps serving", async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    await once(session, "connect");
    const stalled = session.request({ ":method": "POST", ":path": "/",
      "x-amz-target": kListTarget, "content-length": "1000" }, { endStream: false });
    stalled.write("{");
    stalled.on("error", () => {});
    await once(stalled, "close");
    assert.equal(stalled.rstCode, http2.constants.NGHTTP2_CANCEL);
    const ok = session.request({ ":method": "POST", ":path": "/", "x-amz-target": kListTarget,
      "content-type": "application/x-amz-json-1.1" });
    ok.end(kListBody);
    const [headers] = await once(ok, "response");
    ok.resume();
    assert.equal(headers[":status"], 200);
  } finally {
    session.close();
  }
});

test("a 100 MB declared body is refused before it is read; RSS stays flat", async () => {
  const before = rssKb(server.child.pid);
  for (let i = 0; i < 5; i++) {
    const socket = await connect();
    const done = readResponses(socket, 1);
    socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: ${kListTarget}\r\n` +
      "Content-Length: 104857600\r\n\r\n");
    // The answer comes without a body byte sent.
    assert.deepEqual(await done, [413]);
    socket.destroy();
  }
  // A chunked body (no length to check) is cut off at the limit, not buffered.
  const socket = await connect();
  const done = readResponses(socket, 1);
  socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: ${kListTarget}\r\n` +
    "Transfer-Encoding: chunked\r\n\r\n");
  const chunk = Buffer.alloc(64 * 1024, "a");
  let answered = false;
  done.then(() => { answered = true; });
  for (let sent = 0; sent < 100 * 1024 * 1024 && !answered && !socket.destroyed; sent += chunk.length) {
    const ok = socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) &&
      socket.write("\r\n");
    if (!ok) await Promise.race([once(socket, "drain"), once(socket, "close"), done]);
  }
  assert.deepEqual(await done, [413]);
  socket.destroy();
  // HTTP/2: the declared length is refused the same way.
  const session = http2.connect(`http://127.0.0.1:${port}`);
  await once(session, "connect");
  const req = session.request({ ":method": "POST", ":path": "/", "x-amz-target": kListTarget,
    "content-length": "104857600" }, { endStream: false });
  req.on("error", () => {});
  const [headers] = await once(req, "response");
  assert.equal(headers[":status"], 413);
  session.destroy();
  const afterKb = rssKb(server.child.pid);
  assert.ok(afterKb - before < 40 * 1024,
    `server RSS grew from ${before} kB to ${afterKb} kB: a body was buffered`);
  assert.equal(await list(), 200);
});

test("header size and count limits answer 431", async () => {
  const big = await connect();
  const bigDone = readResponses(big, 1);
  big.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20000)}\r\n\r\n`);
  assert.deepEqual(await bigDone, [431]);
  big.destroy();
  const many = await connect();
  const manyDone = readResponses(many, 1);
  let headers = "";
  for (let i = 0; i < 150; i++) headers += `X-H${i}: v\r\n`;
  many.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Content-Length: 2\r\n\r\n{}`);
  assert.deepEqual(await manyDone, [431]);
  many.destroy();
  assert.equal(await list(), 200);
});

test("pipelined requests are answered in order; malformed ones never crash the server", async () => {
  const socket = await connect();
  const done = readResponses(socket, 50);
  socket.write(kListRequest.repeat(50));
  const statuses = await done;
  assert.equal(statuses.length, 50);
  assert.ok(statuses.every((s) => s === 200), JSON.stringify(statuses));
  socket.destroy();

  const malformed = [
    "GARBAGE\r\n\r\n",
    "\x00\x01\x02\x03\xff\xfe\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "POST / HTTP/9.9\r\n\r\n",
    "POST /" + "a".repeat(30000) + " HTTP/1.1\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x99\x00\x00\x00\x00\x00garbage",
    kListRequest + "GARBAGE\r\n\r\n",
  ];
  for (const bytes of malformed) {
    const s = await connect();
    s.on("error", () => {});
    s.resume();  // read (and drop) the error answer, so that the close is seen
    const closed = once(s, "close");
    s.write(Buffer.from(bytes, "latin1"));
    s.end();
    await closed;
    assert.equal(await list(), 200, `served after ${JSON.stringify(bytes.slice(0, 40))}`);
  }
  assert.equal(server.child.exitCode, null, "the server is alive");
});

test("2,000 idle connections do not stop a new client from being served", async () => {
  const roomy = startServer("roomy", { header_timeout_ms: 60000 });
  const rport = Number(new URL(await roomy.start()).port);
  const idle = [];
  try {
    for (let i = 0; i < 2000; i++) {
      const s = net.connect({ host: "127.0.0.1", port: rport });
      s.on("error", () => {});
      idle.push(s);
    }
    await Promise.all(idle.map((s) => once(s, "connect")));
    assert.equal(await list(rport), 200);
    assert.ok(idle.every((s) => !s.destroyed), "the idle connections are still open");
  } finally {
    for (const s of idle) s.destroy();
    const { code } = await roomy.stop();
    assert.equal(code, 0, roomy.stderr);
  }
});

test("at max_connections accepting pauses and resumes when a connection closes", async () => {
  const capped = startServer("capped", { max_connections: 20 });
  const cport = Number(new URL(await capped.start()).port);
  const idle = [];
  try {
    for (let i = 0; i < 20; i++) idle.push(await connect(cport));
    // The kernel completes the handshake (listen backlog); the server does not accept it yet.
    const waiting = await connect(cport);
    const done = readResponses(waiting, 1);
    waiting.write(kListRequest);
    idle.shift().destroy();  // one slot frees up: accepting resumes
    assert.deepEqual(await done, [200]);
    waiting.destroy();
  } finally {
    for (const s of idle) s.destroy();
    const { code } = await capped.stop();
    assert.equal(code, 0, capped.stderr);
  }
});
