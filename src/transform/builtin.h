// The Firehose built-in byte processors.
//
// AppendDelimiterToRecord: appends "\n" to every record (no parameters).
// RecordDeAggregation: splits one record into several.
//   SubRecordType=JSON       concatenated JSON objects/arrays ({"a":1}{"a":2} or one per line);
//                            a top-level scalar or an unterminated value fails the record
//                            (Transform.DeAggregationFailed).
//   SubRecordType=DELIMITED  split on Delimiter (base64 in the Firehose API, e.g. "IyMjIw=="
//                            for "####"; default "\n"); empty parts are skipped.
// Sub-records get record ids "<recordId>:<n>" (n from 0) so a later Lambda sees unique ids.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "transform/processor_params.h"
#include "transform/stage.h"

namespace sluice::transform {

std::unique_ptr<Stage> MakeAppendDelimiterStage();
std::unique_ptr<Stage> MakeDeAggregationStage(const DeAggregationParams& params);

// Splits concatenated JSON values into [begin, end) ranges. False with a message on bad input.
bool SplitJsonValues(std::string_view data, std::vector<std::string_view>& parts,
                     std::string& error);

}  // namespace sluice::transform
