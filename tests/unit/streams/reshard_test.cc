// Resharding (SplitShard, MergeShards, UpdateShardCount): shapes, links, routing, persistence, and
// appends racing a split.
#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "streams/service.h"
#include "unit/streams/service_fixture.h"

namespace sluice::streams {
namespace {

using ReshardTest = ServiceTest;

const Shard* ShardOf(const StreamSpec& spec, uint32_t id) {
  for (const auto& s : spec.shards) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

std::vector<HashKeyRange> OpenRanges(const StreamSpec& spec) {
  std::vector<HashKeyRange> out;
  for (const auto& s : spec.shards) {
    if (s.open) out.push_back(s.hash_keys);
  }
  std::sort(out.begin(), out.end(),
            [](const HashKeyRange& a, const HashKeyRange& b) { return a.start < b.start; });
  return out;
}

Record At(const HashKey& key, std::string data) {
  return Record{std::move(data), "pk", key};
}

TEST_F(ReshardTest, SplitClosesTheParentAtItsEndAndRoutesToTheChildren) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 2)).ok());
  const HashKeyRange range0 = EvenRanges(2)[0];
  AppendNow("s", {At(HashKey{}, "a"), At(range0.end, "b")});
  const HashKey middle = *MiddleOf(range0);
  ASSERT_TRUE(service_->SplitShard("s", 0, middle).ok());

  for (int reopen = 0; reopen < 2; ++reopen) {
    auto info = service_->Describe("s");
    ASSERT_TRUE(info.ok());
    const StreamSpec& spec = info->spec;
    ASSERT_EQ(spec.shards.size(), 4u);
    const Shard* parent = ShardOf(spec, 0);
    EXPECT_FALSE(parent->open);
    EXPECT_EQ(parent->end_offset, journal::Offset{2});
    EXPECT_EQ(*ShardOf(spec, 2), (Shard{2,
                                        {range0.start, middle.Prev()},
                                        0,
                                        std::nullopt,
                                        true,
                                        std::nullopt,
                                        clock_.NowMs()}));
    EXPECT_EQ(*ShardOf(spec, 3),
              (Shard{3, {middle, range0.end}, 0, std::nullopt, true, {}, clock_.NowMs()}));
    EXPECT_EQ(parent->closed_ms, clock_.NowMs());  // kept in the catalog across the reopen
    EXPECT_EQ(parent->opened_ms, 0);               // a first shard opens with its stream
    EXPECT_TRUE(ShardOf(spec, 1)->open);
    EXPECT_EQ(Children(spec, 0), (std::vector<uint32_t>{2, 3}));
    EXPECT_TRUE(Children(spec, 1).empty());
    EXPECT_EQ(service_->ShardEnd("s", 0).value(), journal::Offset{2});
    OpenAll();  // the reshard is in the catalog
  }
  auto out = AppendNow("s", {At(HashKey{}, "c"), At(range0.end, "d"), At(HashKey::Max(), "e")});
  EXPECT_EQ(out[0].position, (Position{2, journal::Offset{0}}));
  EXPECT_EQ(out[1].position, (Position{3, journal::Offset{0}}));
  EXPECT_EQ(out[2].position, (Position{1, journal::Offset{0}}));
  EXPECT_EQ(ReadKeyed("s", 0), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ReadKeyed("s", 2), (std::vector<std::string>{"c"}));
  EXPECT_EQ(ReadKeyed("s", 3), (std::vector<std::string>{"d"}));
}

TEST_F(ReshardTest, OpenCompletesASplitInterruptedBeforeItsParentsEndWasSaved) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  AppendNow("s", {At(HashKey{}, "a"), At(HashKey{}, "b")});
  ASSERT_TRUE(service_->SplitShard("s", 0, HashKey{1, 0}).ok());
  // The catalog as the split's first write left it: the parent closed, its end not yet known.
  const std::string path = fs::Join(dir_, "catalog/s.json");
  std::string text = fs::ReadFile(path).value();
  const std::string end = ",\"end_offset\":2";
  ASSERT_NE(text.find(end), std::string::npos) << text;
  text.erase(text.find(end), end.size());
  ASSERT_TRUE(fs::WriteFileAtomically(path, text).ok());
  OpenAll();
  EXPECT_EQ(ShardOf(service_->Describe("s")->spec, 0)->end_offset, journal::Offset{2});
  EXPECT_NE(fs::ReadFile(path).value().find(end), std::string::npos);  // saved again
}

