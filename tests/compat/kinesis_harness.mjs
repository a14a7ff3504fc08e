// Helpers for the Kinesis Data Streams tests (compat and crash): raw JSON 1.1 calls, an
// independent MD5 → shard computation, an event-stream (application/vnd.amazon.eventstream)
// decoder written from the format, and a raw HTTP/1.1 SubscribeToShard client.
import crypto from "node:crypto";
import http from "node:http";
import zlib from "node:zlib";

export const kMaxHashKey = (1n << 128n) - 1n;

// One Kinesis JSON 1.1 call with fetch (HTTP/1.1); `body` is an object or a raw string.
// Resolves {status, headers, text, json}.
export async function kinesisRaw(endpoint, op, body, { timeoutMs = 15000 } = {}) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": op.includes(".") ? op : `Kinesis_20131202.${op}`,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

// MD5 of the UTF-8 partition key as an unsigned 128-bit big-endian integer (AWS's routing hash).
export function hashKeyOf(partitionKey) {
  return BigInt("0x" + crypto.createHash("md5").update(partitionKey, "utf8").digest("hex"));
}

// The even split of [0, 2^128-1] into n ranges that AWS (and kinesalite) create streams with.
export function evenSplit(n) {
  const step = (1n << 128n) / BigInt(n);
  return Array.from({ length: n }, (_, i) => ({
    StartingHashKey: (BigInt(i) * step).toString(),
    EndingHashKey: (i === n - 1 ? kMaxHashKey : BigInt(i + 1) * step - 1n).toString(),
  }));
}

// The open shard of `shards` (ListShards output) whose hash-key range contains `hashKey`.
export function shardForHashKey(shards, hashKey) {
  const hit = shards.filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber &&
    BigInt(s.HashKeyRange.StartingHashKey) <= hashKey &&
    hashKey <= BigInt(s.HashKeyRange.EndingHashKey));
  if (hit.length !== 1) throw new Error(`${hit.length} open shards contain hash key ${hashKey}`);
  return hit[0].ShardId;
}

// --- application/vnd.amazon.eventstream ------------------------------------------------------

// Decodes every whole message at the front of `buffer`; returns {messages, rest}. Each message is
// {headers: {name: value}, payload: Buffer}. Throws on a CRC mismatch or an unknown header type.
export function decodeEventMessages(buffer) {
  const messages = [];
  let at = 0;
  while (buffer.length - at >= 16) {
    const total = buffer.readUInt32BE(at);
    const headersLength = buffer.readUInt32BE(at + 4);
    const preludeCrc = buffer.readUInt32BE(at + 8);
    if (zlib.crc32(buffer.subarray(at, at + 8)) !== preludeCrc) {
      throw new Error(`event stream: prelude CRC mismatch at byte ${at}`);
    }
    if (total < 16 || headersLength > total - 16) {
      throw new Error(`event stream: bad lengths ${total}/${headersLength} at byte ${at}`);
    }
    if (buffer.length - at < total) break;
    const messageCrc = buffer.readUInt32BE(at + total - 4);
    if (zlib.crc32(buffer.subarray(at, at + total - 4)) !== messageCrc) {
      throw new Error(`event stream: message CRC mismatch at byte ${at}`);
    }
    const headers = {};
    let h = at + 12;
    const headersEnd = h + headersLength;
    while (h < headersEnd) {
      const nameLength = buffer.readUInt8(h);
      const name = buffer.subarray(h + 1, h + 1 + nameLength).toString("utf8");
      h += 1 + nameLength;
      const type = buffer.readUInt8(h++);
      switch (type) {
        case 0: headers[name] = true; break;
        case 1: headers[name] = false; break;
        case 2: headers[name] = buffer.readInt8(h); h += 1; break;
        case 3: headers[name] = buffer.readInt16BE(h); h += 2; break;
        case 4: headers[name] = buffer.readInt32BE(h); h += 4; break;
        case 5: case 8: headers[name] = buffer.readBigInt64BE(h); h += 8; break;
        case 6: case 7: {
          const length = buffer.readUInt16BE(h);
          const value = buffer.subarray(h + 2, h + 2 + length);
          headers[name] = type === 7 ? value.toString("utf8") : Buffer.from(value);
          h += 2 + length;
          break;
        }
        case 9: headers[name] = buffer.subarray(h, h + 16).toString("hex"); h += 16; break;
        default: throw new Error(`event stream: unknown header type ${type} of ${name}`);
      }
    }
    if (h !== headersEnd) throw new Error("event stream: headers overrun their length");
    messages.push({ headers, payload: Buffer.from(buffer.subarray(headersEnd, at + total - 4)) });
    at += total;
  }
  return { messages, rest: Buffer.from(buffer.subarray(at)) };
}

// SubscribeToShard over a raw HTTP/1.1 POST (chunked response). `onEvent(message, json)` gets
// every decoded message (json: its parsed payload); returning true ends the subscription (the
// request is destroyed). Resolves {status, headers, events, error} once the subscription ends
// (the server ends it, onEvent says stop, or the timeout: then it rejects).
export function subscribeRaw(endpoint, body, onEvent, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(endpoint);
    const payload = JSON.stringify(body);
    const events = [];
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    const req = http.request({
      host: url.hostname, port: url.port, method: "POST", path: "/",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "Kinesis_20131202.SubscribeToShard",
        "Content-Length": Buffer.byteLength(payload),
      },
    }, (res) => {
      const result = { status: res.statusCode, headers: res.headers, events, error: null };
      if (res.statusCode !== 200) {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => finish(resolve, { ...result, error: text }));
        return;
      }
      let pending = Buffer.alloc(0);
      res.on("data", (chunk) => {
        if (settled) return;
        try {
          const { messages, rest } = decodeEventMessages(Buffer.concat([pending, chunk]));
          pending = rest;
          for (const m of messages) {
            const json = m.payload.length ? JSON.parse(m.payload.toString("utf8")) : {};
            events.push({ headers: m.headers, json });
            if (onEvent(m, json)) {
              finish(resolve, result);
              req.destroy();
              return;
            }
          }
        } catch (err) {
          finish(reject, err);
          req.destroy();
        }
      });
      res.on("end", () => {
        if (pending.length) finish(reject, new Error(`${pending.length} trailing event-stream bytes`));
        else finish(resolve, result);
      });
      res.on("error", (err) => finish(reject, err));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(reject, new Error(`SubscribeToShard: no end within ${timeoutMs} ms after ` +
        `${events.length} events`));
    }, timeoutMs);
    req.on("error", (err) => finish(reject, err));
    req.end(payload);
  });
}
