// `sluice transform --config F --stream S [FILE]`: dry-runs a stream's processor chain on
// newline-delimited records and shows what would be delivered.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "config/stream_config.h"

namespace sluice::cli {

struct TransformCommandOptions {
  // Batches processed in parallel (each by its own chain); output stays in input order.
  int threads = 1;
  // Input bytes per batch (a longer line makes a longer batch). Memory is bounded by about
  // 2 × threads batches, not by the input size.
  size_t batch_bytes = 4u << 20;
};

// Runs `processors` with output `format` (config::StreamConfig::format) over `in`, one record per
// line, in batches. Writes the staged bytes to `out` (each partition-key group preceded by a
// "# partitionKeys: {...}" line when the chain sets partition keys) and, on `err`, one line per
// ProcessingFailed record ("line N: <errorCode>: <errorMessage>", as the batches finish) and a
// summary ("N records: X Ok, Y Dropped, Z ProcessingFailed"). The output is the same as one
// batch of the whole input would give: the csv header lists every column of the input (the
// schema's, then the others first seen first) and rows of earlier batches get null for columns
// that only later batches brought; groups come in order of their first row. So the rows wait in
// a temporary file ($TMPDIR) until the input ends. Returns 0 when every record was Ok or Dropped,
// 1 when some failed, 2 when the configuration is invalid or reading/writing failed.
int RunTransformCommand(const std::vector<config::ProcessorSpec>& processors,
                        const transform::FormatSpec& format, const std::string& stream_name,
                        std::istream& in, std::ostream& out, std::ostream& err,
                        const TransformCommandOptions& options = {});

}  // namespace sluice::cli
