// flatten: nested JSON objects → one or more flat rows.
//
// Nested object fields become columns named by their path joined with `separator`
// ({"customer":{"id":7}} → customer_id). One array path (`explode`, dotted: "items",
// "order.lines") is exploded into one row per element with the parent's fields repeated; an
// element object's fields are named under the array's path (items_sku), a scalar element is
// the column `items` itself. This is pandas json_normalize(record_path=..., meta=<all other
// fields>) with the record path kept as a column prefix. A missing, null or empty explode array
// yields one row with the element columns null (`explode_empty: keep`, default, like
// DataFrame.explode) or no row (`explode_empty: drop`, like json_normalize; the record is then
// Dropped). Other arrays become minified JSON text (`arrays: json`, default) or their elements
// joined with `join_separator` (`arrays: join`). Objects deeper than `max_depth` path segments
// are kept as minified JSON text. Numbers keep their exact input text (no 64-bit limit);
// strings are unescaped. Column order is first-seen order; a duplicate key's later value wins.
// Invalid JSON fails the record (Transform.InvalidJson) with the byte offset and a snippet.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "transform/processor_params.h"
#include "transform/rows.h"
#include "transform/stage.h"

namespace sluice::transform {

// The flattener runs with the processor's typed parameters.
using FlattenOptions = FlattenParams;

// Thread safety: one per chain; not thread-safe (owns parser buffers and the path trie).
class Flattener {
 public:
  Flattener(FlattenOptions options, ColumnRegistry* columns);

  // Appends the rows of one record to `out` (text into `arena`). On failure appends nothing and
  // fills `failure`.
  bool FlattenRecord(uint32_t source, std::string_view json, Arena& arena, RowTable& out,
                     Failure& failure);
  // Called between batches: drops the path cache when it grew past max_columns / 2.
  void TrimCache();
  // Emits cells only for these column ids (a schema right after flatten reads nothing else).
  // Other fields are still parsed and validated, so a record fails or passes exactly as before;
  // they just produce no cell and copy no text.
  void KeepOnlyColumns(const std::vector<uint32_t>& columns);
  const FlattenOptions& options() const { return options_; }

 private:
  static constexpr uint32_t kNoColumn = UINT32_MAX;
  struct Node {
    std::string key;
    std::string path;
    uint32_t column = kNoColumn;
    uint32_t depth = 0;
    uint32_t hint = 0;
    bool explode = false;
    bool plain_key = false;  // the key has no '"' or '\\': its raw JSON bytes equal it
    bool emit = true;        // valid once `column` is set: KeepOnlyColumns lets it through
    // Plain keys of up to 7 bytes: the key and its closing quote as one word, and the mask of
    // those bytes, so a raw key matches with one 8-byte load (raw_mask 0: not such a key).
    uint64_t raw_word = 0;
    uint64_t raw_mask = 0;
    std::vector<uint32_t> children;
    // Nodes with many children (wide documents, keys in varying order): an open-addressing hash
    // table of child indexes into `children` (kNoColumn = empty), so a missed hint costs one
    // probe instead of a scan of every child's key.
    std::vector<uint32_t> index;
  };
  static constexpr size_t kIndexFrom = 8;  // children before a node gets `index`
  void IndexChild(Node& parent, uint32_t position);

  void ResetTrie();
  uint32_t Child(uint32_t node, std::string_view key);
  uint32_t ColumnOf(uint32_t node);
  // Emit: `text` is a range of the document being walked (in the arena: no copy).
  // EmitCopy: any other text; it is staged in `copies_` and moved into the arena after the walk
  // (the arena must not grow while simdjson iterates the document inside it).
  void Emit(std::vector<Cell>& out, uint32_t node, ValueKind kind, std::string_view text);
  void EmitCopy(std::vector<Cell>& out, uint32_t node, ValueKind kind, std::string_view text);
  simdjson::error_code WalkObject(simdjson::ondemand::object obj, uint32_t node,
                                  std::vector<Cell>& out, bool in_element);
  simdjson::error_code WalkValue(simdjson::ondemand::value& value, uint32_t node,
                                 std::vector<Cell>& out, bool in_element);
  simdjson::error_code Explode(simdjson::ondemand::array array, uint32_t node);
  simdjson::error_code Join(simdjson::ondemand::array array, std::string& out);
  simdjson::error_code Serialize(simdjson::ondemand::value& value, std::string& out);
  // Parses doc_ (json.size() bytes, padded) and walks it into parent_cells_/element_cells_.
  bool Walk(std::string_view json, Failure& failure);
  // `have_document`: false when iterate() itself failed, so doc_ still holds the previous
  // record's document and its location must not be used.
  void DescribeError(simdjson::error_code error, std::string_view json, Failure& failure,
                     bool have_document = true);

  FlattenOptions options_;
  ColumnRegistry* columns_;
  simdjson::ondemand::parser parser_;
  simdjson::ondemand::document document_;
  const char* doc_ = nullptr;  // the current record's text, inside the arena (padded)
  const char* doc_end_ = nullptr;
  std::vector<Node> nodes_;  // [0] is the root
  bool too_many_columns_ = false;
  bool keep_only_ = false;
  std::vector<uint8_t> keep_;  // column id -> 1 when emitted (with keep_only_)
  // Per record.
  std::vector<Cell> parent_cells_;
  std::vector<Cell> element_cells_;
  std::vector<uint32_t> element_ends_;  // end index in element_cells_ of each element
  bool explode_seen_ = false;
  size_t explode_at_ = 0;  // parent cells before the explode array
  std::string scratch_;
  std::string copies_;                   // text of EmitCopy cells, appended to the arena at the end
  std::vector<uint32_t> parent_copies_;  // indexes of parent_cells_ whose offset is in copies_
  std::vector<uint32_t> element_copies_;  // same for element_cells_
  Arena* arena_ = nullptr;                // the current record's arena
};

// The simdjson On-Demand kernel compiled into flatten ("haswell", "icelake", "fallback", ...):
// flatten.cc is built with -march=native (SLUICE_NATIVE), so this is the build machine's best
// kernel, not the runtime-dispatched one.
const char* FlattenKernelName();

// Validates JSON number syntax (RFC 8259), e.g. "-0.5e+10"; rejects "01", "1.", "+1", "NaN".
bool IsJsonNumber(std::string_view text);

}  // namespace sluice::transform
