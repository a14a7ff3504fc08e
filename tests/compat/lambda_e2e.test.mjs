// A Firehose transformation Lambda configured through CreateDeliveryStream's
// ProcessingConfiguration (by URL, using the AWS Lambda Invoke path), end to end through
// `sluice serve`: Ok records are transformed, Dropped go nowhere, ProcessingFailed become error
// records carrying lambdaArn, and the Lambda's partition keys pick the prefix.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import {
  CreateDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand,
} from "@aws-sdk/client-firehose";
import { SluiceServer, listFiles, makeTempDir, waitFor } from "./sluice_harness.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);

async function startLambda() {
  const child = spawn("/usr/bin/python3", [path.join(here, "../testutil/transform_lambda_server.py")],
    { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d.toString()));
  const port = await waitFor(() => (/PORT (\d+)/.exec(out) || [])[1], 10000, "the test Lambda to start");
  return { child, port };
}

test("a Lambda processor transforms, drops, fails and partitions records", async () => {
  const lambda = await startLambda();
  const dir = makeTempDir("lambda");
  const data = path.join(dir, "data");
  const server = new SluiceServer(data);
  const arn = `http://127.0.0.1:${lambda.port}/2015-03-31/functions/upper/invocations`;
  const records = ['{"pk":"a","v":"one"}', '{"pk":"b","v":"two"}', '{"v":"drop me"}', '{"v":"fail me"}',
    '{"pk":"a","v":"three"}'].map((r) => r + "\n");
  try {
    const endpoint = await server.start();
    const client = new FirehoseClient({
      endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    });
    await client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: "lam",
      DeliveryStreamType: "DirectPut",
      ExtendedS3DestinationConfiguration: {
        RoleARN: "arn:aws:iam::123456789012:role/firehose",
        BucketARN: "arn:aws:s3:::out",
        Prefix: "pk=!{partitionKeyFromLambda:pk}/",
        ErrorOutputPrefix: "errors/!{firehose:error-output-type}/",
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 900 },
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [{ Type: "Lambda", Parameters: [
            { ParameterName: "LambdaArn", ParameterValue: arn },
            { ParameterName: "NumberOfRetries", ParameterValue: "1" }] }],
        },
      },
    }));
    const res = await client.send(new PutRecordBatchCommand({
      DeliveryStreamName: "lam", Records: records.map((r) => ({ Data: Buffer.from(r) })),
    }));
    assert.equal(res.FailedPutCount, 0);
  } finally {
    const { code } = await server.stop();
    lambda.child.kill();
    assert.equal(code, 0, `exit code; stderr:\n${server.stderr}`);
  }
  const bucket = path.join(data, "buckets", "out");
  const rel = (f) => path.relative(bucket, f);
  const files = listFiles(bucket);
  const a = files.filter((f) => rel(f).startsWith("pk=a/lam-1-"));
  const b = files.filter((f) => rel(f).startsWith("pk=b/lam-1-"));
  assert.equal(a.length, 1, `files: ${files.map(rel)}`);
  assert.equal(b.length, 1, `files: ${files.map(rel)}`);
  assert.equal(fs.readFileSync(a[0], "utf8"), records[0].toUpperCase() + records[4].toUpperCase());
  assert.equal(fs.readFileSync(b[0], "utf8"), records[1].toUpperCase());
  const failed = files.filter((f) => rel(f).startsWith("errors/processing-failed/"));
  assert.equal(failed.length, 1, `files: ${files.map(rel)}`);
  const errors = fs.readFileSync(failed[0], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(errors.length, 1, "only the failed record; the dropped one goes nowhere");
  assert.equal(Buffer.from(errors[0].rawData, "base64").toString(), records[3]);
  assert.equal(errors[0].lambdaArn, arn);
  assert.ok(!files.some((f) => fs.readFileSync(f, "utf8").includes("DROP ME")), "dropped record delivered");
});
