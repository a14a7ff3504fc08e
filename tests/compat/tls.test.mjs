// TLS on the data listener (server.tls): a CA and certificates made by the test with the openssl
// CLI; the AWS SDK for JavaScript v3 and curl connect with the CA and fail without it; HTTP/2 over
// TLS via ALPN (node:http2 and the Kinesis client's default HTTP/2 handler); a renewed
// certificate is picked up on SIGHUP without a restart while open connections keep going; client
// certificates are verified when server.tls.client_ca_file is set.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test tls.test.mjs
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import path from "node:path";
import tls from "node:tls";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { FirehoseClient, ListDeliveryStreamsCommand } from "@aws-sdk/client-firehose";
import { NodeHttpHandler } from "@smithy/node-http-handler";

import { makeTempDir, SluiceServer, waitFor } from "./sluice_harness.mjs";
import { makeCa, makeLeaf, writeTlsConfig } from "./tls_harness.mjs";

const kCreds = { accessKeyId: "AKIDCOMPAT", secretAccessKey: "compat-secret" };
const kHere = path.dirname(fileURLToPath(import.meta.url));
const kListBody = "{}";
const kListTarget = "Firehose_20150804.ListDeliveryStreams";

let dir;
let ca;
let server;
let port;

before(async () => {
  dir = makeTempDir("tls");
  ca = makeCa(dir);
  const leaf = makeLeaf(dir, ca, "server");
  const config = writeTlsConfig(dir, leaf);
  server = new SluiceServer(path.join(dir, "data"), ["--config", config]);
  const endpoint = await server.start();
  port = Number(new URL(endpoint).port);
});

after(async () => {
  if (server?.child) {
    const { code } = await server.stop();
    assert.equal(code, 0, `sluice serve exit code; stderr:\n${server.stderr}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function firehose(agentOptions) {
  return new FirehoseClient({
    endpoint: `https://127.0.0.1:${port}`, region: "us-east-1", credentials: kCreds,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpsAgent: new https.Agent(agentOptions), requestTimeout: 10000,
    }),
  });
}

function curl(args) {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
      "-X", "POST", "-H", `X-Amz-Target: ${kListTarget}`,
      "-H", "Content-Type: application/x-amz-json-1.1", "--data", kListBody, ...args,
      `https://127.0.0.1:${port}/`], (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

// The serial number of the certificate a new connection is given.
async function peerSerial() {
  const socket = tls.connect({ host: "127.0.0.1", port, ca: fs.readFileSync(ca.cert) });
  await once(socket, "secureConnect");
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

// One HTTP/1.1 ListDeliveryStreams on an open socket; resolves the status code.
async function requestOn(socket) {
  let got = "";
  const done = new Promise((resolve, reject) => {
    const onData = (d) => {
      got += d.toString();
      const end = got.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(got.slice(0, end))?.[1] ?? 0);
      if (got.length >= end + 4 + length) {
        socket.off("data", onData);
        resolve(Number(got.split(" ")[1]));
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`connection closed; got: ${got}`)));
  });
  socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: ${kListTarget}\r\n` +
    `Content-Type: application/x-amz-json-1.1\r\nContent-Length: ${kListBody.length}\r\n\r\n` +
    kListBody);
  return done;
}

test("the AWS SDK connects with the CA and answers ListDeliveryStreams", async () => {
  const client = firehose({ ca: fs.readFileSync(ca.cert) });
  try {
    const out = await client.send(new ListDeliveryStreamsCommand({}));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.deepEqual(out.DeliveryStreamNames, []);
  } finally {
    client.destroy();
  }
});

test("the AWS SDK refuses the server without the CA", async () => {
  const client = firehose({});
  try {
    await assert.rejects(client.send(new ListDeliveryStreamsCommand({})), (err) => {
      assert.match(String(err.code ?? err.name),
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
      return true;
    });
  } finally {
    client.destroy();
  }
});

test("curl connects with --cacert (HTTP/1.1 and h2 via ALPN) and fails without it", async () => {
  const h1 = await curl(["--cacert", ca.cert, "--http1.1"]);
  assert.equal(h1.code, 0, h1.stderr);
  assert.equal(h1.stdout, "200 1.1");
  const h2 = await curl(["--cacert", ca.cert, "--http2"]);
  assert.equal(h2.code, 0, h2.stderr);
  assert.equal(h2.stdout, "200 2");
  const refused = await curl([]);
  assert.equal(refused.code, 60, `curl exit 60 (peer certificate not verified): ${refused.stderr}`);
  // TLS 1.1 and older are refused.
  const old = await curl(["--cacert", ca.cert, "--tlsv1.1", "--tls-max", "1.1"]);
  assert.notEqual(old.code, 0, "a TLS 1.1 handshake must fail");
});

test("plain HTTP on the TLS port is not served", async () => {
  const res = await new Promise((resolve) => {
    execFile("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
      `http://127.0.0.1:${port}/`], (err, stdout) => resolve({ code: err ? err.code : 0, stdout }));
  });
  assert.notEqual(res.code, 0);
});

