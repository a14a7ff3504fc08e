// Typed processor specs from the JSON form tests write them in: {type, parameters as JSON}.
// Each is parsed by transform::ParseProcessorSpec, as the config file's processors are; a bad
// spec fails the calling test.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "transform/processor_spec.h"

namespace sluice::testutil {

inline std::vector<transform::ProcessorSpec> ProcessorsFromJson(
    const std::vector<std::pair<std::string, std::string>>& specs) {
  std::vector<transform::ProcessorSpec> out;
  for (const auto& [type, json] : specs) {
    auto params = transform::ParamValue::FromJson(json);
    EXPECT_TRUE(params.ok()) << type << ": " << params.status().ToString();
    if (!params.ok()) continue;
    auto spec = transform::ParseProcessorSpec(type, *params, type);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    if (spec.ok()) out.push_back(std::move(spec).value());
  }
  return out;
}

}  // namespace sluice::testutil