TEST_F(ReshardTest, SplitRefusesClosedShardsKeysOutsideTheRangeAndTheShardLimit) {
  service_options_.max_open_shards = 3;
  OpenAll();
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  EXPECT_EQ(service_->SplitShard("nope", 0, HashKey{0, 5}).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->SplitShard("s", 9, HashKey{0, 5}).code(), StatusCode::kNotFound);
  // The new starting key must be in (start, end]: not the start itself.
  Status st = service_->SplitShard("s", 0, HashKey{});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "new starting hash key 0 of shard 0 of stream s is not both greater than the shard's "
            "starting hash key 0 and at most its ending hash key " +
                HashKey::Max().ToDecimal());
  ASSERT_TRUE(service_->SplitShard("s", 0, HashKey::Max()).ok());  // children [0, max-1], [max]
  st = service_->SplitShard("s", 0, HashKey{0, 5});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "shard 0 of stream s has already been merged or split, and thus is not eligible for "
            "merging or splitting");
  ASSERT_TRUE(service_->SplitShard("s", 1, HashKey{0, 5}).ok());  // 3 open shards
  st = service_->SplitShard("s", 3, HashKey{0, 2});
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "splitting shard 3 of stream s would exceed the limit of 3 open shards");
}

TEST_F(ReshardTest, MergeJoinsAdjacentOpenShardsUnderTheLowerOne) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 3)).ok());
  const auto ranges = EvenRanges(3);
  AppendNow("s", {At(ranges[1].start, "one"), At(ranges[2].start, "two")});
  Status st = service_->MergeShards("s", 0, 2);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "shards 0 and 2 of stream s are not an adjacent pair of shards eligible for merging");
  EXPECT_EQ(service_->MergeShards("s", 1, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->MergeShards("s", 1, 7).code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->MergeShards("s", 2, 1).ok());  // either order
  OpenAll();
  StreamSpec spec = service_->Describe("s")->spec;
  EXPECT_EQ(*ShardOf(spec, 3),
            (Shard{3, {ranges[1].start, ranges[2].end}, 1, 2, true, {}, clock_.NowMs()}));
  EXPECT_EQ(ShardOf(spec, 1)->end_offset, journal::Offset{1});
  EXPECT_EQ(ShardOf(spec, 2)->end_offset, journal::Offset{1});
  EXPECT_EQ(Children(spec, 1), (std::vector<uint32_t>{3}));
  EXPECT_EQ(Children(spec, 2), (std::vector<uint32_t>{3}));
  st = service_->MergeShards("s", 0, 1);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "shard 1 of stream s has already been merged or split, and thus is not eligible for "
            "merging or splitting");
  EXPECT_EQ(AppendNow("s", {At(ranges[2].end, "x")})[0].position,
            (Position{3, journal::Offset{0}}));
  ASSERT_TRUE(service_->MergeShards("s", 3, 0).ok());
  spec = service_->Describe("s")->spec;
  EXPECT_EQ(*ShardOf(spec, 4),
            (Shard{4, {HashKey{}, HashKey::Max()}, 0, 3, true, {}, clock_.NowMs()}));
}

