// Specification of PartitionSnapshot: a read-only view of a partition that another process owns
// (sluice replay next to a running sluice serve). It writes nothing, stops at a torn tail without
// cutting it, is fixed at Open, and outlives retention deleting its segments.
#include "journal/snapshot.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>

#include "common/file_util.h"
#include "gtest/gtest.h"
#include "journal/codec.h"
#include "journal/format.h"

namespace sluice::journal {
namespace {

namespace stdfs = std::filesystem;

constexpr auto kWait = std::chrono::seconds(10);

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "snapshot_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    options_.dir = tmpl;
    options_.clock = &clock_;
    options_.segment_bytes = 1000;  // 8 frames of 100-byte records per segment
    OpenJournal();
  }
  void TearDown() override {
    journal_.reset();
    stdfs::remove_all(options_.dir);
  }

  void OpenJournal() {
    log_ = nullptr;
    journal_.reset();
    auto journal = Journal::Open(options_);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    journal_ = std::move(*journal);
    auto log = journal_->Partition("orders", 0);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = *log;
  }
  void CloseJournal() {
    log_ = nullptr;
    journal_.reset();
  }

  // Appends `n` records of 100 bytes ("<i>" padded with '.'), one append each, and waits.
  void Append(int n) {
    for (int i = 0; i < n; ++i, ++appended_) {
      std::string data = std::to_string(appended_);
      data.resize(100, '.');
      std::promise<Status> done;
      log_->Append({data}, clock_.NowMs(),
                   [&done](const Result<AppendResult>& r) { done.set_value(r.status()); });
      auto future = done.get_future();
      ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
      ASSERT_TRUE(future.get().ok());
    }
  }

  std::unique_ptr<PartitionSnapshot> OpenSnapshot() {
    auto snapshot = PartitionSnapshot::Open(PartitionDir());
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    return snapshot.ok() ? std::move(*snapshot) : nullptr;
  }

  static std::vector<StoredRecord> ReadAll(PartitionSnapshot& snapshot,
                                           std::optional<Offset> from = std::nullopt) {
    std::vector<StoredRecord> out;
    auto reader = snapshot.NewReader();
    if (from) {
      Status st = reader->Seek(*from);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    for (;;) {
      auto n = reader->Next(5, 1 << 20, out);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) break;
    }
    return out;
  }

  // Every file of the journal with its bytes: the snapshot must leave this unchanged.
  std::map<std::string, std::string> JournalFiles() const {
    std::map<std::string, std::string> files;
    for (const auto& entry : stdfs::recursive_directory_iterator(options_.dir)) {
      files[entry.path().string()] =
          entry.is_regular_file() ? *fs::ReadFile(entry.path().string()) : "<dir>";
    }
    return files;
  }

  std::string PartitionDir() const { return options_.dir + "/streams/orders/0"; }
  std::string SegmentPath(uint64_t base) const {
    return PartitionDir() + "/" + SegmentFileName(base);
  }
  static uint64_t FramePos(uint64_t i) {
    return format::kSegmentHeaderSize + i * (format::kFrameHeaderSize + 100);
  }

  ManualClock clock_;
  Options options_;
  std::unique_ptr<Journal> journal_;
  PartitionLog* log_ = nullptr;
  int appended_ = 0;
};

TEST_F(SnapshotTest, ReadsEveryRecordAcrossSegmentsWithOffsetsAndArrivalTimes) {
  for (int i = 0; i < 20; ++i) {
    Append(1);
    clock_.AdvanceMs(10);
  }
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->Begin(), Offset{0});
  EXPECT_EQ(snapshot->End(), Offset{20});
  auto all = ReadAll(*snapshot);
  ASSERT_EQ(all.size(), 20u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].offset, Offset{i});
    EXPECT_EQ(all[i].arrival_ms, 1'700'000'000'000 + 10 * static_cast<int64_t>(i));
    EXPECT_EQ(all[i].data.substr(0, all[i].data.find('.')), std::to_string(i));
  }
  auto tail = ReadAll(*snapshot, Offset{13});
  ASSERT_EQ(tail.size(), 7u);
  EXPECT_EQ(tail.front().offset, Offset{13});
  EXPECT_TRUE(ReadAll(*snapshot, Offset{20}).empty());
}

