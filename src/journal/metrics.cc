#include "journal/metrics.h"

namespace sluice::journal {

const JournalMetrics& Metrics() {
  static const JournalMetrics* metrics = [] {
    observe::Registry& r = observe::Registry::Default();
    return new JournalMetrics{
        r.AddCounter("sluice_journal_appended_records_total",
                     "Records written and (with sync) fdatasync'ed to the journal.", {})
            .With({}),
        r.AddCounter("sluice_journal_appended_bytes_total",
                     "Frame bytes written to journal segments.", {})
            .With({}),
        r.AddCounter("sluice_journal_segments_created_total",
                     "Journal segments started (a partition's active segment rolled).", {})
            .With({}),
        r.AddCounter("sluice_journal_segments_deleted_total",
                     "Delivered journal segments deleted (retention, quota, disk reserve).", {})
            .With({}),
        r.AddHistogram(
             "sluice_journal_fdatasync_seconds", "Time of one group commit's fdatasync.", {},
             {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})
            .With({}),
        r.AddHistogram("sluice_journal_group_commit_records",
                       "Records per group commit (one write, one fdatasync).", {},
                       {1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000})
            .With({}),
    };
  }();
  return *metrics;
}

}  // namespace sluice::journal
