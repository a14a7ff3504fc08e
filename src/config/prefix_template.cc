#include "config/prefix_template.h"

#include <cstdio>
#include <ctime>

namespace sluice::config {
namespace {

constexpr char kRandomAlphabet[] = "0123456789abcdef";

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Visits pattern tokens: letters runs (letter, count) and literal text.
template <typename OnField, typename OnLiteral>
Status WalkPattern(const std::string& p, OnField on_field, OnLiteral on_literal) {
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '\'') {
      if (i + 1 < p.size() && p[i + 1] == '\'') {
        on_literal(std::string(1, '\''));
        i += 2;
        continue;
      }
      size_t end = p.find('\'', i + 1);
      if (end == std::string::npos) {
        return Status::InvalidArgument("timestamp pattern '" + p + "' has an unterminated quote");
      }
      on_literal(p.substr(i + 1, end - i - 1));
      i = end + 1;
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t j = i;
      while (j < p.size() && p[j] == c) ++j;
      int count = static_cast<int>(j - i);
      if (std::string("yMdHmsSD").find(c) == std::string::npos) {
        return Status::InvalidArgument("timestamp pattern '" + p + "': unsupported letter '" +
                                       std::string(1, c) +
                                       "' (use y M d H m s S D, and quote literal text with ')");
      }
      on_field(c, count);
      i = j;
      continue;
    }
    on_literal(std::string(1, c));
    ++i;
  }
  return Status::Ok();
}

}  // namespace

Status ValidateTimestampPattern(const std::string& pattern) {
  return WalkPattern(
      pattern, [](char, int) {}, [](const std::string&) {});
}

