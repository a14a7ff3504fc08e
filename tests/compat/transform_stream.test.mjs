// `sluice transform` streams (issue 15): batches with bounded memory, --threads with output in
// input order, and the same bytes as one batch of the whole input (the csv header lists every
// column, rows of earlier batches get null for columns only later batches bring).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { makeTempDir, sluiceBin } from "./sluice_harness.mjs";

const dir = makeTempDir("transform-stream");
const config = path.join(dir, "sluice.yaml");
fs.writeFileSync(config, `
delivery_streams:
  - name: csv
    processors:
      - flatten: {}
    format: {csv: {header: true}}
  - name: csvnull
    processors:
      - flatten: {}
    format: {csv: {header: true, null: "\\\\N", delimiter: "|", line_ending: "\\r\\n"}}
  - name: jsonl
    processors:
      - flatten: {}
    format: jsonl
  - name: schema
    processors:
      - flatten: {explode: items}
      - schema: {columns: [{name: id, type: bigint, required: true}, {name: sku, source: items.sku, type: text}]}
    format: {csv: {header: true}}
  - name: lua
    processors:
      - lua:
          script: |
            function process(r, meta)
              if r.kind == "skip" then return "Dropped" end
              meta.partitionKeys.kind = r.kind
              return "Ok", r
            end
    format: {csv: {header: true}}
  - name: raw
    format: raw
`);

const run = (args, options = {}) =>
  spawnSync(sluiceBin(), ["transform", "--config", config, ...args], { encoding: "utf8", timeout: 120000, maxBuffer: 1 << 30, ...options });

// ~3.5 MB of records whose columns change along the input: "late" and deeper keys appear only
// in the last third, long strings with quotes, newlines and unicode, invalid lines, CRLF and empty
// lines, kinds for partition groups.
function records(count) {
  const out = [];
  const kinds = ["a", "b", "skip", "c"];
  for (let i = 0; i < count; i++) {
    if (i % 997 === 5) { out.push("{not json " + i); continue; }
    if (i % 1500 === 7) out.push("");
    const r = { id: i, kind: kinds[i % 4], text: `row ${i} said "hi",\nthen ünïcödé 日本 🚀 ` + "x".repeat(i % 300), items: [{ sku: `S${i}` }, { sku: `T${i}`, qty: i % 3 }] };
    if (i % 3 === 0) r.nested = { a: { b: { c: { d: { e: i } } } } };
    if (i > (count * 2) / 3) r.late = { v: i % 2 ? null : `late ${i}`, w: [i, { x: 1 }] };
    if (i === count - 1) r.very_last = true;
    out.push(JSON.stringify(r) + (i % 10 === 3 ? "\r" : ""));
  }
  return out.join("\n");  // no newline after the last line
}
const input = path.join(dir, "input.jsonl");
fs.writeFileSync(input, records(12000));
assert.ok(fs.statSync(input).size > 2.5 * 1024 * 1024, "several 1 MiB batches");

