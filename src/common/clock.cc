#include "common/clock.h"

#include <chrono>
#include <cstdio>

namespace sluice {
namespace {

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Clock& Clock::System() {
  static SystemClock clock;
  return clock;
}

int64_t FileOffsetClock::Offset() const {
  std::FILE* f = std::fopen(path_.c_str(), "r");
  if (f == nullptr) return 0;
  long long offset = 0;
  if (std::fscanf(f, "%lld", &offset) != 1) offset = 0;
  std::fclose(f);
  return static_cast<int64_t>(offset);
}

}  // namespace sluice
