// Kinesis Data Streams API compatibility with the real @aws-sdk/client-kinesis against
// `sluice serve` (issue 10), over two transports: `http1` (NodeHttpHandler, HTTP/1.1) and
// `http2` (the client's default NodeHttp2Handler: h2c with prior knowledge). Every operation,
// every error type the handler produces, paging, StreamARN addressing, MD5 routing checked
// against an independent computation, iterators (types, forgery, expiry by moving the server's
// clock), sequence numbers, byte-exact data, limits, restart survival, SubscribeToShard (SDK
// event stream and a raw HTTP/1.1 event-stream parser) and resharding under load.
// Run: SLUICE_BIN=<build>/src/cli/sluice node --test kinesis.test.mjs
// KINESIS_TRANSPORTS=http1 (or http2) runs one transport only.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import {
  AddTagsToStreamCommand, CreateStreamCommand, DecreaseStreamRetentionPeriodCommand,
  DeleteStreamCommand, DeregisterStreamConsumerCommand, DescribeStreamCommand,
  DescribeStreamConsumerCommand, DescribeStreamSummaryCommand, GetRecordsCommand,
  GetShardIteratorCommand, IncreaseStreamRetentionPeriodCommand, KinesisClient, ListShardsCommand,
  ListStreamConsumersCommand, ListStreamsCommand, ListTagsForStreamCommand, PutRecordCommand,
  PutRecordsCommand, RegisterStreamConsumerCommand, RemoveTagsFromStreamCommand,
  SplitShardCommand, SubscribeToShardCommand, UpdateShardCountCommand, waitUntilStreamExists,
  waitUntilStreamNotExists,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";

import {
  evenSplit, hashKeyOf, kinesisRaw, kMaxHashKey, shardForHashKey, subscribeRaw,
} from "./kinesis_harness.mjs";
import { makeTempDir, SluiceServer, sleep, waitFor } from "./sluice_harness.mjs";

const kCreds = { accessKeyId: "AKIDKINESIS", secretAccessKey: "kinesis-secret" };
const kAccount = "000000000000";
const kRegion = "us-east-1";
const kArnPrefix = `arn:aws:kinesis:${kRegion}:${kAccount}:stream/`;
const kMiB = 1024 * 1024;
const kTransports = (process.env.KINESIS_TRANSPORTS ?? "http1,http2").split(",").filter(Boolean);

function newClient(endpoint, transport) {
  const config = { endpoint, region: kRegion, credentials: kCreds, maxAttempts: 1 };
  // http2: no requestHandler, i.e. the Kinesis client's default (NodeHttp2Handler).
  if (transport === "http1") config.requestHandler = new NodeHttpHandler();
  return new KinesisClient(config);
}

