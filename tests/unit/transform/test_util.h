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

inline std::unique_ptr<Chain> BuildOrDie(const std::vector<ProcessorSpec>& specs,
                                         const std::string& format = "csv",
                                         ChainOptions options = {}) {
  auto f = FormatSpec::Parse(format);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  auto chain = Chain::Build(specs, *f, std::move(options));
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
