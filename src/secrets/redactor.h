// Redaction of secret values in free text (logs, error messages, DSNs).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "common/mutex.h"

namespace sluice::secrets {

// The text that replaces every secret value.
inline constexpr std::string_view kMask = "****";

// Knows every secret value resolved so far and masks each occurrence of any of them.
// Thread safety: all methods may be called concurrently.
class Redactor {
 public:
  Redactor() = default;
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  // Remembers `value` as secret. Empty values are ignored (they would match everywhere).
  void Add(std::string value) SLUICE_EXCLUDES(mu_);
  // `text` with every occurrence of a known secret (longest first) replaced by kMask.
  std::string Redact(std::string_view text) const SLUICE_EXCLUDES(mu_);
  size_t size() const SLUICE_EXCLUDES(mu_);

 private:
  struct LongestFirst {
    bool operator()(const std::string& a, const std::string& b) const {
      return a.size() != b.size() ? a.size() > b.size() : a < b;
    }
  };
  mutable Mutex mu_;
  std::set<std::string, LongestFirst> values_ SLUICE_GUARDED_BY(mu_);
};

// Hides passwords in a PostgreSQL connection string, without knowing them:
//   key=value form:   "host=db password='s e' user=x"  -> "host=db password=**** user=x"
//   URI form:         "postgresql://u:pw@h/db?password=pw" ->
//   "postgresql://u:****@h/db?password=****"
// Anything else is returned unchanged.
std::string RedactDsn(std::string_view dsn);

}  // namespace sluice::secrets
