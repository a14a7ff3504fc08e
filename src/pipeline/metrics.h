// The delivery pipeline's metrics, declared once (docs/metrics.md lists them with their Firehose
// CloudWatch counterparts). Workers and builders look up their series once, at creation.
#pragma once

#include "observe/metrics.h"

namespace sluice::pipeline {

struct PipelineMetrics {
  // Labels {stream, partition}.
  observe::Family<observe::Counter>& delivery_to_s3_bytes;
  observe::Family<observe::Counter>& delivery_to_s3_records;
  observe::Family<observe::Counter>& delivery_to_s3_success;
  observe::Family<observe::Counter>& delivery_to_s3_failures;
  observe::Family<observe::Counter>& delivery_to_s3_object_count;
  observe::Family<observe::Gauge>& delivery_to_s3_data_freshness;
  observe::Family<observe::Counter>& backup_to_s3_bytes;
  observe::Family<observe::Counter>& backup_to_s3_records;
  observe::Family<observe::Counter>& backup_to_s3_success;
  observe::Family<observe::Counter>& backup_to_s3_failures;
  // Labels {stream, partition, engine}.
  observe::Family<observe::Counter>& delivery_to_redshift_bytes;
  observe::Family<observe::Counter>& delivery_to_redshift_records;
  observe::Family<observe::Counter>& delivery_to_redshift_success;
  observe::Family<observe::Counter>& delivery_to_redshift_failures;
  observe::Family<observe::Counter>& warehouse_ledger_skips;
  // Labels {stream, type}: type is the error output type ("processing-failed", ...).
  observe::Family<observe::Counter>& error_output_records;
  // Labels {stream, destination}: destination is s3, backup, warehouse or error_output.
  observe::Family<observe::Counter>& retries;
  // Labels {stream}.
  observe::Family<observe::Histogram>& execute_processing_duration;
  observe::Family<observe::Counter>& execute_processing_success;
  observe::Family<observe::Counter>& succeed_processing_records;
  observe::Family<observe::Counter>& succeed_processing_bytes;
  observe::Family<observe::Counter>& failed_processing_records;
  observe::Family<observe::Counter>& dropped_processing_records;
  observe::Family<observe::Gauge>& partition_count;
  observe::Family<observe::Counter>& partition_count_exceeded;
};

// The families in observe::Registry::Default(), declared on first use.
const PipelineMetrics& Metrics();

}  // namespace sluice::pipeline
