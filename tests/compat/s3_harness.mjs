// s3rver (@20minutes/s3rver 4.0.4, an S3 API that checks SigV4 signatures with the fixed
// credentials S3RVER/S3RVER) as a child process for the S3 end-to-end tests, plus plain-HTTP
// readers for its buckets (s3rver serves anonymous GETs, so no S3 client is needed).
//
// As a module: startS3rver({dir, buckets, port}) -> {port, endpoint, events(), stop()}, listKeys,
// getObject. events() lists the object events seen so far as {name, bucket, key}, name being
// ObjectCreated:Put (PutObject), ObjectCreated:Post (CompleteMultipartUpload) or
// ObjectRemoved:Delete.
// As a script: node --openssl-legacy-provider s3_harness.mjs <data dir> <bucket>[,...] <port>
// serves on 127.0.0.1:<port> (0 = free port), prints "READY <port>", and exits when stdin closes
// or on SIGTERM, so the server never outlives the test that started it. The legacy provider is
// needed because s3rver encrypts listing continuation tokens with DES.
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitExit, waitFor } from "./sluice_harness.mjs";

const self = fileURLToPath(import.meta.url);

// Starts s3rver on `port` (0 picks a free one) storing into `dir`, creating `buckets`.
// Reusing a port and dir after stop() brings the same server (and objects) back.
export async function startS3rver({ dir, buckets, port = 0, timeoutMs = 20000 }) {
  const child = spawn(process.execPath,
    ["--openssl-legacy-provider", self, dir, buckets.join(","), String(port)],
    { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d.toString()));
  child.stderr.on("data", (d) => (stderr = (stderr + d.toString()).slice(-10000)));
  child.stdin.on("error", () => {});
  const ready = await waitFor(() => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`s3rver exited early (code ${child.exitCode}); stderr:\n${stderr}`);
    }
    const m = /^READY (\d+)\n/.exec(stdout);
    return m ? Number(m[1]) : null;
  }, timeoutMs, `s3rver to listen on port ${port}`, () => `stdout: ${stdout} stderr: ${stderr}`);
  return {
    port: ready,
    endpoint: `http://127.0.0.1:${ready}`,
    stderr: () => stderr,
    events: () => [...stdout.matchAll(/^EVENT (\S+) ([^/\n]+)\/(.*)$/gm)]
      .map((m) => ({ name: m[1], bucket: m[2], key: m[3] })),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      child.kill("SIGTERM");
      await waitExit(child, 10000, "s3rver after SIGTERM");
    },
  };
}

function httpGet(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.setTimeout(10000, () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

// Every key in `bucket` (ListObjectsV2, following continuation tokens), sorted.
export async function listKeys(endpoint, bucket) {
  const keys = [];
  let token = null;
  for (;;) {
    let url = `${endpoint}/${bucket}?list-type=2`;
    if (token) url += `&continuation-token=${encodeURIComponent(token)}`;
    const { status, body } = await httpGet(url);
    const text = body.toString("utf8");
    if (status !== 200) throw new Error(`GET ${url}: HTTP ${status}: ${text}`);
    for (const m of text.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(unescapeXml(m[1]));
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(text);
    if (!/<IsTruncated>true<\/IsTruncated>/.test(text) || !next) break;
    token = unescapeXml(next[1]);
  }
  return keys.sort();
}

// The bytes of `bucket`/`key`; throws on anything but 200.
export async function getObject(endpoint, bucket, key) {
  const url = `${endpoint}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const { status, body } = await httpGet(url);
  if (status !== 200) throw new Error(`GET ${url}: HTTP ${status}: ${body.toString("utf8")}`);
  return body;
}

function unescapeXml(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

async function serve([dir, buckets, port]) {
  const { default: S3rver } = await import("@20minutes/s3rver");
  const server = new S3rver({
    port: Number(port), address: "127.0.0.1", directory: dir, silent: true,
    configureBuckets: buckets.split(",").map((name) => ({ name })),
  });
  server.on("event", (e) => {
    for (const r of e.Records) {
      process.stdout.write(`EVENT ${r.eventName} ${r.s3.bucket.name}/${r.s3.object.key}\n`);
    }
  });
  const address = await server.run();
  process.stdout.write(`READY ${address.port}\n`);
  const stop = () => server.close().finally(() => process.exit(0));
  process.stdin.on("end", stop);
  process.stdin.on("error", stop);
  process.stdin.resume();
  process.on("SIGTERM", stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === self) await serve(process.argv.slice(2));
