// The failure of a fuzz target's property: prints what failed and the input's detail, then
// aborts, so that libFuzzer (or the replay driver) reports the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sluice::fuzz {

inline void Check(bool ok, const char* target, const char* what, std::string_view detail) {
  if (ok) return;
  std::fprintf(stderr, "%s: %s: %.*s\n", target, what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

}  // namespace sluice::fuzz
