// Kinesis hash keys: unsigned 128-bit integers. A record's hash key is the MD5 of its partition key
// (read as a big-endian integer) unless it names an explicit one; a shard owns an inclusive range
// of them. On the wire they are decimal strings ("0" .. "340282366920938463463374607431768211455").
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::streams {

struct HashKey {
  uint64_t hi = 0;
  uint64_t lo = 0;
  auto operator<=>(const HashKey&) const = default;

  static constexpr HashKey Max() { return {UINT64_MAX, UINT64_MAX}; }
  // MD5(partition_key) as a big-endian 128-bit integer, as Kinesis maps partition keys.
  static HashKey FromPartitionKey(std::string_view partition_key);
  // A decimal string of 1..39 digits no greater than Max(); nullopt otherwise.
  static std::optional<HashKey> Parse(std::string_view decimal);
  std::string ToDecimal() const;
  // The key one below / above this one. REQUIRES: not 0 / not Max().
  HashKey Prev() const;
  HashKey Next() const;
};

// An inclusive range [start, end] of hash keys.
struct HashKeyRange {
  HashKey start;
  HashKey end = HashKey::Max();
  bool Contains(const HashKey& key) const { return start <= key && key <= end; }
  bool operator==(const HashKeyRange&) const = default;
};

// Where an even split of `range` starts its upper half: start + floor((end - start) / 2) + 1, so
// that the lower half [start, result - 1] is no larger than the upper one. nullopt for a range of
// one key. For the whole key space it is 2^127, as EvenRanges(2).
std::optional<HashKey> MiddleOf(const HashKeyRange& range);

// The whole key space split into `n` (>= 1) contiguous ranges, as CreateStream does with
// ShardCount n: range i starts at i * floor(2^128 / n); the last ends at Max().
std::vector<HashKeyRange> EvenRanges(uint32_t n);

}  // namespace sluice::streams
