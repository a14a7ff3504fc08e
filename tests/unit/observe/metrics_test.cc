#include "observe/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>
#include <vector>

namespace sluice::observe {
namespace {

TEST(MetricsTest, CounterSeriesAreFoundAgainByTheirLabels) {
  Registry r;
  auto& f = r.AddCounter("x_total", "X.", {"stream"});
  f.With({"a"}).Inc();
  f.With({"a"}).Inc(4);
  f.With({"b"}).Inc(2);
  EXPECT_EQ(f.Find({"a"})->value(), 5u);
  EXPECT_EQ(f.Find({"b"})->value(), 2u);
  EXPECT_EQ(f.Find({"c"}), nullptr);
  EXPECT_EQ(&f.With({"a"}), &f.With({"a"}));  // a handle is stable
}

TEST(MetricsTest, DeclaringTheSameNameTwiceReturnsTheFirstFamily) {
  Registry r;
  auto& a = r.AddCounter("x_total", "X.", {"stream"});
  auto& b = r.AddCounter("x_total", "X.", {"stream"});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsTest, RendersCountersAndGaugesWithHelpAndType) {
  Registry r;
  r.AddCounter("req_total", "Requests.", {"op", "status"}).With({"Put", "200"}).Inc(3);
  r.AddGauge("used_ratio", "Used.", {}).With({}).Set(0.25);
  EXPECT_EQ(r.Render(),
            "# HELP req_total Requests.\n"
            "# TYPE req_total counter\n"
            "req_total{op=\"Put\",status=\"200\"} 3\n"
            "# HELP used_ratio Used.\n"
            "# TYPE used_ratio gauge\n"
            "used_ratio 0.25\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.AddCounter("x_total", "a \\ b\nc", {"stream"}).With({"q\"uo\\te\nnl"}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP x_total a \\\\ b\\nc\n"
            "# TYPE x_total counter\n"
            "x_total{stream=\"q\\\"uo\\\\te\\nnl\"} 1\n");
}

TEST(MetricsTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry r;
  auto& h = r.AddHistogram("lat_seconds", "Latency.", {"op"}, {0.1, 1}).With({"Put"});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"Put\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{op=\"Put\",le=\"1\"} 3\n"
            "lat_seconds_bucket{op=\"Put\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{op=\"Put\"} 7.65\n"
            "lat_seconds_count{op=\"Put\"} 4\n");
}

TEST(MetricsTest, UnlabelledHistogramHasOnlyLe) {
  Registry r;
  r.AddHistogram("h", "H.", {}, {1}).With({}).Observe(2);
  EXPECT_NE(r.Render().find("h_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(r.Render().find("h_sum 2\n"), std::string::npos);
}

TEST(MetricsTest, FamilyWithoutSeriesRendersOnlyItsHeader) {
  Registry r;
  r.AddCounter("x_total", "X.", {"stream"});
  EXPECT_EQ(r.Render(), "# HELP x_total X.\n# TYPE x_total counter\n");
}

TEST(MetricsTest, CollectorsRunBeforeRenderUntilRemoved) {
  Registry r;
  auto& g = r.AddGauge("g", "G.", {}).With({});
  int calls = 0;
  uint64_t id = r.AddCollector([&] { g.Set(++calls); });
  EXPECT_NE(r.Render().find("g 1\n"), std::string::npos);
  EXPECT_NE(r.Render().find("g 2\n"), std::string::npos);
  r.RemoveCollector(id);
  EXPECT_NE(r.Render().find("g 2\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  auto& c = r.AddCounter("x_total", "X.", {}).With({});
  auto& h = r.AddHistogram("h", "H.", {}, {1}).With({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  if constexpr (kMetricsEnabled) {
    EXPECT_EQ(c.value(), 40000u);
    EXPECT_EQ(h.count(), 40000u);
    EXPECT_EQ(h.BucketCounts()[0], 40000u);
  }
}

TEST(MetricsTest, FormatValueWritesIntegersPlainAndSpecialValues) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

}  // namespace
}  // namespace sluice::observe
