#include "transform/schema.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "common/json_writer.h"
#include "transform/flatten.h"

namespace sluice::transform {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
}

bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}
int64_t DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

struct Civil {
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, micros = 0;
  int64_t offset_s = 0;  // local time = UTC + offset
};

bool ToMicros(const Civil& c, int64_t& out) {
  if (c.year < 1 || c.year > 9999 || c.month < 1 || c.month > 12 || c.day < 1 ||
      c.day > DaysInMonth(c.year, c.month) || c.hour > 23 || c.minute > 59 || c.second > 59) {
    return false;
  }
  int64_t seconds = DaysFromCivil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 +
                    c.second - c.offset_s;
  out = seconds * kMicrosPerSecond + c.micros;
  return true;
}

// Reads exactly [min_digits, max_digits] digits.
bool Digits(std::string_view s, size_t& i, size_t min_digits, size_t max_digits, int64_t& v) {
  size_t start = i;
  v = 0;
  while (i < s.size() && i - start < max_digits && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + (s[i] - '0');
    ++i;
  }
  return i - start >= min_digits;
}

// Fraction digits after the dot → microseconds (digits beyond 6 are truncated).
bool Fraction(std::string_view s, size_t& i, int64_t& micros) {
  size_t start = i;
  micros = 0;
  int64_t scale = 100'000;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    micros += (s[i] - '0') * scale;
    scale /= 10;
    ++i;
  }
  return i > start;
}

bool Offset(std::string_view s, size_t& i, int64_t& offset_s) {
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
    offset_s = 0;
    return true;
  }
  if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return false;
  int64_t sign = s[i] == '-' ? -1 : 1;
  ++i;
  int64_t hh = 0, mm = 0;
  if (!Digits(s, i, 2, 2, hh)) return false;
  if (i < s.size() && s[i] == ':') ++i;
  if (i < s.size() && s[i] >= '0' && s[i] <= '9' && !Digits(s, i, 2, 2, mm)) return false;
  if (hh > 23 || mm > 59) return false;
  offset_s = sign * (hh * 3600 + mm * 60);
  return true;
}

bool ParseIso8601(std::string_view s, Civil& c) {
  size_t i = 0;
  if (!Digits(s, i, 4, 4, c.year) || i >= s.size() || s[i++] != '-') return false;
  if (!Digits(s, i, 1, 2, c.month) || i >= s.size() || s[i++] != '-') return false;
  if (!Digits(s, i, 1, 2, c.day)) return false;
  if (i == s.size()) return true;
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
  ++i;
  if (!Digits(s, i, 2, 2, c.hour) || i >= s.size() || s[i++] != ':') return false;
  if (!Digits(s, i, 2, 2, c.minute)) return false;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!Digits(s, i, 2, 2, c.second)) return false;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      if (!Fraction(s, i, c.micros)) return false;
    }
  }
  if (i == s.size()) return true;
  return Offset(s, i, c.offset_s) && i == s.size();
}

bool ParsePattern(std::string_view s, std::string_view pattern, Civil& c) {
  size_t i = 0;
  for (size_t p = 0; p < pattern.size(); ++p) {
    if (pattern[p] != '%' || p + 1 == pattern.size()) {
      if (i >= s.size() || s[i] != pattern[p]) return false;
      ++i;
      continue;
    }
    char spec = pattern[++p];
    bool ok = true;
    switch (spec) {
      case 'Y': ok = Digits(s, i, 4, 4, c.year); break;
      case 'm': ok = Digits(s, i, 1, 2, c.month); break;
      case 'd': ok = Digits(s, i, 1, 2, c.day); break;
      case 'H': ok = Digits(s, i, 1, 2, c.hour); break;
      case 'M': ok = Digits(s, i, 2, 2, c.minute); break;
      case 'S': ok = Digits(s, i, 2, 2, c.second); break;
      case 'f': ok = Fraction(s, i, c.micros); break;
      case 'z': ok = Offset(s, i, c.offset_s); break;
      case '%': ok = i < s.size() && s[i++] == '%'; break;
      default: return false;
    }
    if (!ok) return false;
  }
  return i == s.size();
}

