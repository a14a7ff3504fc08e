#include "secrets/redactor.h"

#include <cctype>
#include <vector>

namespace sluice::secrets {

void Redactor::Add(std::string value) {
  if (value.empty()) return;
  MutexLock lock(mu_);
  values_.insert(std::move(value));
}

size_t Redactor::size() const {
  MutexLock lock(mu_);
  return values_.size();
}

std::string Redactor::Redact(std::string_view text) const {
  std::string out(text);
  MutexLock lock(mu_);
  for (const std::string& secret : values_) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  return out;
}

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// URI form: mask the password of the userinfo and any "password=" query parameter.
std::string RedactUri(std::string_view dsn) {
  std::string out(dsn);
  const size_t scheme_end = out.find("://") + 3;
  size_t authority_end = out.find_first_of("/?", scheme_end);
  if (authority_end == std::string::npos) authority_end = out.size();
  const size_t at = out.rfind('@', authority_end);
  if (at != std::string::npos && at >= scheme_end) {
    const size_t colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, kMask);
    }
  }
  const size_t query = out.find('?');
  if (query == std::string::npos) return out;
  size_t pos = query + 1;
  while (pos < out.size()) {
    size_t end = out.find('&', pos);
    if (end == std::string::npos) end = out.size();
    std::string_view param(out.data() + pos, end - pos);
    if (StartsWith(param, "password=")) {
      const size_t value_start = pos + 9;
      out.replace(value_start, end - value_start, kMask);
      end = value_start + kMask.size();
    }
    pos = end + 1;
  }
  return out;
}

// key=value form, following libpq's conninfo grammar: values are bare words or single-quoted
// with backslash escapes; spaces may surround '='.
std::string RedactKeyValue(std::string_view dsn) {
  std::string out;
  size_t i = 0;
  const size_t n = dsn.size();
  while (i < n) {
    if (std::isspace(static_cast<unsigned char>(dsn[i]))) {
      out += dsn[i++];
      continue;
    }
    const size_t key_start = i;
    while (i < n && dsn[i] != '=' && !std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    const std::string_view key = dsn.substr(key_start, i - key_start);
    out.append(key);
    while (i < n && std::isspace(static_cast<unsigned char>(dsn[i]))) out += dsn[i++];
    if (i >= n || dsn[i] != '=') continue;  // malformed; copy on
    out += dsn[i++];
    while (i < n && std::isspace(static_cast<unsigned char>(dsn[i]))) out += dsn[i++];
    const size_t value_start = i;
    if (i < n && dsn[i] == '\'') {
      ++i;
      while (i < n && dsn[i] != '\'') i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
      if (i < n) ++i;  // closing quote
    } else {
      while (i < n && !std::isspace(static_cast<unsigned char>(dsn[i]))) {
        i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
      }
    }
    if (key == "password") {
      out.append(kMask);
    } else {
      out.append(dsn.substr(value_start, i - value_start));
    }
  }
  return out;
}

}  // namespace

std::string RedactDsn(std::string_view dsn) {
  if (StartsWith(dsn, "postgresql://") || StartsWith(dsn, "postgres://")) return RedactUri(dsn);
  return RedactKeyValue(dsn);
}

}  // namespace sluice::secrets
