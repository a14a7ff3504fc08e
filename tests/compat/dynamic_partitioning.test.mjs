// Dynamic partitioning through the Firehose API with the AWS SDK: a jq 1.6 MetadataExtraction
// query picks partition keys, objects land under hive-style key=value/ prefixes, records whose
// keys cannot be evaluated go to error output.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import {
  CreateDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand,
} from "@aws-sdk/client-firehose";
import { SluiceServer, listFiles, makeTempDir } from "./sluice_harness.mjs";

test("jq partition keys route records to key=value/ prefixes; bad records go to error output", async () => {
  const dir = makeTempDir("dynpart");
  const data = path.join(dir, "data");
  const server = new SluiceServer(data);
  const endpoint = await server.start();
  const records = [
    { customer_id: "c1", ts: 1565383509, n: 1 },
    { customer_id: "c2", ts: 1565383509, n: 2 },
    { customer_id: "c1", ts: 1565383509, n: 3 },
    { n: 4 },                                      // no customer_id: the key is null
  ].map((r) => JSON.stringify(r));
  try {
    const client = new FirehoseClient({
      endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    });
    await client.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: "events",
      DeliveryStreamType: "DirectPut",
      ExtendedS3DestinationConfiguration: {
        RoleARN: "arn:aws:iam::123456789012:role/firehose",
        BucketARN: "arn:aws:s3:::lake",
        Prefix: "customer_id=!{partitionKeyFromQuery:customer_id}/year=!{partitionKeyFromQuery:year}/",
        ErrorOutputPrefix: "errors/!{firehose:error-output-type}/",
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 900 },
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            { Type: "MetadataExtraction", Parameters: [
              { ParameterName: "MetadataExtractionQuery", ParameterValue: '{customer_id:.customer_id,year:.ts|strftime("%Y")}' },
              { ParameterName: "JsonParsingEngine", ParameterValue: "JQ-1.6" }] },
            { Type: "AppendDelimiterToRecord", Parameters: [] },
          ],
        },
      },
    }));
    const res = await client.send(new PutRecordBatchCommand({
      DeliveryStreamName: "events", Records: records.map((r) => ({ Data: Buffer.from(r) })),
    }));
    assert.equal(res.FailedPutCount, 0);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, `exit code; stderr:\n${server.stderr}`);
  }
  const bucket = path.join(data, "buckets", "lake");
  const rel = (f) => path.relative(bucket, f);
  const files = listFiles(bucket);
  const c1 = files.filter((f) => rel(f).startsWith("customer_id=c1/year=2019/events-1-"));
  const c2 = files.filter((f) => rel(f).startsWith("customer_id=c2/year=2019/events-1-"));
  assert.equal(c1.length, 1, `files: ${files.map(rel)}`);
  assert.equal(c2.length, 1);
  assert.equal(fs.readFileSync(c1[0], "utf8"), `${records[0]}\n${records[2]}\n`);
  assert.equal(fs.readFileSync(c2[0], "utf8"), `${records[1]}\n`);
  const errors = files.filter((f) => rel(f).startsWith("errors/partitioning-failed/"));
  assert.equal(errors.length, 1, `files: ${files.map(rel)}`);
  const lines = fs.readFileSync(errors[0], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].errorCode, "DynamicPartitioning.MetadataExtractionFailed");
  assert.match(lines[0].errorMessage, /customer_id/);
  assert.equal(Buffer.from(lines[0].rawData, "base64").toString(), records[3]);
});