// Epoch number text (optional sign, digits, optional fraction) scaled to microseconds;
// fraction digits finer than a microsecond are truncated.
bool ParseEpoch(std::string_view s, int64_t unit_micros, int64_t& out) {
  constexpr int64_t kMax = 253402300799LL * kMicrosPerSecond;  // 9999-12-31 23:59:59
  constexpr int64_t kMin = -62135596800LL * kMicrosPerSecond;  // 0001-01-01
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && s[i] == '-') {
    negative = true;
    ++i;
  }
  size_t start = i;
  int64_t whole = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (whole > kMax / 10) return false;
    whole = whole * 10 + (s[i] - '0');
    ++i;
  }
  if (i == start || whole > kMax / unit_micros) return false;
  int64_t micros = whole * unit_micros;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t fstart = i;
    int64_t scale = unit_micros;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      scale /= 10;
      micros += (s[i] - '0') * scale;
      ++i;
    }
    if (i == fstart) return false;
  }
  if (i != s.size()) return false;
  if (negative) micros = -micros;
  if (micros > kMax || micros < kMin) return false;
  out = micros;
  return true;
}

void FormatTimestamp(int64_t micros, bool date_only, std::string& out) {
  int64_t seconds = micros >= 0 ? micros / kMicrosPerSecond
                                : -((-micros + kMicrosPerSecond - 1) / kMicrosPerSecond);
  int64_t frac = micros - seconds * kMicrosPerSecond;
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t sod = seconds - days * 86400;
  int64_t y = 0, m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  // Direct digits instead of snprintf: this runs once per timestamp value. y is 1..9999 (the
  // parsers and ToMicros bound it), so the fixed widths below match "%04d-%02d-%02d ...".
  char buf[32];
  char* p = buf;
  auto put = [&p](int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  put(y, 4);
  *p++ = '-';
  put(m, 2);
  *p++ = '-';
  put(d, 2);
  if (!date_only) {
    *p++ = ' ';
    put(sod / 3600, 2);
    *p++ = ':';
    put(sod / 60 % 60, 2);
    *p++ = ':';
    put(sod % 60, 2);
    if (frac != 0) {
      *p++ = '.';
      put(frac, 6);
    }
  }
  out.assign(buf, p);
}

bool ParseTime(const ColumnSpec& col, ValueKind kind, std::string_view text, int64_t& micros) {
  for (const auto& f : col.formats) {
    Civil c;
    switch (f.kind) {
      case TimeFormat::Kind::kIso8601:
        if (kind == ValueKind::kString && ParseIso8601(text, c) && ToMicros(c, micros)) return true;
        break;
      case TimeFormat::Kind::kPattern:
        if (kind == ValueKind::kString && ParsePattern(text, f.pattern, c) && ToMicros(c, micros)) {
          return true;
        }
        break;
      case TimeFormat::Kind::kEpochS:
        if (ParseEpoch(text, kMicrosPerSecond, micros)) return true;
        break;
      case TimeFormat::Kind::kEpochMs:
        if (ParseEpoch(text, 1000, micros)) return true;
        break;
      case TimeFormat::Kind::kEpochUs:
        if (ParseEpoch(text, 1, micros)) return true;
        break;
    }
  }
  return false;
}

// Integer text of a JSON number or string: "12", "-7", "12.000"; false for fractions/exponents.
bool ParseInteger(std::string_view text, int64_t& v, bool& out_of_range) {
  out_of_range = false;
  std::string_view whole = text;
  auto dot = text.find('.');
  if (dot != std::string_view::npos) {
    whole = text.substr(0, dot);
    auto frac = text.substr(dot + 1);
    if (frac.empty() || frac.find_first_not_of('0') != std::string_view::npos) return false;
  }
  if (whole.empty() || whole == "-") return false;
  auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), v);
  if (ec == std::errc::result_out_of_range) {
    out_of_range = true;
    return false;
  }
  return ec == std::errc() && ptr == whole.data() + whole.size();
}

