// server.kinesis_enforce_shard_limits: AWS's per-shard write limits (1 MiB/s, 1,000 records/s)
// answer ProvisionedThroughputExceededException per record, with AWS's text, while the other
// records of the call are stored — so that client retry logic can be tested against Sluice.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordsCommand,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";

import { makeTempDir, SluiceServer } from "./sluice_harness.mjs";

let server;
let client;

before(async () => {
  const dir = makeTempDir("kinesis-limits");
  const config = path.join(dir, "sluice.yaml");
  fs.writeFileSync(config, "server:\n  kinesis_enforce_shard_limits: true\n");
  server = new SluiceServer(path.join(dir, "data"), ["--config", config]);
  await server.start();
  client = new KinesisClient({ endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1,
    credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
    requestHandler: new NodeHttpHandler() });
});

after(async () => {
  if (server?.child) await server.stop();
});

test("records past 1,000/s on a shard are throttled one by one, the rest stored", async () => {
  await client.send(new CreateStreamCommand({ StreamName: "limited", ShardCount: 1 }));
  const put = (n) => client.send(new PutRecordsCommand({ StreamName: "limited",
    Records: [...Array(n).keys()].map((i) => ({ Data: Buffer.from(`r${i}`), PartitionKey: `k${i}` })) }));
  // 3 × 500 records at once: past the 1,000 records of one second's bucket.
  const results = await Promise.all([put(500), put(500), put(500)]);
  let ok = 0;
  let throttled = 0;
  for (const out of results) {
    for (const r of out.Records) {
      if (r.SequenceNumber) {
        ok++;
      } else {
        throttled++;
        assert.equal(r.ErrorCode, "ProvisionedThroughputExceededException");
        assert.equal(r.ErrorMessage,
          "Rate exceeded for shard shardId-000000000000 in stream limited under account 000000000000.");
      }
    }
    assert.equal(out.FailedRecordCount, out.Records.filter((r) => !r.SequenceNumber).length);
  }
  assert.ok(throttled > 0, "some records were throttled");
  assert.ok(ok >= 1000 && ok < 1500, `stored ${ok}`);
  // Exactly the acknowledged records are in the shard.
  const it = await client.send(new GetShardIteratorCommand({ StreamName: "limited",
    ShardId: "shardId-000000000000", ShardIteratorType: "TRIM_HORIZON" }));
  const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  assert.equal(got.Records.length, ok);
});
