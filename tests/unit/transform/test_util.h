// Helpers shared by the transform unit tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transform/pipeline.h"

namespace sluice::transform::testing {

// Owns record bytes and ids so SourceRecord views stay valid.
struct Batch {
  std::vector<std::string> data;
  std::vector<std::string> ids;
  std::vector<SourceRecord> records;

  explicit Batch(std::vector<std::string> lines, int64_t arrival_ms = 1'700'000'000'000) {
    data = std::move(lines);
    for (size_t i = 0; i < data.size(); ++i) ids.push_back("r" + std::to_string(i));
    for (size_t i = 0; i < data.size(); ++i) {
      records.push_back(SourceRecord{data[i], arrival_ms + static_cast<int64_t>(i), ids[i]});
    }
  }
};

// A processor written as the tests write them: its type and its parameters as JSON text.
struct JsonSpec {
  std::string type;
  std::string params;  // "" means {}
};

// Parses every spec as the config file would (ParseProcessorSpec, errors "processor <n>
// (<type>): ..."), then builds the chain: the errors of either step, in order.
inline Result<std::unique_ptr<Chain>> BuildChain(const std::vector<JsonSpec>& specs,
                                                 const FormatSpec& format,
                                                 ChainOptions options = {}) {
  std::vector<ProcessorSpec> typed;
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string where = "processor " + std::to_string(i + 1) + " (" + specs[i].type + ")";
    auto params = ParamValue::FromJson(specs[i].params);
    if (!params.ok()) return params.status().WithContext(where);
    SLUICE_ASSIGN_OR_RETURN(ProcessorSpec spec, ParseProcessorSpec(specs[i].type, *params, where));
    typed.push_back(std::move(spec));
  }
  return Chain::Build(typed, format, std::move(options));
}

inline std::unique_ptr<Chain> BuildOrDie(const std::vector<JsonSpec>& specs,
                                         const std::string& format = "csv",
                                         ChainOptions options = {}) {
  auto f = FormatSpec::Parse(format);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  auto chain = BuildChain(specs, *f, std::move(options));
  EXPECT_TRUE(chain.ok()) << chain.status().ToString();
  return chain.ok() ? std::move(chain).value() : nullptr;
}

inline BatchResult RunBatch(Chain& chain, const Batch& batch) {
  return chain.Process(batch.records, ProcessOptions{.collect_rows = true});
}

// The staged bytes of a single-group batch ("" when there is none).
inline std::string Staged(const BatchResult& r) {
  std::string out;
  for (const auto& g : r.groups) out += g.data;
  return out;
}

inline std::optional<std::string> V(const char* s) {
  return std::string(s);
}
inline std::optional<std::string> Null() {
  return std::nullopt;
}

}  // namespace sluice::transform::testing
