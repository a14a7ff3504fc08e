// Internal: the stage interface the chain runs, and the per-batch context stages share.
// Not part of the module's public API (see pipeline.h).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "transform/pipeline.h"
#include "transform/rows.h"

namespace sluice::transform {

// A unit of bytes flowing through the byte stages: a source record, a de-aggregated part of
// one, or a Lambda's output for one.
struct Item {
  uint32_t source = 0;         // index into the batch
  std::string_view data;       // into the batch input or BatchContext::owned
  std::string_view record_id;  // unique within the batch
};

// The state of one source record while its batch is processed.
struct RecordState {
  bool failed = false;
  std::string error_code;
  std::string error_message;
  std::string lambda_arn;
  uint32_t attempts = 1;
  bool has_partition_keys = false;
  PartitionKeys partition_keys;
};

struct BatchContext {
  const std::vector<SourceRecord>* input = nullptr;
  std::vector<RecordState> states;
  std::deque<std::string> owned;  // bytes produced by stages (stable addresses)
  Arena arena;
  ColumnRegistry* columns = nullptr;
  const Clock* clock = nullptr;
  int64_t lua_deadline_ms = 0;  // monotonic
  bool lua_time_exceeded = false;

  bool Failed(uint32_t source) const { return states[source].failed; }
  // Records the first failure of a source record; later ones are ignored.
  void Fail(uint32_t source, std::string code, std::string message) {
    auto& s = states[source];
    if (s.failed) return;
    s.failed = true;
    s.error_code = std::move(code);
    s.error_message = std::move(message);
  }
  // Sets the record's partition keys; a different set from another item/row of the same record
  // fails it.
  void SetPartitionKeys(uint32_t source, PartitionKeys keys);
  std::string_view Own(std::string bytes) {
    owned.push_back(std::move(bytes));
    return owned.back();
  }
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual bool is_row_stage() const = 0;
  // Byte stages: replace `items`. Items of failed records may be left in; later stages skip them.
  virtual void ProcessItems(std::vector<Item>& /*items*/, BatchContext& /*ctx*/) {}
  // Row stages. flatten reads `items`; the others read `in`. Both write `out`.
  virtual void ProcessRows(const std::vector<Item>& /*items*/, const RowTable& /*in*/,
                           RowTable& /*out*/, BatchContext& /*ctx*/) {}
};

}  // namespace sluice::transform

namespace sluice::transform {

// Why one record failed in a stage: a stable code and a message a user can act on.
struct Failure {
  std::string code;
  std::string message;
};

}  // namespace sluice::transform
