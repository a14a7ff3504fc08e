// Ingest streams: what the streams/ service keeps of each (its catalog entry), and the values its
// API passes. API-neutral: no AWS names or wire strings here; the api/ handlers map these to
// Firehose or Kinesis shapes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "journal/journal.h"
#include "streams/hash_key.h"

namespace sluice::streams {

// Who made the stream and who manages its life.
enum class StreamKind : uint8_t {
  // The hidden ingest stream of a Direct PUT delivery stream: created, persisted and deleted by
  // its delivery stream (same name), not listed by the Kinesis API.
  kDeliveryOwned,
  // A stream of its own (Kinesis Data Streams), persisted in the catalog by the service.
  kStandalone,
};

enum class StreamStatus : uint8_t { kCreating, kActive, kUpdating, kDeleting };

// One shard (Kinesis) or partition (Firehose): a journal partition with the hash keys it owns.
struct Shard {
  uint32_t id = 0;  // the journal partition
  HashKeyRange hash_keys;
  std::optional<uint32_t> parent;           // after a split or merge
  std::optional<uint32_t> adjacent_parent;  // after a merge
  bool open = true;                         // a closed shard takes no more records
  // A closed shard's end: the offset after its last record (EndingSequenceNumber). 0 for an
  // intermediate shard of UpdateShardCount, closed as soon as it was made.
  std::optional<journal::Offset> end_offset;
  // When a reshard opened and closed the shard (epoch ms; 0: not known). A stream's first shards
  // open with the stream (StreamSpec::created_ms) and carry 0; catalogs written before these times
  // were kept carry 0 for every shard. ListShards' AT_TIMESTAMP / FROM_TIMESTAMP filters use them.
  int64_t opened_ms = 0;
  int64_t closed_ms = 0;
  bool operator==(const Shard&) const = default;
};

// A registered enhanced fan-out consumer (Kinesis RegisterStreamConsumer).
struct RegisteredConsumer {
  std::string name;  // [a-zA-Z0-9_.-]{1,128}
  int64_t created_ms = 0;
  bool operator==(const RegisteredConsumer&) const = default;
};

struct StreamSpec {
  std::string name;  // [a-zA-Z0-9_.-]{1,128}; also the journal stream name
  StreamKind kind = StreamKind::kStandalone;
  std::vector<Shard> shards;
  uint32_t retention_hours = 24;
  std::map<std::string, std::string> tags;
  int64_t created_ms = 0;  // set by Create when 0
  // Kinesis capacity mode: ON_DEMAND streams scale their shards with the write rate.
  bool on_demand = false;
  // Enforce AWS's per-shard write limits (1 MiB/s, 1,000 records/s) so that clients' retry logic
  // can be tested; off by default.
  bool enforce_shard_limits = false;
  std::vector<RegisteredConsumer> consumers;  // enhanced fan-out consumers, by registration

  // A stream of `shards` open shards 0..n-1 splitting the key space evenly.
  static StreamSpec WithEvenShards(std::string name, StreamKind kind, uint32_t shards);
};

struct StreamInfo {
  StreamSpec spec;
  StreamStatus status = StreamStatus::kActive;
};

// One record to append. Records without a partition key (Firehose) go where the service spreads
// them; with one, to the open shard owning MD5(partition_key) or `explicit_hash_key`.
struct Record {
  std::string data;
  std::string partition_key;
  std::optional<HashKey> explicit_hash_key;
};

// The journal payload of a record appended with a partition key (Service::Append): the key's
// length as 2 bytes little-endian, the key (1-1,024 bytes: Kinesis allows 256 characters, counted
// as UTF-16 units, so up to 768 bytes of UTF-8), then the data. docs/journal_format.md ("Payloads
// of keyed streams") documents it; readers of keyed streams split it back.
inline constexpr size_t kKeyedHeaderBytes = 2;
inline constexpr size_t kMaxPartitionKeyBytes = 1024;
std::string EncodeKeyed(std::string_view partition_key, std::string_view data);
// The bytes of a keyed payload before its data.
inline size_t KeyedHeaderSize(std::string_view partition_key) {
  return kKeyedHeaderBytes + partition_key.size();
}
// Writes the header and key of a keyed payload at `out` (KeyedHeaderSize(partition_key) bytes)
// and returns where its data goes: a front end decodes the data straight after it.
// REQUIRES: partition_key.size() <= kMaxPartitionKeyBytes.
char* WriteKeyedHeader(std::string_view partition_key, char* out);
struct KeyedView {
  std::string_view partition_key;
  std::string_view data;
};
// Splits a keyed payload; nullopt when it is not one (too short, or a key longer than the
// payload) — the reader reports it as corruption.
std::optional<KeyedView> SplitKeyed(std::string_view payload);

struct Position {
  uint32_t shard = 0;
  journal::Offset offset;
  bool operator==(const Position&) const = default;
};

// The outcome of one record: ok with its position, or why it was not stored —
// ResourceExhausted (the journal's quota of undelivered bytes is reached; retry later) or
// Unavailable (the disk failed; retry). position.shard is the shard the record was routed to in
// every case (Kinesis names it in per-record errors); position.offset is set only when ok.
struct AppendOutcome {
  Status status;
  Position position;
};

// Where a read starts (Kinesis ShardIteratorType).
struct StartingPosition {
  enum class Type : uint8_t { kTrimHorizon, kLatest, kAt, kAfter, kAtTimestamp };
  Type type = Type::kTrimHorizon;
  journal::Offset offset;    // kAt, kAfter
  int64_t timestamp_ms = 0;  // kAtTimestamp: the first record that arrived at or after it
};

}  // namespace sluice::streams
