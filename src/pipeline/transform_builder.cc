#include "pipeline/transform_builder.h"

#include <chrono>

#include "pipeline/metrics.h"

namespace sluice::pipeline {

namespace {

// Splits the stream's processors into the transform chain's and the jq metadata extraction
// (Firehose's MetadataExtraction processor, which drives dynamic partitioning).
Status SplitProcessors(const config::StreamConfig& stream,
                       std::vector<config::ProcessorSpec>& chain_specs,
                       std::unique_ptr<jq::MetadataExtractor>* extractor) {
  bool has_query = false;
  for (const auto& spec : stream.processors) {
    if (!spec.Is<transform::MetadataExtractionParams>()) {
      chain_specs.push_back(spec);
      continue;
    }
    if (has_query)
      return Status::InvalidArgument("stream " + stream.name +
                                     ": only one MetadataExtraction processor is allowed");
    has_query = true;
    // The parameters were validated when the config was parsed; the query compiles here.
    const std::string& query = std::get<transform::MetadataExtractionParams>(spec.params).query;
    auto compiled = jq::MetadataExtractor::Compile(query);
    if (!compiled.ok())
      return compiled.status().WithContext("stream " + stream.name + ": MetadataExtraction");
    if (extractor != nullptr) *extractor = std::move(compiled).value();
  }
  bool uses_query_keys = stream.staged.prefix.find("!{partitionKeyFromQuery:") != std::string::npos;
  if (uses_query_keys && !has_query) {
    return Status::InvalidArgument(
        "stream " + stream.name +
        ": the prefix uses !{partitionKeyFromQuery:...} but no MetadataExtraction "
        "processor defines the keys");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateProcessing(const config::StreamConfig& stream) {
  std::vector<config::ProcessorSpec> chain_specs;
  SLUICE_RETURN_IF_ERROR(SplitProcessors(stream, chain_specs, nullptr));
  auto chain = transform::Chain::Build(chain_specs, stream.format);
  if (!chain.ok()) return chain.status().WithContext("stream " + stream.name);
  return Status::Ok();
}

Result<std::unique_ptr<TransformBuilder>> TransformBuilder::Create(
    const config::StreamConfig& stream, TransformStores stores, transform::ChainOptions options,
    bool collect_rows) {
  if (stores.staged == nullptr)
    return Status::InvalidArgument("stream " + stream.name + ": no staged store");
  if (stores.errors == nullptr) stores.errors = stores.staged;
  SLUICE_ASSIGN_OR_RETURN(KeyMaker keys, KeyMaker::Create(stream));
  const compress::Format compression = stream.compression;
  options.stream_name = stream.name;
  std::vector<config::ProcessorSpec> chain_specs;
  std::unique_ptr<jq::MetadataExtractor> extractor;
  SLUICE_RETURN_IF_ERROR(SplitProcessors(stream, chain_specs, &extractor));
  auto chain = transform::Chain::Build(chain_specs, stream.format, options);
  if (!chain.ok()) return chain.status().WithContext("stream " + stream.name);
  auto builder = std::unique_ptr<TransformBuilder>(new TransformBuilder(
      std::move(keys), stores, compression, std::move(chain).value(), stores.raw != nullptr));
  builder->collect_rows_ = collect_rows;
  builder->extractor_ = std::move(extractor);
  builder->max_active_partitions_ = stream.max_active_partitions;
  builder->clock_ = options.clock;
  builder->metrics_.emplace(stream.name);
  return builder;
}

TransformBuilder::MetricHandles::MetricHandles(const std::string& stream)
    : duration(Metrics().execute_processing_duration.With({stream})),
      success(Metrics().execute_processing_success.With({stream})),
      ok_records(Metrics().succeed_processing_records.With({stream})),
      ok_bytes(Metrics().succeed_processing_bytes.With({stream})),
      failed_records(Metrics().failed_processing_records.With({stream})),
      dropped_records(Metrics().dropped_processing_records.With({stream})),
      partitions(Metrics().partition_count.With({stream})),
      partitions_exceeded(Metrics().partition_count_exceeded.With({stream})) {}

Result<BuiltBatch> TransformBuilder::Build(const Batch& batch) {
  std::vector<std::string> ids;
  ids.reserve(batch.records.size());
  for (const auto& r : batch.records) ids.push_back(std::to_string(r.offset.value));

  // Dynamic partitioning: group the source records by their jq keys (first-seen order). Records
  // whose keys cannot be evaluated, and records of partitions beyond the active-partition limit,
  // go to error output.
  struct Partition {
    std::map<std::string, std::string> keys;
    std::vector<size_t> members;
  };
  std::vector<Partition> partitions;
  std::string partition_errors, overflow_errors;
  const int64_t now_ms = clock_->NowMs();
  if (extractor_) {
    std::map<std::map<std::string, std::string>, size_t> index;
    for (size_t i = 0; i < batch.records.size(); ++i) {
      auto keys = extractor_->Extract(batch.records[i].data);
      if (!keys.ok()) {
        ErrorOutputWriter::AppendRecord(
            batch.records[i],
            {1, "DynamicPartitioning.MetadataExtractionFailed", keys.status().message(), now_ms},
            partition_errors);
        continue;
      }
      auto it = index.find(*keys);
      if (it == index.end()) {
        if (partitions.size() >= max_active_partitions_) {
          const std::string message = "more than " + std::to_string(max_active_partitions_) +
                                      " active partitions in one buffer";
          ErrorOutputWriter::AppendRecord(
              batch.records[i], {1, "DynamicPartitioning.ActivePartitionExceeded", message, now_ms},
              overflow_errors);
          if (metrics_) metrics_->partitions_exceeded.Inc();
          continue;
        }
        it = index.emplace(*keys, partitions.size()).first;
        partitions.push_back({*keys, {}});
      }
      partitions[it->second].members.push_back(i);
    }
  } else {
    partitions.push_back({{}, {}});
    for (size_t i = 0; i < batch.records.size(); ++i) partitions[0].members.push_back(i);
  }

  BuiltBatch built;
  std::vector<OutputObject>& outs = built.outputs;
  std::string processing_errors;
  transform::ProcessOptions po;
  po.collect_rows = collect_rows_;
  // Per partition, its rows (source records numbered within the partition) for the row set.
  std::vector<transform::RowSet> partition_rows;
  uint64_t staged_records = 0;
  for (size_t p = 0; p < partitions.size(); ++p) {
    std::vector<transform::SourceRecord> sources;
    sources.reserve(partitions[p].members.size());
    for (size_t i : partitions[p].members) {
      sources.push_back({batch.records[i].data, batch.records[i].arrival_ms, ids[i]});
    }
    const auto started = std::chrono::steady_clock::now();
    transform::BatchResult result = chain_->Process(sources, po);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    if (collect_rows_) partition_rows.push_back(std::move(result.rows));
    const size_t ok = result.CountOutcome(transform::Outcome::kOk);
    const size_t dropped = result.CountOutcome(transform::Outcome::kDropped);
    const size_t failed = result.CountOutcome(transform::Outcome::kProcessingFailed);
    stats_.ok += ok;
    stats_.dropped += dropped;
    stats_.failed += failed;
    staged_records += ok;
    if (metrics_) {
      metrics_->duration.Observe(took.count());
      metrics_->success.Inc();
      metrics_->ok_records.Inc(ok);
      metrics_->failed_records.Inc(failed);
      metrics_->dropped_records.Inc(dropped);
      for (const auto& group : result.groups) metrics_->ok_bytes.Inc(group.data.size());
    }
    for (size_t g = 0; g < result.groups.size(); ++g) {
      const transform::OutputGroup& group = result.groups[g];
      if (group.data.empty()) continue;
      BatchId id = batch.id;
      // Each output group gets its own object name, even when the prefix ignores the keys.
      if (p > 0 || g > 0) id.group = std::to_string(p) + "." + std::to_string(g);
      OutputObject out;
      out.store = stores_.staged;
      out.kind = OutputKind::kStaged;
      SLUICE_ASSIGN_OR_RETURN(out.key, keys_.StagedKey(id, batch.version, batch.oldest_ms,
                                                       partitions[p].keys, group.partition_keys));
      SLUICE_ASSIGN_OR_RETURN(out.data, compress::Compress(compression_, group.data));
      outs.push_back(std::move(out));
    }
    ErrorOutputWriter::AppendProcessingFailures(sources, result, processing_errors);
  }
  if (collect_rows_) {
    if (partitions.size() == 1 && !extractor_) {
      built.rows = std::move(partition_rows[0]);  // sources are the batch's records, in order
    } else {
      std::vector<const transform::RowSet*> parts;
      std::vector<std::vector<uint32_t>> record_maps;
      for (size_t p = 0; p < partitions.size(); ++p) {
        parts.push_back(&partition_rows[p]);
        record_maps.emplace_back(partitions[p].members.begin(), partitions[p].members.end());
      }
      built.rows = transform::RowSet::Merge(parts, record_maps);
    }
  }
  built.staged_records = staged_records;
  if (metrics_ && extractor_) metrics_->partitions.Set(static_cast<double>(partitions.size()));
  if (raw_enabled_) {
    OutputObject raw;
    raw.store = stores_.raw;
    raw.kind = OutputKind::kRaw;
    SLUICE_ASSIGN_OR_RETURN(raw.key, keys_.RawKey(batch.id, batch.version, batch.oldest_ms));
    std::string concatenated;
    concatenated.reserve(batch.bytes);
    for (const auto& r : batch.records) concatenated += r.data;
    SLUICE_ASSIGN_OR_RETURN(raw.data, compress::Compress(compression_, concatenated));
    outs.push_back(std::move(raw));
  }
  for (auto& [type, data] : {std::pair<ErrorOutputType, std::string*>{
                                 ErrorOutputType::kProcessingFailed, &processing_errors},
                             {ErrorOutputType::kPartitioningFailed, &partition_errors},
                             {ErrorOutputType::kActivePartitionExceeded, &overflow_errors}}) {
    if (data->empty()) continue;
    SLUICE_ASSIGN_OR_RETURN(OutputObject err, error_output().Object(batch, type, std::move(*data)));
    outs.push_back(std::move(err));
  }
  return built;
}

}  // namespace sluice::pipeline
