// Clock seam: production uses the system clock; tests use ManualClock and advance it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

namespace sluice {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, milliseconds since the Unix epoch (UTC). Used for arrival timestamps.
  virtual int64_t NowMs() const = 0;
  // Monotonic time in milliseconds, for intervals and deadlines.
  virtual int64_t MonotonicMs() const = 0;
  // The process-wide system clock.
  static Clock& System();
};

// A clock that only moves when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonotonicMs() const override { return now_ms_.load(); }
  void AdvanceMs(int64_t ms) { now_ms_ += ms; }
  void SetMs(int64_t ms) { now_ms_ = ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

// The system clock shifted by a number of milliseconds read from a file (a decimal integer; a
// missing or unreadable file counts as 0), re-read when the file changes. For end-to-end tests
// that must move a server's time forward (iterator expiry): `sluice serve` uses it for the
// Kinesis API when SLUICE_TEST_CLOCK_OFFSET_FILE names a file, and logs a warning that it does.
// Thread-safe.
class FileOffsetClock : public Clock {
 public:
  explicit FileOffsetClock(std::string path) : path_(std::move(path)) {}
  int64_t NowMs() const override { return System().NowMs() + Offset(); }
  int64_t MonotonicMs() const override { return System().MonotonicMs() + Offset(); }

 private:
  int64_t Offset() const;
  std::string path_;
};

}  // namespace sluice
