// Fuzz target for the processor chain (transform/pipeline.h) on arbitrary JSON: each input line
// is a record, run through two chains built from YAML as a user writes them — flatten → CSV, and
// flatten with explode + schema (typed columns, defaults, formats) + rules → CSV.
// Checked: no crash, no sanitizer report, and
//   - one outcome per record; a failed record carries an error code,
//   - processing is deterministic: the same batch gives byte-identical staged groups (a
//     redelivery after a crash must write identical objects).
//
// Built as transform_fuzz (libFuzzer, `make fuzz`) and transform_fuzz_replay (ctest
// fuzz_transform_corpus replays tests/fuzz/corpus/transform); see tests/fuzz/CMakeLists.txt.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "fuzz/fuzz_check.h"
#include "transform/pipeline.h"

namespace {

void Check(bool ok, const char* what, std::string_view detail) {
  sluice::fuzz::Check(ok, "transform_fuzz", what, detail);
}

constexpr std::string_view kConfig = R"yaml(delivery_streams:
  - name: plain
    processors:
      - flatten: {separator: "_"}
    format: {csv: {header: true}}
  - name: typed
    processors:
      - flatten: {explode: items, separator: "_"}
      - schema:
          columns:
            - {name: id, type: bigint}
            - {name: at, source: created_at, type: timestamp, formats: [iso8601, epoch_ms]}
            - {name: city, source: customer.address.city, type: text, default: "none"}
            - {name: qty, source: items.qty, type: integer}
            - {name: price, source: items.price, type: "numeric(10,2)"
}
            - {name: ok, type: boolean}
      - rules:
          - {drop_if: "city == 'drop'"}
          - {fail_if: "qty ~= nil and qty < 0", message: "negative"}
    format: {csv: {header: true, null: "\\N"}}
)yaml";

std::vector<std::unique_ptr<sluice::transform::Chain>> BuildChains() {
  auto config = sluice::config::ParseConfig(std::string(kConfig), "transform_fuzz.yaml");
  Check(config.ok(), "config", config.ok() ? "" : config.status().message());
  std::vector<std::unique_ptr<sluice::transform::Chain>> chains;
  for (const auto& stream : config->streams) {
    auto chain = sluice::transform::Chain::Build(stream.processors, stream.format);
    Check(chain.ok(), "chain", chain.ok() ? "" : chain.status().message());
    chains.push_back(std::move(chain).value());
  }
  return chains;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<std::unique_ptr<sluice::transform::Chain>> chains = BuildChains();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> ids;
  std::vector<sluice::transform::SourceRecord> batch;
  for (size_t begin = 0; begin <= input.size() && batch.size() < 64;) {
    size_t end = input.find('\n', begin);
    if (end == std::string_view::npos) end = input.size();
    ids.push_back(std::to_string(batch.size()));
    batch.push_back({input.substr(begin, end - begin), 1'700'000'000'000, {}});
    begin = end + 1;
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].record_id = ids[i];
  for (auto& chain : chains) {
    sluice::transform::BatchResult first = chain->Process(batch);
    Check(first.records.size() == batch.size(), "not one outcome per record", input);
    for (const auto& r : first.records) {
      Check(r.outcome != sluice::transform::Outcome::kProcessingFailed || !r.error_code.empty(),
            "a failure without an error code", input);
    }
    sluice::transform::BatchResult second = chain->Process(batch);
    Check(second.groups.size() == first.groups.size(), "groups differ between runs", input);
    for (size_t g = 0; g < first.groups.size(); ++g) {
      Check(second.groups[g].data == first.groups[g].data, "output differs between runs", input);
    }
  }
  return 0;
}

#ifdef SLUICE_FUZZ_REPLAY_MAIN
#include "fuzz_main.h"
#endif