for (const stream of ["csv", "csvnull", "jsonl", "schema", "lua", "raw"]) {
  test(`${stream}: 1 MiB batches, 1 and 2 threads, give the bytes of one batch`, () => {
    const one = run(["--stream", stream, "--batch-mb", "64", "--threads", "1", input]);
    const failing = stream === "raw" ? 0 : 1;  // the invalid lines (raw does not parse)
    assert.equal(one.status, failing, one.stderr);
    const small = run(["--stream", stream, "--batch-mb", "1", "--threads", "1", input]);
    const two = run(["--stream", stream, "--batch-mb", "1", "--threads", "2", input]);
    assert.equal(small.stdout, one.stdout);
    assert.equal(two.stdout, one.stdout);
    assert.equal(small.stderr, one.stderr);
    assert.equal(two.stderr, one.stderr);
    assert.equal(small.status, failing);
    assert.equal(two.status, failing);
    if (failing) assert.match(one.stderr, /line 6: Transform\.InvalidJson/);
    if (stream === "csv") {
      const header = one.stdout.slice(0, one.stdout.indexOf("\n")).split(",");
      assert.deepEqual(header.slice(0, 4), ["id", "kind", "text", "items"]);
      assert.ok(header.includes("late_v") && header.at(-1) === "very_last", header.join(","));
      // The first row (a batch without late_* columns) has them as empty fields.
      const nl = one.stdout.indexOf("\n");
      const firstRow = one.stdout.slice(nl + 1, one.stdout.indexOf("\n", one.stdout.indexOf("\n", nl + 1) + 1));
      assert.ok(firstRow.startsWith('0,a,"row 0 said ""hi"",\nthen ünïcödé 日本 🚀 ",'), firstRow);
      assert.ok(firstRow.endsWith(",".repeat(header.length - 5)), firstRow);
    }
    if (stream === "lua") {
      assert.deepEqual(one.stdout.match(/^# partitionKeys: .*$/gm), ['# partitionKeys: {"kind":"a"}', '# partitionKeys: {"kind":"b"}', '# partitionKeys: {"kind":"c"}']);
    }
  });
}

test("rows of earlier batches get null for columns that only later batches bring", () => {
  const file = path.join(dir, "late.jsonl");
  const early = '{"a":1,"s":"' + "y".repeat(1000) + '"}\n';
  fs.writeFileSync(file, early.repeat(3000) + '{"a":2,"late":{"b":"x"}}\n');
  for (const [stream, first, last] of [
    ["csv", `a,s,late_b\n1,${"y".repeat(1000)},\n`, "2,,x\n"],
    ["csvnull", `a|s|late_b\r\n1|${"y".repeat(1000)}|\\N\r\n`, "2|\\N|x\r\n"],
    ["jsonl", `{"a":1,"s":"${"y".repeat(1000)}","late_b":null}\n`, '{"a":2,"s":null,"late_b":"x"}\n'],
  ]) {
    for (const threads of ["1", "2"]) {
      const r = run(["--stream", stream, "--batch-mb", "1", "--threads", threads, file]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith(first), `${stream}: ${r.stdout.slice(0, 80)}`);
      assert.ok(r.stdout.endsWith(last), `${stream}: ${r.stdout.slice(-80)}`);
      assert.equal(r.stdout.split(stream === "csvnull" ? "\r\n" : "\n").length, stream === "jsonl" ? 3002 : 3003);
    }
  }
});

// Peak RSS in KiB of `sluice transform` (GNU time's %M).
function peakRss(file) {
  const r = spawnSync("/usr/bin/time", ["-f", "%M", sluiceBin(), "transform", "--config", config, "--stream", "csv", "--batch-mb", "1", "--threads", "2", file],
    { encoding: "utf8", timeout: 300000, maxBuffer: 1 << 20, stdio: ["ignore", "ignore", "pipe"] });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split("\n");
  return Number(lines.at(-1));
}

test("memory does not grow with the input", { skip: !fs.existsSync("/usr/bin/time") && "needs /usr/bin/time (Debian time)" }, () => {
  const line = (i) => JSON.stringify({ id: i, user: { name: `user ${i}`, tags: ["a", "b"], address: { city: "Oslo", zip: i % 10000 } }, text: "t".repeat(400) }) + "\n";
  const block = Array.from({ length: 2000 }, (_, i) => line(i)).join("");  // ~1 MB
  const small = path.join(dir, "small.jsonl");
  const large = path.join(dir, "large.jsonl");
  fs.writeFileSync(small, block.repeat(6));
  fs.writeFileSync(large, block.repeat(60));
  assert.ok(fs.statSync(large).size > 50 * 1024 * 1024);
  const smallRss = peakRss(small);
  const largeRss = peakRss(large);
  // 10× the input: the peak stays that of a few batches (and far below the input size).
  assert.ok(largeRss < smallRss * 1.5 + 8192, `peak RSS ${largeRss} KiB for 60 MB vs ${smallRss} KiB for 6 MB`);
  assert.ok(largeRss * 1024 < fs.statSync(large).size, `peak RSS ${largeRss} KiB`);
});
