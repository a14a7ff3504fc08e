// The opaque identifiers of the Kinesis Data Streams API and how Sluice encodes them.
//
// Sequence numbers (aws-wire-spec.md §2.5): 56-digit decimal strings, strictly increasing per
// shard, never reused. Sluice's layout is 47 hex digits read as one unsigned integer, written in
// decimal:
//     '2' | stream created ms (11) | index (16) | shard (8) | 0 (10) | '2'
// where index i names the position just before journal offset i: the record at offset o has
// index o + 1, index 0 is the shard's StartingSequenceNumber (before its first record), and a
// closed shard's EndingSequenceNumber is the index of its end offset (its last record's). So
// AFTER_SEQUENCE_NUMBER of any number, and a SubscribeToShard continuation number, resume at the
// right record even before the first one. The index dominates within a shard, so numbers grow
// with the offset, and a stream re-created under the same name (later created ms) never repeats
// an earlier one's numbers.
//
// Shard iterators (§2.5): base64 of 8 bytes 00 00 00 00 00 00 00 01 (so they begin "AAAAAAAAAAE",
// like AWS's), then a payload — stream created ms (8) | shard (4) | offset (8) | issued ms (8) |
// stream name length (1) | name — then the first 16 bytes of HMAC-SHA256(key, everything before).
// They are self-contained (a restart keeps them valid), tamper-evident (the key lives in the data
// dir) and expire 5 minutes after issue.
//
// Thread safety: all functions are pure; IteratorCodec is immutable after construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "common/status.h"
#include "journal/journal.h"
#include "streams/stream.h"

namespace sluice::api {

struct SequenceParts {
  int64_t stream_created_ms = 0;
  uint32_t shard = 0;
  uint64_t index = 0;  // journal offset + 1 for a record
};
std::string EncodeSequenceNumber(const SequenceParts& parts);
// nullopt when `decimal` is not a number of Sluice's layout.
std::optional<SequenceParts> DecodeSequenceNumber(std::string_view decimal);
// True when `decimal` matches the model pattern 0|([1-9]\d{0,128}).
bool IsSequenceNumberSyntax(std::string_view decimal);

// "shardId-000000000007"; ParseShardId accepts that form and, like AWS, a bare number or any
// "<prefix>-<digits>" form, and nullopt otherwise.
std::string ShardIdString(uint32_t shard);
std::optional<uint32_t> ParseShardId(std::string_view text);

struct IteratorParts {
  std::string stream;
  int64_t stream_created_ms = 0;
  uint32_t shard = 0;
  uint64_t offset = 0;
  int64_t issued_ms = 0;
};

inline constexpr int64_t kIteratorLifetimeMs = 300'000;

class IteratorCodec {
 public:
  // Loads the 32-byte key from `path`, creating it (random, mode 0600, durably) when missing.
  static Result<IteratorCodec> Open(const std::string& path);
  explicit IteratorCodec(std::string key) : key_(std::move(key)) {}

  std::string Encode(const IteratorParts& parts) const;
  // nullopt for anything this codec did not issue (forged, damaged, another server's key).
  std::optional<IteratorParts> Decode(std::string_view iterator) const;

  // Opaque continuation tokens (ListShards / ListStreams NextToken) use the same scheme with
  // their own prefix: `subject` and `after` (the last item returned) with the issue time.
  std::string EncodeToken(std::string_view subject, std::string_view after,
                          int64_t issued_ms) const;
  struct Token {
    std::string subject;
    std::string after;
    int64_t issued_ms = 0;
  };
  std::optional<Token> DecodeToken(std::string_view token) const;

 private:
  std::string Mac(std::string_view data) const;
  std::string key_;
};

// "Thu Jan 22 01:22:02 UTC 2015", as Kinesis words times in ExpiredIteratorException.
std::string AmzUtcString(int64_t ms);
// Epoch seconds with the millisecond fraction ("1441215410.867"), as AWS JSON writes timestamps.
std::string EpochSecondsText(int64_t ms);

// Writes one record of a keyed shard as GetRecords and SubscribeToShard return it
// ({SequenceNumber, ApproximateArrivalTimestamp, Data, PartitionKey}). False (nothing written)
// when its payload is not a keyed one.
bool WriteKinesisRecord(json::Writer& w, int64_t stream_created_ms, uint32_t shard,
                        const journal::StoredRecord& record);
// "HashKeyRange": {StartingHashKey, EndingHashKey}.
void WriteHashKeyRange(json::Writer& w, const streams::HashKeyRange& range);
// "ChildShards": [{ShardId, ParentShards, HashKeyRange}] of `shard` (at the end of a closed one).
void WriteChildShards(json::Writer& w, const streams::StreamSpec& spec, uint32_t shard);

}  // namespace sluice::api
