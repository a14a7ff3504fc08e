// The journal's metrics, declared once (docs/metrics.md): group commits across all partitions.
#pragma once

#include "observe/metrics.h"

namespace sluice::journal {

struct JournalMetrics {
  observe::Counter& appended_records;
  observe::Counter& appended_bytes;
  observe::Counter& segments_created;
  observe::Counter& segments_deleted;
  observe::Histogram& fdatasync_seconds;
  observe::Histogram& group_records;
};

// The series in observe::Registry::Default(), declared on first use.
const JournalMetrics& Metrics();

}  // namespace sluice::journal
