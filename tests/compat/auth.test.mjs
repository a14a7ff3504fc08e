// SigV4 authentication and IAM-style permissions with real signers: the AWS SDK for JavaScript
// v3 (Firehose over HTTP/1.1 with NodeHttpHandler, Kinesis over its default HTTP/2), boto3 and
// the AWS CLI, against `sluice serve` with an `auth:` block. Each failure is produced and parsed
// by the client into its exception class; a policy matrix per action and stream; the audit log;
// SIGHUP reload; and the loopback-only default without an `auth:` block.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test auth.test.mjs
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { FirehoseClient, PutRecordBatchCommand, PutRecordCommand } from "@aws-sdk/client-firehose";
import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, KinesisClient,
  ListStreamsCommand, PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";

import { makeTempDir, sluiceBin, SluiceServer, waitExit, waitFor } from "./sluice_harness.mjs";

const kAdmin = { accessKeyId: "AKIAADMIN", secretAccessKey: "admin-secret-7f3a" };
const kProducer = { accessKeyId: "AKIAPRODUCER", secretAccessKey: "producer-secret-91c2" };
const kTemp = { accessKeyId: "ASIATEMP", secretAccessKey: "temp-secret-55d0", sessionToken: "temp-token-abc" };
const kAccount = "000000000000";
const kArn = (s) => `arn:aws:kinesis:us-east-1:${kAccount}:stream/${s}`;

let dir;
let server;
let endpoint;
let configPath;

function config(producerPolicy) {
  return `
server:
  region: us-east-1
auth:
  keys:
    - id: AKIAADMIN
      secret: \${secret:env:TEST_ADMIN_SECRET}
      user: admin
      policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
    - id: AKIAPRODUCER
      secret: \${secret:file:${path.join(dir, "producer.secret")}}
      user: producer
      policy: ${JSON.stringify(producerPolicy)}
    - id: ASIATEMP
      secret: \${secret:env:TEST_TEMP_SECRET}
      session_token: \${secret:env:TEST_TEMP_TOKEN}
      user: temp
      policy:
        Statement:
          - {Effect: Allow, Action: ["kinesis:PutRecord*", "firehose:PutRecord*"], Resource: "*"}
delivery_streams:
  - name: orders
    staged: {url: "file://${path.join(dir, "bucket")}"}
  - name: clicks
    staged: {url: "file://${path.join(dir, "bucket")}"}
`;
}

const kProducerPolicy = {
  Statement: [
    { Effect: "Allow", Action: ["kinesis:PutRecord*", "kinesis:Describe*"], Resource: kArn("orders*") },
    { Effect: "Deny", Action: "kinesis:PutRecords", Resource: kArn("orders-locked") },
    { Effect: "Allow", Action: "firehose:PutRecord*",
      Resource: `arn:aws:firehose:us-east-1:${kAccount}:deliverystream/orders` },
  ],
};

const kinesis = (credentials, extra = {}) =>
  new KinesisClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1, ...extra });
const firehose = (credentials, extra = {}) =>
  new FirehoseClient({
    endpoint, region: "us-east-1", credentials, maxAttempts: 1,
    requestHandler: new NodeHttpHandler(), ...extra,
  });
const records = (n) => Array.from({ length: n }, (_, i) => ({ Data: Buffer.from(`{"i":${i}}\n`), PartitionKey: `k${i}` }));

async function rejectsWith(promise, name, messagePattern) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    if (messagePattern) assert.match(e.message, messagePattern);
    assert.equal(e.$metadata.httpStatusCode, 400);
    return true;
  });
}

