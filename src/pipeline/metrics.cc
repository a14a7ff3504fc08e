#include "pipeline/metrics.h"

namespace sluice::pipeline {

const PipelineMetrics& Metrics() {
  static const PipelineMetrics* metrics = [] {
    observe::Registry& r = observe::Registry::Default();
    const std::vector<std::string> sp{"stream", "partition"};
    const std::vector<std::string> spe{"stream", "partition", "engine"};
    const std::vector<std::string> s{"stream"};
    return new PipelineMetrics{
        r.AddCounter("sluice_firehose_delivery_to_s3_bytes_total",
                     "Bytes of staged objects written to the destination (DeliveryToS3.Bytes).",
                     sp),
        r.AddCounter("sluice_firehose_delivery_to_s3_records_total",
                     "Source records delivered in staged objects (DeliveryToS3.Records).", sp),
        r.AddCounter("sluice_firehose_delivery_to_s3_success_total",
                     "Staged object puts that succeeded (DeliveryToS3.Success numerator).", sp),
        r.AddCounter("sluice_firehose_delivery_to_s3_failures_total",
                     "Staged object put attempts that failed (each is retried).", sp),
        r.AddCounter("sluice_firehose_delivery_to_s3_object_count_total",
                     "Staged objects delivered (DeliveryToS3.ObjectCount).", sp),
        r.AddGauge("sluice_firehose_delivery_to_s3_data_freshness_seconds",
                   "Age of the oldest record not yet delivered; 0 when caught up "
                   "(DeliveryToS3.DataFreshness).",
                   sp),
        r.AddCounter("sluice_firehose_backup_to_s3_bytes_total",
                     "Bytes of raw backup objects written (BackupToS3.Bytes).", sp),
        r.AddCounter("sluice_firehose_backup_to_s3_records_total",
                     "Source records written to the raw backup (BackupToS3.Records).", sp),
        r.AddCounter("sluice_firehose_backup_to_s3_success_total",
                     "Raw backup object puts that succeeded (BackupToS3.Success numerator).", sp),
        r.AddCounter("sluice_firehose_backup_to_s3_failures_total",
                     "Raw backup object put attempts that failed.", sp),
        r.AddCounter("sluice_firehose_delivery_to_redshift_bytes_total",
                     "Bytes of staged objects of batches loaded into the warehouse "
                     "(DeliveryToRedshift.Bytes; every engine).",
                     spe),
        r.AddCounter("sluice_firehose_delivery_to_redshift_records_total",
                     "Rows loaded into the warehouse (DeliveryToRedshift.Records).", spe),
        r.AddCounter("sluice_firehose_delivery_to_redshift_success_total",
                     "Warehouse batch loads that committed (DeliveryToRedshift.Success numerator).",
                     spe),
        r.AddCounter("sluice_firehose_delivery_to_redshift_failures_total",
                     "Warehouse batch load attempts that failed.", spe),
        r.AddCounter("sluice_warehouse_ledger_skips_total",
                     "Batches skipped because the warehouse ledger already had them "
                     "(redelivery after a crash).",
                     spe),
        r.AddCounter("sluice_firehose_error_output_records_total",
                     "Records written to error output, by error output type.", {"stream", "type"}),
        r.AddCounter("sluice_delivery_retries_total",
                     "Failed attempts that were retried or gave up, by destination.",
                     {"stream", "destination"}),
        r.AddHistogram("sluice_firehose_execute_processing_duration_seconds",
                       "Time to run the processor chain on one batch (ExecuteProcessing.Duration).",
                       s, {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60}),
        r.AddCounter("sluice_firehose_execute_processing_success_total",
                     "Processor chain runs that completed (ExecuteProcessing.Success numerator).",
                     s),
        r.AddCounter("sluice_firehose_succeed_processing_records_total",
                     "Records the processors returned Ok (SucceedProcessing.Records).", s),
        r.AddCounter("sluice_firehose_succeed_processing_bytes_total",
                     "Bytes of output the processors produced for Ok records "
                     "(SucceedProcessing.Bytes).",
                     s),
        r.AddCounter("sluice_firehose_failed_processing_records_total",
                     "Records the processors failed (ProcessingFailed; go to error output).", s),
        r.AddCounter("sluice_firehose_dropped_processing_records_total",
                     "Records the processors dropped (result Dropped).", s),
        r.AddGauge("sluice_firehose_active_partitions",
                   "Dynamic partitions in the last batch (PartitionCount).", s),
        r.AddCounter("sluice_firehose_partition_count_exceeded_total",
                     "Records past max_active_partitions in a batch (PartitionCountExceeded).", s),
    };
  }();
  return *metrics;
}

}  // namespace sluice::pipeline
