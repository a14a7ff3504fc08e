#include "streams/hash_key.h"

#include <openssl/evp.h>

#include <algorithm>

namespace sluice::streams {
namespace {

__extension__ typedef unsigned __int128 U128;

U128 ToU128(const HashKey& k) {
  return (static_cast<U128>(k.hi) << 64) | k.lo;
}

HashKey FromU128(U128 v) {
  return HashKey{static_cast<uint64_t>(v >> 64), static_cast<uint64_t>(v)};
}

}  // namespace

HashKey HashKey::FromPartitionKey(std::string_view partition_key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // One-shot EVP digest (MD5() is deprecated in OpenSSL 3); cannot fail for MD5 in memory.
  EVP_Digest(partition_key.data(), partition_key.size(), digest, &size, EVP_md5(), nullptr);
  HashKey k;
  for (int i = 0; i < 8; ++i) k.hi = (k.hi << 8) | digest[i];
  for (int i = 8; i < 16; ++i) k.lo = (k.lo << 8) | digest[i];
  return k;
}

std::optional<HashKey> HashKey::Parse(std::string_view decimal) {
  if (decimal.empty() || decimal.size() > 39) return std::nullopt;
  const U128 max = ToU128(Max());
  U128 v = 0;
  for (char c : decimal) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<unsigned>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return FromU128(v);
}

std::string HashKey::ToDecimal() const {
  U128 v = ToU128(*this);
  std::string out;
  do {
    out.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  std::reverse(out.begin(), out.end());
  return out;
}

HashKey HashKey::Prev() const {
  return FromU128(ToU128(*this) - 1);
}

HashKey HashKey::Next() const {
  return FromU128(ToU128(*this) + 1);
}

std::optional<HashKey> MiddleOf(const HashKeyRange& range) {
  const U128 start = ToU128(range.start);
  const U128 end = ToU128(range.end);
  if (end <= start) return std::nullopt;
  return FromU128(start + (end - start) / 2 + 1);
}

std::vector<HashKeyRange> EvenRanges(uint32_t n) {
  n = std::max<uint32_t>(n, 1);
  const U128 max = ToU128(HashKey::Max());
  // floor(2^128 / n) without 129-bit arithmetic: 2^128 = max + 1.
  const U128 step = max / n + (max % n + 1 == n ? 1 : 0);
  std::vector<HashKeyRange> ranges(n);
  for (uint32_t i = 0; i < n; ++i) {
    ranges[i].start = FromU128(step * i);
    ranges[i].end = i + 1 == n ? HashKey::Max() : FromU128(step * (i + 1) - 1);
  }
  return ranges;
}

}  // namespace sluice::streams
