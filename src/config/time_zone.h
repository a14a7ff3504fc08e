// Time zones for Firehose's CustomTimeZone: prefix timestamps are evaluated in the stream's zone.
// Zones are read from the system's IANA database (TZif files under /usr/share/zoneinfo, Debian
// package tzdata). Offsets come from the file's transition table; instants after its last
// transition keep the last offset (Debian's files list transitions through 2037).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::config {

class TimeZone {
 public:
  // UTC (no file needed).
  TimeZone() = default;
  // Loads an IANA zone such as "America/New_York" or "Europe/Paris"; "UTC" needs no file.
  // InvalidArgument for malformed names, NotFound-like InvalidArgument for unknown zones.
  static Result<TimeZone> Load(const std::string& name,
                               const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

  // Offset from UTC in seconds at the instant `epoch_s`.
  int32_t OffsetAt(int64_t epoch_s) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_ = "UTC";
  std::vector<int64_t> transitions_;  // ascending, epoch seconds
  std::vector<int32_t> offsets_;      // offset in force from transitions_[i]
  int32_t initial_offset_ = 0;        // before the first transition
};

}  // namespace sluice::config