TEST_F(SnapshotTest, OpeningAndReadingWritesNothingEvenWithATornTailAndATempFile) {
  Append(10);
  CloseJournal();
  // A torn tail (the writer died mid-frame) and a leftover temp file: recovery would cut the one
  // and remove the other; a snapshot must do neither.
  std::string last = SegmentPath(8);
  std::string data = *fs::ReadFile(last);
  data += std::string(40, 'T');
  ASSERT_TRUE(fs::WriteFileAtomically(last, data).ok());
  ASSERT_TRUE(fs::WriteFileAtomically(PartitionDir() + "/checkpoint.x.tmp.1", "junk").ok());
  auto before = JournalFiles();

  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->End(), Offset{10});
  EXPECT_EQ(ReadAll(*snapshot).size(), 10u);
  snapshot.reset();

  EXPECT_EQ(JournalFiles(), before);
}

TEST_F(SnapshotTest, RecordsAppendedAfterOpenAreNotPartOfIt) {
  Append(5);
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);
  Append(10);  // fills the active segment and rolls to a new one
  EXPECT_EQ(snapshot->End(), Offset{5});
  auto all = ReadAll(*snapshot);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.back().offset, Offset{4});
}

TEST_F(SnapshotTest, SegmentsDeletedByRetentionAfterOpenStayReadable) {
  Append(20);
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);
  ASSERT_TRUE(log_->CommitCheckpoint("delivery", Offset{20}).ok());
  clock_.AdvanceMs(3'600'000);
  auto deleted = log_->ApplyRetention(journal::Retention{1000});
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  ASSERT_EQ(*deleted, 2u);
  ASSERT_FALSE(fs::Exists(SegmentPath(0)));
  EXPECT_EQ(ReadAll(*snapshot).size(), 20u);

  auto later = OpenSnapshot();
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(later->Begin(), Offset{16});
  EXPECT_EQ(ReadAll(*later).size(), 4u);
  Status st = later->NewReader()->Seek(Offset{3});
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("deleted by retention; the first retained record is 16"),
            std::string::npos)
      << st.message();
}

TEST_F(SnapshotTest, CorruptionBeforeTheLastSegmentFailsOpenWithItsOffset) {
  Append(12);
  CloseJournal();
  std::string path = SegmentPath(0);
  std::string data = *fs::ReadFile(path);
  data[FramePos(3) + format::kFrameHeaderSize + 7] ^= 0x5a;
  ASSERT_TRUE(fs::WriteFileAtomically(path, data).ok());
  auto snapshot = PartitionSnapshot::Open(PartitionDir());
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.status().code(), StatusCode::kCorruption);
  EXPECT_NE(snapshot.status().message().find(path + ": byte offset " + std::to_string(FramePos(3))),
            std::string::npos)
      << snapshot.status().message();
}

TEST_F(SnapshotTest, FirstOffsetArrivingAtOrAfterSkipsOlderSegments) {
  Append(8);  // segment 0: arrivals at t0
  clock_.AdvanceMs(60'000);
  Append(8);  // segment 8: arrivals at t0 + 60 s
  clock_.AdvanceMs(60'000);
  Append(3);  // segment 16
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);
  const int64_t t0 = 1'700'000'000'000;
  EXPECT_EQ(snapshot->FirstOffsetArrivingAtOrAfter(t0 - 1), Offset{0});
  EXPECT_EQ(snapshot->FirstOffsetArrivingAtOrAfter(t0 + 1), Offset{8});
  EXPECT_EQ(snapshot->FirstOffsetArrivingAtOrAfter(t0 + 120'000), Offset{16});
  EXPECT_EQ(snapshot->FirstOffsetArrivingAtOrAfter(t0 + 120'001), Offset{19});
}

TEST_F(SnapshotTest, AMissingPartitionIsNotFound) {
  auto snapshot = PartitionSnapshot::Open(options_.dir + "/streams/nope/0");
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice::journal
