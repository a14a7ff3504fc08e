// UpdateDestination with the real AWS SDK against `sluice serve` (issue 8): a user fixes a
// stream's prefix and buffering while records keep arriving; nothing acknowledged is lost, the
// change takes effect at the next batch, VersionId increments (also in the object names), a stale
// version gets ConcurrentModificationException, and the change survives a restart.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import {
  CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, FirehoseClient,
  PutRecordBatchCommand, UpdateDestinationCommand,
} from "@aws-sdk/client-firehose";

import { listFiles, makeTempDir, SluiceServer, waitFor } from "./sluice_harness.mjs";

const kCreds = { accessKeyId: "AKIDUPDATE", secretAccessKey: "update-secret" };
const client = (endpoint) =>
  new FirehoseClient({ endpoint, region: "us-east-1", credentials: kCreds, maxAttempts: 1 });

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("the call was accepted");
}

// Every `{"n":N}` line in the objects under `dir`.
function delivered(dir) {
  const seen = [];
  for (const file of listFiles(dir)) {
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      if (line) seen.push(JSON.parse(line).n);
    }
  }
  return seen;
}

test("UpdateDestination changes the prefix at the next batch without losing a record", async () => {
  const dataDir = makeTempDir("update");
  const bucket = path.join(dataDir, "buckets", "update-bucket");
  let server = new SluiceServer(dataDir);
  let fh = client(await server.start());
  try {
    await fh.send(new CreateDeliveryStreamCommand({
      DeliveryStreamName: "fixme",
      ExtendedS3DestinationConfiguration: {
        RoleARN: "arn:aws:iam::123456789012:role/firehose", BucketARN: "arn:aws:s3:::update-bucket",
        Prefix: "v1/", BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      },
    }));
    let acked = 0;
    const put = async (count) => {
      const Records = Array.from({ length: count }, (_, i) =>
        ({ Data: Buffer.from(`{"n":${acked + i}}\n`) }));
      const out = await fh.send(new PutRecordBatchCommand({ DeliveryStreamName: "fixme", Records }));
      assert.equal(out.FailedPutCount, 0);
      acked += count;
    };
    await put(50);
    await waitFor(() => listFiles(path.join(bucket, "v1")).length > 0, 15000, "the v1 batch",
      () => server.stderr);

    const before = (await fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "fixme" })))
      .DeliveryStreamDescription;
    assert.equal(before.VersionId, "1");
    const destinationId = before.Destinations[0].DestinationId;

    // Records keep arriving while the update happens.
    const writer = (async () => { for (let i = 0; i < 20; i++) await put(25); })();
    await fh.send(new UpdateDestinationCommand({
      DeliveryStreamName: "fixme", CurrentDeliveryStreamVersionId: "1", DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { Prefix: "v2/", BufferingHints: { SizeInMBs: 2, IntervalInSeconds: 1 } },
    }));
    await writer;
    await put(10);  // certainly after the update

    const after = (await fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "fixme" })))
      .DeliveryStreamDescription;
    assert.equal(after.VersionId, "2");
    const s3 = after.Destinations[0].ExtendedS3DestinationDescription;
    assert.equal(s3.Prefix, "v2/");
    assert.deepEqual(s3.BufferingHints, { SizeInMBs: 2, IntervalInSeconds: 1 });
    assert.equal(s3.BucketARN, "arn:aws:s3:::update-bucket", "members not given are kept");

    await waitFor(() => new Set([...delivered(path.join(bucket, "v1")),
      ...delivered(path.join(bucket, "v2"))]).size === acked, 20000,
    `all ${acked} acknowledged records delivered`, () => server.stderr);
    const v2 = listFiles(path.join(bucket, "v2"));
    assert.ok(v2.length > 0);
    for (const f of v2) assert.match(path.basename(f), /^fixme-2-/, "the version is in the name");
    assert.ok(delivered(path.join(bucket, "v2")).includes(acked - 1), "the last records use v2");

    // A stale version is refused and changes nothing.
    const stale = await rejection(fh.send(new UpdateDestinationCommand({
      DeliveryStreamName: "fixme", CurrentDeliveryStreamVersionId: "1", DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { Prefix: "v3/" },
    })));
    assert.equal(stale.name, "ConcurrentModificationException", stale.message);
    assert.equal(stale.$metadata.httpStatusCode, 400);
    // A prefix that can never be written is refused as at creation.
    const bad = await rejection(fh.send(new UpdateDestinationCommand({
      DeliveryStreamName: "fixme", CurrentDeliveryStreamVersionId: "2", DestinationId: destinationId,
      ExtendedS3DestinationUpdate: { Prefix: "../escape/" },
    })));
    assert.equal(bad.name, "InvalidArgumentException", bad.message);
    const wrongId = await rejection(fh.send(new UpdateDestinationCommand({
      DeliveryStreamName: "fixme", CurrentDeliveryStreamVersionId: "2", DestinationId: "destinationId-9",
      ExtendedS3DestinationUpdate: { Prefix: "v3/" },
    })));
    assert.equal(wrongId.name, "InvalidArgumentException", wrongId.message);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }

  // The update survives a restart.
  server = new SluiceServer(dataDir);
  fh = client(await server.start());
  try {
    const d = (await fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "fixme" })))
      .DeliveryStreamDescription;
    assert.equal(d.VersionId, "2");
    assert.equal(d.Destinations[0].ExtendedS3DestinationDescription.Prefix, "v2/");
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("a stream of the config file is changed in the file, not by UpdateDestination", async () => {
  const dataDir = makeTempDir("update-config");
  const config = path.join(dataDir, "sluice.yaml");
  fs.writeFileSync(config, `delivery_streams:\n  - name: fixed\n    staged: {url: "file://${dataDir}/buckets/out"}\n`);
  const server = new SluiceServer(dataDir, ["--config", config]);
  const fh = client(await server.start());
  try {
    const e = await rejection(fh.send(new UpdateDestinationCommand({
      DeliveryStreamName: "fixed", CurrentDeliveryStreamVersionId: "1",
      DestinationId: "destinationId-000000000001", ExtendedS3DestinationUpdate: { Prefix: "x/" },
    })));
    assert.equal(e.name, "ResourceInUseException", e.message);
    assert.match(e.message, /declared in the config file/);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});

test("kill -9 right after an update loses no acknowledged record", async () => {
  const dataDir = makeTempDir("update-kill");
  const bucket = path.join(dataDir, "buckets", "kill-bucket");
  let server = new SluiceServer(dataDir);
  let fh = client(await server.start());
  await fh.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: "crashy",
    ExtendedS3DestinationConfiguration: {
      RoleARN: "arn:aws:iam::123456789012:role/firehose", BucketARN: "arn:aws:s3:::kill-bucket",
      Prefix: "v1/", BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
    },
  }));
  let acked = 0;
  const put = async (count) => {
    const Records = Array.from({ length: count }, (_, i) => ({ Data: Buffer.from(`{"n":${acked + i}}\n`) }));
    const out = await fh.send(new PutRecordBatchCommand({ DeliveryStreamName: "crashy", Records }));
    assert.equal(out.FailedPutCount, 0);
    acked += count;
  };
  await put(100);
  const writer = (async () => { for (let i = 0; i < 10; i++) await put(50); })();
  await fh.send(new UpdateDestinationCommand({
    DeliveryStreamName: "crashy", CurrentDeliveryStreamVersionId: "1",
    DestinationId: "destinationId-000000000001", ExtendedS3DestinationUpdate: { Prefix: "v2/" },
  }));
  await writer;
  await server.kill9();

  server = new SluiceServer(dataDir);
  fh = client(await server.start());
  try {
    const d = (await fh.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "crashy" })))
      .DeliveryStreamDescription;
    assert.equal(d.VersionId, "2");
    await waitFor(() => new Set([...delivered(path.join(bucket, "v1")),
      ...delivered(path.join(bucket, "v2"))]).size === acked, 20000,
    `all ${acked} acknowledged records delivered after kill -9`, () => server.stderr);
  } finally {
    assert.equal((await server.stop()).code, 0, server.stderr);
  }
});