before(async () => {
  dir = makeTempDir("auth");
  fs.writeFileSync(path.join(dir, "producer.secret"), kProducer.secretAccessKey + "\n");
  configPath = path.join(dir, "sluice.yaml");
  fs.writeFileSync(configPath, config(kProducerPolicy));
  server = new SluiceServer(path.join(dir, "data"), ["--config", configPath], {
    env: {
      TEST_ADMIN_SECRET: kAdmin.secretAccessKey, TEST_TEMP_SECRET: kTemp.secretAccessKey,
      TEST_TEMP_TOKEN: kTemp.sessionToken,
    },
  });
  endpoint = await server.start();
  const admin = kinesis(kAdmin);
  for (const s of ["orders", "orders-locked", "clicks"]) {
    await admin.send(new CreateStreamCommand({ StreamName: s, ShardCount: 1 }));
  }
});

after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0, server.stderr);
  // No secret ever reaches the log (audit lines included).
  for (const secret of [kAdmin.secretAccessKey, kProducer.secretAccessKey, kTemp.secretAccessKey, kTemp.sessionToken]) {
    assert.ok(!server.stderr.includes(secret), `the log contains a secret`);
  }
});

test("requests signed with the right secret are accepted over HTTP/2 (Kinesis) and HTTP/1.1 (Firehose)", async () => {
  const r = await kinesis(kProducer).send(new PutRecordsCommand({ StreamName: "orders", Records: records(3) }));
  assert.equal(r.FailedRecordCount, 0);
  const f = await firehose(kProducer).send(new PutRecordBatchCommand({
    DeliveryStreamName: "orders", Records: [{ Data: Buffer.from("{}\n") }],
  }));
  assert.equal(f.FailedPutCount, 0);
});

test("a wrong secret is InvalidSignatureException", async () => {
  const bad = { ...kProducer, secretAccessKey: "not-the-secret" };
  const mismatch = /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.$/;
  await rejectsWith(kinesis(bad).send(new PutRecordsCommand({ StreamName: "orders", Records: records(1) })), "InvalidSignatureException", mismatch);
  await rejectsWith(firehose(bad).send(new PutRecordCommand({ DeliveryStreamName: "orders", Record: { Data: Buffer.from("x") } })), "InvalidSignatureException", mismatch);
});

test("an unknown access key is UnrecognizedClientException", async () => {
  await rejectsWith(kinesis({ accessKeyId: "AKIANOBODY", secretAccessKey: "x" }).send(new ListStreamsCommand({})),
    "UnrecognizedClientException", /^The security token included in the request is invalid\.$/);
});

