#include "observe/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sluice::observe {

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::ObserveImpl(double v) {
  const auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);  // first bound >= v
  counts_[static_cast<size_t>(it - bounds_->begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> out(bounds_->size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

const std::vector<double>& LatencyBucketsSeconds() {
  static const std::vector<double> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,      2.5,   5,    10,    30,   60};
  return kBuckets;
}

Registry& Registry::Default() {
  static Registry* registry = new Registry();  // never destroyed: handles outlive static dtors
  return *registry;
}

void* Registry::Find(const std::string& name, MetricType type) const {
  for (const auto& [n, e] : order_) {
    if (n == name && e.type == type) return e.family;
  }
  return nullptr;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  MutexLock lock(mu_);
  if (void* f = Find(name, MetricType::kCounter)) return *static_cast<Family<Counter>*>(f);
  auto& f = counters_.emplace_back(name, help, std::move(labels));
  order_.push_back({name, Entry{MetricType::kCounter, &f}});
  return f;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels) {
  MutexLock lock(mu_);
  if (void* f = Find(name, MetricType::kGauge)) return *static_cast<Family<Gauge>*>(f);
  auto& f = gauges_.emplace_back(name, help, std::move(labels));
  order_.push_back({name, Entry{MetricType::kGauge, &f}});
  return f;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels,
                                          std::vector<double> bounds) {
  MutexLock lock(mu_);
  if (void* f = Find(name, MetricType::kHistogram)) return *static_cast<Family<Histogram>*>(f);
  std::sort(bounds.begin(), bounds.end());
  auto& f = histograms_.emplace_back(name, help, std::move(labels), std::move(bounds));
  order_.push_back({name, Entry{MetricType::kHistogram, &f}});
  return f;
}

uint64_t Registry::AddCollector(std::function<void()> collect) {
  MutexLock lock(collect_mu_);
  const uint64_t id = next_collector_++;
  collectors_.emplace(id, std::move(collect));
  return id;
}

void Registry::RemoveCollector(uint64_t id) {
  MutexLock lock(collect_mu_);
  collectors_.erase(id);
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} plus an optional extra label (le); "" when there are no labels.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(i < values.size() ? values[i] : "");
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

void Header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out += "# TYPE " + name + " ";
  out += type;
  out += '\n';
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.15g", v);  // shortest that reads back the same
    if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

std::string Registry::Render() const {
  {
    MutexLock lock(collect_mu_);
    for (const auto& [id, collect] : collectors_) collect();
  }
  std::string out;
  MutexLock lock(mu_);
  // Not a structured binding: clang 14 cannot capture one in the lambdas below.
  for (const auto& entry : order_) {
    const auto& name = entry.first;
    const auto& e = entry.second;
    switch (e.type) {
      case MetricType::kCounter: {
        const auto& f = *static_cast<const Family<Counter>*>(e.family);
        Header(out, name, f.help(), "counter");
        f.ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
          out += name + LabelSet(f.label_names(), labels) + " " + std::to_string(c.value()) + "\n";
        });
        break;
      }
      case MetricType::kGauge: {
        const auto& f = *static_cast<const Family<Gauge>*>(e.family);
        Header(out, name, f.help(), "gauge");
        f.ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
          out += name + LabelSet(f.label_names(), labels) + " " + FormatValue(g.value()) + "\n";
        });
        break;
      }
      case MetricType::kHistogram: {
        const auto& f = *static_cast<const Family<Histogram>*>(e.family);
        Header(out, name, f.help(), "histogram");
        f.ForEach([&](const std::vector<std::string>& labels, const Histogram& h) {
          const std::vector<uint64_t> counts = h.BucketCounts();
          uint64_t cumulative = 0;
          for (size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            const std::string le = i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf";
            out += name + "_bucket" + LabelSet(f.label_names(), labels, "le", le) + " " +
                   std::to_string(cumulative) + "\n";
          }
          const std::string ls = LabelSet(f.label_names(), labels);
          out += name + "_sum" + ls + " " + FormatValue(h.sum()) + "\n";
          // _count equals the +Inf bucket (both read the same snapshot of the buckets).
          out += name + "_count" + ls + " " + std::to_string(cumulative) + "\n";
        });
        break;
      }
    }
  }
  return out;
}

}  // namespace sluice::observe
