// streams::AutoScaler: scales the shards of ON_DEMAND streams (StreamSpec::on_demand) with their
// write rates, as Kinesis on-demand mode does: a shard written faster than
// split_above_bytes_per_sec on average over a window is split at the middle of its range; two
// adjacent shards both written slower than merge_below_bytes_per_sec over the window are merged.
// At most one action per stream per Tick, and none for `cooldown_ms` after one; a shard is judged
// only once it has been watched for a whole window. Every decision is logged (spdlog info).
//
// Thread safety: Tick may be called from any thread (calls are serialised). The server calls it
// periodically (every second); it is cheap: one Service::Writes per stream (atomic counters).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/mutex.h"
#include "streams/service.h"

namespace sluice::streams {

struct AutoScalerOptions {
  uint64_t split_above_bytes_per_sec = 500 * 1024;  // AWS splits a shard past about 500 KB/s
  uint64_t merge_below_bytes_per_sec = 125 * 1024;  // a quarter: well apart, so no flapping
  int64_t window_ms = 60'000;                       // the average that counts
  int64_t cooldown_ms = 5 * 60'000;                 // per stream, after any split or merge
  uint32_t min_shards = 4;          // never merges below (on-demand streams start with 4)
  uint32_t max_shards = 200;        // never splits above (AWS's 200 MiB/s on-demand write ceiling)
  Clock* clock = &Clock::System();  // its monotonic time
};

class AutoScaler {
 public:
  // `service` must outlive the AutoScaler.
  AutoScaler(Service* service, AutoScalerOptions options);
  AutoScaler(const AutoScaler&) = delete;
  AutoScaler& operator=(const AutoScaler&) = delete;

  // Samples every on-demand stream's shards and splits or merges where due.
  void Tick();

 private:
  struct Sample {
    int64_t at_ms = 0;
    uint64_t bytes = 0;
  };
  struct StreamState {
    std::optional<int64_t> last_action_ms;
    std::map<uint32_t, std::deque<Sample>> shards;  // open shards' samples, oldest first
  };
  // The shard's average rate over the last window (bytes/s) after adding `now`'s sample; nullopt
  // until it has been watched for a whole window.
  std::optional<double> WindowRate(std::deque<Sample>& samples, int64_t now, uint64_t bytes) const;
  void TickStream(const std::string& name, const StreamWrites& writes, StreamState& state,
                  int64_t now);

  Service* const service_;
  const AutoScalerOptions options_;
  Mutex mu_;  // serialises Tick
  std::map<std::string, StreamState> streams_ SLUICE_GUARDED_BY(mu_);
};

}  // namespace sluice::streams