test("a request dated outside the allowed skew is InvalidSignatureException 'Signature expired'", async () => {
  const skewed = kinesis(kAdmin, { systemClockOffset: -10 * 60 * 1000 });
  await rejectsWith(skewed.send(new ListStreamsCommand({})), "InvalidSignatureException",
    /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
});

test("a credential scoped to another region is InvalidSignatureException", async () => {
  await rejectsWith(kinesis(kAdmin, { region: "eu-west-1" }).send(new ListStreamsCommand({})),
    "InvalidSignatureException", /^Credential should be scoped to a valid region, not 'eu-west-1'\. $/);
});

test("a signature without X-Amz-Date is IncompleteSignatureException", async () => {
  const c = kinesis(kAdmin);
  // The deserialize step runs after signing, just before the request is sent.
  c.middlewareStack.add((next) => async (args) => {
    delete args.request.headers["x-amz-date"];
    return next(args);
  }, { step: "deserialize", name: "dropDateAfterSigning" });
  await rejectsWith(c.send(new ListStreamsCommand({})), "IncompleteSignatureException",
    /^Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header\. Authorization=AWS4-HMAC-SHA256 Credential=AKIAADMIN\//);
});

test("an unsigned request is MissingAuthenticationTokenException", async () => {
  const res = await fetch(endpoint, {
    method: "POST", body: "{}",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams" },
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { __type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" });
});

test("temporary credentials work with their session token and fail without it", async () => {
  const r = await kinesis(kTemp).send(new PutRecordsCommand({ StreamName: "clicks", Records: records(1) }));
  assert.equal(r.FailedRecordCount, 0);
  const { sessionToken, ...noToken } = kTemp;
  await rejectsWith(kinesis(noToken).send(new PutRecordsCommand({ StreamName: "clicks", Records: records(1) })),
    "UnrecognizedClientException", /^The security token included in the request is invalid\.$/);
  await rejectsWith(kinesis({ ...kTemp, sessionToken: "wrong" }).send(new PutRecordsCommand({ StreamName: "clicks", Records: records(1) })),
    "UnrecognizedClientException");
});

test("policy matrix: actions and streams allowed and denied per key, Deny overriding Allow", async () => {
  const p = kinesis(kProducer);
  const denied = (action, resource, why) =>
    new RegExp(`^User: arn:aws:iam::${kAccount}:user/producer is not authorized to perform: ${action} on resource: ${resource.replace(/[.*]/g, "\\$&")} ${why}$`);
  const implicit = (action) => `because no identity-based policy allows the ${action} action`;
  // Allowed: PutRecords and Describe* on orders.
  assert.equal((await p.send(new PutRecordsCommand({ StreamName: "orders", Records: records(1) }))).FailedRecordCount, 0);
  assert.equal((await p.send(new DescribeStreamSummaryCommand({ StreamName: "orders" }))).StreamDescriptionSummary.StreamName, "orders");
  // Another stream, another action, a call naming no stream: default deny.
  await rejectsWith(p.send(new PutRecordsCommand({ StreamName: "clicks", Records: records(1) })), "AccessDeniedException",
    denied("kinesis:PutRecords", kArn("clicks"), implicit("kinesis:PutRecords")));
  await rejectsWith(p.send(new DeleteStreamCommand({ StreamName: "orders" })), "AccessDeniedException",
    denied("kinesis:DeleteStream", kArn("orders"), implicit("kinesis:DeleteStream")));
  await rejectsWith(p.send(new ListStreamsCommand({})), "AccessDeniedException",
    denied("kinesis:ListStreams", "*", implicit("kinesis:ListStreams")));
  // orders-locked matches the Allow (orders*) and the Deny: the Deny wins.
  await rejectsWith(p.send(new PutRecordsCommand({ StreamName: "orders-locked", Records: records(1) })), "AccessDeniedException",
    denied("kinesis:PutRecords", kArn("orders-locked"), "with an explicit deny in an identity-based policy"));
  // By ARN the same as by name.
  await rejectsWith(p.send(new PutRecordsCommand({ StreamARN: kArn("orders-locked"), Records: records(1) })), "AccessDeniedException");
  // Firehose: allowed on orders, denied on clicks.
  const f = firehose(kProducer);
  assert.equal((await f.send(new PutRecordBatchCommand({ DeliveryStreamName: "orders", Records: [{ Data: Buffer.from("{}\n") }] }))).FailedPutCount, 0);
  await rejectsWith(f.send(new PutRecordBatchCommand({ DeliveryStreamName: "clicks", Records: [{ Data: Buffer.from("{}\n") }] })),
    "AccessDeniedException", /firehose:PutRecordBatch on resource: arn:aws:firehose:us-east-1:000000000000:deliverystream\/clicks because/);
  // The temporary key may put anywhere but not manage.
  await rejectsWith(kinesis(kTemp).send(new CreateStreamCommand({ StreamName: "x", ShardCount: 1 })), "AccessDeniedException");
});

test("the audit log has a line per control-plane call and per denied call, without secrets", async () => {
  await waitFor(() => /audit key=AKIAADMIN principal=arn:aws:iam::000000000000:user\/admin action=kinesis:CreateStream resource=arn:aws:kinesis:us-east-1:000000000000:stream\/orders outcome=ok/.test(server.stderr),
    5000, "the CreateStream audit line", () => server.stderr);
  await kinesis(kProducer).send(new DeleteStreamCommand({ StreamName: "clicks" })).catch(() => {});
  await waitFor(() => /audit key=AKIAPRODUCER principal=arn:aws:iam::000000000000:user\/producer action=kinesis:DeleteStream resource=arn:aws:kinesis:us-east-1:000000000000:stream\/clicks outcome=denied/.test(server.stderr),
    5000, "the denied DeleteStream audit line", () => server.stderr);
});

// Runs `cmd args` with `env`; resolves {code, stdout, stderr}.
async function run(cmd, args, env = {}, input = "") {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end(input);
  const { code } = await waitExit(child, 60000, `${cmd} ${args.join(" ")}`);
  return { code, stdout, stderr };
}

const kBoto3Script = `
import json, sys, datetime
import boto3, botocore
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.config import Config
import urllib.request
endpoint = sys.argv[1]
out = {}
def client(service, key, secret, token=None, region="us-east-1"):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
def attempt(name, fn):
    try:
        fn()
        out[name] = "ok"
    except botocore.exceptions.ClientError as e:
        out[name] = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
attempt("ok_kinesis", lambda: client("kinesis", "AKIAPRODUCER", "producer-secret-91c2").put_records(
    StreamName="orders", Records=[{"Data": b"{}", "PartitionKey": "k"}]))
attempt("ok_firehose", lambda: client("firehose", "AKIAPRODUCER", "producer-secret-91c2").put_record_batch(
    DeliveryStreamName="orders", Records=[{"Data": b"{}"}]))
attempt("wrong_secret", lambda: client("kinesis", "AKIAPRODUCER", "nope").list_streams())
attempt("unknown_key", lambda: client("firehose", "AKIANOBODY", "nope").list_delivery_streams())
attempt("wrong_region", lambda: client("kinesis", "AKIAADMIN", "admin-secret-7f3a", region="ap-south-1").list_streams())
attempt("temp_ok", lambda: client("kinesis", "ASIATEMP", "temp-secret-55d0", "temp-token-abc").put_records(
    StreamName="orders", Records=[{"Data": b"{}", "PartitionKey": "k"}]))
attempt("temp_no_token", lambda: client("kinesis", "ASIATEMP", "temp-secret-55d0").list_streams())
attempt("denied", lambda: client("firehose", "AKIAPRODUCER", "producer-secret-91c2").delete_delivery_stream(
    DeliveryStreamName="orders"))
# Presigned (query-string) requests: fresh, and past their expiry.
def presigned(expires, when):
    req = AWSRequest(method="POST", url=endpoint + "/", data=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    auth = SigV4QueryAuth(Credentials("AKIAADMIN", "admin-secret-7f3a"), "kinesis", "us-east-1", expires=expires)
    real = datetime.datetime
    class Fixed(real):
        @classmethod
        def utcnow(cls): return when
        @classmethod
        def now(cls, tz=None): return when if tz is None else when.replace(tzinfo=tz)
    botocore.auth.datetime.datetime = Fixed
    try:
        auth.add_auth(req)
    finally:
        botocore.auth.datetime.datetime = real
    r = urllib.request.Request(req.url, data=b"{}", method="POST", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    try:
        with urllib.request.urlopen(r) as resp:
            return str(resp.status)
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
        return str(e.code) + " " + body["__type"] + ": " + body["message"]
now = datetime.datetime.utcnow()
out["presigned_fresh"] = presigned(60, now)
out["presigned_expired"] = presigned(60, now - datetime.timedelta(seconds=120))
print(json.dumps(out))
`;

test("boto3 signs for both APIs; failures parse into the right error codes; presigned URLs expire", async () => {
  const r = await run("/usr/bin/python3", ["-c", kBoto3Script, endpoint]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.ok_kinesis, "ok");
  assert.equal(out.ok_firehose, "ok");
  assert.match(out.wrong_secret, /^InvalidSignatureException: The request signature we calculated does not match/);
  assert.equal(out.unknown_key, "UnrecognizedClientException: The security token included in the request is invalid.");
  assert.equal(out.wrong_region, "InvalidSignatureException: Credential should be scoped to a valid region, not 'ap-south-1'. ");
  assert.equal(out.temp_ok, "ok");
  assert.match(out.temp_no_token, /^UnrecognizedClientException: /);
  assert.match(out.denied, /^AccessDeniedException: User: arn:aws:iam::000000000000:user\/producer is not authorized to perform: firehose:DeleteDeliveryStream on resource: arn:aws:firehose:us-east-1:000000000000:deliverystream\/orders because/);
  assert.equal(out.presigned_fresh, "200");
  assert.match(out.presigned_expired, /^400 InvalidSignatureException: Signature expired: \d{8}T\d{6}Z is now earlier than/);
});

test("the AWS CLI signs for both APIs and reports the service's errors", async () => {
  const env = (c) => ({
    AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_MAX_ATTEMPTS: "1", AWS_PAGER: "",
  });
  const ok = await run("/usr/bin/aws", ["--endpoint-url", endpoint, "kinesis", "describe-stream-summary", "--stream-name", "orders"], env(kProducer));
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).StreamDescriptionSummary.StreamName, "orders");
  const fh = await run("/usr/bin/aws", ["--endpoint-url", endpoint, "firehose", "put-record", "--delivery-stream-name", "orders",
    "--record", "Data=e30K", "--cli-binary-format", "base64"], env(kProducer));
  assert.equal(fh.code, 0, fh.stderr);
  const bad = await run("/usr/bin/aws", ["--endpoint-url", endpoint, "kinesis", "list-streams"], env({ ...kProducer, secretAccessKey: "x" }));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /\(InvalidSignatureException\) when calling the ListStreams operation( \(reached max retries: 0\))?: The request signature we calculated/);
  const denied = await run("/usr/bin/aws", ["--endpoint-url", endpoint, "kinesis", "list-streams"], env(kProducer));
  assert.match(denied.stderr, /\(AccessDeniedException\) when calling the ListStreams operation( \(reached max retries: 0\))?: User: arn:aws:iam::000000000000:user\/producer is not authorized/);
});

test("SIGHUP reloads keys and policies without dropping connections", async () => {
  const p = kinesis(kProducer);
  await rejectsWith(p.send(new ListStreamsCommand({})), "AccessDeniedException");
  fs.writeFileSync(configPath, config({
    Statement: [...kProducerPolicy.Statement, { Effect: "Allow", Action: "kinesis:ListStreams", Resource: "*" }],
  }));
  server.child.kill("SIGHUP");
  await waitFor(() => server.stderr.includes("auth: reloaded 3 access key(s)"), 5000, "the reload", () => server.stderr);
  // The same client (its HTTP/2 connection still open) is now allowed.
  const r = await p.send(new ListStreamsCommand({}));
  assert.ok(r.StreamNames.includes("orders"));
  // A broken config keeps the previous keys.
  fs.writeFileSync(configPath, config(kProducerPolicy).replace("${secret:env:TEST_ADMIN_SECRET}", "literal"));
  server.child.kill("SIGHUP");
  await waitFor(() => server.stderr.includes("reload failed, keeping the previous keys and policies"), 5000, "the failed reload", () => server.stderr);
  assert.ok((await p.send(new ListStreamsCommand({}))).StreamNames.length > 0);
});

test("without an auth block serve refuses a non-loopback address unless --allow-anonymous", async () => {
  const data = makeTempDir("auth-anon");
  const refused = await run(sluiceBin(), ["serve", "--listen", "0.0.0.0:0", "--data-dir", data]);
  assert.equal(refused.code, 1);
  const lines = refused.stderr.trim().split("\n");
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0], /refusing to listen on 0\.0\.0\.0:0 without authentication: .*add an `auth:` block \(docs\/security\.md\) or pass --allow-anonymous/);
  const readyFile = path.join(data, "ready.txt");
  const anon = spawn(sluiceBin(), ["serve", "--listen", "0.0.0.0:0", "--data-dir", data, "--allow-anonymous",
    "--ready-file", readyFile], { stdio: ["ignore", "ignore", "pipe"] });
  let anonStderr = "";
  anon.stderr.on("data", (d) => (anonStderr += d));
  const addr = await waitFor(() => fs.existsSync(readyFile) && fs.readFileSync(readyFile, "utf8").trim(),
    20000, "the anonymous server's ready file", () => anonStderr);
  const ep = `http://127.0.0.1:${addr.split(":").pop()}`;
  assert.match(anonStderr, /--allow-anonymous/);
  const res = await fetch(ep, { method: "POST", body: "{}", headers: { "X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1" } });
  assert.equal(res.status, 200);
  anon.kill("SIGTERM");
  assert.equal((await waitExit(anon, 30000, "the anonymous server")).code, 0);
});

