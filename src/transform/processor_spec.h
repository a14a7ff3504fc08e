// One entry of a stream's processor chain as configured: its type and its parameters as a JSON
// document. The config file (YAML, converted once) and the Firehose API (ProcessingConfiguration
// parameters, all strings) produce the same form; Chain::Build validates and compiles it.
#pragma once

#include <string>

namespace sluice::transform {

// `type` is e.g. "flatten", "schema", "rules", "lua", "Lambda", "AppendDelimiterToRecord",
// "RecordDeAggregation", "MetadataExtraction" (the last is the pipeline's, for dynamic
// partitioning).
struct ProcessorSpec {
  std::string type;
  std::string params_json;  // a JSON object with the processor's parameters ("" means {})
};

}  // namespace sluice::transform
