#include "server/metrics.h"

namespace sluice::server {

const ServerMetrics& Metrics() {
  static const ServerMetrics* metrics = [] {
    observe::Registry& r = observe::Registry::Default();
    const std::vector<std::string> s{"stream"};
    return new ServerMetrics{
        r.AddCounter("sluice_firehose_incoming_bytes_total",
                     "Bytes of records acknowledged by PutRecord/PutRecordBatch (IncomingBytes).",
                     s),
        r.AddCounter("sluice_firehose_incoming_records_total",
                     "Records acknowledged by PutRecord/PutRecordBatch (IncomingRecords).", s),
        r.AddCounter("sluice_firehose_incoming_put_requests_total",
                     "PutRecord and PutRecordBatch requests that reached the stream "
                     "(IncomingPutRequests).",
                     s),
        r.AddCounter("sluice_firehose_throttled_records_total",
                     "Records refused because the disk quota was reached (ThrottledRecords).", s),
        r.AddCounter("sluice_http_requests_total",
                     "API requests answered, by operation (X-Amz-Target) and HTTP status.",
                     {"operation", "status"}),
        r.AddHistogram("sluice_http_request_duration_seconds",
                       "Time from a request's arrival to its answer (after fdatasync for puts).",
                       {"operation"}, observe::LatencyBucketsSeconds()),
        r.AddGauge("sluice_journal_undelivered_bytes",
                   "Journal bytes not yet checkpointed past by every consumer (counted against "
                   "the disk quota).",
                   {}),
        r.AddGauge("sluice_journal_quota_bytes", "The disk quota for undelivered data (quota_mb).",
                   {}),
        r.AddGauge("sluice_journal_quota_used_ratio",
                   "sluice_journal_undelivered_bytes / sluice_journal_quota_bytes.", {}),
        r.AddGauge("sluice_firehose_delivery_streams", "Delivery streams running.", {}),
        r.AddGauge("sluice_ready", "1 when /readyz answers 200, else 0.", {}),
    };
  }();
  return *metrics;
}

}  // namespace sluice::server
