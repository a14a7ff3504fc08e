#include "pipeline/transform_builder.h"

#include "transform/error_record.h"

namespace sluice::pipeline {

Result<transform::FormatSpec> FormatFor(const config::StreamConfig& stream) {
  std::string text = stream.format_params_json.empty()
                         ? stream.format
                         : "{\"" + stream.format + "\":" + stream.format_params_json + "}";
  auto spec = transform::FormatSpec::Parse(text);
  if (!spec.ok()) return spec.status().WithContext("stream " + stream.name + ": format");
  return spec;
}

Status ValidateProcessing(const config::StreamConfig& stream) {
  auto compression = compress::ParseFormat(stream.compression);
  if (!compression.ok()) return compression.status().WithContext("stream " + stream.name);
  ASSIGN_OR_RETURN(transform::FormatSpec format, FormatFor(stream));
  auto chain = transform::Chain::Build(stream.processors, format);
  if (!chain.ok()) return chain.status().WithContext("stream " + stream.name);
  return Status::Ok();
}

Result<std::unique_ptr<TransformBuilder>> TransformBuilder::Create(const config::StreamConfig& stream,
                                                                   TransformStores stores,
                                                                   transform::ChainOptions options,
                                                                   bool collect_rows) {
  if (stores.staged == nullptr) return Status::InvalidArgument("stream " + stream.name + ": no staged store");
  if (stores.errors == nullptr) stores.errors = stores.staged;
  ASSIGN_OR_RETURN(KeyMaker keys, KeyMaker::Create(stream));
  ASSIGN_OR_RETURN(compress::Format compression, compress::ParseFormat(stream.compression));
  ASSIGN_OR_RETURN(transform::FormatSpec format, FormatFor(stream));
  options.stream_name = stream.name;
  auto chain = transform::Chain::Build(stream.processors, format, options);
  if (!chain.ok()) return chain.status().WithContext("stream " + stream.name);
  auto builder = std::unique_ptr<TransformBuilder>(new TransformBuilder(
      std::move(keys), stores, compression, std::move(chain).value(), stores.raw != nullptr));
  builder->collect_rows_ = collect_rows;
  return builder;
}

Result<std::vector<OutputObject>> TransformBuilder::Build(const Batch& batch) {
  std::vector<std::string> ids;
  ids.reserve(batch.records.size());
  std::vector<transform::SourceRecord> sources;
  sources.reserve(batch.records.size());
  for (const auto& r : batch.records) ids.push_back(std::to_string(r.offset.value));
  for (size_t i = 0; i < batch.records.size(); ++i) {
    sources.push_back({batch.records[i].data, batch.records[i].arrival_ms, ids[i]});
  }
  transform::ProcessOptions po;
  po.collect_rows = collect_rows_;
  last_result_ = chain_->Process(sources, po);
  const transform::BatchResult& result = last_result_;
  stats_.ok += result.CountOutcome(transform::Outcome::kOk);
  stats_.dropped += result.CountOutcome(transform::Outcome::kDropped);
  stats_.failed += result.CountOutcome(transform::Outcome::kProcessingFailed);

  std::vector<OutputObject> outs;
  for (size_t g = 0; g < result.groups.size(); ++g) {
    const transform::OutputGroup& group = result.groups[g];
    if (group.data.empty()) continue;
    BatchId id = batch.id;
    // Groups beyond the first get their own name even when the prefix ignores partition keys.
    if (g > 0) id.group = std::to_string(g);
    OutputObject out;
    out.store = stores_.staged;
    out.kind = "staged";
    ASSIGN_OR_RETURN(out.key, keys_.StagedKey(id, batch.version, batch.oldest_ms, group.partition_keys,
                                              group.partition_keys));
    ASSIGN_OR_RETURN(out.data, compress::Compress(compression_, group.data));
    outs.push_back(std::move(out));
  }
  if (raw_enabled_) {
    OutputObject raw;
    raw.store = stores_.raw;
    raw.kind = "raw";
    ASSIGN_OR_RETURN(raw.key, keys_.RawKey(batch.id, batch.version, batch.oldest_ms));
    std::string concatenated;
    concatenated.reserve(batch.bytes);
    for (const auto& r : batch.records) concatenated += r.data;
    ASSIGN_OR_RETURN(raw.data, compress::Compress(compression_, concatenated));
    outs.push_back(std::move(raw));
  }
  std::string errors;
  if (transform::AppendErrorRecords(sources, result, errors) > 0) {
    OutputObject err;
    err.store = stores_.errors;
    err.kind = "processing-failed";
    ASSIGN_OR_RETURN(err.key, keys_.ErrorKey(batch.id, batch.version, batch.oldest_ms, "processing-failed"));
    err.data = std::move(errors);
    outs.push_back(std::move(err));
  }
  return outs;
}

}  // namespace sluice::pipeline