// Checks the shape UpdateShardCount leaves: the even ranges open, every shard's links to shards
// that exist and were closed, a split child inside its parent, a merge child the union of two
// adjacent parents, and every closed shard with its end and the time it closed (`at`, as every
// shard a reshard made records when it opened).
void ExpectUniformShape(const StreamSpec& spec, uint32_t target, int64_t at) {
  EXPECT_EQ(OpenRanges(spec), EvenRanges(target));
  for (const Shard& s : spec.shards) {
    EXPECT_EQ(s.open, !s.end_offset.has_value()) << s.id;
    EXPECT_EQ(s.closed_ms, s.open ? 0 : at) << s.id;
    EXPECT_EQ(s.opened_ms, s.parent ? at : 0) << s.id;
    if (!s.parent) {
      EXPECT_FALSE(s.adjacent_parent) << s.id;
      continue;
    }
    const Shard* parent = ShardOf(spec, *s.parent);
    ASSERT_NE(parent, nullptr) << s.id;
    EXPECT_FALSE(parent->open) << s.id;
    if (!s.adjacent_parent) {
      EXPECT_TRUE(parent->hash_keys.start <= s.hash_keys.start &&
                  s.hash_keys.end <= parent->hash_keys.end)
          << s.id;
      continue;
    }
    const Shard* adjacent = ShardOf(spec, *s.adjacent_parent);
    ASSERT_NE(adjacent, nullptr) << s.id;
    EXPECT_FALSE(adjacent->open) << s.id;
    EXPECT_EQ(parent->hash_keys.start, s.hash_keys.start) << s.id;
    EXPECT_EQ(parent->hash_keys.end.Next(), adjacent->hash_keys.start) << s.id;
    EXPECT_EQ(adjacent->hash_keys.end, s.hash_keys.end) << s.id;
  }
}

TEST_F(ReshardTest, UpdateShardCountReachesEvenRangesThroughLinkedSplitsAndMerges) {
  const std::vector<std::pair<uint32_t, uint32_t>> cases = {
      {1, 2}, {2, 1}, {3, 2}, {2, 3}, {4, 3}, {3, 5}, {5, 8}, {8, 4}, {7, 13}, {13, 7}};
  int n = 0;
  for (auto [from, to] : cases) {
    const std::string name = "s" + std::to_string(n++);
    ASSERT_TRUE(
        service_->Create(StreamSpec::WithEvenShards(name, StreamKind::kStandalone, from)).ok());
    // One record per shard, to see each end where it belongs.
    std::vector<Record> records;
    for (const auto& r : EvenRanges(from)) records.push_back(At(r.start, "x"));
    AppendNow(name, records);
    ASSERT_TRUE(service_->UpdateShardCount(name, to).ok()) << from << " -> " << to;
    const StreamSpec spec = service_->Describe(name)->spec;
    SCOPED_TRACE(std::to_string(from) + " -> " + std::to_string(to));
    ExpectUniformShape(spec, to, clock_.NowMs());
    for (const Shard& s : spec.shards) {
      if (s.id < from) {
        EXPECT_EQ(s.end_offset.value_or(journal::Offset{1}), journal::Offset{1}) << s.id;
      } else if (!s.open) {
        EXPECT_EQ(s.end_offset, journal::Offset{0}) << s.id;  // an intermediate: never written
      }
    }
    // Records go to the new ranges' shards.
    records.clear();
    for (const auto& r : EvenRanges(to)) records.push_back(At(r.end, "y"));
    auto out = AppendNow(name, records);
    for (size_t i = 0; i < out.size(); ++i) {
      const Shard* s = ShardOf(spec, out[i].position.shard);
      ASSERT_NE(s, nullptr);
      EXPECT_TRUE(s->open);
      EXPECT_EQ(s->hash_keys, EvenRanges(to)[i]);
    }
  }
  OpenAll();
  ExpectUniformShape(service_->Describe("s9")->spec, 7, clock_.NowMs());
}

TEST_F(ReshardTest, UpdateShardCountKeepsAWSLimits) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 4)).ok());
  Status st = service_->UpdateShardCount("s", 9);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(),
            "stream s: cannot scale up over double the current open shard count. Current open "
            "shard count: 4 Target shard count: 9");
  st = service_->UpdateShardCount("s", 1);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(),
            "stream s: cannot scale down below half the current open shard count. Current open "
            "shard count: 4 Target shard count: 1");
  EXPECT_EQ(service_->UpdateShardCount("s", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->UpdateShardCount("nope", 2).code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->UpdateShardCount("s", 4).ok());  // already even: nothing changes
  EXPECT_EQ(service_->Describe("s")->spec.shards.size(), 4u);
  ASSERT_TRUE(service_
                  ->Update("s",
                           [](StreamSpec& spec) {
                             spec.on_demand = true;
                             return Status::Ok();
                           })
                  .ok());
  EXPECT_EQ(service_->UpdateShardCount("s", 2).code(), StatusCode::kFailedPrecondition);
}

