// `sluice transform --config F --stream S [FILE]`: dry-runs a stream's processor chain on
// newline-delimited records and shows what would be delivered.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "config/stream_config.h"

namespace sluice::cli {

// Runs `processors` with output `format` (config::StreamConfig::format) over `in`, one record per
// line. Writes the staged bytes to `out` (each partition-key group preceded by a
// "# partitionKeys: {...}" line when the chain sets partition keys) and, on `err`, one line per
// ProcessingFailed record ("line N: <errorCode>: <errorMessage>") and a summary
// ("N records: X Ok, Y Dropped, Z ProcessingFailed"). Returns 0 when every record was Ok or
// Dropped, 1 when some failed, 2 when the configuration is invalid.
int RunTransformCommand(const std::vector<config::ProcessorSpec>& processors,
                        const transform::FormatSpec& format, const std::string& stream_name,
                        std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
