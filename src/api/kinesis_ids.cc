#include "api/kinesis_ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <ctime>

#include "common/base64.h"
#include "common/file_util.h"
#include "streams/stream.h"

namespace sluice::api {
namespace {

// A 192-bit unsigned integer as 6 little-endian 32-bit limbs: enough for 47 hex digits.
using Big = std::array<uint32_t, 6>;
constexpr size_t kSeqHexDigits = 47;

void PutHex(std::string& out, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) out.push_back("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
}

Big FromHex(std::string_view hex) {
  Big b{};
  size_t bit = 0;
  for (size_t i = hex.size(); i-- > 0; bit += 4) {
    char c = hex[i];
    uint32_t v = c <= '9' ? static_cast<uint32_t>(c - '0') : static_cast<uint32_t>(c - 'a' + 10);
    b[bit / 32] |= v << (bit % 32);
  }
  return b;
}

std::string ToDecimal(Big b) {
  // 192 bits have at most 58 decimal digits; written from the end, nine per division.
  char buf[72];
  size_t pos = sizeof buf;
  auto zero = [&] {
    for (uint32_t l : b) {
      if (l != 0) return false;
    }
    return true;
  };
  while (!zero()) {
    uint64_t rem = 0;
    for (size_t i = b.size(); i-- > 0;) {
      uint64_t cur = (rem << 32) | b[i];
      b[i] = static_cast<uint32_t>(cur / 1'000'000'000);
      rem = cur % 1'000'000'000;
    }
    for (int d = 0; d < 9; ++d, rem /= 10) buf[--pos] = static_cast<char>('0' + rem % 10);
  }
  while (pos < sizeof buf && buf[pos] == '0') ++pos;
  if (pos == sizeof buf) return "0";
  return std::string(buf + pos, sizeof buf - pos);
}

// nullopt when the value does not fit 192 bits.
std::optional<Big> FromDecimal(std::string_view decimal) {
  Big b{};
  for (char c : decimal) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t carry = static_cast<uint64_t>(c - '0');
    for (auto& limb : b) {
      uint64_t cur = static_cast<uint64_t>(limb) * 10 + carry;
      limb = static_cast<uint32_t>(cur);
      carry = cur >> 32;
    }
    if (carry != 0) return std::nullopt;
  }
  return b;
}

std::string ToHex(const Big& b, size_t digits) {
  std::string out;
  for (size_t i = digits; i-- > 0;) {
    uint32_t v = (b[(i * 4) / 32] >> ((i * 4) % 32)) & 0xf;
    out.push_back("0123456789abcdef"[v]);
  }
  return out;
}

// True when no bit at or above `digits` hex digits is set.
bool FitsHexDigits(const Big& b, size_t digits) {
  for (size_t bit = digits * 4; bit < b.size() * 32; ++bit) {
    if ((b[bit / 32] >> (bit % 32)) & 1) return false;
  }
  return true;
}

uint64_t ReadHex(std::string_view hex) {
  uint64_t v = 0;
  for (char c : hex) v = (v << 4) | (c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
}

void PutBE(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBE(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

constexpr std::string_view kIteratorPrefix{"\0\0\0\0\0\0\0\1", 8};
constexpr std::string_view kTokenPrefix{"\0\0\0\0\0\0\0\2", 8};
constexpr size_t kMacBytes = 16;
constexpr size_t kKeyBytes = 32;

}  // namespace

std::string EncodeSequenceNumber(const SequenceParts& p) {
  std::string hex = "2";
  PutHex(hex, static_cast<uint64_t>(p.stream_created_ms), 11);
  PutHex(hex, p.index, 16);
  PutHex(hex, p.shard, 8);
  hex.append(10, '0');
  hex.push_back('2');
  return ToDecimal(FromHex(hex));
}

std::optional<SequenceParts> DecodeSequenceNumber(std::string_view decimal) {
  if (!IsSequenceNumberSyntax(decimal)) return std::nullopt;
  auto big = FromDecimal(decimal);
  if (!big || !FitsHexDigits(*big, kSeqHexDigits)) return std::nullopt;
  std::string hex = ToHex(*big, kSeqHexDigits);
  if (hex.front() != '2' || hex.back() != '2' || hex.compare(36, 10, std::string(10, '0')) != 0) {
    return std::nullopt;
  }
  SequenceParts p;
  p.stream_created_ms = static_cast<int64_t>(ReadHex(std::string_view(hex).substr(1, 11)));
  p.index = ReadHex(std::string_view(hex).substr(12, 16));
  p.shard = static_cast<uint32_t>(ReadHex(std::string_view(hex).substr(28, 8)));
  return p;
}

bool IsSequenceNumberSyntax(std::string_view d) {
  if (d.empty() || d.size() > 129) return false;
  if (d == "0") return true;
  if (d[0] < '1' || d[0] > '9') return false;
  for (char c : d) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string ShardIdString(uint32_t shard) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shardId-%012u", shard);
  return buf;
}

std::optional<uint32_t> ParseShardId(std::string_view text) {
  size_t dash = text.rfind('-');
  std::string_view digits = dash == std::string_view::npos ? text : text.substr(dash + 1);
  if (digits.empty() || digits.size() > 12) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 2147483647) return std::nullopt;
  return static_cast<uint32_t>(v);
}

Result<IteratorCodec> IteratorCodec::Open(const std::string& path) {
  if (fs::Exists(path)) {
    SLUICE_ASSIGN_OR_RETURN(std::string key, fs::ReadFile(path));
    if (key.size() != kKeyBytes) {
      return Status::Corruption(path + ": the iterator key is " + std::to_string(key.size()) +
                                " bytes, not " + std::to_string(kKeyBytes) +
                                " (delete it to issue new iterators; old ones become invalid)");
    }
    return IteratorCodec(std::move(key));
  }
  if (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    SLUICE_RETURN_IF_ERROR(fs::CreateDirs(path.substr(0, slash)));
  }
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return Status::Internal("no random bytes for the iterator key");
  }
  SLUICE_RETURN_IF_ERROR(fs::WriteFileAtomically(path, key));
  if (::chmod(path.c_str(), 0600) != 0) return Status::Internal("chmod 0600 " + path + " failed");
  return IteratorCodec(std::move(key));
}

std::string IteratorCodec::Mac(std::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), kMacBytes);
}

