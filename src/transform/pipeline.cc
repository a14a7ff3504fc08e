#include "transform/pipeline.h"

#include <algorithm>

#include "transform/builtin.h"
#include "transform/flatten.h"
#include "transform/lambda.h"
#include "transform/lua_engine.h"
#include "transform/schema.h"
#include "transform/stage.h"

namespace sluice::transform {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "Ok";
    case Outcome::kDropped: return "Dropped";
    case Outcome::kProcessingFailed: return "ProcessingFailed";
  }
  return "?";
}

size_t BatchResult::CountOutcome(Outcome outcome) const {
  return static_cast<size_t>(std::count_if(records.begin(), records.end(),
                                           [&](const auto& r) { return r.outcome == outcome; }));
}

const std::vector<std::string>& AllowedProcessorTypes() {
  static const std::vector<std::string> kTypes = {"flatten",
                                                  "schema",
                                                  "rules",
                                                  "lua",
                                                  "Lambda",
                                                  "AppendDelimiterToRecord",
                                                  "RecordDeAggregation"};
  return kTypes;
}

void BatchContext::SetPartitionKeys(uint32_t source, PartitionKeys keys) {
  auto& s = states[source];
  if (!s.has_partition_keys) {
    s.has_partition_keys = true;
    s.partition_keys = std::move(keys);
    return;
  }
  if (s.partition_keys != keys) {
    Fail(source, "Transform.PartitionKeyConflict",
         "parts of this record were given different partition keys");
  }
}

namespace {

// flatten as a stage: items → rows.
class FlattenStage final : public Stage {
 public:
  FlattenStage(FlattenOptions options, ColumnRegistry* columns)
      : flattener_(std::move(options), columns) {}
  bool is_row_stage() const override { return true; }
  void ProcessRows(const std::vector<Item>& items, const RowTable& /*in*/, RowTable& out,
                   BatchContext& ctx) override {
    flattener_.TrimCache();
    Failure failure;
    for (const Item& item : items) {
      if (ctx.Failed(item.source)) continue;
      if (!flattener_.FlattenRecord(item.source, item.data, ctx.arena, out, failure)) {
        ctx.Fail(item.source, std::move(failure.code), std::move(failure.message));
      }
    }
  }
  const FlattenOptions& options() const { return flattener_.options(); }
  void KeepOnlyColumns(const std::vector<uint32_t>& columns) {
    flattener_.KeepOnlyColumns(columns);
  }

 private:
  Flattener flattener_;
};

}  // namespace

struct Chain::Impl {
  ChainOptions options;
  ColumnRegistry columns;
  std::vector<std::unique_ptr<Stage>> byte_stages;
  std::vector<std::unique_ptr<Stage>> row_stages;  // row_stages[0] is a flatten
  const SchemaStage* schema = nullptr;
  std::unique_ptr<RowFormatter> formatter;
  RowTable tables[2];
  std::vector<uint8_t> column_seen;
  std::string arena_storage;  // the batch arena's buffer, kept between batches
};

Chain::Chain() : impl_(std::make_unique<Impl>()) {}
Chain::~Chain() = default;

