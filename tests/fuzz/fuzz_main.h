// The replay driver of every fuzz target: without libFuzzer (the g++ build), a target's binary
// runs each file under the given directories (or the files given) once through
// LLVMFuzzerTestOneInput, so that `make test` replays the committed corpus. Include it once, at
// the end of the target's source, under SLUICE_FUZZ_REPLAY_MAIN.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(arg);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++runs;
    }
  }
  std::printf("%s: %zu inputs, no failure\n", argc > 0 ? argv[0] : "fuzz", runs);
  return runs > 0 ? 0 : 1;
}