test("HTTP/2 over TLS is negotiated with ALPN h2", async () => {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: fs.readFileSync(ca.cert) });
  try {
    await once(session, "connect");
    assert.equal(session.alpnProtocol, "h2");
    const req = session.request({
      ":method": "POST", ":path": "/", "x-amz-target": kListTarget,
      "content-type": "application/x-amz-json-1.1",
    });
    req.end(kListBody);
    const [headers] = await once(req, "response");
    let body = "";
    req.on("data", (d) => { body += d; });
    await once(req, "end");
    assert.equal(headers[":status"], 200);
    assert.deepEqual(JSON.parse(body).DeliveryStreamNames, []);
  } finally {
    session.close();
  }
});

test("the Kinesis client's default HTTP/2 handler works over https", async () => {
  // NodeHttp2Handler takes no CA option: the child trusts the test CA via NODE_EXTRA_CA_CERTS.
  const script = `
    import { KinesisClient, CreateStreamCommand, ListStreamsCommand } from "@aws-sdk/client-kinesis";
    import { NodeHttp2Handler } from "@smithy/node-http-handler";
    const client = new KinesisClient({ endpoint: process.env.ENDPOINT, region: "us-east-1",
      credentials: { accessKeyId: "AKIDCOMPAT", secretAccessKey: "compat-secret" }, maxAttempts: 1,
      requestHandler: new NodeHttp2Handler({ requestTimeout: 10000 }) });
    await client.send(new CreateStreamCommand({ StreamName: "tls-h2", ShardCount: 1 }));
    const out = await client.send(new ListStreamsCommand({}));
    console.log(JSON.stringify(out.StreamNames));
    client.destroy();`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: kHere, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.cert, ENDPOINT: `https://127.0.0.1:${port}` },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { err += d; });
  const [code] = await once(child, "exit");
  assert.equal(code, 0, err);
  assert.deepEqual(JSON.parse(out), ["tls-h2"]);
});

test("SIGHUP reloads a renewed certificate; open connections keep going", async () => {
  const before = await peerSerial();
  const open = tls.connect({ host: "127.0.0.1", port, ca: fs.readFileSync(ca.cert) });
  await once(open, "secureConnect");
  assert.equal(await requestOn(open), 200);

  makeLeaf(dir, ca, "server");  // renews server.pem / server.key in place (new key and serial)
  server.child.kill("SIGHUP");
  await waitFor(() => server.stderr.includes("TLS certificate reloaded"), 10000,
    "the reload log line", () => server.stderr);
  const renewed = await peerSerial();
  assert.notEqual(renewed, before, "a new connection gets the renewed certificate");
  assert.equal(open.getPeerCertificate().serialNumber, before);
  assert.equal(await requestOn(open), 200, "the connection opened before the reload still works");
  open.destroy();

  // A bad file keeps the current certificate.
  fs.writeFileSync(path.join(dir, "server.pem"), "not a certificate\n");
  server.child.kill("SIGHUP");
  await waitFor(() => server.stderr.includes("TLS reload failed"), 10000,
    "the reload failure log line", () => server.stderr);
  assert.equal(await peerSerial(), renewed);
});

test("client certificates are verified when client_ca_file is set", async () => {
  const sub = path.join(dir, "mtls");
  fs.mkdirSync(sub);
  const clientCa = makeCa(sub, "client-ca");
  const client = makeLeaf(sub, clientCa, "client", { server: false });
  const otherCa = makeCa(sub, "other-ca");
  const stranger = makeLeaf(sub, otherCa, "stranger", { server: false });
  const leaf = makeLeaf(sub, ca, "server");
  const config = writeTlsConfig(sub, { ...leaf, clientCa: clientCa.cert });
  const mtls = new SluiceServer(path.join(sub, "data"), ["--config", config]);
  const endpoint = await mtls.start();
  const mport = Number(new URL(endpoint).port);
  const post = (extra) => new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1", port: mport, method: "POST", path: "/", ca: fs.readFileSync(ca.cert),
      agent: false, headers: { "X-Amz-Target": kListTarget,
        "Content-Type": "application/x-amz-json-1.1" }, ...extra,
    }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); });
    req.on("error", reject);
    req.end(kListBody);
  });
  try {
    assert.equal(await post({
      cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key),
    }), 200);
    await assert.rejects(post({}), "no client certificate");
    await assert.rejects(post({
      cert: fs.readFileSync(stranger.cert), key: fs.readFileSync(stranger.key),
    }), "a client certificate from another CA");
  } finally {
    const { code } = await mtls.stop();
    assert.equal(code, 0, mtls.stderr);
  }
});