Result<std::unique_ptr<Chain>> Chain::Build(const std::vector<ProcessorSpec>& processors,
                                            const FormatSpec& format, ChainOptions options) {
  std::unique_ptr<Chain> chain(new Chain());
  Impl& impl = *chain->impl_;
  impl.options = std::move(options);
  chain->format_ = format;
  std::string separator = "_";
  std::string first_row_stage;
  for (size_t i = 0; i < processors.size(); ++i) {
    const auto& spec = processors[i];
    const std::string_view type = spec.type();
    std::string where = "processor " + std::to_string(i + 1) + " (" + std::string(type) + ")";
    std::unique_ptr<Stage> stage;
    if (const auto* flatten = std::get_if<FlattenParams>(&spec.params)) {
      if (!impl.row_stages.empty()) {
        return Status::InvalidArgument(where +
                                       ": flatten must be the first row processor (after "
                                       "only byte processors)");
      }
      separator = flatten->separator;
      stage = std::make_unique<FlattenStage>(*flatten, &impl.columns);
    } else if (const auto* schema = std::get_if<SchemaParams>(&spec.params)) {
      if (impl.schema != nullptr) return Status::InvalidArgument(where + ": only one schema");
      SLUICE_ASSIGN_OR_RETURN(auto s, SchemaStage::Create(*schema, separator, &impl.columns));
      impl.schema = s.get();
      stage = std::move(s);
    } else if (const auto* rules = std::get_if<RulesParams>(&spec.params)) {
      SLUICE_ASSIGN_OR_RETURN(stage, MakeRulesStage(*rules, where, &impl.columns));
    } else if (const auto* lua = std::get_if<LuaParams>(&spec.params)) {
      SLUICE_ASSIGN_OR_RETURN(stage, MakeLuaStage(*lua, where, &impl.columns));
    } else if (const auto* lambda = std::get_if<LambdaParams>(&spec.params)) {
      SLUICE_ASSIGN_OR_RETURN(stage, MakeLambdaStage(*lambda, impl.options));
      chain->lambda_buffering_ = LambdaBuffering{
          static_cast<uint64_t>(lambda->buffer_size_mb * 1024 * 1024), lambda->buffer_interval_s};
    } else if (spec.Is<AppendDelimiterParams>()) {
      stage = MakeAppendDelimiterStage();
    } else if (const auto* deagg = std::get_if<DeAggregationParams>(&spec.params)) {
      stage = MakeDeAggregationStage(*deagg);
    } else {
      std::string list;
      for (const auto& t : AllowedProcessorTypes()) list += (list.empty() ? "" : ", ") + t;
      return Status::InvalidArgument(where + ": processor type \"" + std::string(type) +
                                     "\" is not part of a processor chain; allowed: " + list);
    }
    if (stage->is_row_stage()) {
      if (impl.row_stages.empty() && !spec.Is<FlattenParams>()) {
        FlattenOptions defaults;
        impl.row_stages.push_back(std::make_unique<FlattenStage>(defaults, &impl.columns));
      }
      if (first_row_stage.empty()) first_row_stage = where;
      impl.row_stages.push_back(std::move(stage));
    } else {
      if (!first_row_stage.empty()) {
        return Status::InvalidArgument(where +
                                       ": byte processors (Lambda, RecordDeAggregation, "
                                       "AppendDelimiterToRecord) must come before " +
                                       first_row_stage);
      }
      impl.byte_stages.push_back(std::move(stage));
    }
  }
  if (format.kind != FormatSpec::Kind::kRaw && impl.row_stages.empty()) {
    impl.row_stages.push_back(std::make_unique<FlattenStage>(FlattenOptions{}, &impl.columns));
  }
  if (format.kind == FormatSpec::Kind::kRaw && !impl.row_stages.empty()) {
    return Status::InvalidArgument(first_row_stage +
                                   ": row processors (flatten, schema, rules, lua) produce rows; "
                                   "set the stream format to csv or jsonl");
  }
  // A schema right after flatten reads only its source columns: flatten need not copy the rest.
  if (impl.schema != nullptr && impl.row_stages.size() >= 2 &&
      impl.row_stages[1].get() == static_cast<const Stage*>(impl.schema)) {
    static_cast<FlattenStage*>(impl.row_stages[0].get())
        ->KeepOnlyColumns(impl.schema->source_columns());
  }
  impl.formatter = std::make_unique<RowFormatter>(format);
  return chain;
}

