#include "streams/autoscaler.h"

#include <spdlog/spdlog.h>

#include <set>
#include <vector>

namespace sluice::streams {

AutoScaler::AutoScaler(Service* service, AutoScalerOptions options)
    : service_(service), options_(options) {}

std::optional<double> AutoScaler::WindowRate(std::deque<Sample>& samples, int64_t now,
                                             uint64_t bytes) const {
  samples.push_back(Sample{now, bytes});
  const int64_t window_start = now - options_.window_ms;
  // Keep the newest sample at or before the window's start: the average runs from it.
  while (samples.size() >= 2 && samples[1].at_ms <= window_start) samples.pop_front();
  const Sample& first = samples.front();
  if (first.at_ms > window_start || now <= first.at_ms) return std::nullopt;
  return static_cast<double>(bytes - first.bytes) * 1000.0 / static_cast<double>(now - first.at_ms);
}

void AutoScaler::Tick() {
  MutexLock lock(mu_);
  const int64_t now = options_.clock->MonotonicMs();
  std::set<std::string> seen;
  for (const std::string& name : service_->List(StreamKind::kStandalone)) {
    auto writes = service_->Writes(name);
    if (!writes.ok() || !writes->on_demand) continue;
    seen.insert(name);
    TickStream(name, *writes, streams_[name], now);
  }
  for (auto it = streams_.begin(); it != streams_.end();) {
    it = seen.count(it->first) != 0 ? std::next(it) : streams_.erase(it);
  }
}

void AutoScaler::TickStream(const std::string& name, const StreamWrites& writes, StreamState& state,
                            int64_t now) {
  const auto& open = writes.open_shards;
  std::map<uint32_t, std::deque<Sample>> kept;
  std::vector<std::optional<double>> rates;
  for (const ShardWrites& s : open) {
    std::deque<Sample>& samples = kept[s.shard];
    if (auto it = state.shards.find(s.shard); it != state.shards.end()) {
      samples = std::move(it->second);
    }
    rates.push_back(WindowRate(samples, now, s.bytes));
  }
  state.shards = std::move(kept);  // closed shards' samples go
  if (state.last_action_ms && now - *state.last_action_ms < options_.cooldown_ms) return;
  const double window_s = static_cast<double>(options_.window_ms) / 1000.0;

  // The hottest shard above the split threshold.
  std::optional<size_t> hot;
  for (size_t i = 0; i < open.size(); ++i) {
    if (rates[i] && *rates[i] > static_cast<double>(options_.split_above_bytes_per_sec) &&
        MiddleOf(open[i].hash_keys) && (!hot || *rates[i] > *rates[*hot])) {
      hot = i;
    }
  }
  if (hot && open.size() < options_.max_shards) {
    const ShardWrites& s = open[*hot];
    const HashKey middle = *MiddleOf(s.hash_keys);
    spdlog::info(
        "autoscaler: stream {} shard {} wrote {:.0f} B/s over the last {:.0f} s (split above "
        "{} B/s): splitting it at hash key {}",
        name, s.shard, *rates[*hot], window_s, options_.split_above_bytes_per_sec,
        middle.ToDecimal());
    state.last_action_ms = now;
    if (Status st = service_->SplitShard(name, s.shard, middle); !st.ok()) {
      spdlog::warn("autoscaler: stream {}: split of shard {} failed: {}", name, s.shard,
                   st.ToString());
    }
    return;
  }
  if (open.size() <= options_.min_shards) return;
  // The first adjacent pair (in hash-key order) of shards both below the merge threshold.
  const auto cold = [&](size_t i) {
    return rates[i] && *rates[i] < static_cast<double>(options_.merge_below_bytes_per_sec);
  };
  for (size_t i = 0; i + 1 < open.size(); ++i) {
    if (!cold(i) || !cold(i + 1)) continue;
    spdlog::info(
        "autoscaler: stream {} shards {} and {} wrote {:.0f} and {:.0f} B/s over the last {:.0f} "
        "s (merge below {} B/s): merging them",
        name, open[i].shard, open[i + 1].shard, *rates[i], *rates[i + 1], window_s,
        options_.merge_below_bytes_per_sec);
    state.last_action_ms = now;
    if (Status st = service_->MergeShards(name, open[i].shard, open[i + 1].shard); !st.ok()) {
      spdlog::warn("autoscaler: stream {}: merge of shards {} and {} failed: {}", name,
                   open[i].shard, open[i + 1].shard, st.ToString());
    }
    return;
  }
}

}  // namespace sluice::streams
