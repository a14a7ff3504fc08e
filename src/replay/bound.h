// The two ends of a replay range as a user writes them (`sluice replay --from … --to …`):
// a journal position or a record arrival time. Pure parsing; no I/O.
//
//   RecordId        40 hex digits, as PutRecord/PutRecordBatch returned it: incarnation (16),
//                   partition (8), offset (16) — the format of api::FirehoseRecordId
//   PARTITION:OFFSET  e.g. 0:1234
//   ISO-8601 time   2026-12-01T10:00:00Z, 2026-12-01T10:00:00.250+01:00 (a zone is required)
//   epoch ms        1796119200000 (up to 16 digits)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "journal/journal.h"

namespace sluice::replay {

// A record's place in the journal: partition and offset.
struct PositionBound {
  uint32_t partition = 0;
  journal::Offset offset;
  std::optional<uint64_t> incarnation;  // set when given as a RecordId
  bool operator==(const PositionBound&) const = default;
};

// A record arrival time: ms since the Unix epoch (UTC), as the journal stamps it.
struct TimeBound {
  int64_t ms = 0;
  bool operator==(const TimeBound&) const = default;
};

using Bound = std::variant<PositionBound, TimeBound>;

// Parses any of the forms above. InvalidArgument names what was expected.
Result<Bound> ParseBound(std::string_view text);
// A Firehose RecordId of Sluice (api::FirehoseRecordId).
Result<PositionBound> ParseRecordId(std::string_view text);
// ISO-8601 with a zone (Z or ±HH:MM / ±HHMM; 'T' or ' ' between date and time; seconds and a
// fraction optional, the fraction truncated to ms), or epoch milliseconds.
Result<int64_t> ParseTime(std::string_view text);

// "2026-12-01T10:00:00.000Z".
std::string FormatTime(int64_t ms);
// "partition 0 offset 12" or "2026-12-01T10:00:00.000Z".
std::string Describe(const Bound& bound);

}  // namespace sluice::replay