// Exact decimal rounding to `scale` digits; false with a reason.
bool ConvertNumeric(std::string_view t, uint32_t precision, uint32_t scale, std::string& out,
                    std::string& why) {
  size_t i = 0;
  bool negative = false;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) negative = t[i++] == '-';
  // Reused across calls: no allocation per value once warm.
  static thread_local std::string digits;
  digits.clear();
  int64_t exponent = 0;
  size_t start = i;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') digits += t[i++];
  bool any = i > start;
  if (i < t.size() && t[i] == '.') {
    ++i;
    size_t fstart = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      digits += t[i++];
      --exponent;
    }
    any = any || i > fstart;
  }
  if (!any) {
    why = "not a decimal number";
    return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    int64_t e = 0;
    bool eneg = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) eneg = t[i++] == '-';
    size_t estart = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (e < 100'000) e = e * 10 + (t[i] - '0');
      ++i;
    }
    if (i == estart) {
      why = "not a decimal number";
      return false;
    }
    exponent += eneg ? -e : e;
  }
  if (i != t.size()) {
    why = "not a decimal number";
    return false;
  }
  auto nz = digits.find_first_not_of('0');
  if (nz == std::string::npos) {
    digits.clear();
  } else {
    digits.erase(0, nz);
  }
  int64_t shift = exponent + scale;  // scaled = digits * 10^shift
  if (digits.empty()) {
    digits = "0";
  } else if (shift >= 0) {
    if (static_cast<int64_t>(digits.size()) + shift > precision) {
      why = "too many digits for " + std::to_string(precision - scale) + " integer digits";
      return false;
    }
    digits.append(static_cast<size_t>(shift), '0');
  } else {
    auto drop = static_cast<size_t>(-shift);
    bool round_up = false;
    if (drop > digits.size()) {
      digits = "0";
    } else {
      round_up = digits[digits.size() - drop] >= '5';
      digits.resize(digits.size() - drop);
      if (digits.empty()) digits = "0";
    }
    if (round_up) {
      int k = static_cast<int>(digits.size()) - 1;
      while (k >= 0 && digits[k] == '9') digits[k--] = '0';
      if (k < 0) {
        digits.insert(digits.begin(), '1');
      } else {
        ++digits[k];
      }
    }
  }
  nz = digits.find_first_not_of('0');
  if (nz == std::string::npos) {
    digits.assign(1, '0');
  } else {
    digits.erase(0, nz);
  }
  if (digits.size() > precision && digits != "0") {
    why = "too many digits for " + std::to_string(precision - scale) + " integer digits";
    return false;
  }
  if (digits.size() < scale + 1) digits.insert(0, scale + 1 - digits.size(), '0');
  out.clear();
  if (negative && digits.find_first_not_of('0') != std::string::npos) out += '-';
  out.append(digits, 0, digits.size() - scale);
  if (scale > 0) {
    out += '.';
    out.append(digits, digits.size() - scale, scale);
  }
  return true;
}

// When converting `text` to the column's type would succeed and give back exactly `text`, sets
// the output kind and returns true (the caller then shares the bytes instead of converting).
// Conservative: false only means "run ConvertValue".
bool ConvertsToItself(const ColumnSpec& col, ValueKind kind, std::string_view text,
                      ValueKind& out_kind) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  switch (col.type) {
    case ColumnType::kJson:
      if (kind == ValueKind::kString) return false;  // gets quoted
      out_kind = ValueKind::kJson;
      return true;
    case ColumnType::kBoolean:
      if (kind == ValueKind::kJson || (text != "true" && text != "false")) return false;
      out_kind = ValueKind::kBool;
      return true;
    case ColumnType::kBigint:
    case ColumnType::kInteger: {
      // Canonical integer text: "0" or -?[1-9][0-9]*, at most 9 digits (fits int32 and int64).
      if (kind != ValueKind::kString && kind != ValueKind::kNumber) return false;
      size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
      const size_t digits = text.size() - i;
      if (digits == 0 || digits > 9 || !is_digit(text[i])) return false;
      if (text[i] == '0' && (digits > 1 || i == 1)) return false;
      for (size_t k = i + 1; k < text.size(); ++k) {
        if (!is_digit(text[k])) return false;
      }
      out_kind = ValueKind::kNumber;
      return true;
    }
    case ColumnType::kNumeric: {
      // Canonical numeric(p,s) text: -?D[.F] with D "0" (not negative) or [1-9][0-9]*, exactly
      // s fraction digits (no dot when s is 0), and at most p digits when D is not "0".
      if (kind != ValueKind::kString && kind != ValueKind::kNumber) return false;
      const bool negative = !text.empty() && text[0] == '-';
      size_t i = negative ? 1 : 0;
      const size_t int_start = i;
      while (i < text.size() && is_digit(text[i])) ++i;
      const size_t int_digits = i - int_start;
      if (int_digits == 0) return false;
      const bool zero = text[int_start] == '0';
      if (zero && (int_digits > 1 || negative)) return false;
      if (col.scale == 0) {
        if (i != text.size()) return false;
      } else {
        if (i == text.size() || text[i] != '.' || text.size() - i - 1 != col.scale) return false;
        for (size_t k = i + 1; k < text.size(); ++k) {
          if (!is_digit(text[k])) return false;
        }
      }
      if (!zero && int_digits + col.scale > col.precision) return false;
      out_kind = ValueKind::kNumber;
      return true;
    }
    default: return false;
  }
}