std::string IteratorCodec::Encode(const IteratorParts& p) const {
  std::string raw(kIteratorPrefix);
  PutBE(raw, static_cast<uint64_t>(p.stream_created_ms), 8);
  PutBE(raw, p.shard, 4);
  PutBE(raw, p.offset, 8);
  PutBE(raw, static_cast<uint64_t>(p.issued_ms), 8);
  raw.push_back(static_cast<char>(p.stream.size()));
  raw += p.stream;
  raw += Mac(raw);
  return base64::Encode(raw);
}

std::optional<IteratorParts> IteratorCodec::Decode(std::string_view iterator) const {
  if (iterator.size() > 512) return std::nullopt;
  auto raw = base64::Decode(iterator);
  constexpr size_t kFixed = 8 + 8 + 4 + 8 + 8 + 1;
  if (!raw || raw->size() < kFixed + 1 + kMacBytes || raw->compare(0, 8, kIteratorPrefix) != 0) {
    return std::nullopt;
  }
  const size_t name_len = static_cast<uint8_t>((*raw)[kFixed - 1]);
  if (raw->size() != kFixed + name_len + kMacBytes) return std::nullopt;
  std::string_view body(raw->data(), kFixed + name_len);
  std::string mac = Mac(body);
  if (CRYPTO_memcmp(mac.data(), raw->data() + body.size(), kMacBytes) != 0) return std::nullopt;
  IteratorParts p;
  p.stream_created_ms = static_cast<int64_t>(GetBE(*raw, 8, 8));
  p.shard = static_cast<uint32_t>(GetBE(*raw, 16, 4));
  p.offset = GetBE(*raw, 20, 8);
  p.issued_ms = static_cast<int64_t>(GetBE(*raw, 28, 8));
  p.stream = std::string(body.substr(kFixed, name_len));
  return p;
}

