#include "replay/bound.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace sluice::replay {
namespace {

constexpr size_t kRecordIdDigits = 40;  // 16 incarnation + 8 partition + 16 offset
constexpr size_t kMaxEpochMsDigits = 16;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsXDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

std::optional<uint64_t> Decimal(std::string_view s, uint64_t max) {
  if (!AllOf(s, IsDigit) || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

uint64_t Hex(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    int d = IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `*pos`.
std::optional<unsigned> Digits(std::string_view s, size_t* pos, size_t n) {
  if (*pos + n > s.size() || !AllOf(s.substr(*pos, n), IsDigit)) return std::nullopt;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + static_cast<unsigned>(s[*pos + i] - '0');
  *pos += n;
  return v;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

std::optional<int64_t> ParseIso(std::string_view s) {
  size_t pos = 0;
  auto year = Digits(s, &pos, 4);
  if (!year || !Expect(s, &pos, '-')) return std::nullopt;
  auto month = Digits(s, &pos, 2);
  if (!month || !Expect(s, &pos, '-')) return std::nullopt;
  auto day = Digits(s, &pos, 2);
  if (!day || pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  auto hour = Digits(s, &pos, 2);
  if (!hour || !Expect(s, &pos, ':')) return std::nullopt;
  auto minute = Digits(s, &pos, 2);
  if (!minute) return std::nullopt;
  unsigned second = 0;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    auto sec = Digits(s, &pos, 2);
    if (!sec) return std::nullopt;
    second = *sec;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      size_t digits = 0;
      while (pos < s.size() && IsDigit(s[pos])) {
        if (digits < 3) millis = millis * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0 || digits > 9) return std::nullopt;
      for (size_t i = digits; i < 3; ++i) millis *= 10;
    }
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > DaysInMonth(*year, *month) || *hour > 23 ||
      *minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t zone_minutes = 0;
  if (pos >= s.size()) return std::nullopt;  // no zone: local time is ambiguous
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    auto zh = Digits(s, &pos, 2);
    if (!zh) return std::nullopt;
    Expect(s, &pos, ':');
    auto zm = Digits(s, &pos, 2);
    if (!zm || *zh > 23 || *zm > 59) return std::nullopt;
    zone_minutes = sign * static_cast<int64_t>(*zh * 60 + *zm);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(*year, *month, *day);
  const int64_t seconds = days * 86400 + *hour * 3600 + *minute * 60 + second - zone_minutes * 60;
  return seconds * 1000 + millis;
}

}  // namespace

Result<PositionBound> ParseRecordId(std::string_view text) {
  if (text.size() != kRecordIdDigits || !AllOf(text, IsXDigit)) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not a Sluice RecordId (" +
                                   std::to_string(kRecordIdDigits) + " hex digits)");
  }
  PositionBound p;
  p.incarnation = Hex(text.substr(0, 16));
  const uint64_t partition = Hex(text.substr(16, 8));
  p.partition = static_cast<uint32_t>(partition);
  p.offset = journal::Offset{Hex(text.substr(24, 16))};
  return p;
}

Result<int64_t> ParseTime(std::string_view text) {
  if (AllOf(text, IsDigit)) {
    auto ms = text.size() <= kMaxEpochMsDigits
                  ? Decimal(text, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                  : std::nullopt;
    if (!ms) {
      return Status::InvalidArgument("'" + std::string(text) +
                                     "' has too many digits for epoch milliseconds");
    }
    return static_cast<int64_t>(*ms);
  }
  if (auto ms = ParseIso(text)) return *ms;
  return Status::InvalidArgument(
      "'" + std::string(text) +
      "' is not a time: expected ISO-8601 with a zone, like 2026-12-01T10:00:00Z or "
      "2026-12-01T11:00:00.5+01:00, or epoch milliseconds");
}

Result<Bound> ParseBound(std::string_view text) {
  if (text.size() == kRecordIdDigits && AllOf(text, IsXDigit)) {
    SLUICE_ASSIGN_OR_RETURN(PositionBound p, ParseRecordId(text));
    return Bound{p};
  }
  if (auto colon = text.find(':'); colon != std::string_view::npos &&
                                   AllOf(text.substr(0, colon), IsDigit) &&
                                   AllOf(text.substr(colon + 1), IsDigit)) {
    auto partition = Decimal(text.substr(0, colon), std::numeric_limits<uint32_t>::max());
    auto offset = Decimal(text.substr(colon + 1), std::numeric_limits<uint64_t>::max());
    if (!partition || !offset) {
      return Status::InvalidArgument("'" + std::string(text) +
                                     "': partition or offset out of range");
    }
    return Bound{PositionBound{static_cast<uint32_t>(*partition), journal::Offset{*offset}, {}}};
  }
  auto ms = ParseTime(text);
  if (ms.ok()) return Bound{TimeBound{*ms}};
  // Digits only, or a date ("2026-…"): it was meant as a time.
  if (AllOf(text, IsDigit) ||
      (text.size() > 4 && AllOf(text.substr(0, 4), IsDigit) && text[4] == '-')) {
    return ms.status();
  }
  return Status::InvalidArgument(
      "'" + std::string(text) +
      "' is neither a position nor a time: expected a RecordId (40 hex digits, as PutRecord "
      "returned it), PARTITION:OFFSET (like 0:1234), an ISO-8601 time with a zone (like "
      "2026-12-01T10:00:00Z) or epoch milliseconds");
}

std::string FormatTime(int64_t ms) {
  int64_t days = ms >= 0 ? ms / 86'400'000 : -((-ms + 86'399'999) / 86'400'000);
  int64_t rest = ms - days * 86'400'000;
  // H. Hinnant's civil_from_days.
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  const auto r = static_cast<unsigned>(rest);  // [0, 86'400'000)
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", static_cast<long long>(y),
                m, d, r / 3'600'000, r / 60'000 % 60, r / 1000 % 60, r % 1000);
  return buf;
}

std::string Describe(const Bound& bound) {
  if (const auto* p = std::get_if<PositionBound>(&bound)) {
    return "partition " + std::to_string(p->partition) + " offset " +
           std::to_string(p->offset.value);
  }
  return FormatTime(std::get<TimeBound>(bound).ms);
}

}  // namespace sluice::replay