Result<std::string> FormatTimestamp(const std::string& pattern, int64_t epoch_ms) {
  time_t secs = static_cast<time_t>(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
  int millis = static_cast<int>(epoch_ms - static_cast<int64_t>(secs) * 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  std::string out;
  auto pad = [&out](long v, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*ld", width, v);
    out += buf;
  };
  Status st = WalkPattern(
      pattern,
      [&](char c, int count) {
        switch (c) {
          case 'y':
            if (count == 2) {
              pad((tm.tm_year + 1900) % 100, 2);
            } else {
              pad(tm.tm_year + 1900, count);
            }
            break;
          case 'M': pad(tm.tm_mon + 1, count); break;
          case 'd': pad(tm.tm_mday, count); break;
          case 'H': pad(tm.tm_hour, count); break;
          case 'm': pad(tm.tm_min, count); break;
          case 's': pad(tm.tm_sec, count); break;
          case 'D': pad(tm.tm_yday + 1, count); break;
          case 'S': {
            // Fraction of a second: S = tenths, SS = hundredths, SSS = millis, more pads zeros.
            char buf[8];
            std::snprintf(buf, sizeof buf, "%03d", millis);
            std::string frac = buf;
            if (count <= 3) {
              out += frac.substr(0, static_cast<size_t>(count));
            } else {
              out += frac + std::string(static_cast<size_t>(count - 3), '0');
            }
            break;
          }
          default: break;
        }
      },
      [&](const std::string& lit) { out += lit; });
  if (!st.ok()) return st;
  return out;
}

Result<PrefixTemplate> PrefixTemplate::Parse(const std::string& text, bool is_error_prefix) {
  PrefixTemplate t;
  t.text_ = text;
  size_t i = 0;
  std::string literal;
  while (i < text.size()) {
    size_t open = text.find("!{", i);
    if (open == std::string::npos) {
      literal += text.substr(i);
      break;
    }
    literal += text.substr(i, open - i);
    size_t close = text.find('}', open);
    if (close == std::string::npos) {
      return Status::InvalidArgument("prefix '" + text + "': '!{' at position " +
                                     std::to_string(open) + " is not closed with '}'");
    }
    std::string expr = text.substr(open + 2, close - open - 2);
    size_t colon = expr.find(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument("prefix '" + text + "': expression '!{" + expr +
                                     "}' needs the form !{namespace:value}");
    }
    std::string ns = expr.substr(0, colon);
    std::string value = expr.substr(colon + 1);
    if (!literal.empty()) {
      t.parts_.push_back({Kind::kLiteral, literal});
      literal.clear();
    }
    if (ns == "timestamp") {
      SLUICE_RETURN_IF_ERROR(ValidateTimestampPattern(value).WithContext("prefix '" + text + "'"));
      t.parts_.push_back({Kind::kTimestamp, value});
      t.has_timestamp_ = true;
    } else if (ns == "firehose" && value == "random-string") {
      t.parts_.push_back({Kind::kRandom, ""});
    } else if (ns == "firehose" && value == "error-output-type") {
      if (!is_error_prefix) {
        return Status::InvalidArgument("prefix '" + text +
                                       "': !{firehose:error-output-type} is allowed only in the "
                                       "error output prefix");
      }
      t.parts_.push_back({Kind::kErrorOutputType, ""});
    } else if (ns == "partitionKeyFromQuery" || ns == "partitionKeyFromLambda") {
      if (is_error_prefix) {
        return Status::InvalidArgument("prefix '" + text + "': !{" + ns +
                                       ":...} is not allowed in the error output prefix");
      }
      if (value.empty()) {
        return Status::InvalidArgument("prefix '" + text + "': !{" + ns + ":} needs a key name");
      }
      t.parts_.push_back(
          {ns == "partitionKeyFromQuery" ? Kind::kQueryKey : Kind::kLambdaKey, value});
      t.uses_partition_keys_ = true;
    } else {
      return Status::InvalidArgument(
          "prefix '" + text + "': unknown expression '!{" + expr +
          "}'; allowed: !{timestamp:<pattern>}, !{firehose:random-string}, "
          "!{firehose:error-output-type}, !{partitionKeyFromQuery:<key>}, "
          "!{partitionKeyFromLambda:<key>}");
    }
    i = close + 1;
  }
  if (!literal.empty()) t.parts_.push_back({Kind::kLiteral, literal});
  return t;
}

Result<std::string> PrefixTemplate::Evaluate(const PrefixContext& ctx) const {
  std::string out;
  uint64_t rng = ctx.random_seed;
  for (const Part& p : parts_) {
    switch (p.kind) {
      case Kind::kLiteral: out += p.value; break;
      case Kind::kTimestamp: {
        SLUICE_ASSIGN_OR_RETURN(
            std::string s,
            FormatTimestamp(p.value, ctx.timestamp_ms + int64_t{ctx.utc_offset_s} * 1000));
        out += s;
        break;
      }
      case Kind::kRandom: {
        // 11 characters like Firehose's "046b6c7f-0b"; derived from the batch, so stable.
        uint64_t v = SplitMix64(rng);
        std::string r;
        for (int k = 0; k < 10; ++k) {
          r += kRandomAlphabet[v & 15];
          v >>= 4;
        }
        r.insert(8, "-");
        out += r;
        break;
      }
      case Kind::kErrorOutputType: out += ctx.error_output_type; break;
      case Kind::kQueryKey:
      case Kind::kLambdaKey: {
        const auto& keys = p.kind == Kind::kQueryKey ? ctx.partition_keys_from_query
                                                     : ctx.partition_keys_from_lambda;
        auto it = keys.find(p.value);
        if (it == keys.end()) {
          return Status::InvalidArgument("partition key '" + p.value +
                                         "' has no value for this record");
        }
        out += it->second;
        break;
      }
    }
  }
  return out;
}

Result<std::string> PrefixTemplate::EvaluateSample(int64_t timestamp_ms) const {
  PrefixContext ctx;
  ctx.timestamp_ms = timestamp_ms;
  ctx.error_output_type = "processing-failed";
  ctx.random_seed = 1;
  for (const Part& p : parts_) {
    if (p.kind == Kind::kQueryKey) ctx.partition_keys_from_query[p.value] = "key";
    if (p.kind == Kind::kLambdaKey) ctx.partition_keys_from_lambda[p.value] = "key";
  }
  return Evaluate(ctx);
}

}  // namespace sluice::config
