// Fuzz target for the YAML config loader (config/config.h): hostile text into ParseConfig.
// Checked: no crash, no sanitizer report, and
//   - every error names the file it came from ("fuzz.yaml..."), as every config error must,
//   - every stream it accepts is written by StreamToYaml as a document ParseStreamYaml reads back
//     to the same document (the persisted form of API-created streams is a fixed point).
//
// Built as config_fuzz (libFuzzer, `make fuzz`) and config_fuzz_replay (ctest
// fuzz_config_corpus replays tests/fuzz/corpus/config); see tests/fuzz/CMakeLists.txt.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz/fuzz_check.h"

namespace {

void Check(bool ok, const char* what, std::string_view detail) {
  sluice::fuzz::Check(ok, "config_fuzz", what, detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // a config file is small; deep inputs only slow the search
  const std::string text(reinterpret_cast<const char*>(data), size);
  sluice::Result<sluice::config::Config> config = sluice::config::ParseConfig(text, "fuzz.yaml");
  if (!config.ok()) {
    Check(config.status().message().rfind("fuzz.yaml", 0) == 0, "error without the file name",
          config.status().message());
    return 0;
  }
  for (const sluice::config::StreamConfig& stream : config->streams) {
    const std::string yaml = sluice::config::StreamToYaml(stream);
    auto back = sluice::config::ParseStreamYaml(yaml, "stream.yaml");
    Check(back.ok(), "a stream's own YAML does not parse",
          back.ok() ? yaml : back.status().message() + "\n" + yaml);
    Check(sluice::config::StreamToYaml(back->config) == yaml, "a stream's YAML changes on reload",
          yaml);
  }
  return 0;
}

#ifdef SLUICE_FUZZ_REPLAY_MAIN
#include "fuzz_main.h"
#endif
