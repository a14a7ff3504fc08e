#include "pipeline/object_key.h"

#include <openssl/sha.h>

#include <array>
#include <cstdio>
#include <cstring>

namespace sluice::pipeline {
namespace {

constexpr char kDefaultTimePrefix[] = "yyyy/MM/dd/HH/";
constexpr char kNameTime[] = "yyyy-MM-dd-HH-mm-ss";

std::array<unsigned char, SHA256_DIGEST_LENGTH> Digest(const std::string& s) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

// Evaluates `t`, appending the default hour prefix when it has no timestamp expression and no
// partition keys (as Firehose does).
Result<std::string> EvaluateWithDefaultTime(const config::PrefixTemplate& t,
                                            const config::PrefixContext& ctx) {
  const int64_t local_ms = ctx.timestamp_ms + int64_t{ctx.utc_offset_s} * 1000;
  SLUICE_ASSIGN_OR_RETURN(std::string prefix, t.Evaluate(ctx));
  if (!t.has_timestamp() && !t.uses_partition_keys()) {
    SLUICE_ASSIGN_OR_RETURN(std::string ts, config::FormatTimestamp(kDefaultTimePrefix, local_ms));
    prefix += ts;
  }
  return prefix;
}

}  // namespace

std::string BatchId::ToString() const {
  std::string s = stream + "/" + std::to_string(partition) + "/" + std::to_string(first) + "-" +
                  std::to_string(end);
  if (!group.empty()) s += "#" + group;
  return s;
}

std::string BatchId::Uuid() const {
  auto d = Digest(ToString());
  char buf[40];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1],
                d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14],
                d[15]);
  return buf;
}

uint64_t BatchId::Seed() const {
  auto d = Digest(ToString());
  uint64_t v;
  std::memcpy(&v, d.data() + 16, sizeof v);
  return v;
}

Result<KeyMaker> KeyMaker::Create(const config::StreamConfig& stream) {
  KeyMaker k;
  k.stream_ = stream.name;
  SLUICE_ASSIGN_OR_RETURN(k.staged_, config::PrefixTemplate::Parse(stream.staged.prefix, false));
  SLUICE_ASSIGN_OR_RETURN(k.raw_, config::PrefixTemplate::Parse(stream.raw.prefix, false));
  k.error_prefix_set_ = !stream.error_output_prefix.empty();
  if (k.error_prefix_set_) {
    SLUICE_ASSIGN_OR_RETURN(k.error_,
                            config::PrefixTemplate::Parse(stream.error_output_prefix, true));
  } else {
    // Firehose: with no ErrorOutputPrefix, errors go under <Prefix><error-output-type>/.
    // Only allowed when Prefix has no expressions, so its text is literal.
    SLUICE_ASSIGN_OR_RETURN(k.error_,
                            config::PrefixTemplate::Parse(
                                stream.staged.prefix + "!{firehose:error-output-type}/", true));
  }
  SLUICE_ASSIGN_OR_RETURN(k.zone_, config::TimeZone::Load(stream.custom_time_zone));
  k.extension_ = stream.file_extension ? *stream.file_extension
                                       : std::string(compress::FileExtension(stream.compression));
  return k;
}

Result<std::string> KeyMaker::Name(const BatchId& batch, uint64_t version,
                                   int64_t oldest_ms) const {
  SLUICE_ASSIGN_OR_RETURN(std::string ts, config::FormatTimestamp(kNameTime, oldest_ms));
  return stream_ + "-" + std::to_string(version) + "-" + ts + "-" + batch.Uuid() + extension_;
}

Result<std::string> KeyMaker::StagedKey(
    const BatchId& batch, uint64_t version, int64_t oldest_ms,
    const std::map<std::string, std::string>& query_keys,
    const std::map<std::string, std::string>& lambda_keys) const {
  config::PrefixContext ctx;
  ctx.timestamp_ms = oldest_ms;
  ctx.utc_offset_s = zone_.OffsetAt(oldest_ms / 1000);
  ctx.random_seed = batch.Seed();
  ctx.partition_keys_from_query = query_keys;
  ctx.partition_keys_from_lambda = lambda_keys;
  SLUICE_ASSIGN_OR_RETURN(std::string prefix, EvaluateWithDefaultTime(staged_, ctx));
  SLUICE_ASSIGN_OR_RETURN(std::string name, Name(batch, version, oldest_ms));
  return prefix + name;
}

Result<std::string> KeyMaker::RawKey(const BatchId& batch, uint64_t version,
                                     int64_t oldest_ms) const {
  config::PrefixContext ctx;
  ctx.timestamp_ms = oldest_ms;
  ctx.utc_offset_s = zone_.OffsetAt(oldest_ms / 1000);
  ctx.random_seed = batch.Seed() ^ 0x5a5a5a5a;
  SLUICE_ASSIGN_OR_RETURN(std::string prefix, EvaluateWithDefaultTime(raw_, ctx));
  SLUICE_ASSIGN_OR_RETURN(std::string name, Name(batch, version, oldest_ms));
  return prefix + name;
}

Result<std::string> KeyMaker::ErrorKey(const BatchId& batch, uint64_t version, int64_t oldest_ms,
                                       ErrorOutputType type) const {
  config::PrefixContext ctx;
  ctx.timestamp_ms = oldest_ms;
  ctx.utc_offset_s = zone_.OffsetAt(oldest_ms / 1000);
  ctx.random_seed = batch.Seed() ^ 0xa5a5a5a5;
  ctx.error_output_type = std::string(ToString(type));
  SLUICE_ASSIGN_OR_RETURN(std::string prefix, EvaluateWithDefaultTime(error_, ctx));
  SLUICE_ASSIGN_OR_RETURN(std::string name, Name(batch, version, oldest_ms));
  return prefix + name;
}

}  // namespace sluice::pipeline