std::string ValueForMessage(std::string_view text) {
  constexpr size_t kMax = 100;
  if (text.size() <= kMax) return json::Quote(text);
  return json::Quote(text.substr(0, kMax)) + "...";
}

}  // namespace

std::string ColumnSpec::TypeName() const {
  switch (type) {
    case ColumnType::kText: return "text";
    case ColumnType::kBigint: return "bigint";
    case ColumnType::kInteger: return "integer";
    case ColumnType::kDouble: return "double";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kTimestamp: return "timestamp";
    case ColumnType::kDate: return "date";
    case ColumnType::kNumeric:
      return "numeric(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    case ColumnType::kJson: return "json";
  }
  return "?";
}

Status ParseColumnType(std::string_view text, ColumnSpec& spec) {
  struct Name {
    const char* name;
    ColumnType type;
  };
  static constexpr Name kNames[] = {
      {"text", ColumnType::kText},     {"varchar", ColumnType::kText},
      {"string", ColumnType::kText},   {"bigint", ColumnType::kBigint},
      {"int8", ColumnType::kBigint},   {"integer", ColumnType::kInteger},
      {"int", ColumnType::kInteger},   {"int4", ColumnType::kInteger},
      {"double", ColumnType::kDouble}, {"double precision", ColumnType::kDouble},
      {"float8", ColumnType::kDouble}, {"boolean", ColumnType::kBoolean},
      {"bool", ColumnType::kBoolean},  {"timestamp", ColumnType::kTimestamp},
      {"date", ColumnType::kDate},     {"json", ColumnType::kJson},
  };
  for (const auto& n : kNames) {
    if (text == n.name) {
      spec.type = n.type;
      return Status::Ok();
    }
  }
  for (std::string_view prefix : {"numeric(", "decimal("}) {
    if (text.substr(0, prefix.size()) != prefix || text.back() != ')') continue;
    auto inner = text.substr(prefix.size(), text.size() - prefix.size() - 1);
    auto comma = inner.find(',');
    int64_t p = 0, s = 0;
    size_t i = 0;
    auto pstr = inner.substr(0, comma);
    bool ok = Digits(pstr, i, 1, 2, p) && i == pstr.size();
    if (ok && comma != std::string_view::npos) {
      auto sstr = inner.substr(comma + 1);
      while (!sstr.empty() && sstr.front() == ' ') sstr.remove_prefix(1);
      i = 0;
      ok = Digits(sstr, i, 1, 2, s) && i == sstr.size();
    }
    if (!ok || p < 1 || p > 38 || s > p) {
      return Status::InvalidArgument("type \"" + std::string(text) +
                                     "\": numeric(p,s) needs 1 <= p <= 38 and 0 <= s <= p");
    }
    spec.type = ColumnType::kNumeric;
    spec.precision = static_cast<uint32_t>(p);
    spec.scale = static_cast<uint32_t>(s);
    return Status::Ok();
  }
  return Status::InvalidArgument("unknown type \"" + std::string(text) +
                                 "\"; allowed: text, bigint, integer, double, boolean, "
                                 "timestamp, date, numeric(p,s), json");
}