TEST_F(ReshardTest, AppendsRacingASplitLandInExactlyOneShardAndClosedEndsCoverThem) {
  ASSERT_TRUE(service_->Create(StreamSpec::WithEvenShards("s", StreamKind::kStandalone, 1)).ok());
  constexpr int kThreads = 8;
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  struct Acked {
    std::string data;
    Position position;
  };
  std::vector<std::vector<Acked>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        // Each thread's key, and a key of its own in each half of every split below.
        const std::string data = std::to_string(t) + "-" + std::to_string(i);
        std::promise<Result<AppendResult>> p;
        service_->Append("s", {Record{data, "key" + std::to_string(t * 7 + i % 5), {}}},
                         [&](auto r) { p.set_value(std::move(r)); });
        auto r = p.get_future().get();
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_TRUE(r->records[0].status.ok()) << r->records[0].status.ToString();
        per_thread[t].push_back(Acked{data, r->records[0].position});
        acked.fetch_add(1);
      }
    });
  }
  auto wait_for = [&](int n) {
    while (acked.load() < n) std::this_thread::yield();
  };
  wait_for(200);
  ASSERT_TRUE(service_->SplitShard("s", 0, *MiddleOf({HashKey{}, HashKey::Max()})).ok());
  wait_for(400);
  ASSERT_TRUE(service_->SplitShard("s", 1, *MiddleOf(EvenRanges(2)[0])).ok());
  wait_for(600);
  ASSERT_TRUE(service_->MergeShards("s", 2, 4).ok());
  wait_for(800);
  stop = true;
  for (auto& t : threads) t.join();

  const StreamSpec spec = service_->Describe("s")->spec;
  std::map<uint32_t, std::vector<journal::StoredRecord>> stored;
  for (const Shard& s : spec.shards) {
    auto reader = service_->Read("s", s.id, {});
    ASSERT_TRUE(reader.ok());
    while ((*reader)->Next(1000, 1 << 20, stored[s.id]).value() > 0) {
    }
    if (!s.open) {
      // The closed shard's end is exactly past its records: nothing landed after it was fixed.
      EXPECT_EQ(s.end_offset, journal::Offset{stored[s.id].size()}) << s.id;
      EXPECT_EQ(service_->ShardEnd("s", s.id).value(), *s.end_offset) << s.id;
      EXPECT_FALSE(stored[s.id].empty()) << s.id;  // the split came mid-stream
    }
  }
  std::map<std::string, Position> where;
  for (const auto& [id, records] : stored) {
    for (const auto& r : records) {
      auto keyed = SplitKeyed(r.data);
      ASSERT_TRUE(keyed);
      EXPECT_TRUE(where.emplace(std::string(keyed->data), Position{id, r.offset}).second)
          << "stored twice: " << keyed->data;
    }
  }
  size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    total += per_thread[t].size();
    std::map<uint32_t, size_t> last_in;  // per shard, the thread's last record's index
    for (size_t i = 0; i < per_thread[t].size(); ++i) {
      const Acked& a = per_thread[t][i];
      auto it = where.find(a.data);
      ASSERT_NE(it, where.end()) << a.data;
      EXPECT_EQ(it->second, a.position) << a.data;
      // Once a thread's record went to a shard's child, none of its later records went to it.
      const Shard* s = ShardOf(spec, a.position.shard);
      ASSERT_NE(s, nullptr);
      if (s->end_offset) {
        EXPECT_LT(a.position.offset, *s->end_offset);
      }
      last_in[a.position.shard] = i;
    }
    for (const auto& [shard, last] : last_in) {
      for (uint32_t child : Children(spec, shard)) {
        for (size_t i = 0; i < last; ++i) {
          EXPECT_NE(per_thread[t][i].position.shard, child)
              << "thread " << t << " wrote to child " << child << " before parent " << shard;
        }
      }
    }
  }
  EXPECT_EQ(where.size(), total);  // nothing stored that was not acknowledged
}

}  // namespace
}  // namespace sluice::streams