BatchResult Chain::Process(const std::vector<SourceRecord>& batch, const ProcessOptions& options) {
  Impl& impl = *impl_;
  const Clock& clock = *impl.options.clock;
  BatchContext ctx;
  ctx.input = &batch;
  ctx.states.resize(batch.size());
  ctx.columns = &impl.columns;
  ctx.clock = &clock;
  ctx.lua_deadline_ms = clock.MonotonicMs() + impl.options.lua_time_limit_ms;
  ctx.arena.Adopt(std::move(impl.arena_storage));

  std::vector<Item> items;
  items.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    items.push_back(Item{static_cast<uint32_t>(i), batch[i].data, batch[i].record_id});
  }
  for (auto& stage : impl.byte_stages) stage->ProcessItems(items, ctx);

  BatchResult result;
  result.records.resize(batch.size());
  std::vector<uint32_t> counts(batch.size(), 0);
  // Group index per source record, assigned in order of each group's first Ok record.
  // Consecutive rows mostly come from one record: remember its group.
  uint32_t last_source = UINT32_MAX;
  size_t last_group = 0;
  auto group_of = [&](uint32_t source) -> OutputGroup& {
    if (source == last_source) return result.groups[last_group];
    last_source = source;
    const PartitionKeys& keys = ctx.states[source].partition_keys;
    for (size_t gi = 0; gi < result.groups.size(); ++gi) {
      if (result.groups[gi].partition_keys == keys) {
        last_group = gi;
        return result.groups[gi];
      }
    }
    last_group = result.groups.size();
    result.groups.push_back(OutputGroup{keys, {}, 0, 0, {}});
    return result.groups.back();
  };

  if (impl.row_stages.empty()) {
    std::vector<bool> counted(batch.size(), false);
    for (const Item& item : items) {
      if (ctx.Failed(item.source)) continue;
      ++counts[item.source];
    }
    for (const Item& item : items) {
      if (ctx.Failed(item.source)) continue;
      OutputGroup& g = group_of(item.source);
      g.data.append(item.data);
      ++g.rows;
      if (!counted[item.source]) {
        counted[item.source] = true;
        ++g.records;
      }
    }
  } else {
    RowTable* in = &impl.tables[0];
    RowTable* out = &impl.tables[1];
    in->Clear();
    for (auto& stage : impl.row_stages) {
      out->Clear();
      stage->ProcessRows(items, *in, *out, ctx);
      std::swap(in, out);
    }
    const RowTable& table = *in;
    // Output columns: the schema's, then any other column in first-seen order.
    std::vector<uint32_t> columns;
    size_t text_bytes = 0;  // of all Ok rows' cells, to size the output once
    size_t ok_rows = 0;
    impl.column_seen.assign(impl.columns.size(), 0);
    if (impl.schema != nullptr) {
      for (uint32_t id : impl.schema->output_columns()) {
        columns.push_back(id);
        impl.column_seen[id] = 1;
      }
    }
    for (const RowRef& row : table.rows) {
      if (ctx.Failed(row.record)) continue;
      ++counts[row.record];
      ++ok_rows;
      for (uint32_t c = row.first_cell; c < row.first_cell + row.cell_count; ++c) {
        uint32_t id = table.cells[c].column;
        text_bytes += table.cells[c].size;
        if (id >= impl.column_seen.size()) impl.column_seen.resize(impl.columns.size(), 0);
        if (!impl.column_seen[id]) {
          impl.column_seen[id] = 1;
          columns.push_back(id);
        }
      }
    }
    if (options.order_columns) {
      std::vector<std::string> names;
      names.reserve(columns.size());
      for (uint32_t id : columns) names.push_back(impl.columns.Name(id));
      options.order_columns(names);
      columns.clear();
      for (const std::string& name : names) columns.push_back(impl.columns.Intern(name));
    }
    // Padding after the last value lets the CSV writer scan fields 16 bytes at a time.
    static constexpr char kPadding[16] = {};
    ctx.arena.Add(std::string_view(kPadding, sizeof kPadding));
    RowFormatter& formatter = *impl.formatter;
    formatter.SetColumns(columns, impl.columns);
    std::vector<int32_t> last_record_of_group;
    for (const RowRef& row : table.rows) {
      if (ctx.Failed(row.record)) continue;
      OutputGroup& g = group_of(row.record);
      size_t gi = static_cast<size_t>(&g - result.groups.data());
      if (last_record_of_group.size() <= gi) last_record_of_group.resize(gi + 1, -1);
      if (g.rows == 0) {
        // The first group is usually the only one: reserve about what all rows need, with some
        // room for quoting (cells of columns that are not output make it an overestimate).
        if (result.groups.size() == 1) {
          g.data.reserve(text_bytes + text_bytes / 8 + ok_rows * (2 * columns.size() + 2) +
                         64 * columns.size());
        }
        if (options.header) formatter.AppendHeader(g.data);
      }
      formatter.AppendRow(table, row, ctx.arena, g.data);
      if (options.row_ends) g.row_ends.push_back(static_cast<uint32_t>(g.data.size()));
      ++g.rows;
      if (last_record_of_group[gi] != static_cast<int32_t>(row.record)) {
        last_record_of_group[gi] = static_cast<int32_t>(row.record);
        ++g.records;
      }
    }
    if (options.collect_rows) {
      std::vector<Column> schema;
      schema.reserve(columns.size());
      for (uint32_t id : columns) schema.push_back(Column{impl.columns.Name(id)});
      if (impl.schema != nullptr) {
        // The schema's output columns come first, in its order, with their types.
        const std::vector<ColumnSpec>& specs = impl.schema->columns();
        for (size_t i = 0; i < specs.size() && i < schema.size(); ++i) {
          schema[i].type = specs[i].type;
          schema[i].precision = specs[i].precision;
          schema[i].scale = specs[i].scale;
        }
      }
      result.rows = RowSet(std::move(schema));
      result.rows.Reserve(ok_rows, text_bytes);
      for (const RowRef& row : table.rows) {
        if (ctx.Failed(row.record)) continue;
        const auto& slots = formatter.Slots(table, row);
        result.rows.AddRow(row.record);
        for (size_t c = 0; c < slots.size(); ++c) {
          const Cell* cell = slots[c];
          if (cell != nullptr && cell->kind != ValueKind::kNull) {
            result.rows.Set(c, cell->kind, ctx.arena.Text(*cell));
          }
        }
      }
    }
  }

  for (size_t i = 0; i < batch.size(); ++i) {
    RecordState& s = ctx.states[i];
    RecordOutcome& o = result.records[i];
    o.lambda_arn = std::move(s.lambda_arn);
    o.attempts = s.attempts;
    if (s.failed) {
      o.outcome = Outcome::kProcessingFailed;
      o.error_code = std::move(s.error_code);
      o.error_message = std::move(s.error_message);
      continue;
    }
    o.rows = counts[i];
    o.outcome = counts[i] > 0 ? Outcome::kOk : Outcome::kDropped;
    o.partition_keys = std::move(s.partition_keys);
  }
  // Keep the arena's buffer for the next batch unless one huge batch blew it up.
  constexpr size_t kKeepArenaBytes = 64u << 20;
  std::string storage = ctx.arena.Release();
  if (storage.capacity() <= kKeepArenaBytes) impl.arena_storage = std::move(storage);
  result.attempt_ending_ms = clock.NowMs();
  return result;
}

}  // namespace sluice::transform