test("a literal secret in the config file is refused with file:line", async () => {
  const bad = path.join(dir, "literal.yaml");
  fs.writeFileSync(bad, "auth:\n  keys:\n    - id: AKIAX\n      secret: hunter2\n");
  const r = await run(sluiceBin(), ["check-config", bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /literal\.yaml:4: key 'AKIAX': 'secret' must be a \$\{secret:\.\.\.\} reference/);
  assert.ok(!(r.stderr + r.stdout).includes("hunter2"));
});

test("sluice keys create|list|revoke: data-dir keys sign requests, are encrypted at rest, and revoke on SIGHUP", async () => {
  const data = makeTempDir("auth-keys");
  const policy = JSON.stringify({ Statement: [{ Effect: "Allow", Action: "kinesis:*", Resource: "*" }] });
  const created = await run(sluiceBin(), ["keys", "create", "--data-dir", data, "--user", "ops", "--policy", policy]);
  assert.equal(created.code, 0, created.stderr);
  const id = /AccessKeyId: (\S+)/.exec(created.stdout)[1];
  const secret = /SecretAccessKey: (\S+)/.exec(created.stdout)[1];
  assert.match(created.stderr, /shown only now/);
  assert.equal(fs.statSync(path.join(data, "auth", "keys")).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(data, "auth", "master.key")).mode & 0o777, 0o600);
  assert.ok(!fs.readFileSync(path.join(data, "auth", "keys"), "utf8").includes(secret));
  const listed = await run(sluiceBin(), ["keys", "list", "--data-dir", data]);
  assert.match(listed.stdout, new RegExp(`^${id}\\tops\\t`));
  assert.ok(!listed.stdout.includes(secret));

  // No auth: block, but the data dir has keys: every request must be signed.
  const s = new SluiceServer(data);
  const ep = await s.start();
  const c = new KinesisClient({ endpoint: ep, region: "us-east-1", credentials: { accessKeyId: id, secretAccessKey: secret }, maxAttempts: 1 });
  await c.send(new CreateStreamCommand({ StreamName: "k", ShardCount: 1 }));
  assert.ok((await c.send(new ListStreamsCommand({}))).StreamNames.includes("k"));
  const unsigned = await fetch(ep, { method: "POST", body: "{}", headers: { "X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1" } });
  assert.equal((await unsigned.json()).__type, "MissingAuthenticationTokenException");

  const revoked = await run(sluiceBin(), ["keys", "revoke", id, "--data-dir", data]);
  assert.equal(revoked.code, 0, revoked.stderr);
  s.child.kill("SIGHUP");
  await waitFor(() => s.stderr.includes("auth: reloaded 0 access key(s)"), 5000, "the reload", () => s.stderr);
  await rejectsWith(c.send(new ListStreamsCommand({})), "UnrecognizedClientException");
  assert.equal((await s.stop()).code, 0);
  assert.ok(!s.stderr.includes(secret));
});