// Expects `promise` to reject with AWS error `name` (HTTP 400 unless given) whose message equals
// `message` (a string) or matches it (a RegExp).
async function expectError(promise, name, message, status = 400) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`);
    assert.equal(err.$metadata?.httpStatusCode, status, `${name}: HTTP status`);
    if (message instanceof RegExp) assert.match(err.message, message);
    else if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

const notFound = (stream) => `Stream ${stream} under account ${kAccount} not found.`;
const validation = (value, member, constraint) =>
  `1 validation error detected: Value ${value === null ? "null" : `'${value}'`} at '${member}' ` +
  `failed to satisfy constraint: ${constraint}`;

function assertSequenceNumber(seq, what) {
  assert.match(seq, /^\d{56}$/, `${what}: a sequence number is 56 decimal digits (${seq})`);
}

function allBytes() {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}

// One suite per transport, each with its own server and data dir.
for (const transport of kTransports) {
  describe(`kinesis over ${transport}`, { concurrency: 1 }, () => {
    const ctx = {};
    let dataDir;
    let clockFile;
    let server;

    const setClockOffset = (ms) => fs.writeFileSync(clockFile, `${ms}\n`);

    async function startServer() {
      ctx.endpoint = await server.start();
      ctx.client?.destroy();
      ctx.client = newClient(ctx.endpoint, transport);
      return ctx.endpoint;
    }

    before(async () => {
      dataDir = makeTempDir(`kinesis-${transport}`);
      clockFile = path.join(dataDir, "clock-offset-ms");
      setClockOffset(0);
      server = new SluiceServer(path.join(dataDir, "data"), [],
        { env: { SLUICE_TEST_CLOCK_OFFSET_FILE: clockFile } });
      await startServer();
    });

    after(async () => {
      ctx.client?.destroy();
      if (server?.child) {
        const stopped = await server.stop();
        assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM exit; stderr:\n${server.stderr}`);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const send = (command, options) => ctx.client.send(command, options);
    const createStream = (StreamName, ShardCount, extra = {}) =>
      send(new CreateStreamCommand({ StreamName, ShardCount, ...extra }));
    const listShards = async (StreamName) => (await send(new ListShardsCommand({ StreamName }))).Shards;
    const iterator = async (StreamName, ShardId, ShardIteratorType, extra = {}) =>
      (await send(new GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType, ...extra })))
        .ShardIterator;

    // Reads an open shard from `it` until a GetRecords call returns no records (at most `limit`
    // per call). Returns {records, last} (last: the final GetRecords output).
    async function drain(it, limit) {
      const records = [];
      for (;;) {
        const out = await send(new GetRecordsCommand({ ShardIterator: it, Limit: limit }));
        records.push(...out.Records);
        if (out.Records.length === 0 || !out.NextShardIterator) return { records, last: out };
        it = out.NextShardIterator;
      }
    }
    const readShard = async (stream, shardId) =>
      (await drain(await iterator(stream, shardId, "TRIM_HORIZON"))).records;

    // ---- control plane -----------------------------------------------------------------------

    test("CreateStream PROVISIONED and ON_DEMAND, described by DescribeStreamSummary", async () => {
      const t0 = Date.now();
      const created = await createStream("cs-provisioned", 3);
      assert.equal(created.$metadata.httpStatusCode, 200);
      const s = (await send(new DescribeStreamSummaryCommand({ StreamName: "cs-provisioned" })))
        .StreamDescriptionSummary;
      assert.equal(s.StreamName, "cs-provisioned");
      assert.equal(s.StreamARN, `${kArnPrefix}cs-provisioned`);
      assert.equal(s.StreamStatus, "ACTIVE");
      assert.deepEqual(s.StreamModeDetails, { StreamMode: "PROVISIONED" });
      assert.equal(s.RetentionPeriodHours, 24);
      assert.equal(s.OpenShardCount, 3);
      assert.equal(s.ConsumerCount, 0);
      assert.equal(s.EncryptionType, "NONE");
      assert.deepEqual(s.EnhancedMonitoring, [{ ShardLevelMetrics: [] }]);
      assert.ok(s.StreamCreationTimestamp instanceof Date);
      assert.ok(Math.abs(s.StreamCreationTimestamp.getTime() - t0) < 60000,
        `creation time ${s.StreamCreationTimestamp.toISOString()} is now`);

      await send(new CreateStreamCommand({
        StreamName: "cs-on-demand", StreamModeDetails: { StreamMode: "ON_DEMAND" },
      }));
      const d = (await send(new DescribeStreamSummaryCommand({ StreamName: "cs-on-demand" })))
        .StreamDescriptionSummary;
      assert.deepEqual(d.StreamModeDetails, { StreamMode: "ON_DEMAND" });
      assert.equal(d.OpenShardCount, 4);

      await expectError(createStream("cs-provisioned", 1), "ResourceInUseException",
        `Stream cs-provisioned under account ${kAccount} already exists.`);
      await expectError(send(new CreateStreamCommand({
        StreamName: "cs-od-count", ShardCount: 2, StreamModeDetails: { StreamMode: "ON_DEMAND" },
      })), "ValidationException",
      "ShardCount must not be specified for streams with the ON_DEMAND capacity mode.");
      await expectError(send(new CreateStreamCommand({ StreamName: "cs-no-count" })),
        "InvalidArgumentException",
        "ShardCount is required for streams with the PROVISIONED capacity mode.");
      await expectError(createStream("bad name!", 1), "ValidationException",
        validation("bad name!", "streamName",
          "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"));
      await expectError(createStream("cs-zero", 0), "ValidationException",
        validation("0", "shardCount", "Member must have value greater than or equal to 1"));
      await expectError(send(new CreateStreamCommand({
        StreamName: "cs-mode", ShardCount: 1, StreamModeDetails: { StreamMode: "TURBO" },
      })), "ValidationException", validation("TURBO", "streamModeDetails.streamMode",
        "Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]"));
      // Two violations in one message, in AWS's format.
      await expectError(createStream("x".repeat(129), 0), "ValidationException",
        /^2 validation errors detected: Value 'x{129}' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128; Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1$/);
      await expectError(createStream("cs-too-many", 1000), "LimitExceededException",
        /^This request would exceed the shard limit for the account 000000000000 in us-east-1\. Current shard count for the account: \d+\. Limit: 500\. /);
      await expectError(send(new DescribeStreamSummaryCommand({ StreamName: "cs-too-many" })),
        "ResourceNotFoundException", notFound("cs-too-many"));
    });

    test("DeleteStream: gone afterwards, unknown streams, EnforceConsumerDeletion", async () => {
      await createStream("del-plain", 1);
      await send(new DeleteStreamCommand({ StreamName: "del-plain" }));
      await expectError(send(new DescribeStreamSummaryCommand({ StreamName: "del-plain" })),
        "ResourceNotFoundException", notFound("del-plain"));
      await expectError(send(new DeleteStreamCommand({ StreamName: "del-plain" })),
        "ResourceNotFoundException", notFound("del-plain"));
      await expectError(send(new PutRecordCommand({
        StreamName: "del-plain", PartitionKey: "k", Data: Buffer.from("x"),
      })), "ResourceNotFoundException", notFound("del-plain"));
      await expectError(send(new GetShardIteratorCommand({
        StreamName: "del-plain", ShardId: "shardId-000000000000", ShardIteratorType: "LATEST",
      })), "ResourceNotFoundException", notFound("del-plain"));

      await createStream("del-consumers", 1);
      await send(new PutRecordCommand({ StreamName: "del-consumers", PartitionKey: "k", Data: Buffer.from("old") }));
      const oldIterator = await iterator("del-consumers", "shardId-000000000000", "TRIM_HORIZON");
      const arn = `${kArnPrefix}del-consumers`;
      await send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: "c1" }));
      await expectError(send(new DeleteStreamCommand({ StreamName: "del-consumers" })),
        "ResourceInUseException", /^Stream del-consumers under account 000000000000 has registered consumers/);
      await send(new DeleteStreamCommand({ StreamARN: arn, EnforceConsumerDeletion: true }));
      await expectError(send(new DescribeStreamSummaryCommand({ StreamARN: arn })),
        "ResourceNotFoundException", notFound("del-consumers"));
      // Re-created under the same name: a new stream without the old consumers or records.
      await createStream("del-consumers", 1);
      const summary = (await send(new DescribeStreamSummaryCommand({ StreamARN: arn })))
        .StreamDescriptionSummary;
      assert.equal(summary.ConsumerCount, 0);
      assert.deepEqual(await readShard("del-consumers", "shardId-000000000000"), []);
      await expectError(send(new GetRecordsCommand({ ShardIterator: oldIterator })), "ResourceNotFoundException",
        `Shard shardId-000000000000 in stream del-consumers under account ${kAccount} does not exist`);
    });

    test("CREATING and DELETING last kinesis_*_stream_ms; the SDK's waiters wait for them", async () => {
      const dir = makeTempDir("kinesis-status");
      const config = path.join(dir, "sluice.yaml");
      fs.writeFileSync(config, "server:\n  kinesis_create_stream_ms: 3000\n  kinesis_delete_stream_ms: 3000\n");
      const slow = new SluiceServer(path.join(dir, "data"), ["--config", config]);
      const client = newClient(await slow.start(), transport);
      try {
        const status = async () => (await client.send(new DescribeStreamSummaryCommand({ StreamName: "slow" })))
          .StreamDescriptionSummary.StreamStatus;
        await client.send(new CreateStreamCommand({ StreamName: "slow", ShardCount: 1 }));
        assert.equal(await status(), "CREATING");
        await expectError(client.send(new PutRecordCommand({ StreamName: "slow", PartitionKey: "k", Data: Buffer.from("x") })),
          "ResourceNotFoundException", notFound("slow"));
        const exists = await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { StreamName: "slow" });
        assert.equal(exists.state, "SUCCESS");
        assert.equal(await status(), "ACTIVE");
        await client.send(new PutRecordCommand({ StreamName: "slow", PartitionKey: "k", Data: Buffer.from("x") }));
        await client.send(new DeleteStreamCommand({ StreamName: "slow" }));
        assert.equal(await status(), "DELETING");
        await expectError(client.send(new PutRecordCommand({ StreamName: "slow", PartitionKey: "k", Data: Buffer.from("x") })),
          "ResourceNotFoundException", notFound("slow"));
        const gone = await waitUntilStreamNotExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { StreamName: "slow" });
        assert.equal(gone.state, "SUCCESS");
        await expectError(status(), "ResourceNotFoundException", notFound("slow"));
      } finally {
        client.destroy();
        assert.equal((await slow.stop()).code, 0, slow.stderr);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test("DescribeStream pages shards with Limit and ExclusiveStartShardId", async () => {
      await createStream("ds-five", 5);
      const page = (extra) => send(new DescribeStreamCommand({ StreamName: "ds-five", ...extra }));
      const whole = (await page({})).StreamDescription;
      assert.equal(whole.StreamName, "ds-five");
      assert.equal(whole.StreamARN, `${kArnPrefix}ds-five`);
      assert.equal(whole.StreamStatus, "ACTIVE");
      assert.equal(whole.RetentionPeriodHours, 24);
      assert.equal(whole.HasMoreShards, false);
      assert.deepEqual(whole.Shards.map((s) => s.ShardId),
        [0, 1, 2, 3, 4].map((i) => `shardId-00000000000${i}`));
      for (const s of whole.Shards) {
        assertSequenceNumber(s.SequenceNumberRange.StartingSequenceNumber, s.ShardId);
        assert.equal(s.SequenceNumberRange.EndingSequenceNumber, undefined, "open shard");
        assert.equal(s.ParentShardId, undefined);
      }
      assert.deepEqual(whole.Shards.map((s) => s.HashKeyRange), evenSplit(5));

      const seen = [];
      let start;
      const more = [];
      for (;;) {
        const d = (await page({ Limit: 2, ExclusiveStartShardId: start })).StreamDescription;
        assert.ok(d.Shards.length <= 2);
        seen.push(...d.Shards);
        more.push(d.HasMoreShards);
        if (!d.HasMoreShards) break;
        start = d.Shards.at(-1).ShardId;
      }
      assert.deepEqual(more, [true, true, false]);
      assert.deepEqual(seen, whole.Shards);
      const afterLast = (await page({ ExclusiveStartShardId: "shardId-000000000004" }))
        .StreamDescription;
      assert.deepEqual(afterLast.Shards, []);
      assert.equal(afterLast.HasMoreShards, false);
      await expectError(page({ Limit: 0 }), "ValidationException",
        validation("0", "limit", "Member must have value greater than or equal to 1"));
      await expectError(send(new DescribeStreamCommand({ StreamName: "ds-missing" })),
        "ResourceNotFoundException", notFound("ds-missing"));
    });

    test("ListStreams pages with Limit, NextToken and ExclusiveStartStreamName", async () => {
      for (const n of ["ls-a", "ls-b", "ls-c", "ls-d", "ls-e"]) await createStream(n, 1);
      const all = await send(new ListStreamsCommand({}));
      assert.equal(all.HasMoreStreams, false);
      assert.equal(all.NextToken, undefined);
      assert.deepEqual([...all.StreamNames].sort(), all.StreamNames, "sorted by name");
      for (const n of ["ls-a", "ls-b", "ls-c", "ls-d", "ls-e"]) assert.ok(all.StreamNames.includes(n));
      assert.deepEqual(all.StreamSummaries.map((s) => s.StreamName), all.StreamNames);
      const summary = all.StreamSummaries.find((s) => s.StreamName === "ls-c");
      assert.equal(summary.StreamARN, `${kArnPrefix}ls-c`);
      assert.equal(summary.StreamStatus, "ACTIVE");
      assert.deepEqual(summary.StreamModeDetails, { StreamMode: "PROVISIONED" });
      assert.ok(summary.StreamCreationTimestamp instanceof Date);

      const names = [];
      let token;
      let pages = 0;
      do {
        const page = await send(new ListStreamsCommand({ Limit: 2, NextToken: token }));
        pages++;
        assert.ok(page.StreamNames.length <= 2);
        assert.equal(page.HasMoreStreams, page.NextToken !== undefined);
        names.push(...page.StreamNames);
        token = page.NextToken;
      } while (token);
      assert.deepEqual(names, all.StreamNames);
      assert.equal(pages, Math.ceil(all.StreamNames.length / 2));

      const fromB = await send(new ListStreamsCommand({ ExclusiveStartStreamName: "ls-b", Limit: 2 }));
      assert.deepEqual(fromB.StreamNames, ["ls-c", "ls-d"]);
      assert.equal(fromB.HasMoreStreams, true);
      await expectError(send(new ListStreamsCommand({ NextToken: "bm90LWEtdG9rZW4=" })),
        "InvalidArgumentException", "NextToken is invalid.");
      await expectError(send(new ListStreamsCommand({ Limit: 0 })), "ValidationException",
        validation("0", "limit", "Member must have value greater than or equal to 1"));
    });

    test("ListShards: MaxResults, NextToken rules, every ShardFilter type, StreamARN", async () => {
      await createStream("lsh", 5);
      const ids = [0, 1, 2, 3, 4].map((i) => `shardId-00000000000${i}`);
      const list = (input) => send(new ListShardsCommand(input));
      const whole = await list({ StreamName: "lsh" });
      assert.deepEqual(whole.Shards.map((s) => s.ShardId), ids);
      assert.equal(whole.NextToken, undefined);
      assert.deepEqual(whole.Shards.map((s) => s.HashKeyRange), evenSplit(5));
      assert.deepEqual((await list({ StreamARN: `${kArnPrefix}lsh` })).Shards, whole.Shards);
      const created = (await send(new DescribeStreamSummaryCommand({ StreamName: "lsh" })))
        .StreamDescriptionSummary.StreamCreationTimestamp;
      assert.equal((await list({ StreamName: "lsh", StreamCreationTimestamp: created })).Shards.length, 5);
      await expectError(list({ StreamName: "lsh", StreamCreationTimestamp: new Date(created.getTime() - 1000) }),
        "ResourceNotFoundException", notFound("lsh"));

      const first = await list({ StreamName: "lsh", MaxResults: 2 });
      assert.deepEqual(first.Shards.map((s) => s.ShardId), ids.slice(0, 2));
      assert.ok(first.NextToken);
      const second = await list({ NextToken: first.NextToken, MaxResults: 2 });
      assert.deepEqual(second.Shards.map((s) => s.ShardId), ids.slice(2, 4));
      const third = await list({ NextToken: second.NextToken, MaxResults: 2 });
      assert.deepEqual(third.Shards.map((s) => s.ShardId), ids.slice(4));
      assert.equal(third.NextToken, undefined);
      assert.deepEqual((await list({ StreamName: "lsh", MaxResults: 5000 })).Shards.length, 5,
        "MaxResults above 1000 is capped, not refused");

      await expectError(list({ StreamName: "lsh", NextToken: first.NextToken }),
        "InvalidArgumentException", "NextToken and StreamName cannot be provided together.");
      await expectError(list({ NextToken: first.NextToken, ExclusiveStartShardId: ids[0] }),
        "InvalidArgumentException", "NextToken and StreamName cannot be provided together.");
      await expectError(list({ NextToken: "AAAAAAAAAAEnotatoken" }), "InvalidArgumentException",
        "NextToken is invalid.");
      await expectError(list({ StreamName: "lsh", MaxResults: 0 }), "ValidationException",
        validation("0", "maxResults", "Member must have value greater than or equal to 1"));
      await expectError(list({ StreamName: "lsh-missing" }), "ResourceNotFoundException",
        notFound("lsh-missing"));

      assert.deepEqual((await list({ StreamName: "lsh", ExclusiveStartShardId: ids[2] }))
        .Shards.map((s) => s.ShardId), ids.slice(3));
      const filtered = async (ShardFilter) =>
        (await list({ StreamName: "lsh", ShardFilter })).Shards.map((s) => s.ShardId);
      // No resharding yet: every filter that lists open or original shards lists all five.
      assert.deepEqual(await filtered({ Type: "AT_LATEST" }), ids);
      assert.deepEqual(await filtered({ Type: "AT_TRIM_HORIZON" }), ids);
      assert.deepEqual(await filtered({ Type: "FROM_TRIM_HORIZON" }), ids);
      assert.deepEqual(await filtered({ Type: "AFTER_SHARD_ID", ShardId: ids[1] }), ids.slice(2));
      assert.deepEqual(await filtered({ Type: "AT_TIMESTAMP", Timestamp: new Date() }), ids);
      assert.deepEqual(await filtered({ Type: "FROM_TIMESTAMP", Timestamp: new Date(0) }), ids);
      await expectError(list({ StreamName: "lsh", ShardFilter: { Type: "AFTER_SHARD_ID" } }),
        "InvalidArgumentException", "ShardId must be specified when ShardFilter type is AFTER_SHARD_ID.");
      await expectError(list({ StreamName: "lsh", ShardFilter: { Type: "AT_TIMESTAMP" } }),
        "InvalidArgumentException",
        "Timestamp must be specified when ShardFilter type is AT_TIMESTAMP or FROM_TIMESTAMP.");
      await expectError(list({ StreamName: "lsh", ShardFilter: { Type: "SIDEWAYS" } }),
        "ValidationException", validation("SIDEWAYS", "shardFilter.type",
          "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]"));

      // After a split, the time filters tell the shards open before it from those open after.
      const beforeSplit = new Date();
      while (Date.now() <= beforeSplit.getTime() + 1) { /* the split's time is later than beforeSplit */ }
      await send(new SplitShardCommand({ StreamName: "lsh", ShardToSplit: ids[0],
        NewStartingHashKey: (BigInt(evenSplit(5)[0].EndingHashKey) / 2n).toString() }));
      await waitFor(async () => (await send(new DescribeStreamSummaryCommand({ StreamName: "lsh" })))
        .StreamDescriptionSummary.StreamStatus === "ACTIVE", 20000, "ACTIVE after SplitShard");
      const children = ["shardId-000000000005", "shardId-000000000006"];
      assert.deepEqual(await filtered({ Type: "AT_TIMESTAMP", Timestamp: beforeSplit }), ids);
      assert.deepEqual(await filtered({ Type: "AT_TIMESTAMP", Timestamp: new Date(0) }), ids);
      assert.deepEqual(await filtered({ Type: "AT_TIMESTAMP", Timestamp: new Date() }),
        [...ids.slice(1), ...children]);
      assert.deepEqual(await filtered({ Type: "FROM_TIMESTAMP", Timestamp: beforeSplit }), [...ids, ...children]);
      assert.deepEqual(await filtered({ Type: "FROM_TIMESTAMP", Timestamp: new Date() }),
        [...ids.slice(1), ...children]);
      assert.deepEqual(await filtered({ Type: "AT_LATEST" }), [...ids.slice(1), ...children]);
      assert.deepEqual(await filtered({ Type: "AT_TRIM_HORIZON" }), ids);
    });

    test("retention: Increase/Decrease within [24, 8760] hours, only in their direction", async () => {
      await createStream("ret", 1);
      const hours = async () => (await send(new DescribeStreamSummaryCommand({ StreamName: "ret" })))
        .StreamDescriptionSummary.RetentionPeriodHours;
      const inc = (h) => send(new IncreaseStreamRetentionPeriodCommand({ StreamName: "ret", RetentionPeriodHours: h }));
      const dec = (h) => send(new DecreaseStreamRetentionPeriodCommand({ StreamName: "ret", RetentionPeriodHours: h }));
      await inc(48);
      assert.equal(await hours(), 48);
      await expectError(inc(30), "InvalidArgumentException",
        "Requested retention period (30 hours) for stream ret can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.");
      await expectError(dec(100), "InvalidArgumentException",
        "Requested retention period (100 hours) for stream ret can not be longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API.");
      await inc(8760);
      assert.equal(await hours(), 8760);
      await expectError(inc(8761), "InvalidArgumentException",
        "Minimum allowed retention period is 24 hours. Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.");
      await dec(24);
      assert.equal(await hours(), 24);
      await expectError(dec(23), "InvalidArgumentException",
        "Minimum allowed retention period is 24 hours. Maximum allowed retention period is 8760 hours. Requested retention period (23 hours) is too short.");
      await expectError(inc(0), "ValidationException",
        validation("0", "retentionPeriodHours", "Member must have value greater than or equal to 1"));
      await send(new IncreaseStreamRetentionPeriodCommand({ StreamARN: `${kArnPrefix}ret`, RetentionPeriodHours: 72 }));
      assert.equal(await hours(), 72);
      await expectError(send(new IncreaseStreamRetentionPeriodCommand({ StreamName: "ret-missing", RetentionPeriodHours: 48 })),
        "ResourceNotFoundException", notFound("ret-missing"));
    });

    test("tags: CreateStream Tags, AddTagsToStream, ListTagsForStream paging, RemoveTagsFromStream", async () => {
      await createStream("tags", 1, { Tags: { team: "data", env: "test" } });
      const list = (extra = {}) => send(new ListTagsForStreamCommand({ StreamName: "tags", ...extra }));
      assert.deepEqual((await list()).Tags, [{ Key: "env", Value: "test" }, { Key: "team", Value: "data" }]);
      await send(new AddTagsToStreamCommand({ StreamName: "tags", Tags: { a: "1", b: "2", team: "infra" } }));
      const all = await list();
      assert.equal(all.HasMoreTags, false);
      assert.deepEqual(all.Tags, [
        { Key: "a", Value: "1" }, { Key: "b", Value: "2" }, { Key: "env", Value: "test" },
        { Key: "team", Value: "infra" },
      ]);
      const p1 = await list({ Limit: 2 });
      assert.deepEqual(p1.Tags.map((t) => t.Key), ["a", "b"]);
      assert.equal(p1.HasMoreTags, true);
      const p2 = await list({ Limit: 2, ExclusiveStartTagKey: "b" });
      assert.deepEqual(p2.Tags.map((t) => t.Key), ["env", "team"]);
      assert.equal(p2.HasMoreTags, false);
      await send(new RemoveTagsFromStreamCommand({ StreamARN: `${kArnPrefix}tags`, TagKeys: ["a", "env", "absent"] }));
      assert.deepEqual((await send(new ListTagsForStreamCommand({ StreamARN: `${kArnPrefix}tags` }))).Tags,
        [{ Key: "b", Value: "2" }, { Key: "team", Value: "infra" }]);
      await send(new AddTagsToStreamCommand({ StreamName: "tags", Tags: { ["ü".repeat(128)]: "ä".repeat(256) } }));
      await send(new RemoveTagsFromStreamCommand({ StreamName: "tags", TagKeys: ["ü".repeat(128)] }));
      await expectError(send(new AddTagsToStreamCommand({ StreamName: "tags", Tags: { ["ü".repeat(129)]: "v" } })),
        "ValidationException", validation("ü".repeat(129), "tags.key", "Member must have length less than or equal to 128"));
      const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]));
      await expectError(send(new AddTagsToStreamCommand({ StreamName: "tags", Tags: many })),
        "InvalidArgumentException",
        `Failed to add tags to stream tags under account ${kAccount} because a given tag set exceeds the limit of 50 tags.`);
      await expectError(send(new AddTagsToStreamCommand({ StreamName: "tags", Tags: {} })),
        "ValidationException", validation("{}", "tags", "Member must have length greater than or equal to 1"));
      await expectError(list({ Limit: 51 }), "ValidationException",
        validation("51", "limit", "Member must have value less than or equal to 50"));
      await expectError(send(new ListTagsForStreamCommand({ StreamName: "tags-missing" })),
        "ResourceNotFoundException", notFound("tags-missing"));
    });

    test("enhanced fan-out consumers: Register, Describe, List (paged), Deregister, limits", async () => {
      await createStream("efo", 1);
      const StreamARN = `${kArnPrefix}efo`;
      const t0 = Date.now();
      const reg = (await send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "app-a" }))).Consumer;
      assert.equal(reg.ConsumerName, "app-a");
      assert.match(reg.ConsumerARN, new RegExp(`^${StreamARN}/consumer/app-a:\\d+$`));
      assert.equal(reg.ConsumerStatus, "ACTIVE");
      assert.ok(Math.abs(reg.ConsumerCreationTimestamp.getTime() - t0) < 60000);
      await expectError(send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "app-a" })),
        "ResourceInUseException", `Consumer app-a under stream efo already exists for account ${kAccount}.`);

      const byArn = (await send(new DescribeStreamConsumerCommand({ ConsumerARN: reg.ConsumerARN })))
        .ConsumerDescription;
      const byName = (await send(new DescribeStreamConsumerCommand({ StreamARN, ConsumerName: "app-a" })))
        .ConsumerDescription;
      assert.deepEqual(byArn, byName);
      assert.equal(byArn.StreamARN, StreamARN);
      assert.equal(byArn.ConsumerARN, reg.ConsumerARN);

      for (const n of ["app-b", "app-c", "app-d", "app-e"]) {
        await send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: n }));
      }
      assert.equal((await send(new DescribeStreamSummaryCommand({ StreamARN })))
        .StreamDescriptionSummary.ConsumerCount, 5);
      const names = [];
      let token;
      let pages = 0;
      do {
        const page = await send(new ListStreamConsumersCommand({ StreamARN, MaxResults: 2, NextToken: token }));
        pages++;
        names.push(...page.Consumers.map((c) => c.ConsumerName));
        token = page.NextToken;
      } while (token);
      assert.deepEqual(names, ["app-a", "app-b", "app-c", "app-d", "app-e"]);
      assert.equal(pages, 3);

      await send(new DeregisterStreamConsumerCommand({ ConsumerARN: reg.ConsumerARN }));
      await send(new DeregisterStreamConsumerCommand({ StreamARN, ConsumerName: "app-b" }));
      await expectError(send(new DescribeStreamConsumerCommand({ ConsumerARN: reg.ConsumerARN })),
        "ResourceNotFoundException", `Consumer app-a under stream efo not found for account ${kAccount}.`);
      await expectError(send(new DeregisterStreamConsumerCommand({ StreamARN, ConsumerName: "app-b" })),
        "ResourceNotFoundException", `Consumer app-b under stream efo not found for account ${kAccount}.`);
      assert.deepEqual((await send(new ListStreamConsumersCommand({ StreamARN }))).Consumers
        .map((c) => c.ConsumerName), ["app-c", "app-d", "app-e"]);

      for (let i = 0; i < 17; ++i) {
        await send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: `fill-${i}` }));
      }
      await expectError(send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "one-too-many" })),
        "LimitExceededException", `Consumer limit of 20 reached for stream efo under account ${kAccount}.`);
      await expectError(send(new RegisterStreamConsumerCommand({ StreamARN: `${kArnPrefix}efo-missing`, ConsumerName: "x" })),
        "ResourceNotFoundException", notFound("efo-missing"));
      await expectError(send(new ListStreamConsumersCommand({ StreamARN, NextToken: "garbage-token" })),
        "InvalidArgumentException", "NextToken is invalid.");
      await expectError(send(new DescribeStreamConsumerCommand({ ConsumerName: "app-c" })),
        "InvalidArgumentException", "Either ConsumerARN or both ConsumerName and StreamARN must be provided.");
    });

    // ---- data plane --------------------------------------------------------------------------

    test("MD5 routing matches an independent computation; ExplicitHashKey overrides it", async () => {
      await createStream("route", 4);
      const shards = await listShards("route");
      assert.deepEqual(shards.map((s) => s.HashKeyRange), evenSplit(4));
      const keys = [...Array.from({ length: 200 }, (_, i) => `key-${i}`), "ключ-🔑", "é", " ",
        "x".repeat(256), "é".repeat(256), "鍵".repeat(256)];
      const perShard = new Map();
      for (const PartitionKey of keys) {
        const out = await send(new PutRecordCommand({ StreamName: "route", PartitionKey, Data: Buffer.from(PartitionKey) }));
        assert.equal(out.ShardId, shardForHashKey(shards, hashKeyOf(PartitionKey)), `shard of key ${PartitionKey}`);
        perShard.set(out.ShardId, (perShard.get(out.ShardId) ?? 0) + 1);
      }
      assert.equal(perShard.size, 4, "200 keys reach every one of 4 shards");
      // Every record is in the shard its hash selects, with its own key.
      for (const s of shards) {
        for (const r of await readShard("route", s.ShardId)) {
          assert.equal(shardForHashKey(shards, hashKeyOf(r.PartitionKey)), s.ShardId);
          assert.equal(Buffer.from(r.Data).toString(), r.PartitionKey);
        }
      }

      // ExplicitHashKey: the ends of every range, whatever the partition key hashes to.
      for (const s of shards) {
        for (const ExplicitHashKey of [s.HashKeyRange.StartingHashKey, s.HashKeyRange.EndingHashKey]) {
          const out = await send(new PutRecordCommand({
            StreamName: "route", PartitionKey: "key-0", ExplicitHashKey, Data: Buffer.from("e"),
          }));
          assert.equal(out.ShardId, s.ShardId, `ExplicitHashKey ${ExplicitHashKey}`);
        }
      }
      const batch = await send(new PutRecordsCommand({
        StreamName: "route",
        Records: shards.map((s, i) => ({
          PartitionKey: "key-0", Data: Buffer.from([i]),
          ExplicitHashKey: (BigInt(s.HashKeyRange.StartingHashKey) + 12345n).toString(),
        })),
      }));
      assert.deepEqual(batch.Records.map((r) => r.ShardId), shards.map((s) => s.ShardId));
      await expectError(send(new PutRecordCommand({
        StreamName: "route", PartitionKey: "k", Data: Buffer.from("x"), ExplicitHashKey: (kMaxHashKey + 1n).toString(),
      })), "InvalidArgumentException",
      `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${kMaxHashKey + 1n}`);
      await expectError(send(new PutRecordCommand({
        StreamName: "route", PartitionKey: "k", Data: Buffer.from("x"), ExplicitHashKey: "12ab",
      })), "ValidationException", validation("12ab", "explicitHashKey",
        "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})"));
    });

    test("PutRecord/PutRecords/GetRecords: byte-exact data, ordered per-record results, 56-digit increasing sequence numbers", async () => {
      await createStream("data", 2);
      const shards = await listShards("data");
      const sent = [];  // {key, data, shard, seq} in acknowledgement order
      const binary = allBytes();
      for (let i = 0; i < 6; ++i) {
        const data = Buffer.concat([binary, Buffer.from(`#${i}`)]);
        const PartitionKey = `pk-${i}`;
        const out = await send(new PutRecordCommand({ StreamName: "data", PartitionKey, Data: data }));
        assertSequenceNumber(out.SequenceNumber, "PutRecord");
        sent.push({ key: PartitionKey, data, shard: out.ShardId, seq: out.SequenceNumber });
      }
      const records = Array.from({ length: 300 }, (_, i) => ({
        PartitionKey: `batch-${i % 37}`,
        Data: i === 7 ? Buffer.alloc(0) : Buffer.concat([binary.subarray(i % 256), Buffer.from(`/${i}`)]),
      }));
      const out = await send(new PutRecordsCommand({ StreamName: "data", Records: records }));
      assert.equal(out.FailedRecordCount, 0);
      assert.equal(out.Records.length, records.length);
      out.Records.forEach((r, i) => {
        assertSequenceNumber(r.SequenceNumber, `PutRecords entry ${i}`);
        assert.equal(r.ShardId, shardForHashKey(shards, hashKeyOf(records[i].PartitionKey)),
          `entry ${i} answers for its own record (request order)`);
        assert.equal(r.ErrorCode, undefined);
        sent.push({ key: records[i].PartitionKey, data: Buffer.from(records[i].Data), shard: r.ShardId, seq: r.SequenceNumber });
      });

      for (const s of shards) {
        const expected = sent.filter((r) => r.shard === s.ShardId);
        for (let i = 1; i < expected.length; ++i) {
          assert.ok(BigInt(expected[i].seq) > BigInt(expected[i - 1].seq),
            `${s.ShardId}: sequence numbers strictly increase in acknowledgement order`);
        }
        assert.ok(BigInt(expected[0].seq) > BigInt(s.SequenceNumberRange.StartingSequenceNumber));
        const got = await readShard("data", s.ShardId);
        assert.equal(got.length, expected.length, `${s.ShardId}: every record read back`);
        got.forEach((r, i) => {
          assert.equal(r.SequenceNumber, expected[i].seq);
          assert.equal(r.PartitionKey, expected[i].key);
          assert.ok(Buffer.from(r.Data).equals(expected[i].data), `${s.ShardId} record ${i}: bytes`);
          assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
          assert.ok(Math.abs(r.ApproximateArrivalTimestamp.getTime() - Date.now()) < 60000);
        });
      }
      assert.equal(sent.find((r) => r.data.length === 0 && r.key === "batch-7") !== undefined, true);

      // SequenceNumberForOrdering: accepted, and the number returned is greater.
      const ordered = await send(new PutRecordCommand({
        StreamName: "data", PartitionKey: "pk-0", Data: Buffer.from("ordered"), SequenceNumberForOrdering: sent[0].seq,
      }));
      assert.equal(ordered.ShardId, sent[0].shard);
      assert.ok(BigInt(ordered.SequenceNumber) > BigInt(sent.filter((r) => r.shard === sent[0].shard).at(-1).seq));
      await expectError(send(new PutRecordsCommand({ StreamName: "data", Records: [] })),
        "ValidationException", validation("[]", "records", "Member must have length greater than or equal to 1"));
      await expectError(send(new PutRecordCommand({ StreamName: "data", PartitionKey: "", Data: Buffer.from("x") })),
        "ValidationException", validation("", "partitionKey", "Member must have length greater than or equal to 1"));
      await expectError(send(new PutRecordCommand({ StreamName: "data", PartitionKey: "k".repeat(257), Data: Buffer.from("x") })),
        "ValidationException", validation("k".repeat(257), "partitionKey", "Member must have length less than or equal to 256"));
      // Lengths are characters, not UTF-8 bytes: 256 two-byte characters are a valid key.
      await send(new PutRecordCommand({ StreamName: "data", PartitionKey: "é".repeat(256), Data: Buffer.from("x") }));
      await expectError(send(new PutRecordCommand({ StreamName: "data", PartitionKey: "é".repeat(257), Data: Buffer.from("x") })),
        "ValidationException", validation("é".repeat(257), "partitionKey", "Member must have length less than or equal to 256"));
      await expectError(send(new PutRecordsCommand({ StreamName: "data", Records: [
        { PartitionKey: "ok", Data: Buffer.from("x") }, { PartitionKey: "", Data: Buffer.from("x") },
      ] })), "ValidationException",
      validation("", "records.2.member.partitionKey", "Member must have length greater than or equal to 1"));
    });

    test("limits: 1 MiB per record (data + key), 500 records and 5 MiB per PutRecords", async () => {
      await createStream("limits", 1);
      const big = Buffer.alloc(kMiB - 3, 0xab);
      const ok = await send(new PutRecordCommand({ StreamName: "limits", PartitionKey: "abc", Data: big }));
      assertSequenceNumber(ok.SequenceNumber, "1 MiB record");
      await expectError(send(new PutRecordCommand({ StreamName: "limits", PartitionKey: "abcd", Data: big })),
        "InvalidArgumentException", "Record size including the partition key exceeds 1 MiB.");
      await expectError(send(new PutRecordCommand({ StreamName: "limits", PartitionKey: "a", Data: Buffer.alloc(kMiB + 1) })),
        "ValidationException", validation(`java.nio.HeapByteBuffer[pos=0 lim=${kMiB + 1} cap=${kMiB + 1}]`, "data",
          `Member must have length less than or equal to ${kMiB}`));
      const five = await send(new PutRecordsCommand({
        StreamName: "limits",
        Records: Array.from({ length: 5 }, (_, i) => ({ PartitionKey: `${i}`, Data: Buffer.alloc(kMiB - 1, i) })),
      }));
      assert.equal(five.FailedRecordCount, 0, "exactly 5 MiB with keys is accepted");
      await expectError(send(new PutRecordsCommand({
        StreamName: "limits",
        Records: Array.from({ length: 6 }, (_, i) => ({ PartitionKey: `${i}`, Data: Buffer.alloc(900 * 1024, i) })),
      })), "InvalidArgumentException", "Records size exceeds 5 MB limit");
      await expectError(send(new PutRecordsCommand({
        StreamName: "limits",
        Records: Array.from({ length: 501 }, (_, i) => ({ PartitionKey: `${i}`, Data: Buffer.from("x") })),
      })), "ValidationException",
      /^1 validation error detected: Value .* at 'records' failed to satisfy constraint: Member must have length less than or equal to 500$/);
      const full = await send(new PutRecordsCommand({
        StreamName: "limits",
        Records: Array.from({ length: 500 }, (_, i) => ({ PartitionKey: `${i}`, Data: Buffer.from(`${i}`) })),
      }));
      assert.equal(full.Records.length, 500);
      // The large records read back whole.
      const got = await readShard("limits", "shardId-000000000000");
      assert.equal(got.length, 1 + 5 + 500);
      assert.ok(Buffer.from(got[0].Data).equals(big));
      for (let i = 0; i < 5; ++i) assert.ok(Buffer.from(got[1 + i].Data).equals(Buffer.alloc(kMiB - 1, i)));
    });

    test("the disk quota refuses records with ProvisionedThroughputExceededException, per record and naming their shard", async () => {
      const dir = makeTempDir("kinesis-quota");
      const config = path.join(dir, "sluice.yaml");
      fs.writeFileSync(config, "server:\n  quota_mb: 1\n  segment_mb: 1\n");
      const full = new SluiceServer(path.join(dir, "data"), ["--config", config]);
      const client = newClient(await full.start(), transport);
      try {
        await client.send(new CreateStreamCommand({ StreamName: "quota", ShardCount: 2 }));
        const shards = (await client.send(new ListShardsCommand({ StreamName: "quota" }))).Shards;
        const keys = ["k0", "k1", "k2", "k3", "k4"];
        assert.equal(new Set(keys.map((k) => shardForHashKey(shards, hashKeyOf(k)))).size, 2, "keys of both shards");
        const stored = [];
        let refused;
        for (let i = 0; i < 40 && !refused; ++i) {
          const out = await client.send(new PutRecordsCommand({ StreamName: "quota",
            Records: keys.map((PartitionKey) => ({ PartitionKey, Data: Buffer.alloc(100000, i) })) }));
          assert.equal(out.FailedRecordCount, out.Records.filter((r) => r.ErrorCode).length);
          out.Records.forEach((r, j) => {
            if (!r.ErrorCode) stored.push({ shard: r.ShardId, seq: r.SequenceNumber });
          });
          if (out.FailedRecordCount > 0) refused = out;
        }
        assert.ok(refused, "1 MB of quota is reached by 4 MB of records");
        refused.Records.forEach((r, j) => {
          if (!r.ErrorCode) return;
          assert.equal(r.ErrorCode, "ProvisionedThroughputExceededException");
          assert.equal(r.ErrorMessage, `Rate exceeded for shard ${shardForHashKey(shards, hashKeyOf(keys[j]))} in stream quota under account ${kAccount}.`);
          assert.equal(r.SequenceNumber, undefined);
        });
        await expectError(client.send(new PutRecordCommand({ StreamName: "quota", PartitionKey: "k1", Data: Buffer.alloc(100000) })),
          "ProvisionedThroughputExceededException",
          `Rate exceeded for shard ${shardForHashKey(shards, hashKeyOf("k1"))} in stream quota under account ${kAccount}.`);
        // What was acknowledged is there; nothing refused is.
        let count = 0;
        for (const s of shards) {
          const it = (await client.send(new GetShardIteratorCommand({ StreamName: "quota", ShardId: s.ShardId, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
          const got = (await client.send(new GetRecordsCommand({ ShardIterator: it }))).Records.map((r) => r.SequenceNumber);
          assert.deepEqual(got, stored.filter((r) => r.shard === s.ShardId).map((r) => r.seq));
          count += got.length;
        }
        assert.equal(count, stored.length);
      } finally {
        client.destroy();
        assert.equal((await full.stop()).code, 0, full.stderr);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test("GetShardIterator: TRIM_HORIZON, LATEST, AT/AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP", async () => {
      await createStream("iters", 1);
      const shard = "shardId-000000000000";
      const put = async (i) => (await send(new PutRecordCommand({ StreamName: "iters", PartitionKey: `k${i}`, Data: Buffer.from(`r${i}`) }))).SequenceNumber;
      const seqs = [];
      for (let i = 0; i < 10; ++i) seqs.push(await put(i));
      const all = await readShard("iters", shard);
      assert.deepEqual(all.map((r) => r.SequenceNumber), seqs);
      const from = async (type, extra) => (await drain(await iterator("iters", shard, type, extra))).records
        .map((r) => Buffer.from(r.Data).toString());
      const names = (a, b) => Array.from({ length: b - a }, (_, i) => `r${a + i}`);

      assert.deepEqual(await from("TRIM_HORIZON"), names(0, 10));
      assert.deepEqual(await from("AT_SEQUENCE_NUMBER", { StartingSequenceNumber: seqs[4] }), names(4, 10));
      assert.deepEqual(await from("AFTER_SEQUENCE_NUMBER", { StartingSequenceNumber: seqs[4] }), names(5, 10));
      assert.deepEqual(await from("AFTER_SEQUENCE_NUMBER", { StartingSequenceNumber: seqs[9] }), []);
      assert.deepEqual(await from("AT_SEQUENCE_NUMBER", { StartingSequenceNumber: seqs[0] }), names(0, 10));
      const starting = (await listShards("iters"))[0].SequenceNumberRange.StartingSequenceNumber;
      assert.deepEqual(await from("AFTER_SEQUENCE_NUMBER", { StartingSequenceNumber: starting }), names(0, 10),
        "AFTER the shard's StartingSequenceNumber is its first record");

      // LATEST: nothing now, then exactly what comes after.
      const latest = await iterator("iters", shard, "LATEST");
      const empty = await send(new GetRecordsCommand({ ShardIterator: latest }));
      assert.deepEqual(empty.Records, []);
      assert.ok(empty.NextShardIterator, "an empty GetRecords on an open shard has a NextShardIterator");
      assert.equal(empty.MillisBehindLatest, 0);
      seqs.push(await put(10));
      const next = await send(new GetRecordsCommand({ ShardIterator: empty.NextShardIterator }));
      assert.deepEqual(next.Records.map((r) => r.SequenceNumber), [seqs[10]]);
      const fromLatestIterator = await send(new GetRecordsCommand({ ShardIterator: latest }));
      assert.deepEqual(fromLatestIterator.Records.map((r) => r.SequenceNumber), [seqs[10]],
        "an iterator is a position: reusing it reads the same records again");

      // AT_TIMESTAMP: the first record that arrived at or after the time.
      const times = (await readShard("iters", shard)).map((r) => r.ApproximateArrivalTimestamp.getTime());
      for (const i of [0, 3, 10]) {
        const expected = times.findIndex((t) => t >= times[i]);
        assert.deepEqual(await from("AT_TIMESTAMP", { Timestamp: new Date(times[i]) }), names(expected, 11));
      }
      assert.deepEqual(await from("AT_TIMESTAMP", { Timestamp: new Date(0) }), names(0, 11),
        "a time before the trim horizon reads from the trim horizon");
      assert.deepEqual(await from("AT_TIMESTAMP", { Timestamp: new Date(times[10] + 1) }), []);

      const bad = (input) => send(new GetShardIteratorCommand({ StreamName: "iters", ShardId: shard, ...input }));
      await expectError(bad({ ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date(Date.now() + 3600e3) }),
        "InvalidArgumentException", /^The timestampInMillis parameter cannot be greater than the currentTimestampInMillis\. timestampInMillis: \d+, currentTimestampInMillis: \d+$/);
      await expectError(bad({ ShardIteratorType: "AT_TIMESTAMP" }), "InvalidArgumentException",
        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.");
      await expectError(bad({ ShardIteratorType: "AT_SEQUENCE_NUMBER" }), "InvalidArgumentException",
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.");
      await expectError(bad({ ShardIteratorType: "TRIM_HORIZON", StartingSequenceNumber: seqs[0] }), "InvalidArgumentException",
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified TRIM_HORIZON and also a StartingSequenceNumber.");
      await expectError(bad({ ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: "12345" }), "InvalidArgumentException",
        `StartingSequenceNumber 12345 used in GetShardIterator on shard ${shard} in stream iters under account ${kAccount} is invalid.`);
      await expectError(bad({ ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: "12x" }), "ValidationException",
        validation("12x", "startingSequenceNumber", "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})"));
      await expectError(bad({ ShardIteratorType: "SOMEWHERE" }), "ValidationException",
        validation("SOMEWHERE", "shardIteratorType", "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"));
      await expectError(send(new GetShardIteratorCommand({ StreamName: "iters", ShardId: "shardId-000000000009", ShardIteratorType: "LATEST" })),
        "ResourceNotFoundException", `Shard shardId-000000000009 in stream iters under account ${kAccount} does not exist`);
      await expectError(send(new GetShardIteratorCommand({ StreamName: "iters-missing", ShardId: shard, ShardIteratorType: "LATEST" })),
        "ResourceNotFoundException", notFound("iters-missing"));

      // A sequence number of another shard, and of another stream.
      await createStream("iters2", 2);
      const other = await send(new PutRecordCommand({ StreamName: "iters2", PartitionKey: "x", ExplicitHashKey: kMaxHashKey.toString(), Data: Buffer.from("x") }));
      assert.equal(other.ShardId, "shardId-000000000001");
      await expectError(send(new GetShardIteratorCommand({ StreamName: "iters2", ShardId: "shardId-000000000000", ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: other.SequenceNumber })),
        "InvalidArgumentException", "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000");
      await expectError(bad({ ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: (await send(new PutRecordCommand({ StreamName: "iters2", PartitionKey: "x", ExplicitHashKey: "0", Data: Buffer.from("y") }))).SequenceNumber }),
        "InvalidArgumentException", /did not come from this stream\.$/);
    });

    test("GetRecords: Limit, NextShardIterator on an empty open shard, MillisBehindLatest", async () => {
      await createStream("getrec", 1);
      const shard = "shardId-000000000000";
      const out = await send(new PutRecordsCommand({ StreamName: "getrec", Records: Array.from({ length: 10 }, (_, i) => ({ PartitionKey: "k", Data: Buffer.from(`${i}`) })) }));
      const seqs = out.Records.map((r) => r.SequenceNumber);
      // Move the server's clock 60 s ahead: the records are then 60 s old, so a reader that has
      // not reached the end is (at least) 60 s behind, and one at the end is 0 behind.
      setClockOffset(60000);
      try {
        let it = await iterator("getrec", shard, "TRIM_HORIZON");
        const sizes = [];
        const behind = [];
        const read = [];
        for (;;) {
          const r = await send(new GetRecordsCommand({ ShardIterator: it, Limit: 3 }));
          sizes.push(r.Records.length);
          behind.push(r.MillisBehindLatest);
          read.push(...r.Records.map((x) => x.SequenceNumber));
          assert.ok(r.NextShardIterator, "an open shard always has a NextShardIterator");
          it = r.NextShardIterator;
          if (r.Records.length === 0) break;
        }
        assert.deepEqual(sizes, [3, 3, 3, 1, 0]);
        assert.deepEqual(read, seqs);
        for (const b of behind.slice(0, 3)) assert.ok(b >= 60000, `MillisBehindLatest ${b} while 60 s of records remain`);
        assert.deepEqual(behind.slice(3), [0, 0], "caught up: 0 behind");
      } finally {
        setClockOffset(0);
      }
      const it = await iterator("getrec", shard, "TRIM_HORIZON");
      await expectError(send(new GetRecordsCommand({ ShardIterator: it, Limit: 0 })), "ValidationException",
        validation("0", "limit", "Member must have value greater than or equal to 1"));
      await expectError(send(new GetRecordsCommand({ ShardIterator: it, Limit: 10001 })), "ValidationException",
        validation("10001", "limit", "Member must have value less than or equal to 10000"));
      const whole = await send(new GetRecordsCommand({ ShardIterator: it, StreamARN: `${kArnPrefix}getrec` }));
      assert.equal(whole.Records.length, 10, "GetRecords with a matching StreamARN");
      await expectError(send(new GetRecordsCommand({ ShardIterator: it, StreamARN: `${kArnPrefix}other` })),
        "InvalidArgumentException", `StreamARN ${kArnPrefix}other does not match the ShardIterator.`);
    });

    test("shard iterators: AWS-like, forged or foreign ones are refused", async () => {
      await createStream("forge", 1);
      await send(new PutRecordCommand({ StreamName: "forge", PartitionKey: "k", Data: Buffer.from("secret") }));
      const it = await iterator("forge", "shardId-000000000000", "TRIM_HORIZON");
      assert.ok(it.startsWith("AAAAAAAAAAE"), `iterator ${it} begins like AWS's`);
      assert.ok(it.length <= 512);
      const raw = Buffer.from(it, "base64");
      const invalid = (ShardIterator) => expectError(send(new GetRecordsCommand({ ShardIterator })),
        "InvalidArgumentException", "Invalid ShardIterator.");
      for (const at of [8, 12, 20, raw.length - 1]) {
        const forged = Buffer.from(raw);
        forged[at] ^= 0x01;
        await invalid(forged.toString("base64"));
      }
      await invalid(raw.subarray(0, raw.length - 1).toString("base64"));
      await invalid("AAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAA");
      await invalid("not base64 at all!");
      await expectError(send(new GetRecordsCommand({ ShardIterator: "A".repeat(513) })), "ValidationException",
        validation("A".repeat(513), "shardIterator", "Member must have length less than or equal to 512"));

      // Another server (its own key) with the same stream: its iterators are foreign here.
      const otherDir = makeTempDir("kinesis-other");
      const other = new SluiceServer(otherDir);
      try {
        const otherClient = newClient(await other.start(), transport);
        await otherClient.send(new CreateStreamCommand({ StreamName: "forge", ShardCount: 1 }));
        const foreign = (await otherClient.send(new GetShardIteratorCommand({
          StreamName: "forge", ShardId: "shardId-000000000000", ShardIteratorType: "TRIM_HORIZON",
        }))).ShardIterator;
        otherClient.destroy();
        await invalid(foreign);
      } finally {
        await other.stop();
        fs.rmSync(otherDir, { recursive: true, force: true });
      }
      assert.equal((await send(new GetRecordsCommand({ ShardIterator: it }))).Records.length, 1,
        "the genuine iterator still works");
    });

    test("expiry: iterators and NextTokens expire 5 minutes after issue (server clock moved 400 s)", async () => {
      await createStream("expiry", 3);
      await send(new PutRecordCommand({ StreamName: "expiry", PartitionKey: "k", ExplicitHashKey: "0", Data: Buffer.from("x") }));
      const it = await iterator("expiry", "shardId-000000000000", "TRIM_HORIZON");
      const shardsToken = (await send(new ListShardsCommand({ StreamName: "expiry", MaxResults: 1 }))).NextToken;
      const streamsToken = (await send(new ListStreamsCommand({ Limit: 1 }))).NextToken;
      const consumersArn = `${kArnPrefix}expiry`;
      for (const n of ["c1", "c2"]) await send(new RegisterStreamConsumerCommand({ StreamARN: consumersArn, ConsumerName: n }));
      const consumersToken = (await send(new ListStreamConsumersCommand({ StreamARN: consumersArn, MaxResults: 1 }))).NextToken;
      assert.ok(shardsToken && streamsToken && consumersToken);
      const issuedAt = Date.now();
      setClockOffset(400000);
      try {
        const amzTime = "[A-Z][a-z]{2} [A-Z][a-z]{2} \\d{2} \\d{2}:\\d{2}:\\d{2} UTC \\d{4}";
        await assert.rejects(send(new GetRecordsCommand({ ShardIterator: it })), (err) => {
          assert.equal(err.name, "ExpiredIteratorException", err.message);
          assert.equal(err.$metadata.httpStatusCode, 400);
          const m = new RegExp(`^Iterator expired\\. The iterator was created at time (${amzTime}) while right now it is (${amzTime}) which is further in the future than the tolerated delay of 300000 milliseconds\\.$`).exec(err.message);
          assert.ok(m, `ExpiredIteratorException text: ${err.message}`);
          const created = Date.parse(m[1].replace(" UTC", "") + " UTC");
          const now = Date.parse(m[2].replace(" UTC", "") + " UTC");
          assert.ok(Math.abs(created - issuedAt) < 60000, `created ${m[1]} is when it was issued`);
          assert.ok(now - created >= 399000, `now ${m[2]} is 400 s later`);
          return true;
        });
        await expectError(send(new ListShardsCommand({ NextToken: shardsToken })), "ExpiredNextTokenException",
          "The timestamp of the NextToken has expired.");
        await expectError(send(new ListStreamsCommand({ NextToken: streamsToken })), "ExpiredNextTokenException");
        await expectError(send(new ListStreamConsumersCommand({ StreamARN: consumersArn, NextToken: consumersToken })),
          "ExpiredNextTokenException");
        // A fresh iterator, issued on the moved clock, works.
        const fresh = await iterator("expiry", "shardId-000000000000", "TRIM_HORIZON");
        assert.equal((await send(new GetRecordsCommand({ ShardIterator: fresh }))).Records.length, 1);
      } finally {
        setClockOffset(0);
      }
    });

    test("StreamARN addresses a stream wherever StreamName does", async () => {
      await createStream("byarn", 2);
      const StreamARN = `${kArnPrefix}byarn`;
      const put = await send(new PutRecordCommand({ StreamARN, PartitionKey: "a", Data: Buffer.from("1") }));
      const puts = await send(new PutRecordsCommand({ StreamARN, Records: [{ PartitionKey: "a", Data: Buffer.from("2") }] }));
      assert.equal(puts.Records[0].ShardId, put.ShardId);
      const it = (await send(new GetShardIteratorCommand({ StreamARN, ShardId: put.ShardId, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
      const got = await send(new GetRecordsCommand({ StreamARN, ShardIterator: it }));
      assert.deepEqual(got.Records.map((r) => Buffer.from(r.Data).toString()), ["1", "2"]);
      assert.equal((await send(new DescribeStreamCommand({ StreamARN }))).StreamDescription.StreamName, "byarn");
      assert.equal((await send(new DescribeStreamSummaryCommand({ StreamARN }))).StreamDescriptionSummary.StreamARN, StreamARN);
      assert.equal((await send(new ListShardsCommand({ StreamARN }))).Shards.length, 2);
      // Both, naming the same stream: fine; naming different ones: refused.
      await send(new PutRecordCommand({ StreamName: "byarn", StreamARN, PartitionKey: "a", Data: Buffer.from("3") }));
      await expectError(send(new PutRecordCommand({ StreamName: "route", StreamARN, PartitionKey: "a", Data: Buffer.from("x") })),
        "InvalidArgumentException", `StreamName route and StreamARN ${StreamARN} name different streams.`);
      await expectError(send(new DescribeStreamSummaryCommand({ StreamARN: "arn:aws:kinesis:eu-west-1:123456789012:stream/byarn" })),
        "InvalidArgumentException", /^StreamARN arn:aws:kinesis:eu-west-1:123456789012:stream\/byarn is not a stream ARN of this server/);
      await expectError(send(new DescribeStreamSummaryCommand({})), "InvalidArgumentException",
        "Either StreamName or StreamARN must be provided.");
      await expectError(send(new DescribeStreamSummaryCommand({ StreamARN: `${kArnPrefix}byarn-missing` })),
        "ResourceNotFoundException", notFound("byarn-missing"));
    });

    test("raw protocol errors: SerializationException, UnknownOperationException, AccessDenied for GET", async () => {
      const malformed = await kinesisRaw(ctx.endpoint, "ListStreams", "{not json");
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json.__type, "SerializationException");
      assert.match(malformed.headers.get("content-type"), /^application\/x-amz-json-1\.1/);
      assert.ok(malformed.headers.get("x-amzn-requestid"));
      const wrongType = await kinesisRaw(ctx.endpoint, "PutRecord", { StreamName: "data", PartitionKey: { a: 1 }, Data: "eA==" });
      assert.equal(wrongType.status, 400);
      assert.equal(wrongType.json.__type, "SerializationException");
      const list = await kinesisRaw(ctx.endpoint, "PutRecords", "[]");
      assert.equal(list.json.__type, "SerializationException");
      const unknown = await kinesisRaw(ctx.endpoint, "FrobnicateStream", {});
      assert.equal(unknown.status, 400);
      assert.equal(unknown.json.__type, "UnknownOperationException");
      const badTarget = await kinesisRaw(ctx.endpoint, "Kinesis_20131202.", {});
      assert.equal(badTarget.status, 400);
      const otherVersion = await kinesisRaw(ctx.endpoint, "Kinesis_20131203.ListStreams", {});
      assert.equal(otherVersion.json.__type, "UnknownOperationException");
      assert.equal(badTarget.json.__type, "UnknownOperationException");
      const empty = await kinesisRaw(ctx.endpoint, "ListStreams", "");
      assert.equal(empty.status, 200, `an empty body is an empty input: ${empty.text}`);
      assert.ok(Array.isArray(empty.json.StreamNames));
      const nul = await kinesisRaw(ctx.endpoint, "DescribeStreamSummary", "null");
      assert.equal(nul.json.__type, "InvalidArgumentException");
      const get = await fetch(ctx.endpoint, { method: "GET", headers: { "X-Amz-Target": "Kinesis_20131202.ListStreams" } });
      const getBody = await get.json();
      assert.equal(get.status, 400);
      assert.equal(getBody.__type, "AccessDeniedException");
      const badBlob = await kinesisRaw(ctx.endpoint, "PutRecord", { StreamName: "data", PartitionKey: "k", Data: "!!!" });
      assert.equal(badBlob.status, 400);
      assert.equal(badBlob.json.__type, "SerializationException", badBlob.text);
    });

    test("records and sequence numbers survive a clean restart", async () => {
      await createStream("durable", 2);
      const records = Array.from({ length: 100 }, (_, i) => ({ PartitionKey: `d${i % 13}`, Data: Buffer.concat([allBytes(), Buffer.from(`${i}`)]) }));
      const out = await send(new PutRecordsCommand({ StreamName: "durable", Records: records }));
      assert.equal(out.FailedRecordCount, 0);
      const before0 = await readShard("durable", "shardId-000000000000");
      const before1 = await readShard("durable", "shardId-000000000001");
      const oldIterator = await iterator("durable", "shardId-000000000001", "TRIM_HORIZON");
      const stopped = await server.stop();
      assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM exit; stderr:\n${server.stderr}`);
      await startServer();
      const strip = (rs) => rs.map((r) => ({ ...r, Data: Buffer.from(r.Data).toString("base64") }));
      assert.deepEqual(strip(await readShard("durable", "shardId-000000000000")), strip(before0));
      assert.deepEqual(strip(await readShard("durable", "shardId-000000000001")), strip(before1));
      assert.equal(before0.length + before1.length, 100);
      assert.deepEqual(strip((await drain(oldIterator)).records), strip(before1),
        "an iterator issued before the restart still reads");
      const mid = before0[Math.floor(before0.length / 2)];
      const resumed = await drain(await iterator("durable", "shardId-000000000000", "AT_SEQUENCE_NUMBER", { StartingSequenceNumber: mid.SequenceNumber }));
      assert.deepEqual(strip(resumed.records), strip(before0.slice(Math.floor(before0.length / 2))));
      const next = await send(new PutRecordCommand({ StreamName: "durable", PartitionKey: before0[0].PartitionKey, Data: Buffer.from("after") }));
      assert.equal(next.ShardId, "shardId-000000000000");
      assert.ok(BigInt(next.SequenceNumber) > BigInt(before0.at(-1).SequenceNumber),
        "sequence numbers keep increasing across the restart");
    });

    // ---- SubscribeToShard --------------------------------------------------------------------

    test("SubscribeToShard over raw HTTP/1.1: event-stream framing, records, continuation without loss or duplicates", async () => {
      await createStream("sub-raw", 1);
      const StreamARN = `${kArnPrefix}sub-raw`;
      const { ConsumerARN } = (await send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "raw" }))).Consumer;
      const put = async (from, n) => (await send(new PutRecordsCommand({ StreamName: "sub-raw",
        Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: `p${from + i}`, Data: Buffer.from(`rec-${from + i}`) })) }))).Records.map((r) => r.SequenceNumber);
      const acked = [...await put(0, 30)];
      const body = (StartingPosition) => ({ ConsumerARN, ShardId: "shardId-000000000000", StartingPosition });

      // First subscription: from TRIM_HORIZON; records written while it runs arrive too; it is
      // ended by the client once it has 50 records.
      const got = [];
      let continuation;
      let wrote;
      const first = await subscribeRaw(ctx.endpoint, body({ Type: "TRIM_HORIZON" }), (m, json) => {
        if (m.headers[":event-type"] !== "SubscribeToShardEvent") return false;
        got.push(...json.Records);
        continuation = json.ContinuationSequenceNumber;
        wrote ??= put(30, 20).then((s) => acked.push(...s));
        return got.length >= 50;
      });
      await wrote;
      assert.equal(first.status, 200, first.error);
      assert.equal(first.headers["content-type"], "application/vnd.amazon.eventstream");
      const initial = first.events[0];
      assert.deepEqual(initial.headers, { ":message-type": "event", ":event-type": "initial-response", ":content-type": "application/x-amz-json-1.1" });
      assert.deepEqual(initial.json, {});
      for (const e of first.events.slice(1)) {
        assert.equal(e.headers[":event-type"], "SubscribeToShardEvent");
        assertSequenceNumber(e.json.ContinuationSequenceNumber, "ContinuationSequenceNumber");
        assert.equal(typeof e.json.MillisBehindLatest, "number");
      }
      assert.deepEqual(got.map((r) => r.SequenceNumber), acked);
      assert.equal(continuation, acked.at(-1), "the continuation number is the last record's");
      acked.push(...await put(50, 10));  // while nobody is subscribed

      // Second subscription: AFTER_SEQUENCE_NUMBER of the continuation number, to the end.
      const second = await subscribeRaw(ctx.endpoint, body({ Type: "AFTER_SEQUENCE_NUMBER", SequenceNumber: continuation }), (m, json) => {
        if (m.headers[":event-type"] !== "SubscribeToShardEvent") return false;
        got.push(...json.Records);
        return got.length >= 60;
      });
      assert.equal(second.status, 200, second.error);
      assert.deepEqual(got.map((r) => r.SequenceNumber), acked, "every record once, in order");
      got.forEach((r, i) => {
        assert.equal(Buffer.from(r.Data, "base64").toString(), `rec-${i}`);
        assert.equal(r.PartitionKey, `p${i}`);
        assert.equal(typeof r.ApproximateArrivalTimestamp, "number");
      });

      // A subscription lasts 5 minutes: with the server's clock moved 301 s ahead it ends.
      let ended;
      try {
        ended = await subscribeRaw(ctx.endpoint, body({ Type: "LATEST" }), (m) => {
          if (m.headers[":event-type"] === "initial-response") setClockOffset(301000);
          return false;
        });
      } finally {
        setClockOffset(0);
      }
      assert.equal(ended.status, 200, ended.error);
      assert.equal(ended.events[0].headers[":event-type"], "initial-response");

      const notFoundSub = await subscribeRaw(ctx.endpoint, { ...body({ Type: "LATEST" }), ConsumerARN: `${StreamARN}/consumer/nobody:1` }, () => true);
      assert.equal(notFoundSub.status, 400);
      assert.equal(JSON.parse(notFoundSub.error).__type, "ResourceNotFoundException");
    });

    test("SubscribeToShard through the SDK's event stream: every record, resubscribe with the continuation number", async () => {
      await createStream("sub-sdk", 1);
      const StreamARN = `${kArnPrefix}sub-sdk`;
      const { ConsumerARN } = (await send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "sdk" }))).Consumer;
      const put = async (from, n) => (await send(new PutRecordsCommand({ StreamName: "sub-sdk",
        Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: `p${from + i}`, Data: Buffer.from(`rec-${from + i}`) })) }))).Records.map((r) => r.SequenceNumber);
      const acked = await put(0, 20);
      const got = [];
      const consume = async (StartingPosition, until) => {
        const abort = new AbortController();
        const res = await send(new SubscribeToShardCommand({ ConsumerARN, ShardId: "shardId-000000000000", StartingPosition }),
          { abortSignal: abort.signal });
        let continuation;
        try {
          for await (const event of res.EventStream) {
            if (!event.SubscribeToShardEvent) continue;
            const e = event.SubscribeToShardEvent;
            got.push(...e.Records);
            continuation = e.ContinuationSequenceNumber;
            if (got.length >= until) break;
          }
        } finally {
          abort.abort();
        }
        return continuation;
      };
      const continuation = await consume({ Type: "TRIM_HORIZON" }, 20);
      acked.push(...await put(20, 15));
      await consume({ Type: "AFTER_SEQUENCE_NUMBER", SequenceNumber: continuation }, 35);
      assert.deepEqual(got.map((r) => r.SequenceNumber), acked);
      got.forEach((r, i) => {
        assert.equal(Buffer.from(r.Data).toString(), `rec-${i}`);
        assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
      });
    });

    test("SubscribeToShard through the SDK follows a split: ChildShards at the parent's end, then the children", async () => {
      await createStream("sub-split", 1);
      const StreamARN = `${kArnPrefix}sub-split`;
      const { ConsumerARN } = (await send(new RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "split" }))).Consumer;
      const put = async (from, n) => (await send(new PutRecordsCommand({ StreamName: "sub-split",
        Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: `p${from + i}`, Data: Buffer.from(`rec-${from + i}`) })) }))).Records;
      const before = await put(0, 10);
      // Reads one subscription until `done(records, event)` or the server ends it.
      const subscribe = async (ShardId, StartingPosition, done) => {
        const abort = new AbortController();
        const res = await send(new SubscribeToShardCommand({ ConsumerARN, ShardId, StartingPosition }), { abortSignal: abort.signal });
        const records = [];
        let last;
        try {
          for await (const event of res.EventStream) {
            if (!event.SubscribeToShardEvent) continue;
            last = event.SubscribeToShardEvent;
            records.push(...last.Records);
            if (await done(records, last)) break;
          }
        } finally {
          abort.abort();
        }
        return { records, last };
      };
      let split = false;
      const parent = await subscribe("shardId-000000000000", { Type: "TRIM_HORIZON" }, async (records, event) => {
        if (records.length >= 10 && !split) {
          split = true;
          await send(new SplitShardCommand({ StreamName: "sub-split", ShardToSplit: "shardId-000000000000",
            NewStartingHashKey: (1n << 127n).toString() })).catch((err) => {
            throw new Error(`SplitShardCommand: ${err.name}: ${err.message}`);
          });
        }
        return event.ChildShards?.length > 0;
      });
      assert.deepEqual(parent.records.map((r) => r.SequenceNumber), before.map((r) => r.SequenceNumber));
      const children = parent.last.ChildShards;
      assert.equal(children.length, 2);
      for (const c of children) assert.deepEqual(c.ParentShards, ["shardId-000000000000"]);
      const after = await put(10, 20);
      const shards = await listShards("sub-split");
      const got = [];
      for (const c of children) {
        const mine = after.filter((r) => r.ShardId === c.ShardId);
        const { records } = await subscribe(c.ShardId, { Type: "TRIM_HORIZON" }, (rs) => rs.length >= mine.length);
        assert.deepEqual(records.map((r) => r.SequenceNumber), mine.map((r) => r.SequenceNumber));
        for (const r of records) assert.equal(shardForHashKey(shards, hashKeyOf(r.PartitionKey)), c.ShardId);
        got.push(...records);
      }
      assert.equal(got.length, 20);
    });

    // ---- resharding under load ---------------------------------------------------------------

    test("resharding while 8 writers write and consumers read: every acknowledged record exactly once, per-key order", async () => {
      await createStream("reshard", 2);
      const stream = "reshard";
      const state = { stop: false, writersDone: false, errors: [] };
      const acked = new Map();  // key -> [counter...] in acknowledgement order
      const writer = async (w) => {
        const keys = Array.from({ length: 6 }, (_, i) => `w${w}-k${i}`);
        const counters = new Map(keys.map((k) => [k, 0]));
        while (!state.stop) {
          const Records = keys.map((k) => ({ PartitionKey: k, Data: Buffer.from(`${k}:${counters.get(k)}`) }));
          const out = await send(new PutRecordsCommand({ StreamName: stream, Records }));
          out.Records.forEach((r, i) => {
            if (r.ErrorCode) {
              state.errors.push(`${keys[i]}: ${r.ErrorCode} ${r.ErrorMessage}`);
              return;
            }
            const k = keys[i];
            if (!acked.has(k)) acked.set(k, []);
            acked.get(k).push(counters.get(k));
            counters.set(k, counters.get(k) + 1);
          });
          if (state.errors.length) throw new Error(state.errors.join("; "));
        }
      };

      // A consumer: reads each shard to its end (closed: NextShardIterator null) before any of its
      // children, follows ChildShards; an open shard is read until the writers have stopped and a
      // read returns nothing.
      const read = new Map();  // key -> [counter...] in read order
      const finished = new Set();
      const consumer = async () => {
        const started = new Set();
        const queue = (await send(new ListShardsCommand({ StreamName: stream }))).Shards.map((s) => s.ShardId);
        const parents = new Map();
        const readOne = async (shardId) => {
          let it = await iterator(stream, shardId, "TRIM_HORIZON");
          for (;;) {
            const stopped = state.writersDone;  // read before the call: nothing is acknowledged later
            const out = await send(new GetRecordsCommand({ ShardIterator: it }));
            for (const r of out.Records) {
              const [k, c] = Buffer.from(r.Data).toString().split(":");
              assert.equal(r.PartitionKey, k);
              if (!read.has(k)) read.set(k, []);
              read.get(k).push(Number(c));
            }
            if (!out.NextShardIterator) {
              for (const child of out.ChildShards ?? []) {
                parents.set(child.ShardId, child.ParentShards);
                if (!queue.includes(child.ShardId)) queue.push(child.ShardId);
              }
              finished.add(shardId);
              return;
            }
            if (out.Records.length === 0 && stopped) return;
            it = out.NextShardIterator;
            if (out.Records.length === 0) await sleep(20);
          }
        };
        const running = [];
        while (queue.some((s) => !started.has(s)) || running.length) {
          const ready = queue.filter((s) => !started.has(s) && (parents.get(s) ?? []).every((p) => finished.has(p)));
          for (const s of ready) {
            started.add(s);
            const p = readOne(s).finally(() => running.splice(running.indexOf(p), 1));
            running.push(p);
          }
          if (running.length) await Promise.race(running);
          else if (queue.some((s) => !started.has(s))) throw new Error(`shards ${queue} wait for parents that never finish`);
        }
      };

      // Names the operation and the error type (UnknownOperationException has no message).
      const reshard = (command) => send(command).catch((err) => {
        throw new Error(`${command.constructor.name}: ${err.name}: ${err.message}`);
      });
      const writers = Array.from({ length: 8 }, (_, w) => writer(w));
      const reader = consumer();
      let failure;
      try {
        await waitFor(() => [...acked.values()].reduce((n, l) => n + l.length, 0) > 500, 20000, "500 acknowledged records");
        await reshard(new SplitShardCommand({ StreamName: stream, ShardToSplit: "shardId-000000000000",
          NewStartingHashKey: ((1n << 128n) / 4n).toString() }));
        await waitFor(async () => (await send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary.StreamStatus === "ACTIVE", 20000, "ACTIVE after SplitShard");
        const mark = [...acked.values()].reduce((n, l) => n + l.length, 0);
        await waitFor(() => [...acked.values()].reduce((n, l) => n + l.length, 0) > mark + 500, 20000, "500 more records");
        await reshard(new UpdateShardCountCommand({ StreamName: stream, TargetShardCount: 6, ScalingType: "UNIFORM_SCALING" }));
        await waitFor(async () => (await send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary.StreamStatus === "ACTIVE", 20000, "ACTIVE after UpdateShardCount");
        const mark2 = [...acked.values()].reduce((n, l) => n + l.length, 0);
        await waitFor(() => [...acked.values()].reduce((n, l) => n + l.length, 0) > mark2 + 500, 20000, "500 more records after scaling");
      } catch (err) {
        failure = err;
      } finally {
        state.stop = true;
        await Promise.allSettled(writers);
        state.writersDone = true;
      }
      const readerError = await reader.then(() => null, (err) => err);  // it ends after the writers
      if (failure) throw failure;
      await Promise.all(writers);
      if (readerError) throw readerError;
      const summary = (await send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary;
      assert.equal(summary.OpenShardCount, 6);
      const shards = (await send(new ListShardsCommand({ StreamName: stream }))).Shards;
      assert.ok(shards.some((s) => s.SequenceNumberRange.EndingSequenceNumber), "closed parents are listed");
      for (const [k, counters] of acked) {
        assert.deepEqual(read.get(k), counters, `key ${k}: every acknowledged record read once, in order`);
      }
      assert.deepEqual([...read.keys()].filter((k) => !acked.has(k)), []);
    });
  });
}
