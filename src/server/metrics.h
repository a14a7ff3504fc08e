// The server's metrics, declared once (docs/metrics.md): Firehose ingest per delivery stream,
// the HTTP API by operation and status, and the journal's disk use.
#pragma once

#include "observe/metrics.h"

namespace sluice::server {

struct ServerMetrics {
  // Labels {stream}: Direct PUT ingest (records counted once durable).
  observe::Family<observe::Counter>& incoming_bytes;
  observe::Family<observe::Counter>& incoming_records;
  observe::Family<observe::Counter>& incoming_put_requests;
  observe::Family<observe::Counter>& throttled_records;
  // Labels {operation, status}; the histogram {operation}.
  observe::Family<observe::Counter>& http_requests;
  observe::Family<observe::Histogram>& http_request_duration;
  // Unlabelled gauges, set at scrape time.
  observe::Family<observe::Gauge>& journal_undelivered_bytes;
  observe::Family<observe::Gauge>& journal_quota_bytes;
  observe::Family<observe::Gauge>& journal_quota_used_ratio;
  observe::Family<observe::Gauge>& delivery_streams;
  observe::Family<observe::Gauge>& ready;
};

// The families in observe::Registry::Default(), declared on first use.
const ServerMetrics& Metrics();

}  // namespace sluice::server
