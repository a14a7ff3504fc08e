// The processor chain of one delivery stream: the Firehose "Lambda" step as a library.
//
// A Chain is built once per stream configuration (Chain::Build validates every processor and
// compiles scripts up front) and then turns batches of source records into
//   - one outcome per source record: Ok | Dropped | ProcessingFailed (the Firehose contract),
//   - the output rows (optionally materialized, for dry runs and tests),
//   - the staged bytes of the batch, one OutputGroup per distinct set of partition keys.
//
// Stages run in configuration order. Byte stages (RecordDeAggregation, AppendDelimiterToRecord,
// Lambda) transform record bytes; row stages (flatten, schema, rules, lua) work on rows. Byte
// stages must come before row stages. A row stage with no flatten before it gets an implicit
// `flatten: {}` (separator "_", no explode). Row stages need format csv or jsonl; without row
// stages the formatter is `raw` (Ok records' bytes concatenated as they are).
//
// Outcome of a source record that became several items or rows (de-aggregation, explode): it is
// ProcessingFailed if any of them failed (the first failure is reported and none of its rows is
// output), Dropped if every one was dropped, Ok otherwise.
//
// Determinism: Process is a pure function of (chain config, batch) except for the lambda peer and
// the clock used for error-record timestamps: the same batch yields byte-identical groups, so a
// redelivery after a crash writes identical objects.
//
// Thread safety: a Chain is used by one thread at a time (it owns a Lua state and parser
// buffers). Build one Chain per delivery worker.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "transform/format.h"
#include "transform/processor_spec.h"
#include "transform/row_set.h"

namespace sluice::transform {

// One record as received. The views must stay valid for the duration of Process().
struct SourceRecord {
  std::string_view data;
  int64_t arrival_ms = 0;      // approximate arrival timestamp, epoch ms
  std::string_view record_id;  // unique within the batch; echoed to a Lambda as recordId
};

enum class Outcome : uint8_t { kOk, kDropped, kProcessingFailed };
const char* OutcomeName(Outcome outcome);  // "Ok", "Dropped", "ProcessingFailed"

using PartitionKeys = std::map<std::string, std::string>;

struct RecordOutcome {
  Outcome outcome = Outcome::kOk;
  // ProcessingFailed only: a stable code ("Transform.InvalidJson", "Schema.ConversionFailed",
  // "Lambda.MissingRecordId", ...) and a message that names the column/value/position.
  std::string error_code;
  std::string error_message;
  std::string lambda_arn;  // set when a Lambda processor ran on this record
  uint32_t attempts = 1;   // Lambda invocation attempts (1 when no Lambda ran)
  uint32_t rows = 0;       // output rows (row mode) or output items (raw mode)
  PartitionKeys partition_keys;
};

// The staged bytes of all Ok records that share one set of partition keys.
struct OutputGroup {
  PartitionKeys partition_keys;
  std::string data;
  uint32_t records = 0;
  uint32_t rows = 0;
  // With ProcessOptions::row_ends (csv and jsonl): the end offset in `data` of each row.
  std::vector<uint32_t> row_ends;
};

struct BatchResult {
  std::vector<RecordOutcome> records;  // parallel to the input batch
  std::vector<OutputGroup> groups;     // in order of each group's first record
  int64_t attempt_ending_ms = 0;       // when processing ended (clock), for error records
  // Filled only with ProcessOptions::collect_rows: every Ok row, typed, with the output columns
  // (the schema's with their types, then any other column as text, first seen first) and the
  // index in the input batch of each row's source record.
  RowSet rows;

  size_t CountOutcome(Outcome outcome) const;
};

struct ChainOptions {
  std::string stream_name = "stream";
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  const Clock* clock = &Clock::System();
  // Wall-time budget for all Lua work (rules and lua steps) of one batch. When exceeded, the
  // record being evaluated and every later record of the batch fail with Lua.TimeLimitExceeded.
  int64_t lua_time_limit_ms = 10'000;
};

struct ProcessOptions {
  bool collect_rows = false;
  // csv with header: true: each group's data starts with the header line. false leaves it out
  // (a caller that writes one header for several batches).
  bool header = true;
  // Fill OutputGroup::row_ends.
  bool row_ends = false;
  // Row formats only: called once per batch, after the row stages and before formatting, with
  // the batch's output column names (the schema's, then the others in first-seen order). It may
  // reorder and extend the list; the rows are then formatted with exactly the returned columns
  // (a listed column no row has is null; an unlisted one is left out). It may block: used to keep
  // one column order across batches processed in parallel (`sluice transform --threads`).
  std::function<void(std::vector<std::string>& columns)> order_columns;
};

class Stage;

class Chain {
 public:
  // Compiles `processors` (their parameters are already validated: ParseProcessorSpec) with
  // output `format`: the processor order, Lua scripts and the schema. Errors name the processor
  // (by position and type). A MetadataExtraction spec is the pipeline's, not a chain's: refused.
  static Result<std::unique_ptr<Chain>> Build(const std::vector<ProcessorSpec>& processors,
                                              const FormatSpec& format, ChainOptions options = {});
  ~Chain();
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;

  // Runs the batch through every processor and the formatter. Never fails as a whole: problems
  // with a record (or a Lambda invocation) become ProcessingFailed outcomes.
  BatchResult Process(const std::vector<SourceRecord>& batch, const ProcessOptions& options = {});

  const FormatSpec& format() const { return format_; }
  // The Lambda buffering hints (BufferSizeInMBs / BufferIntervalInSeconds) if a Lambda
  // processor is configured, for the batcher to honour.
  struct LambdaBuffering {
    uint64_t size_bytes = 0;
    uint32_t interval_s = 0;
  };
  std::optional<LambdaBuffering> lambda_buffering() const { return lambda_buffering_; }

 private:
  Chain();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  FormatSpec format_;
  std::optional<LambdaBuffering> lambda_buffering_;
};

// The processor types Build accepts, for error messages and docs.
const std::vector<std::string>& AllowedProcessorTypes();

}  // namespace sluice::transform