std::string IteratorCodec::EncodeToken(std::string_view subject, std::string_view after,
                                       int64_t issued_ms) const {
  std::string raw(kTokenPrefix);
  PutBE(raw, static_cast<uint64_t>(issued_ms), 8);
  PutBE(raw, subject.size(), 2);
  raw += subject;
  PutBE(raw, after.size(), 2);
  raw += after;
  raw += Mac(raw);
  return base64::Encode(raw);
}

std::optional<IteratorCodec::Token> IteratorCodec::DecodeToken(std::string_view token) const {
  if (token.size() > 1048576) return std::nullopt;
  auto raw = base64::Decode(token);
  if (!raw || raw->size() < 8 + 8 + 2 + 2 + kMacBytes || raw->compare(0, 8, kTokenPrefix) != 0) {
    return std::nullopt;
  }
  const size_t body_len = raw->size() - kMacBytes;
  std::string mac = Mac(std::string_view(raw->data(), body_len));
  if (CRYPTO_memcmp(mac.data(), raw->data() + body_len, kMacBytes) != 0) return std::nullopt;
  Token t;
  t.issued_ms = static_cast<int64_t>(GetBE(*raw, 8, 8));
  size_t at = 16;
  const size_t subject_len = GetBE(*raw, at, 2);
  at += 2;
  if (at + subject_len + 2 > body_len) return std::nullopt;
  t.subject = raw->substr(at, subject_len);
  at += subject_len;
  const size_t after_len = GetBE(*raw, at, 2);
  at += 2;
  if (at + after_len != body_len) return std::nullopt;
  t.after = raw->substr(at, after_len);
  return t;
}

std::string AmzUtcString(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S UTC %Y", &tm);
  return buf;
}

std::string EpochSecondsText(int64_t ms) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buf;
}

bool WriteKinesisRecord(json::Writer& w, int64_t stream_created_ms, uint32_t shard,
                        const journal::StoredRecord& record) {
  auto keyed = streams::SplitKeyed(record.data);
  if (!keyed) return false;
  w.BeginObject();
  w.Key("SequenceNumber");
  w.String(EncodeSequenceNumber({stream_created_ms, shard, record.offset.value + 1}));
  w.Key("ApproximateArrivalTimestamp");
  w.Raw(EpochSecondsText(record.arrival_ms));
  w.Key("Data");
  w.String(base64::Encode(keyed->data));
  w.Key("PartitionKey");
  w.String(keyed->partition_key);
  w.EndObject();
  return true;
}

void WriteHashKeyRange(json::Writer& w, const streams::HashKeyRange& r) {
  w.Key("HashKeyRange");
  w.BeginObject();
  w.Key("StartingHashKey");
  w.String(r.start.ToDecimal());
  w.Key("EndingHashKey");
  w.String(r.end.ToDecimal());
  w.EndObject();
}

void WriteChildShards(json::Writer& w, const streams::StreamSpec& spec, uint32_t shard) {
  w.Key("ChildShards");
  w.BeginArray();
  for (const auto& child : spec.shards) {
    if (child.parent != shard && child.adjacent_parent != shard) continue;
    w.BeginObject();
    w.Key("ShardId");
    w.String(ShardIdString(child.id));
    w.Key("ParentShards");
    w.BeginArray();
    if (child.parent) w.String(ShardIdString(*child.parent));
    if (child.adjacent_parent) w.String(ShardIdString(*child.adjacent_parent));
    w.EndArray();
    WriteHashKeyRange(w, child.hash_keys);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace sluice::api
