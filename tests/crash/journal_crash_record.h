// Self-describing records for the journal crash test: the writer makes them, the checker verifies
// each one from its own bytes, so a record that is present but damaged is caught.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::crashtest {

// "<writer>:<thread>:<seq>:<len>|" followed by `len` filler bytes derived from that prefix.
inline std::string MakeCrashRecord(uint64_t writer, uint32_t thread, uint64_t seq) {
  uint64_t len = (seq * 7919 + thread * 104729) % 3000;
  std::string rec = std::to_string(writer) + ":" + std::to_string(thread) + ":" +
                    std::to_string(seq) + ":" + std::to_string(len) + "|";
  uint64_t h = 1469598103934665603ull;
  for (char c : rec) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  for (uint64_t i = 0; i < len; ++i) {
    rec.push_back(static_cast<char>('a' + (h + i * 31) % 26));
  }
  return rec;
}

// True if `rec` is exactly what MakeCrashRecord produced for the fields in its prefix.
inline bool VerifyCrashRecord(std::string_view rec) {
  auto bar = rec.find('|');
  if (bar == std::string_view::npos) return false;
  uint64_t fields[4] = {0, 0, 0, 0};
  size_t f = 0;
  for (size_t i = 0; i < bar; ++i) {
    char c = rec[i];
    if (c == ':') {
      if (++f >= 4) return false;
    } else if (c >= '0' && c <= '9') {
      fields[f] = fields[f] * 10 + static_cast<uint64_t>(c - '0');
    } else {
      return false;
    }
  }
  if (f != 3) return false;
  return rec == MakeCrashRecord(fields[0], static_cast<uint32_t>(fields[1]), fields[2]);
}

}  // namespace sluice::crashtest
