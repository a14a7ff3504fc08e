// One entry of a stream's processor chain as configured: its typed parameters (the variant's
// alternative is the processor type). The config file and the Firehose API parse their
// parameters once, with ParseProcessorSpec, into this form; Chain::Build compiles it.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "transform/param_value.h"
#include "transform/processor_params.h"

namespace sluice::transform {

using ProcessorParams =
    std::variant<FlattenParams, SchemaParams, RulesParams, LuaParams, LambdaParams,
                 AppendDelimiterParams, DeAggregationParams, MetadataExtractionParams>;

struct ProcessorSpec {
  ProcessorParams params;

  // "flatten", "schema", "rules", "lua", "Lambda", "AppendDelimiterToRecord",
  // "RecordDeAggregation", "MetadataExtraction" (the last is the pipeline's, for dynamic
  // partitioning).
  std::string_view type() const;
  template <typename T>
  bool Is() const {
    return std::holds_alternative<T>(params);
  }
  bool operator==(const ProcessorSpec&) const = default;
};

// Parses and validates the parameters of a processor of `type` ("lambda" is accepted for
// "Lambda"). Errors read "<where>: <problem>" (the problem names the parameter, and lists the
// allowed types or parameters when one is unknown); `error_line`, when given, receives the
// ParamValue line of the offending value (0 when unknown). Null and absent parameters are the
// same; a null `params` is {}.
Result<ProcessorSpec> ParseProcessorSpec(std::string_view type, const ParamValue& params,
                                         const std::string& where, int* error_line = nullptr);

// The parameters that were given, typed values written back as a map (in the order given):
// ParseProcessorSpec(spec.type(), ProcessorSpecParams(spec), ...) yields `spec` again.
ParamValue ProcessorSpecParams(const ProcessorSpec& spec);

}  // namespace sluice::transform