bool ConvertValue(const ColumnSpec& col, ValueKind kind, std::string_view text, ValueKind& out_kind,
                  std::string& out, std::string& error) {
  auto fail = [&](const std::string& why) {
    error = "column \"" + col.name + "\" (" + col.TypeName() + "): cannot convert " +
            (kind == ValueKind::kString ? ValueForMessage(text) : std::string(text)) + ": " + why;
    return false;
  };
  const bool scalar_text = kind == ValueKind::kString || kind == ValueKind::kNumber;
  switch (col.type) {
    case ColumnType::kText:
      out_kind = ValueKind::kString;
      out.assign(text);
      return true;
    case ColumnType::kJson:
      out_kind = ValueKind::kJson;
      if (kind == ValueKind::kString) {
        out.clear();
        json::AppendString(out, text);
      } else {
        out.assign(text);
      }
      return true;
    case ColumnType::kBigint:
    case ColumnType::kInteger: {
      if (!scalar_text) return fail("not an integer");
      int64_t v = 0;
      bool out_of_range = false;
      if (!ParseInteger(text, v, out_of_range)) {
        return fail(out_of_range ? "out of range for bigint" : "not an integer");
      }
      if (col.type == ColumnType::kInteger &&
          (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())) {
        return fail("out of range for integer");
      }
      out_kind = ValueKind::kNumber;
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      out.assign(buf, r.ptr);
      return true;
    }
    case ColumnType::kDouble: {
      if (!scalar_text) return fail("not a number");
      double v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc::result_out_of_range) return fail("out of range for double");
      if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
        return fail("not a number");
      }
      if (!std::isfinite(v)) return fail("not a finite number");
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      out_kind = ValueKind::kNumber;
      out.assign(buf, r.ptr);
      return true;
    }
    case ColumnType::kBoolean: {
      // The longest accepted spelling is "false"; anything longer is not a boolean.
      char buf[6];
      std::string_view lower;
      if (text.size() < sizeof buf) {
        for (size_t k = 0; k < text.size(); ++k) {
          char ch = text[k];
          buf[k] = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        }
        lower = std::string_view(buf, text.size());
      }
      out_kind = ValueKind::kBool;
      if (kind != ValueKind::kJson) {
        if (lower == "true" || lower == "t" || lower == "yes" || lower == "y" || lower == "1") {
          out = "true";
          return true;
        }
        if (lower == "false" || lower == "f" || lower == "no" || lower == "n" || lower == "0") {
          out = "false";
          return true;
        }
      }
      return fail("not a boolean");
    }
    case ColumnType::kTimestamp:
    case ColumnType::kDate: {
      int64_t micros = 0;
      if (!scalar_text || !ParseTime(col, kind, text, micros)) {
        std::string names;
        for (const auto& f : col.formats) {
          names += names.empty() ? "" : ", ";
          switch (f.kind) {
            case TimeFormat::Kind::kIso8601: names += "iso8601"; break;
            case TimeFormat::Kind::kEpochS: names += "epoch_s"; break;
            case TimeFormat::Kind::kEpochMs: names += "epoch_ms"; break;
            case TimeFormat::Kind::kEpochUs: names += "epoch_us"; break;
            case TimeFormat::Kind::kPattern: names += f.pattern; break;
          }
        }
        return fail("matches none of the formats [" + names + "]");
      }
      out_kind = ValueKind::kString;
      FormatTimestamp(micros, col.type == ColumnType::kDate, out);
      return true;
    }
    case ColumnType::kNumeric: {
      if (!scalar_text) return fail("not a decimal number");
      std::string why;
      if (!ConvertNumeric(text, col.precision, col.scale, out, why)) return fail(why);
      out_kind = ValueKind::kNumber;
      return true;
    }
  }
  return fail("unsupported type");
}

