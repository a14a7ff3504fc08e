// Specification of what `sluice replay` selects: positions and times as users write them, ranges
// over the retained records of a journal, and the errors a user can act on.
#include <stdlib.h>

#include <filesystem>
#include <future>

#include "api/firehose_handler.h"
#include "gtest/gtest.h"
#include "journal/journal.h"
#include "replay/bound.h"
#include "replay/selection.h"

namespace sluice::replay {
namespace {

namespace stdfs = std::filesystem;
using journal::Offset;

constexpr int64_t kT0 = 1'796'119'200'000;  // 2026-12-01T10:00:00.000Z

// --- Bounds ----------------------------------------------------------------------------------

TEST(BoundTest, RecordIdIsTheFormatStreamRegistryIssues) {
  const std::string id = api::FirehoseRecordId(1'796'119'200'123, 3, 987'654'321);
  auto bound = ParseBound(id);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(std::get<PositionBound>(*bound),
            (PositionBound{3, Offset{987'654'321}, uint64_t{1'796'119'200'123}}));
}

TEST(BoundTest, PartitionColonOffsetIsAPositionWithoutIncarnation) {
  auto bound = ParseBound("2:41");
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(std::get<PositionBound>(*bound), (PositionBound{2, Offset{41}, std::nullopt}));
  EXPECT_FALSE(ParseBound("99999999999:1").ok());  // partition over 32 bits
}

TEST(BoundTest, IsoTimesNeedAZoneAndAcceptFractionsAndOffsets) {
  EXPECT_EQ(*ParseTime("2026-12-01T10:00:00Z"), kT0);
  EXPECT_EQ(*ParseTime("2026-12-01t10:00z"), kT0);
  EXPECT_EQ(*ParseTime("2026-12-01 10:00:00.25Z"), kT0 + 250);
  EXPECT_EQ(*ParseTime("2026-12-01T10:00:00.123456789Z"), kT0 + 123);
  EXPECT_EQ(*ParseTime("2026-12-01T11:00:00+01:00"), kT0);
  EXPECT_EQ(*ParseTime("2026-12-01T04:30:00-0530"), kT0);
  EXPECT_EQ(*ParseTime("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  EXPECT_EQ(*ParseTime("1796119200000"), kT0);
  EXPECT_EQ(std::get<TimeBound>(*ParseBound("2026-12-01T10:00:00Z")).ms, kT0);
  EXPECT_EQ(std::get<TimeBound>(*ParseBound("1796119200000")).ms, kT0);
}

TEST(BoundTest, BadTimesAreRefusedSayingWhatIsExpected) {
  for (const char* bad :
       {"2026-12-01T10:00:00", "2026-02-30T10:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T10:60Z",
        "2026-12-01", "yesterday", "2026-12-01T10:00:00Zx", "2026-12-01T10:00:00.Z"}) {
    auto bound = ParseBound(bad);
    ASSERT_FALSE(bound.ok()) << bad;
    EXPECT_EQ(bound.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bound.status().message().find("expected"), std::string::npos)
        << bound.status().message();
  }
  auto long_digits = ParseBound("12345678901234567");
  ASSERT_FALSE(long_digits.ok());
  EXPECT_NE(long_digits.status().message().find("too many digits"), std::string::npos);
}

TEST(BoundTest, FormatTimeIsUtcIsoWithMilliseconds) {
  EXPECT_EQ(FormatTime(kT0 + 7), "2026-12-01T10:00:00.007Z");
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(*ParseTime(FormatTime(1'709'164'800'001)), 1'709'164'800'001);
}

// --- Selection over a journal ------------------------------------------------------------------

class SelectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "replay_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    options_.dir = root_ + "/journal";
    options_.clock = &clock_;
    options_.segment_bytes = 500;  // a few records per segment, so retention can cut some
    auto journal = journal::Journal::Open(options_);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    journal_ = std::move(*journal);
  }
  void TearDown() override {
    journal_.reset();
    stdfs::remove_all(root_);
  }

  // Appends record `data` to `partition` of "orders", arriving at `arrival_ms`.
  void Append(uint32_t partition, const std::string& data, int64_t arrival_ms) {
    auto log = journal_->Partition("orders", partition);
    ASSERT_TRUE(log.ok());
    std::promise<Status> done;
    (*log)->Append({data}, arrival_ms,
                   [&done](const Result<journal::AppendResult>& r) { done.set_value(r.status()); });
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ASSERT_TRUE(future.get().ok());
  }
  // Partition p gets records "p-0", "p-1", ... arriving every `step` ms from kT0 + `shift`.
  void Fill(uint32_t partition, int n, int64_t step, int64_t shift = 0) {
    for (int i = 0; i < n; ++i) {
      Append(partition, std::to_string(partition) + "-" + std::to_string(i),
             kT0 + shift + i * step);
    }
  }
  // Delivers and expires partition p up to its end: retention deletes all but the active segment.
  void Expire(uint32_t partition) {
    auto log = *journal_->Partition("orders", partition);
    ASSERT_TRUE(log->CommitCheckpoint("delivery", log->End()).ok());
    clock_.SetMs(kT0 + 48 * 3'600'000);
    auto deleted = log->ApplyRetention(journal::Retention{3'600'000});
    ASSERT_TRUE(deleted.ok());
    ASSERT_GT(*deleted, 0u);
  }

  std::unique_ptr<StreamSnapshot> Snapshot(const std::string& stream = "orders") {
    auto s = StreamSnapshot::Open(options_.dir, stream);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  Result<Selection> Select(StreamSnapshot& s, const std::string& from,
                           const std::optional<std::string>& to = std::nullopt,
                           std::optional<Incarnation> incarnation = std::nullopt) {
    Request request;
    SLUICE_ASSIGN_OR_RETURN(request.from, ParseBound(from));
    if (to) {
      SLUICE_ASSIGN_OR_RETURN(Bound b, ParseBound(*to));
      request.to = b;
    }
    request.incarnation = incarnation;
    return Resolve(s, request);
  }

  // The selected records' data, in the order replay sends them.
  static std::vector<std::string> Read(StreamSnapshot& s, const Selection& selection) {
    std::vector<std::string> out;
    auto records = SelectedRecords::Open(s, selection);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    if (!records.ok()) return out;
    for (;;) {
      auto next = (*records)->Next();
      EXPECT_TRUE(next.ok()) << next.status().ToString();
      if (!next.ok() || !*next) break;
      out.push_back((*next)->record.data);
    }
    return out;
  }

  std::vector<std::string> Expect(StreamSnapshot& s, const std::string& from,
                                  const std::optional<std::string>& to = std::nullopt) {
    auto selection = Select(s, from, to);
    EXPECT_TRUE(selection.ok()) << selection.status().ToString();
    return selection.ok() ? Read(s, *selection) : std::vector<std::string>{};
  }

  Status Error(StreamSnapshot& s, const std::string& from,
               const std::optional<std::string>& to = std::nullopt,
               std::optional<Incarnation> incarnation = std::nullopt) {
    auto selection = Select(s, from, to, incarnation);
    EXPECT_FALSE(selection.ok()) << "expected an error for --from " << from;
    return selection.ok() ? Status::Ok() : selection.status();
  }

  std::string root_;
  ManualClock clock_{kT0};
  journal::Options options_;
  std::unique_ptr<journal::Journal> journal_;
};

using V = std::vector<std::string>;

TEST_F(SelectionTest, APositionSelectsItsPartitionFromThereToTheEnd) {
  Fill(0, 5, 10);
  Fill(1, 5, 10, 5);
  auto s = Snapshot();
  EXPECT_EQ(Expect(*s, "0:2"), (V{"0-2", "0-3", "0-4"}));
  EXPECT_EQ(Expect(*s, api::FirehoseRecordId(kT0, 1, 3)), (V{"1-3", "1-4"}));
}

TEST_F(SelectionTest, ATimeSelectsEveryPartitionMergedInArrivalOrder) {
  Fill(0, 4, 10);     // kT0, +10, +20, +30
  Fill(1, 4, 10, 5);  // kT0+5, +15, +25, +35
  auto s = Snapshot();
  EXPECT_EQ(Expect(*s, FormatTime(kT0 + 12)), (V{"1-1", "0-2", "1-2", "0-3", "1-3"}));
  EXPECT_EQ(Expect(*s, std::to_string(kT0)),
            (V{"0-0", "1-0", "0-1", "1-1", "0-2", "1-2", "0-3", "1-3"}));
}

TEST_F(SelectionTest, BothEndsAreInclusiveForPositionsAndTimes) {
  Fill(0, 6, 10);
  Fill(1, 6, 10, 5);
  auto s = Snapshot();
  EXPECT_EQ(Expect(*s, "0:1", "0:3"), (V{"0-1", "0-2", "0-3"}));
  EXPECT_EQ(Expect(*s, "0:4", "0:4"), (V{"0-4"}));
  EXPECT_EQ(Expect(*s, FormatTime(kT0 + 10), FormatTime(kT0 + 25)),
            (V{"0-1", "1-1", "0-2", "1-2"}));
  // A position and a time: the position's partition, bounded by the time.
  EXPECT_EQ(Expect(*s, "1:1", FormatTime(kT0 + 35)), (V{"1-1", "1-2", "1-3"}));
  EXPECT_EQ(Expect(*s, FormatTime(kT0 + 21), "0:4"), (V{"0-3", "0-4"}));
}

TEST_F(SelectionTest, RecordsArrivingOutOfOrderAreMatchedOneByOne) {
  // Concurrent requests stamp their arrival before they queue: times need not follow offsets.
  Append(0, "a", kT0 + 20);
  Append(0, "b", kT0 + 10);
  Append(0, "c", kT0 + 30);
  auto s = Snapshot();
  EXPECT_EQ(Expect(*s, FormatTime(kT0 + 15)), (V{"a", "c"}));
}

TEST_F(SelectionTest, RecordsAppendedAfterTheSnapshotAreNotSelected) {
  Fill(0, 3, 10);
  auto s = Snapshot();
  Append(0, "replayed", kT0 + 100);
  EXPECT_EQ(Expect(*s, "0:0"), (V{"0-0", "0-1", "0-2"}));
}

TEST_F(SelectionTest, APositionBeforeTheOldestRetainedRecordIsOutsideRetention) {
  Fill(0, 30, 1000);
  Expire(0);
  auto s = Snapshot();
  const Offset begin = s->Find(0)->Begin();
  ASSERT_GT(begin, Offset{0});
  Status st = Error(*s, "0:3");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  const std::string oldest = "partition 0 offset " + std::to_string(begin.value);
  EXPECT_EQ(st.message(), "records before " + oldest +
                              " are outside retention (oldest retained: " + oldest + ", arrived " +
                              FormatTime(kT0 + static_cast<int64_t>(begin.value) * 1000) +
                              "); --from partition 0 offset 3 is older");
  EXPECT_EQ(Expect(*s, "0:" + std::to_string(begin.value)).size(), 30 - begin.value);
}

TEST_F(SelectionTest, ATimeBeforeTheOldestRetainedRecordIsOutsideRetentionOnlyOnceRetentionCut) {
  Fill(0, 30, 1000);
  auto uncut = Snapshot();
  // Nothing deleted yet: an early --from just means "everything".
  EXPECT_EQ(Expect(*uncut, FormatTime(kT0 - 3'600'000)).size(), 30u);
  uncut.reset();
  Expire(0);
  auto s = Snapshot();
  const Offset begin = s->Find(0)->Begin();
  const std::string oldest_time = FormatTime(kT0 + static_cast<int64_t>(begin.value) * 1000);
  Status st = Error(*s, FormatTime(kT0));
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "records before " + oldest_time +
                              " are outside retention (oldest retained: partition 0 offset " +
                              std::to_string(begin.value) + ", arrived " + oldest_time +
                              "); --from " + FormatTime(kT0) + " is older");
  EXPECT_EQ(Expect(*s, oldest_time).size(), 30 - begin.value);
}

TEST_F(SelectionTest, APositionPastTheLastRecordOrInAMissingPartitionIsAnError) {
  Fill(0, 3, 10);
  auto s = Snapshot();
  EXPECT_NE(Error(*s, "0:3").message().find(
                "--from partition 0 offset 3: partition 0 has no such record (its last record is "
                "offset 2)"),
            std::string::npos);
  EXPECT_NE(Error(*s, "4:0").message().find("stream 'orders' has no partition 4 (partitions: 0)"),
            std::string::npos);
}

TEST_F(SelectionTest, ToBeforeFromIsAnError) {
  Fill(0, 5, 10);
  Fill(1, 5, 10);
  auto s = Snapshot();
  EXPECT_EQ(Error(*s, "0:3", "0:1").message(),
            "--to (partition 0 offset 1) is before --from (partition 0 offset 3)");
  EXPECT_EQ(Error(*s, FormatTime(kT0 + 30), FormatTime(kT0 + 10)).message(),
            "--to (" + FormatTime(kT0 + 10) + ") is before --from (" + FormatTime(kT0 + 30) + ")");
  EXPECT_NE(
      Error(*s, "0:3", FormatTime(kT0 + 10)).message().find("is before the arrival of --from"),
      std::string::npos);
  EXPECT_NE(Error(*s, "0:1", "1:3").message().find("--from and --to name different partitions"),
            std::string::npos);
}

TEST_F(SelectionTest, ARecordIdOfAnotherIncarnationIsRefused) {
  Fill(0, 3, 10);
  auto s = Snapshot();
  // An API stream keeps its incarnation; any other one was deleted with its records.
  Incarnation api{kT0 - 1000, false};
  EXPECT_TRUE(Select(*s, api::FirehoseRecordId(kT0 - 1000, 0, 1), std::nullopt, api).ok());
  Status st = Error(*s, api::FirehoseRecordId(kT0 - 5000, 0, 1), std::nullopt, api);
  EXPECT_NE(st.message().find("--from is a RecordId of another incarnation of stream 'orders' (one "
                              "dating from " +
                              FormatTime(kT0 - 5000) + "; the current one dates from " +
                              FormatTime(kT0 - 1000) + ")"),
            std::string::npos)
      << st.message();
  // A config-file stream: a new incarnation per server run over the same journal.
  Incarnation config{kT0 + 60'000, true};
  EXPECT_TRUE(Select(*s, api::FirehoseRecordId(kT0 - 1000, 0, 1), std::nullopt, config).ok());
  EXPECT_FALSE(Select(*s, api::FirehoseRecordId(kT0 + 90'000, 0, 1), std::nullopt, config).ok());
  // Issued after the record at that position arrived: the journal was started over since.
  st = Error(*s, api::FirehoseRecordId(kT0 + 15, 0, 1), std::nullopt, config);
  EXPECT_NE(st.message().find("the record now at partition 0 offset 1 arrived before it"),
            std::string::npos)
      << st.message();
  // partition:offset carries no incarnation.
  EXPECT_TRUE(Select(*s, "0:1", std::nullopt, api).ok());
}

TEST_F(SelectionTest, AStreamWithoutAJournalIsNotFoundAndNamesTheStreamsThere) {
  Fill(0, 1, 10);
  auto s = StreamSnapshot::Open(options_.dir, "clicks");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("stream 'clicks' has no journal under " + options_.dir +
                                      "/streams (streams there: orders;"),
            std::string::npos)
      << s.status().message();
}

TEST_F(SelectionTest, StreamNamesThatAreNotFirehoseNamesAreRefusedBeforeTouchingTheDisk) {
  for (const char* bad :
       {"..", ".", "../journal", "a/b", "", "x y",
        "a-name-that-is-far-too-long-for-firehose-which-allows-64-characters-only"}) {
    auto s = StreamSnapshot::Open(options_.dir, bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(SelectionTest, AStreamDirectoryResolvingOutsideTheJournalIsRefused) {
  Fill(0, 1, 10);
  stdfs::create_directories(root_ + "/elsewhere/0");
  stdfs::create_directory_symlink(root_ + "/elsewhere", options_.dir + "/streams/sneaky");
  auto s = StreamSnapshot::Open(options_.dir, "sneaky");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("outside"), std::string::npos) << s.status().message();
}

TEST_F(SelectionTest, CountSelectedReportsRecordsBytesTimesAndPartitions) {
  Fill(0, 4, 10);
  Fill(1, 4, 10, 5);
  auto s = Snapshot();
  auto selection = Select(*s, FormatTime(kT0 + 10));
  ASSERT_TRUE(selection.ok());
  auto count = CountSelected(*s, *selection);
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(count->records, 6u);
  EXPECT_EQ(count->bytes, 18u);
  EXPECT_EQ(count->first_arrival_ms, kT0 + 10);
  EXPECT_EQ(count->last_arrival_ms, kT0 + 35);
  ASSERT_EQ(count->partitions.size(), 2u);
  EXPECT_EQ(count->partitions[0].partition, 0u);
  EXPECT_EQ(count->partitions[0].records, 3u);
  EXPECT_EQ(count->partitions[0].first, Offset{1});
  EXPECT_EQ(count->partitions[0].last, Offset{3});
}

}  // namespace
}  // namespace sluice::replay
