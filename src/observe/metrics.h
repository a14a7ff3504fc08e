// Metrics: counters, gauges and histograms with labels, and a registry that renders them in the
// Prometheus text exposition format (version 0.0.4).
//
// Contract:
//   - A family (one metric name, its help text, its label names) is declared once per module
//     (each module's metrics.h) in a Registry. A series is one set of label values; With() finds
//     or creates it under the family's lock and returns a handle that lives as long as the
//     registry. Hot paths look their handles up once (per stream, per shard) and keep them:
//     Inc/Set/Observe are relaxed atomics, never a lock.
//   - Render() writes every family in declaration order (HELP, TYPE, then each series in the
//     order it was created), after running the collectors (callbacks that set gauges from state
//     read at scrape time: journal bytes, freshness). Label values are escaped (\\, \", \n).
//   - Built with SLUICE_METRICS_NOOP (cmake -DSLUICE_METRICS_NOOP=ON, for the benchmark's
//     baseline) the recording calls compile to nothing; lookups and Render still work (every
//     value reads 0).
// Thread safety: everything may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"

namespace sluice::observe {

#ifdef SLUICE_METRICS_NOOP
inline constexpr bool kMetricsEnabled = false;
#else
inline constexpr bool kMetricsEnabled = true;
#endif

// A monotonically increasing count (Prometheus counter; its name ends in _total).
class Counter {
 public:
  void Inc(uint64_t n = 1) {
    if constexpr (kMetricsEnabled) value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) {
    if constexpr (kMetricsEnabled) value_.store(v, std::memory_order_relaxed);
  }
  void Add(double d) {
    if constexpr (kMetricsEnabled) value_.fetch_add(d, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into cumulative buckets by upper bound (`le`), with their sum and count.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v) {
    if constexpr (kMetricsEnabled) ObserveImpl(v);
  }
  // Per-bucket (non-cumulative) counts; the last is the +Inf bucket.
  std::vector<uint64_t> BucketCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  void ObserveImpl(double v);
  const std::vector<double>* bounds_;                // ascending; owned by the family
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_->size() + 1
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// One metric name and its series. M is Counter, Gauge or Histogram.
template <typename M>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The series with these label values (one per label name, in order); created at 0 when new.
  // REQUIRES: values.size() == label_names().size().
  M& With(const std::vector<std::string>& values) {
    MutexLock lock(mu_);
    auto it = index_.find(values);
    if (it != index_.end()) return *it->second;
    M* m = nullptr;
    if constexpr (std::is_same_v<M, Histogram>) {
      m = &series_.emplace_back(values, &bounds_).metric;
    } else {
      m = &series_.emplace_back(values).metric;
    }
    index_.emplace(values, m);
    return *m;
  }
  // The series' value when it exists (tests, `sluice top`), without creating it.
  const M* Find(const std::vector<std::string>& values) const {
    MutexLock lock(mu_);
    auto it = index_.find(values);
    return it == index_.end() ? nullptr : it->second;
  }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls f(label values, metric) for every series, in creation order.
  template <typename F>
  void ForEach(F f) const {
    MutexLock lock(mu_);
    for (const auto& s : series_) f(s.labels, s.metric);
  }

 private:
  struct Series {
    explicit Series(std::vector<std::string> l) : labels(std::move(l)) {}
    Series(std::vector<std::string> l, const std::vector<double>* b)
        : labels(std::move(l)), metric(b) {}
    std::vector<std::string> labels;
    M metric;
  };
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  mutable Mutex mu_;
  std::deque<Series> series_ SLUICE_GUARDED_BY(mu_);  // a deque: handles stay valid
  std::map<std::vector<std::string>, M*> index_ SLUICE_GUARDED_BY(mu_);
};

// Buckets for latencies in seconds: 1 ms .. 60 s.
const std::vector<double>& LatencyBucketsSeconds();

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process's registry (what the admin listener serves).
  static Registry& Default();

  // Declares a family. Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in _total.
  // Declaring the same name twice returns the first declaration (a module's metrics are declared
  // once; a second registry user gets the same family). REQUIRES: same type and labels.
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> labels);
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> labels);
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels, std::vector<double> bounds);

  // Runs `collect` before every Render (it sets gauges from state it reads then). Returns an id
  // for RemoveCollector; the callback must stay valid until removed.
  uint64_t AddCollector(std::function<void()> collect);
  void RemoveCollector(uint64_t id);

  // The text exposition format of every family.
  std::string Render() const;

 private:
  struct Entry {
    MetricType type;
    void* family;  // Family<Counter|Gauge|Histogram>*, owned by the matching vector below
  };
  void* Find(const std::string& name, MetricType type) const SLUICE_REQUIRES(mu_);

  mutable Mutex mu_;
  std::vector<std::pair<std::string, Entry>> order_ SLUICE_GUARDED_BY(mu_);
  std::deque<Family<Counter>> counters_ SLUICE_GUARDED_BY(mu_);
  std::deque<Family<Gauge>> gauges_ SLUICE_GUARDED_BY(mu_);
  std::deque<Family<Histogram>> histograms_ SLUICE_GUARDED_BY(mu_);
  mutable Mutex collect_mu_;  // held while collectors run, so RemoveCollector waits for them
  std::map<uint64_t, std::function<void()>> collectors_ SLUICE_GUARDED_BY(collect_mu_);
  uint64_t next_collector_ SLUICE_GUARDED_BY(collect_mu_) = 1;
};

// Escapes a label value for the exposition format: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view v);
// A sample value as Prometheus writes it (integers without a fraction, +Inf, NaN).
std::string FormatValue(double v);

}  // namespace sluice::observe