Result<std::unique_ptr<SchemaStage>> SchemaStage::Create(const SchemaParams& params,
                                                         const std::string& separator,
                                                         ColumnRegistry* columns) {
  std::unique_ptr<SchemaStage> stage(new SchemaStage());
  for (const ColumnSpec& spec : params.columns) {
    std::string flat;
    for (char ch : spec.source) {
      if (ch == '.') {
        flat += separator;
      } else {
        flat += ch;
      }
    }
    stage->source_ids_.push_back(columns->Intern(flat));
    stage->specs_.push_back(spec);
  }
  for (const auto& spec : stage->specs_) stage->output_ids_.push_back(columns->Intern(spec.name));
  stage->next_spec_same_source_.assign(stage->specs_.size(), -1);
  for (size_t s = stage->specs_.size(); s-- > 0;) {
    uint32_t src = stage->source_ids_[s];
    if (stage->first_spec_of_source_.size() <= src) {
      stage->first_spec_of_source_.resize(src + 1, -1);
    }
    stage->next_spec_same_source_[s] = stage->first_spec_of_source_[src];
    stage->first_spec_of_source_[src] = static_cast<int32_t>(s);
  }
  return stage;
}

void SchemaStage::ProcessRows(const std::vector<Item>& /*items*/, const RowTable& in, RowTable& out,
                              BatchContext& ctx) {
  const size_t n = specs_.size();
  // Arena offsets are per batch: forget the previous batch's conversions.
  memo_.assign(n, Memo{});
  default_memo_.assign(n, Memo{});
  for (const RowRef& row : in.rows) {
    if (ctx.Failed(row.record)) continue;
    found_.assign(n, nullptr);
    for (uint32_t c = row.first_cell; c < row.first_cell + row.cell_count; ++c) {
      const Cell& cell = in.cells[c];
      if (cell.column >= first_spec_of_source_.size()) continue;
      for (int32_t s = first_spec_of_source_[cell.column]; s >= 0; s = next_spec_same_source_[s]) {
        found_[s] = &cell;
      }
    }
    RowRef out_row{row.record, static_cast<uint32_t>(out.cells.size()), 0};
    bool failed = false;
    for (size_t s = 0; s < n && !failed; ++s) {
      const ColumnSpec& spec = specs_[s];
      const Cell* cell = found_[s];
      ValueKind out_kind;
      if (cell == nullptr || cell->kind == ValueKind::kNull) {
        if (spec.default_value) {
          Memo& m = default_memo_[s];
          if (!m.valid) {
            if (!ConvertValue(spec, spec.default_value->first, spec.default_value->second, out_kind,
                              text_, error_)) {
              ctx.Fail(row.record, "Schema.ConversionFailed", error_);
              failed = true;
              continue;
            }
            m.valid = true;
            m.out = ctx.arena.Make(output_ids_[s], out_kind, text_);
          }
          out.cells.push_back(m.out);
        } else if (spec.required) {
          ctx.Fail(row.record, "Schema.RequiredValueMissing",
                   "column \"" + spec.name + "\" (" + spec.TypeName() +
                       ") is required but the record has no value at \"" + spec.source + "\"");
          failed = true;
        }
        continue;
      }
      Memo& m = memo_[s];
      if (m.valid && m.in_offset == cell->offset && m.in_size == cell->size &&
          m.in_kind == cell->kind) {
        out.cells.push_back(m.out);
        continue;
      }
      Cell result;
      if (spec.type == ColumnType::kText) {
        // text keeps the bytes of any non-null value: share them.
        result = Cell{output_ids_[s], ValueKind::kString, cell->offset, cell->size};
      } else if (ConvertsToItself(spec, cell->kind, ctx.arena.Text(*cell), out_kind)) {
        result = Cell{output_ids_[s], out_kind, cell->offset, cell->size};
      } else {
        std::string_view text = ctx.arena.Text(*cell);
        if (!ConvertValue(spec, cell->kind, text, out_kind, text_, error_)) {
          ctx.Fail(row.record, "Schema.ConversionFailed", error_);
          failed = true;
          continue;
        }
        // Values whose canonical text is their input text are shared, not copied.
        if (out_kind == cell->kind && text_ == text) {
          result = Cell{output_ids_[s], out_kind, cell->offset, cell->size};
        } else {
          result = ctx.arena.Make(output_ids_[s], out_kind, text_);
        }
      }
      m = Memo{true, cell->kind, cell->offset, cell->size, result};
      out.cells.push_back(result);
    }
    if (failed) {
      out.cells.resize(out_row.first_cell);
      continue;
    }
    out_row.cell_count = static_cast<uint32_t>(out.cells.size()) - out_row.first_cell;
    out.rows.push_back(out_row);
  }
}

}  // namespace sluice::transform
