// Specification of the local journal: framing, segments, recovery, checkpoints, group commit,
// quota, retention and fault handling (design.md §5).
#include "journal/journal.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "common/crc32c.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "journal/codec.h"
#include "journal/format.h"
#include "testutil/journal_fault_file.h"

namespace sluice::journal {
namespace {

namespace stdfs = std::filesystem;
using testutil::JournalFaultFileSystem;

constexpr auto kWait = std::chrono::seconds(10);

std::string Record(size_t n, char c) {
  return std::string(n, c);
}
Retention MaxAge(int64_t ms) {
  return Retention{ms, UINT64_MAX};
}
Retention MaxDeliveredBytes(uint64_t bytes) {
  return Retention{INT64_MAX, bytes};
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "journal_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    options_.dir = tmpl;
    options_.clock = &clock_;
    options_.fs = &fault_fs_;
    Reopen();
  }
  void TearDown() override {
    journal_.reset();
    stdfs::remove_all(options_.dir);
  }

  Status TryReopen() {
    log_ = nullptr;
    journal_.reset();
    auto journal = Journal::Open(options_);
    if (!journal.ok()) return journal.status();
    journal_ = std::move(*journal);
    auto log = journal_->Partition("orders", 0);
    if (!log.ok()) return log.status();
    log_ = *log;
    return Status::Ok();
  }
  void Reopen() {
    Status st = TryReopen();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // Appends and waits for the callback (bounded).
  Result<AppendResult> Append(std::vector<std::string> records, PartitionLog* log = nullptr) {
    std::promise<Result<AppendResult>> done;
    auto future = done.get_future();
    (log ? log : log_)->Append(std::move(records), clock_.NowMs(), [&done](Result<AppendResult> r) {
      done.set_value(std::move(r));
    });
    if (future.wait_for(kWait) != std::future_status::ready) {
      return Status::Internal("append callback did not run within 10 s");
    }
    return future.get();
  }
  void AppendOk(std::vector<std::string> records) {
    size_t n = records.size();
    auto r = Append(std::move(records));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->accepted, n);
  }

  std::vector<StoredRecord> ReadAll(Offset from = Offset{0}) {
    std::vector<StoredRecord> out;
    auto reader = log_->NewReader();
    EXPECT_TRUE(reader.ok());
    Status st = (*reader)->Seek(from);
    EXPECT_TRUE(st.ok()) << st.ToString();
    for (;;) {
      auto n = (*reader)->Next(7, 1 << 20, out);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) break;
    }
    return out;
  }

  std::string PartitionDir() const { return options_.dir + "/streams/orders/0"; }
  std::string SegmentPath(uint64_t base) const {
    return PartitionDir() + "/" + SegmentFileName(base);
  }
  std::vector<std::string> SegmentNames() const {
    std::vector<std::string> out;
    auto names = fs::ListDir(PartitionDir());
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    if (!names.ok()) return out;
    for (const auto& name : *names) {
      if (ParseSegmentFileName(name)) out.push_back(name);
    }
    return out;
  }
  // Byte position of frame `i` in a segment whose frames all carry `len`-byte payloads.
  static uint64_t FramePos(uint64_t i, size_t len) {
    return format::kSegmentHeaderSize + i * (format::kFrameHeaderSize + len);
  }
  static void CorruptByte(const std::string& path, uint64_t pos) {
    std::string data = *fs::ReadFile(path);
    ASSERT_LT(pos, data.size());
    data[pos] = static_cast<char>(data[pos] ^ 0x5a);
    ASSERT_TRUE(fs::WriteFileAtomically(path, data).ok());
  }
  static void TruncateBy(const std::string& path, uint64_t n) {
    stdfs::resize_file(path, stdfs::file_size(path) - n);
  }
  std::string IndexPath(uint64_t base) const { return PartitionDir() + "/" + IndexFileName(base); }
  void RemoveIndex(uint64_t base) const { ASSERT_TRUE(stdfs::remove(IndexPath(base))); }
  // Every record from Begin(), read in one pass.
  std::vector<StoredRecord> ReadFromBegin() { return ReadAll(log_->Begin()); }

  ManualClock clock_;
  JournalFaultFileSystem fault_fs_;
  Options options_;
  std::unique_ptr<Journal> journal_;
  PartitionLog* log_ = nullptr;
};

TEST_F(JournalTest, RecordsRoundTripWithOffsetsAndArrivalTime) {
  auto r = Append({"alpha", "", "gamma"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first, Offset{0});
  EXPECT_EQ(r->accepted, 3u);
  clock_.AdvanceMs(5);
  r = Append({"delta"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, Offset{3});
  EXPECT_EQ(log_->End(), Offset{4});

  auto records = ReadAll();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].data, "alpha");
  EXPECT_EQ(records[1].data, "");
  EXPECT_EQ(records[2].data, "gamma");
  EXPECT_EQ(records[3].data, "delta");
  EXPECT_EQ(records[3].offset, Offset{3});
  EXPECT_EQ(records[0].arrival_ms, 1'700'000'000'000);
  EXPECT_EQ(records[3].arrival_ms, 1'700'000'000'005);
}

TEST_F(JournalTest, ManyRecordsOfManySizesSurviveReopen) {
  std::vector<std::string> expected;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<std::string> records;
    for (int i = 0; i < 50; ++i) {
      size_t len = static_cast<size_t>((batch * 50 + i) * 37 % 3000);
      records.push_back(Record(len, static_cast<char>('a' + (i % 26))));
    }
    expected.insert(expected.end(), records.begin(), records.end());
    AppendOk(records);
  }
  expected.push_back(Record(300 << 10, 'z'));  // larger than the reader's window
  AppendOk({expected.back()});
  Reopen();
  auto records = ReadAll();
  ASSERT_EQ(records.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(records[i].offset, Offset{i});
    ASSERT_EQ(records[i].data, expected[i]) << "record " << i;
  }
}

TEST_F(JournalTest, SegmentsRollPastSegmentBytesAndReadAcrossThem) {
  options_.segment_bytes = 1000;
  Reopen();
  for (int i = 0; i < 30; ++i) AppendOk({Record(100, static_cast<char>('A' + i))});
  // 8 frames of 128 bytes pass 1000 bytes: each segment holds 8 records.
  EXPECT_EQ(SegmentNames(), (std::vector<std::string>{SegmentFileName(0), SegmentFileName(8),
                                                      SegmentFileName(16), SegmentFileName(24)}));
  Reopen();
  auto all = ReadAll();
  ASSERT_EQ(all.size(), 30u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].data[0], 'A' + static_cast<int>(i));
  auto tail = ReadAll(Offset{13});
  ASSERT_EQ(tail.size(), 17u);
  EXPECT_EQ(tail.front().offset, Offset{13});
  EXPECT_EQ(tail.front().data, Record(100, 'A' + 13));
  AppendOk({"after reopen"});
  EXPECT_EQ(ReadAll(Offset{30}).at(0).data, "after reopen");
}

TEST_F(JournalTest, NextHonoursMaxRecordsAndMaxBytesButReturnsOneLargeRecord) {
  AppendOk({Record(10, 'a'), Record(10, 'b'), Record(10, 'c'), Record(500, 'd'), Record(10, 'e')});
  auto reader = std::move(log_->NewReader().value());
  std::vector<StoredRecord> out;
  EXPECT_EQ(*reader->Next(2, 1000, out), 2u);
  EXPECT_EQ(*reader->Next(10, 15, out), 1u);   // 'c'; 'd' would pass max_bytes
  EXPECT_EQ(*reader->Next(10, 100, out), 1u);  // 'd' alone, though larger than max_bytes
  EXPECT_EQ(*reader->Next(10, 100, out), 1u);  // 'e'
  EXPECT_EQ(*reader->Next(10, 100, out), 0u);  // the durable end
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[3].data, Record(500, 'd'));
}

TEST_F(JournalTest, ReaderAtTheEndSeesRecordsAppendedLaterIncludingAcrossARoll) {
  options_.segment_bytes = 200;
  Reopen();
  AppendOk({Record(100, 'a'), Record(100, 'b')});
  auto reader = std::move(log_->NewReader().value());
  ASSERT_TRUE(reader->Seek(log_->End()).ok());
  std::vector<StoredRecord> out;
  EXPECT_EQ(*reader->Next(10, 1 << 20, out), 0u);
  AppendOk({Record(100, 'c')});  // rolls to a new segment first
  EXPECT_EQ(*reader->Next(10, 1 << 20, out), 1u);
  AppendOk({Record(100, 'd')});
  EXPECT_EQ(*reader->Next(10, 1 << 20, out), 1u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].offset, Offset{2});
  EXPECT_EQ(out[1].data, Record(100, 'd'));
  EXPECT_GE(SegmentNames().size(), 2u);
}

TEST_F(JournalTest, SeekPastTheEndIsAnError) {
  AppendOk({"a"});
  auto reader = std::move(log_->NewReader().value());
  EXPECT_TRUE(reader->Seek(Offset{1}).ok());
  EXPECT_EQ(reader->Seek(Offset{2}).code(), StatusCode::kInvalidArgument);
}

TEST_F(JournalTest, WaitForDataWakesWhenARecordBecomesDurable) {
  EXPECT_FALSE(log_->WaitForData(Offset{0}, 1));
  std::thread appender([&] { AppendOk({"x"}); });
  EXPECT_TRUE(log_->WaitForData(Offset{0}, 10'000));
  appender.join();
  EXPECT_EQ(log_->End(), Offset{1});
}

TEST_F(JournalTest, TruncatedTrailingRecordIsIgnored) {
  AppendOk({Record(50, 'a'), Record(50, 'b'), Record(50, 'c')});
  Reopen();
  TruncateBy(SegmentPath(0), 5);
  Reopen();
  EXPECT_EQ(log_->End(), Offset{2});
  EXPECT_EQ(stdfs::file_size(SegmentPath(0)), FramePos(2, 50));
  AppendOk({Record(50, 'd')});
  Reopen();
  auto records = ReadAll();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].data, Record(50, 'b'));
  EXPECT_EQ(records[2].data, Record(50, 'd'));
}

TEST_F(JournalTest, TruncatedTrailingHeaderIsIgnored) {
  AppendOk({Record(50, 'a'), Record(50, 'b')});
  Reopen();
  TruncateBy(SegmentPath(0), 50 + 10);  // leaves 18 bytes of the last frame's header
  Reopen();
  EXPECT_EQ(log_->End(), Offset{1});
  EXPECT_EQ(ReadAll().at(0).data, Record(50, 'a'));
}

TEST_F(JournalTest, ChecksumMismatchInTheLastRecordIsATornTail) {
  AppendOk({Record(50, 'a'), Record(50, 'b'), Record(50, 'c')});
  Reopen();
  CorruptByte(SegmentPath(0), FramePos(2, 50) + format::kFrameHeaderSize + 7);
  Reopen();
  EXPECT_EQ(log_->End(), Offset{2});
}

TEST_F(JournalTest, ChecksumMismatchBeforeTheTailReportsCorruptionWithItsOffset) {
  AppendOk({Record(50, 'a'), Record(50, 'b'), Record(50, 'c')});
  Reopen();
  CorruptByte(SegmentPath(0), FramePos(1, 50) + format::kFrameHeaderSize + 3);
  Status st = TryReopen();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(SegmentPath(0)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("byte offset " + std::to_string(FramePos(1, 50))), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("checksum mismatch"), std::string::npos) << st.message();
}

TEST_F(JournalTest, RepairModeTruncatesDamageFollowedByValidFramesInTheLastSegment) {
  AppendOk({Record(50, 'a'), Record(50, 'b'), Record(50, 'c')});
  Reopen();
  CorruptByte(SegmentPath(0), FramePos(1, 50) + format::kFrameHeaderSize + 3);
  Status refused = TryReopen();
  ASSERT_EQ(refused.code(), StatusCode::kCorruption);
  EXPECT_NE(refused.message().find("--repair-journal"), std::string::npos) << refused.message();
  options_.repair_tail = true;
  Reopen();
  EXPECT_EQ(log_->End().value, 1u) << "frames from the damaged one on are discarded";
  AppendOk({Record(50, 'd')});
  options_.repair_tail = false;
  Reopen();  // the repaired log opens normally afterwards
  auto reader = std::move(log_->NewReader()).value();
  ASSERT_TRUE(reader->Seek(Offset{0}).ok());
  std::vector<StoredRecord> out;
  ASSERT_TRUE(reader->Next(10, 1 << 20, out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, Record(50, 'a'));
  EXPECT_EQ(out[1].data, Record(50, 'd'));
}

TEST_F(JournalTest, DamagedLengthBeforeTheTailReportsCorruption) {
  AppendOk({Record(50, 'a'), Record(50, 'b'), Record(50, 'c')});
  Reopen();
  CorruptByte(SegmentPath(0), FramePos(0, 50) + format::kFrameLengthPos + 2);  // huge length
  Status st = TryReopen();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("byte offset " + std::to_string(FramePos(0, 50))), std::string::npos)
      << st.message();
}

TEST_F(JournalTest, CorruptionInASealedSegmentWithoutItsIndexFailsOpen) {
  options_.segment_bytes = 300;
  Reopen();
  for (int i = 0; i < 6; ++i) AppendOk({Record(100, 'x')});
  ASSERT_GE(SegmentNames().size(), 2u);
  // The last frame of the first segment: damage at a segment's end is not a torn tail there.
  Reopen();
  uint64_t last_frame = FramePos(1, 100);
  CorruptByte(SegmentPath(0), last_frame + format::kFrameHeaderSize + 99);
  RemoveIndex(0);  // as written by a version without indexes: the segment is scanned
  Status st = TryReopen();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(SegmentPath(0) + ": byte offset " + std::to_string(last_frame)),
            std::string::npos)
      << st.message();
}

TEST_F(JournalTest, CorruptionInAnIndexedSealedSegmentIsReportedWhenRead) {
  options_.segment_bytes = 300;
  Reopen();
  for (int i = 0; i < 6; ++i) AppendOk({Record(100, 'x')});
  Reopen();
  uint64_t last_frame = FramePos(1, 100);
  CorruptByte(SegmentPath(0), last_frame + format::kFrameHeaderSize + 99);
  // Open trusts the index and does not read the sealed segment; the reader verifies every frame.
  Reopen();
  EXPECT_EQ(log_->End(), Offset{6});
  auto reader = std::move(log_->NewReader().value());
  std::vector<StoredRecord> out;
  auto n = reader->Next(10, 1 << 20, out);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kCorruption);
  EXPECT_NE(
      n.status().message().find(SegmentPath(0) + ": byte offset " + std::to_string(last_frame)),
      std::string::npos)
      << n.status().message();
}

TEST_F(JournalTest, MissingTailOfANonLastSegmentFailsOpen) {
  options_.segment_bytes = 300;
  Reopen();
  for (int i = 0; i < 6; ++i) AppendOk({Record(100, 'x')});
  Reopen();
  TruncateBy(SegmentPath(0), 1);
  Status st = TryReopen();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
}

TEST_F(JournalTest, ReaderReportsCorruptionItMeets) {
  AppendOk({Record(50, 'a'), Record(50, 'b')});
  CorruptByte(SegmentPath(0), FramePos(0, 50) + format::kFrameHeaderSize);
  auto reader = std::move(log_->NewReader().value());
  std::vector<StoredRecord> out;
  auto n = reader->Next(10, 1 << 20, out);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kCorruption);
  EXPECT_NE(n.status().message().find("byte offset 32"), std::string::npos);
}

TEST_F(JournalTest, CheckpointSurvivesReopen) {
  AppendOk({"a", "b", "c"});
  EXPECT_EQ(log_->Checkpoint("s3"), Offset{0});  // no checkpoint yet: Begin()
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{2}).ok());
  ASSERT_TRUE(log_->CommitCheckpoint("warehouse", Offset{3}).ok());
  Reopen();
  EXPECT_EQ(log_->Checkpoint("s3"), Offset{2});
  EXPECT_EQ(log_->Checkpoint("warehouse"), Offset{3});
  // Replaced atomically: exactly the checkpoint files, no temp files left behind.
  auto names = *fs::ListDir(PartitionDir());
  EXPECT_EQ(names, (std::vector<std::string>{SegmentFileName(0), "checkpoint.s3",
                                             "checkpoint.warehouse"}));
  EXPECT_EQ(stdfs::file_size(PartitionDir() + "/checkpoint.s3"), format::kCheckpointSize);
}

TEST_F(JournalTest, BatchIntentIsConsumerStateThatSurvivesReopen) {
  AppendOk({"a", "b", "c", "d"});
  EXPECT_FALSE(log_->Committed("delivery").intent);
  ASSERT_TRUE(log_->Commit("delivery", {Offset{1}, BatchIntent{Offset{3}, 7, 1234}}).ok());
  Reopen();
  ConsumerState state = log_->Committed("delivery");
  EXPECT_EQ(state.next, Offset{1});
  ASSERT_TRUE(state.intent);
  EXPECT_EQ(*state.intent, (BatchIntent{Offset{3}, 7, 1234}));
  // The batch's checkpoint clears the intent.
  ASSERT_TRUE(log_->CommitCheckpoint("delivery", Offset{3}).ok());
  Reopen();
  EXPECT_EQ(log_->Checkpoint("delivery"), Offset{3});
  EXPECT_FALSE(log_->Committed("delivery").intent);
}

TEST_F(JournalTest, EmptyOrOverlongBatchIntentIsRejected) {
  AppendOk({"a", "b"});
  EXPECT_EQ(log_->Commit("delivery", {Offset{1}, BatchIntent{Offset{1}, 1, 0}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Commit("delivery", {Offset{1}, BatchIntent{Offset{3}, 1, 0}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->Checkpoint("delivery"), Offset{0});
}

TEST_F(JournalTest, VersionOneCheckpointFilesAreStillRead) {
  AppendOk({"a", "b", "c"});
  // A round-1 checkpoint file: magic, version 1, next, crc over [0, 20).
  std::string v1(format::kCheckpointSizeV1, '\0');
  std::memcpy(v1.data(), format::kCheckpointMagic, 8);
  v1[8] = 1;
  v1[format::kCheckpointNextPosV1] = 2;
  uint32_t crc = crc32c::Mask(crc32c::Value(v1.data(), format::kCheckpointCrcPosV1));
  std::memcpy(v1.data() + format::kCheckpointCrcPosV1, &crc, 4);
  ASSERT_TRUE(fs::WriteFileAtomically(PartitionDir() + "/checkpoint.delivery", v1).ok());
  Reopen();
  EXPECT_EQ(log_->Checkpoint("delivery"), Offset{2});
  EXPECT_FALSE(log_->Committed("delivery").intent);
}

TEST_F(JournalTest, CheckpointPastTheEndOrWithABadNameIsRejected) {
  AppendOk({"a"});
  EXPECT_EQ(log_->CommitCheckpoint("s3", Offset{2}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->CommitCheckpoint("../x", Offset{1}).code(), StatusCode::kInvalidArgument);
}

TEST_F(JournalTest, CorruptCheckpointFailsOpenNamingTheFile) {
  AppendOk({"a", "b"});
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{1}).ok());
  std::string path = PartitionDir() + "/checkpoint.s3";
  CorruptByte(path, format::kCheckpointNextPos);
  Status st = TryReopen();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
}

TEST_F(JournalTest, LeftoverCheckpointTempFileIsIgnoredAndRemoved) {
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{0}).ok());
  std::string tmp = PartitionDir() + "/checkpoint.s3.tmp.123.0";
  ASSERT_TRUE(fs::WriteFileAtomically(tmp, "half").ok());
  Reopen();
  EXPECT_FALSE(fs::Exists(tmp));
  EXPECT_EQ(log_->Checkpoint("s3"), Offset{0});
}

TEST_F(JournalTest, ConcurrentAppendsShareFdatasyncsAndAckOnlyDurableData) {
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 20;
  constexpr int kTotal = kThreads * kAppendsPerThread;
  std::mutex mu;
  std::condition_variable cv;
  int submitted = 0;
  int acked = 0;
  int acked_while_unsynced = 0;
  bool first_sync = true;
  // Hold the first group's fdatasync until every append is queued, so that the rest must share.
  fault_fs_.SetBeforeSync([&] {
    std::unique_lock lock(mu);
    if (!first_sync) return;
    first_sync = false;
    cv.wait_for(lock, kWait, [&] { return submitted == kTotal; });
  });
  uint64_t syncs_before = fault_fs_.Syncs();
  std::vector<std::vector<uint64_t>> offsets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        std::string rec = "t" + std::to_string(t) + "-" + std::to_string(i);
        log_->Append({rec, rec}, clock_.NowMs(), [&, t](Result<AppendResult> r) {
          bool unsynced = fault_fs_.UnsyncedBytes() != 0;
          std::lock_guard lock(mu);
          EXPECT_TRUE(r.ok()) << r.status().ToString();
          if (r.ok()) offsets[t].push_back(r->first.value);
          if (unsynced) ++acked_while_unsynced;
          ++acked;
          cv.notify_all();
        });
        std::lock_guard lock(mu);
        ++submitted;
        cv.notify_all();
      }
    });
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return acked == kTotal; }))
        << acked << " of " << kTotal << " callbacks ran";
  }
  fault_fs_.SetBeforeSync(nullptr);
  uint64_t syncs = fault_fs_.Syncs() - syncs_before;
  EXPECT_GE(syncs, 1u);
  EXPECT_LT(syncs, static_cast<uint64_t>(kTotal));
  EXPECT_EQ(acked_while_unsynced, 0);
  // Each thread's appends got increasing offsets; all 2 * kTotal records are readable.
  for (const auto& v : offsets) EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
  Reopen();
  auto records = ReadAll();
  ASSERT_EQ(records.size(), 2u * kTotal);
  for (size_t i = 0; i < records.size(); i += 2) EXPECT_EQ(records[i].data, records[i + 1].data);
}

TEST_F(JournalTest, QuotaAcceptsThePrefixThatFitsAndRefusesTheRest) {
  constexpr uint64_t kFrame = format::kFrameHeaderSize + 100;
  options_.quota_bytes = 10 * kFrame;
  Reopen();
  std::vector<std::string> batch(15, Record(100, 'q'));
  auto r = Append(batch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 10u);
  EXPECT_EQ(journal_->UndeliveredBytes(), 10 * kFrame);
  EXPECT_EQ(journal_->QuotaBytes(), 10 * kFrame);
  r = Append({Record(100, 'r')});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 0u);
  EXPECT_EQ(log_->End(), Offset{10});

  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{4}).ok());
  EXPECT_EQ(journal_->UndeliveredBytes(), 6 * kFrame);
  r = Append(std::vector<std::string>(5, Record(100, 's')));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, Offset{10});
  EXPECT_EQ(r->accepted, 4u);

  // The count is rebuilt from the log and the checkpoints on reopen.
  Reopen();
  EXPECT_EQ(journal_->UndeliveredBytes(), 10 * kFrame);
  // A second consumer behind the first holds the quota back.
  ASSERT_TRUE(log_->CommitCheckpoint("warehouse", Offset{0}).ok());
  EXPECT_EQ(journal_->UndeliveredBytes(), 14 * kFrame);
  ASSERT_TRUE(log_->CommitCheckpoint("warehouse", Offset{14}).ok());
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{14}).ok());
  EXPECT_EQ(journal_->UndeliveredBytes(), 0u);
}

// A request's RecordBatch is shared by the appends of its shards: each partition takes only the
// records tagged with it, in batch order, with every record's bytes and boundaries intact.
TEST_F(JournalTest, SharedBatchAppendsEachPartitionItsOwnRecords) {
  auto other = journal_->Partition("orders", 1);
  ASSERT_TRUE(other.ok());
  RecordBatch batch;
  const std::vector<std::string> data = {"a", "", "bb", Record(5000, 'c'), "ddd", "e"};
  for (size_t i = 0; i < data.size(); ++i) {
    char* room = batch.Room(data[i].size() + 8);  // more room than used
    std::memcpy(room, data[i].data(), data[i].size());
    batch.Add(data[i].size(), i % 2 == 0 ? 0 : 1);
  }
  batch.set_shard(4, RecordBatch::kNoShard);  // refused before the journal
  auto shared = std::make_shared<const RecordBatch>(std::move(batch));
  std::promise<Result<AppendResult>> p0, p1;
  log_->Append(shared, 0, clock_.NowMs(), [&](Result<AppendResult> r) { p0.set_value(r); });
  (*other)->Append(shared, 1, clock_.NowMs(), [&](Result<AppendResult> r) { p1.set_value(r); });
  auto r0 = p0.get_future().get();
  auto r1 = p1.get_future().get();
  ASSERT_TRUE(r0.ok() && r1.ok());
  EXPECT_EQ(r0->accepted, 2u);  // records 0 and 2 (4 was refused)
  EXPECT_EQ(r1->accepted, 3u);  // records 1, 3 and 5
  auto records = ReadAll();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].data, "a");
  EXPECT_EQ(records[1].data, "bb");
  auto reader = (*other)->NewReader();
  ASSERT_TRUE(reader.ok());
  std::vector<StoredRecord> rest;
  ASSERT_EQ((*reader)->Next(10, 1 << 20, rest).value(), 3u);
  EXPECT_EQ(rest[0].data, "");
  EXPECT_EQ(rest[1].data, Record(5000, 'c'));
  EXPECT_EQ(rest[2].data, "e");
  Reopen();  // and they survive recovery
  EXPECT_EQ(ReadAll().size(), 2u);
}

TEST_F(JournalTest, QuotaCountsEveryPartition) {
  constexpr uint64_t kFrame = format::kFrameHeaderSize + 100;
  options_.quota_bytes = 3 * kFrame;
  Reopen();
  PartitionLog* other = *journal_->Partition("clicks", 7);
  auto r = Append({Record(100, 'a'), Record(100, 'b')}, other);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 2u);
  r = Append({Record(100, 'c'), Record(100, 'd')});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 1u);
  ASSERT_TRUE(journal_->DropStream("clicks").ok());
  EXPECT_EQ(journal_->UndeliveredBytes(), kFrame);
  EXPECT_FALSE(fs::Exists(options_.dir + "/streams/clicks"));
}

TEST_F(JournalTest, RetentionDeletesOnlyCheckpointedOldSegments) {
  options_.segment_bytes = 3 * (format::kFrameHeaderSize + 100);  // 3 records per segment
  Reopen();
  for (int i = 0; i < 9; ++i) {
    AppendOk({Record(100, static_cast<char>('a' + i))});
    clock_.AdvanceMs(1000);
  }
  ASSERT_EQ(SegmentNames(),
            (std::vector<std::string>{SegmentFileName(0), SegmentFileName(3), SegmentFileName(6)}));
  // No consumer yet: nothing was delivered, nothing goes.
  EXPECT_EQ(*log_->ApplyRetention(MaxAge(0)), 0u);
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{5}).ok());
  EXPECT_EQ(*log_->ApplyRetention(MaxAge(60'000)), 0u);  // delivered but too young
  clock_.AdvanceMs(60'000);
  // Segment 0 is delivered and old; segment 3 is old but record 5 is not delivered.
  EXPECT_EQ(*log_->ApplyRetention(MaxAge(60'000)), 1u);
  EXPECT_EQ(log_->Begin(), Offset{3});
  EXPECT_EQ(SegmentNames(), (std::vector<std::string>{SegmentFileName(3), SegmentFileName(6)}));
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{9}).ok());
  EXPECT_EQ(*log_->ApplyRetention(MaxAge(60'000)), 1u);  // segment 3; segment 6 is active
  EXPECT_EQ(SegmentNames(), (std::vector<std::string>{SegmentFileName(6)}));

  auto reader = std::move(log_->NewReader().value());
  EXPECT_EQ(reader->Seek(Offset{2}).code(), StatusCode::kNotFound);
  Reopen();
  EXPECT_EQ(log_->Begin(), Offset{6});
  EXPECT_EQ(log_->End(), Offset{9});
  EXPECT_EQ(ReadAll(Offset{6}).at(0).data, Record(100, 'g'));
}

TEST_F(JournalTest, RetentionBySizeDeletesOldestDeliveredSegmentsOnly) {
  constexpr uint64_t kFrame = format::kFrameHeaderSize + 100;
  constexpr uint64_t kSegmentFile = format::kSegmentHeaderSize + 3 * kFrame;
  options_.segment_bytes = 3 * kFrame;  // 3 records per segment
  Reopen();
  for (int i = 0; i < 12; ++i) AppendOk({Record(100, static_cast<char>('a' + i))});
  ASSERT_EQ(SegmentNames().size(), 4u);  // 0, 3, 6, 9 (active)
  EXPECT_EQ(*log_->ApplyRetention(MaxDeliveredBytes(0)), 0u) << "no consumer: nothing delivered";
  // Segments 0 and 3 are delivered; segment 6 holds undelivered records 7 and 8.
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{7}).ok());
  EXPECT_EQ(*log_->ApplyRetention(MaxDeliveredBytes(2 * kSegmentFile)), 0u);  // within the bound
  EXPECT_EQ(*log_->ApplyRetention(MaxDeliveredBytes(2 * kSegmentFile - 1)), 1u);
  EXPECT_EQ(log_->Begin(), Offset{3});
  EXPECT_FALSE(fs::Exists(IndexPath(0)));
  EXPECT_EQ(*log_->ApplyRetention(MaxDeliveredBytes(0)), 1u);
  EXPECT_EQ(log_->Begin(), Offset{6});
  EXPECT_EQ(*log_->ApplyRetention(MaxDeliveredBytes(0)), 0u) << "segment 6 is not delivered";
  // A second consumer behind holds everything it has not read.
  ASSERT_TRUE(log_->CommitCheckpoint("warehouse", Offset{6}).ok());
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{12}).ok());
  EXPECT_EQ(*log_->ApplyRetention(MaxDeliveredBytes(0)), 0u);
  ASSERT_TRUE(log_->CommitCheckpoint("warehouse", Offset{12}).ok());
  EXPECT_EQ(*log_->ApplyRetention(MaxDeliveredBytes(0)), 1u) << "the active segment stays";
  EXPECT_EQ(SegmentNames(), (std::vector<std::string>{SegmentFileName(9)}));
  Reopen();
  EXPECT_EQ(log_->Begin(), Offset{9});
  EXPECT_EQ(ReadFromBegin().size(), 3u);
  EXPECT_EQ(journal_->UndeliveredBytes(), 0u);
}

// Two partitions, 3 records of 100 bytes per segment, arrivals interleaved so that "oldest
// first" must cross partitions: orders/0 segment 0 (arrivals 0-2 s), clicks/0 segment 0 (3-5 s),
// orders/0 segment 3 (6-8 s), clicks/0 segment 3 (9-11 s); each then rolls to segment 6.
class DiskReserveTest : public JournalTest {
 protected:
  static constexpr uint64_t kFrame = format::kFrameHeaderSize + 100;
  static constexpr uint64_t kSegmentFile = format::kSegmentHeaderSize + 3 * kFrame;
  static constexpr uint64_t kReserve = 1ull << 30;

  void SetUp() override {
    JournalTest::SetUp();
    options_.segment_bytes = 3 * kFrame;
    options_.disk_reserve_bytes = kReserve;
    Reopen();
    clicks_ = *journal_->Partition("clicks", 0);
    for (PartitionLog* log : {log_, clicks_, log_, clicks_}) {
      for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(Append({Record(100, 'r')}, log)->accepted, 1u);
        clock_.AdvanceMs(1000);
      }
    }
    ASSERT_EQ(Append({Record(100, 'r')}, log_)->accepted, 1u);  // both roll to segment 6
    ASSERT_EQ(Append({Record(100, 'r')}, clicks_)->accepted, 1u);
  }
  std::string ClicksSegment(uint64_t base) const {
    return options_.dir + "/streams/clicks/0/" + SegmentFileName(base);
  }

  PartitionLog* clicks_ = nullptr;
};

TEST_F(DiskReserveTest, BelowTheReserveDeletesDeliveredSegmentsOldestFirstAcrossPartitions) {
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{7}).ok());
  ASSERT_TRUE(clicks_->CommitCheckpoint("s3", Offset{7}).ok());
  fault_fs_.SetFreeBytes(kReserve);  // at the reserve: nothing to do
  EXPECT_EQ(*journal_->EnforceDiskReserve(), 0u);
  // Short by a bit more than one segment: the two oldest go, one from each partition.
  fault_fs_.SetFreeBytes(kReserve - kSegmentFile - 1);
  EXPECT_EQ(*journal_->EnforceDiskReserve(), 2u);
  EXPECT_EQ(log_->Begin(), Offset{3});
  EXPECT_EQ(clicks_->Begin(), Offset{3});
  EXPECT_FALSE(fs::Exists(IndexPath(0)));
  // Short by a lot: every delivered segment goes, never the active ones.
  fault_fs_.SetFreeBytes(0);
  EXPECT_EQ(*journal_->EnforceDiskReserve(), 2u);
  EXPECT_EQ(log_->Begin(), Offset{6});
  EXPECT_EQ(clicks_->Begin(), Offset{6});
  EXPECT_EQ(*journal_->EnforceDiskReserve(), 0u);
  EXPECT_EQ(log_->End(), Offset{7});
}

TEST_F(DiskReserveTest, NeverDeletesUndeliveredData) {
  // orders/0: segment 0 delivered, segment 3 holds undelivered records 4 and 5; clicks/0: no
  // consumer has read anything.
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{4}).ok());
  fault_fs_.SetFreeBytes(0);
  EXPECT_EQ(*journal_->EnforceDiskReserve(), 1u);
  EXPECT_EQ(*journal_->EnforceDiskReserve(), 0u);
  EXPECT_EQ(log_->Begin(), Offset{3});
  EXPECT_EQ(clicks_->Begin(), Offset{0});
  EXPECT_TRUE(fs::Exists(ClicksSegment(0)));
  EXPECT_EQ(ReadFromBegin().size(), 4u);  // records 3-6
}

TEST_F(DiskReserveTest, IsCheckedWhenASegmentIsSealedAndAtOpen) {
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{7}).ok());
  fault_fs_.SetFreeBytes(kReserve - 1);
  for (int i = 0; i < 2; ++i) AppendOk({Record(100, 'x')});  // segment 6 full
  AppendOk({Record(100, 'y')});                              // seals it: the check runs
  journal_->Close();  // the check runs on the commit thread after the callbacks: wait for it
  EXPECT_EQ(SegmentNames(),
            (std::vector<std::string>{SegmentFileName(3), SegmentFileName(6), SegmentFileName(9)}));
  ASSERT_TRUE(clicks_->CommitCheckpoint("s3", Offset{3}).ok());
  Reopen();  // clicks/0 segment 0 is now the oldest delivered one
  EXPECT_FALSE(fs::Exists(ClicksSegment(0)));
  EXPECT_EQ(log_->Begin(), Offset{3});
}

TEST_F(DiskReserveTest, DeletesOnlyDeliveredDataWhilePartitionsAppendAndCheckpoint) {
  fault_fs_.SetFreeBytes(0);  // always short: every sealed segment triggers deletions
  std::vector<PartitionLog*> logs = {log_, clicks_, *journal_->Partition("views", 3)};
  constexpr int kAppends = 60;
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (PartitionLog* log : logs) {
    threads.emplace_back([&, log] {
      for (int i = 0; i < kAppends; ++i) {
        auto r = Append({Record(100, 'c')}, log);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  // The consumer checkpoints partway behind the end, so some sealed segments stay undelivered.
  std::thread consumer([&] {
    while (!done.load()) {
      for (PartitionLog* log : logs) {
        Offset end = log->End();
        ASSERT_TRUE(log->CommitCheckpoint("s3", Offset{end.value / 2}).ok());
      }
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  consumer.join();
  journal_->Close();
  for (PartitionLog* log : logs) {
    // Nothing at or past the checkpoint was deleted, and what is left reads back densely.
    EXPECT_LE(log->Begin(), log->Checkpoint("s3"));
    auto reader = std::move(log->NewReader().value());
    std::vector<StoredRecord> out;
    for (;;) {
      auto n = reader->Next(100, 1 << 20, out);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      if (*n == 0) break;
    }
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.front().offset, log->Begin());
    EXPECT_EQ(out.back().offset.value + 1, log->End().value);
  }
}

TEST_F(JournalTest, FdatasyncFailureFailsTheCallbackAndLosesNothingAcknowledged) {
  AppendOk({Record(40, 'a')});
  fault_fs_.FailSyncAt(1);
  auto r = Append({Record(40, 'b')});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(
      r.status().message().find(
          "stream orders partition 0 segment 00000000000000000000.log: fdatasync failed: EIO"),
      std::string::npos)
      << r.status().message();
  // The partition stops: a later append must not build on an unknown page-cache state.
  r = Append({Record(40, 'c')});
  EXPECT_FALSE(r.ok());
  Reopen();
  EXPECT_EQ(log_->End(), Offset{1});
  auto r2 = Append({Record(40, 'd')});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->first, Offset{1});
  auto records = ReadAll();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].data, Record(40, 'a'));
  EXPECT_EQ(records[1].data, Record(40, 'd'));
}

TEST_F(JournalTest, FailedShortWriteIsCutBackAndLaterAppendsContinue) {
  AppendOk({Record(40, 'a')});
  fault_fs_.FailWriteAt(1, 30);  // 30 bytes of the frame reach the file, then ENOSPC
  auto r = Append({Record(40, 'b')});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("write failed: ENOSPC"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(stdfs::file_size(SegmentPath(0)), FramePos(1, 40));
  auto r2 = Append({Record(40, 'c')});
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->first, Offset{1});
  Reopen();
  auto records = ReadAll();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].data, Record(40, 'c'));
  EXPECT_EQ(journal_->UndeliveredBytes(), 2 * (format::kFrameHeaderSize + 40));
}

TEST_F(JournalTest, ShortWritesAreRetriedUntilComplete) {
  fault_fs_.CapWrites(7);
  AppendOk({Record(100, 'a'), Record(3, 'b')});
  fault_fs_.CapWrites(0);
  Reopen();
  auto records = ReadAll();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].data, Record(100, 'a'));
}

TEST_F(JournalTest, AppendAfterCloseFailsAndDropStreamRemovesItsFiles) {
  AppendOk({"a"});
  ASSERT_TRUE(journal_->DropStream("orders").ok());
  EXPECT_FALSE(fs::Exists(PartitionDir()));
  log_ = *journal_->Partition("orders", 0);
  EXPECT_EQ(log_->End(), Offset{0});
  journal_->Close();
  auto r = Append({"b"});
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(journal_->Partition("orders", 1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(journal_->Partition("../x", 1).status().code(), StatusCode::kInvalidArgument);
}

// Four segments of 8, 8, 8 and 6 records of 100 bytes (bases 0, 8, 16, 24), 1 s apart; the
// consumer "s3" has checkpointed 13.
class SegmentIndexTest : public JournalTest {
 protected:
  void SetUp() override {
    JournalTest::SetUp();
    options_.segment_bytes = 1000;
    Reopen();
    for (int i = 0; i < 30; ++i) {
      AppendOk({Record(100, static_cast<char>('A' + i))});
      clock_.AdvanceMs(1000);
    }
    ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{13}).ok());
    ASSERT_EQ(SegmentNames().size(), 4u);
  }

  struct State {
    Offset begin, end, checkpoint;
    uint64_t undelivered = 0;
    std::vector<std::string> records;
    std::vector<std::string> tail;  // read from offset 13
    bool operator==(const State&) const = default;
  };
  State Capture() {
    State st{
        log_->Begin(), log_->End(), log_->Checkpoint("s3"), journal_->UndeliveredBytes(), {}, {}};
    for (const auto& r : ReadFromBegin()) st.records.push_back(r.data);
    for (const auto& r : ReadAll(Offset{13})) st.tail.push_back(r.data);
    return st;
  }
};

TEST_F(SegmentIndexTest, SealingASegmentWritesItsIndexAndTheActiveOneHasNone) {
  for (uint64_t base : {0, 8, 16}) {
    auto index = DecodeSegmentIndex(*fs::ReadFile(IndexPath(base)));
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    EXPECT_EQ(index->base_offset, base);
    EXPECT_EQ(index->end_offset, base + 8);
    EXPECT_EQ(index->segment_bytes, stdfs::file_size(SegmentPath(base)));
    EXPECT_EQ(index->max_arrival_ms, 1'700'000'000'000 + static_cast<int64_t>(base + 7) * 1000);
    EXPECT_EQ(index->entries, (std::vector<IndexEntry>{{base, format::kSegmentHeaderSize}}));
  }
  EXPECT_FALSE(fs::Exists(IndexPath(24)));
}

TEST_F(SegmentIndexTest, ReopenRestoresSealedSegmentsFromTheirIndexAndScansOnlyTheActiveOne) {
  Reopen();
  const State before = Capture();
  RecoveryStats stats = journal_->Recovery();
  EXPECT_EQ(stats.segments_from_index, 3u);
  EXPECT_EQ(stats.segments_scanned, 1u);
  EXPECT_EQ(stats.bytes_scanned, stdfs::file_size(SegmentPath(24)));
  EXPECT_EQ(stats.indexes_missing + stats.indexes_damaged, 0u);
  EXPECT_EQ(before.end, Offset{30});
  ASSERT_EQ(before.records.size(), 30u);
  EXPECT_EQ(before.tail.front(), Record(100, 'A' + 13));
  EXPECT_EQ(before.undelivered, 17 * (format::kFrameHeaderSize + 100));
  // Arrival times come from the index: retention deletes exactly the old, delivered segments.
  ASSERT_TRUE(log_->CommitCheckpoint("s3", Offset{30}).ok());
  clock_.AdvanceMs(60'000);
  // Now = start + 90 s: segment 0's newest record (start + 7 s) is 83 s old, segment 8's 75 s.
  EXPECT_EQ(*log_->ApplyRetention(MaxAge(83'000)), 0u);
  EXPECT_EQ(*log_->ApplyRetention(MaxAge(75'000)), 1u);
  EXPECT_EQ(log_->Begin(), Offset{8});
  EXPECT_FALSE(fs::Exists(IndexPath(0)));
  AppendOk({"after"});
  EXPECT_EQ(ReadAll(Offset{30}).at(0).data, "after");
}

TEST_F(SegmentIndexTest, DamagedOrStaleIndexFallsBackToAScanWithIdenticalState) {
  Reopen();
  const State expected = Capture();
  const std::string good = *fs::ReadFile(IndexPath(8));
  SegmentIndex stale = *DecodeSegmentIndex(good);
  stale.segment_bytes += 128;  // as if the segment had been longer when sealed
  struct Damage {
    const char* what;
    std::function<void()> apply;
  };
  const std::vector<Damage> damages = {
      {"flipped byte", [&] { CorruptByte(IndexPath(8), format::kIndexEndOffsetPos); }},
      {"truncated", [&] { TruncateBy(IndexPath(8), 3); }},
      {"checksum", [&] { CorruptByte(IndexPath(8), good.size() - 1); }},
      {"stale size",
       [&] { ASSERT_TRUE(fs::WriteFileAtomically(IndexPath(8), EncodeSegmentIndex(stale)).ok()); }},
      {"wrong end",
       [&] {
         SegmentIndex wrong = *DecodeSegmentIndex(good);
         wrong.end_offset = 15;
         ASSERT_TRUE(fs::WriteFileAtomically(IndexPath(8), EncodeSegmentIndex(wrong)).ok());
       }},
      {"empty", [&] { ASSERT_TRUE(fs::WriteFileAtomically(IndexPath(8), "").ok()); }},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.what);
    damage.apply();
    Reopen();
    RecoveryStats stats = journal_->Recovery();
    EXPECT_EQ(stats.indexes_damaged, 1u);
    EXPECT_EQ(stats.segments_from_index, 2u);
    EXPECT_EQ(stats.segments_scanned, 2u);  // segment 8 and the active one
    EXPECT_EQ(Capture(), expected);
    // The scan rewrote the index as it was written at sealing; the next open trusts it again.
    EXPECT_EQ(*fs::ReadFile(IndexPath(8)), good);
    Reopen();
    EXPECT_EQ(journal_->Recovery().segments_from_index, 3u);
  }
}

TEST_F(SegmentIndexTest, DataDirWithoutIndexesOpensByScanningAndGainsThem) {
  std::vector<std::string> good;
  for (uint64_t base : {0, 8, 16}) {
    good.push_back(*fs::ReadFile(IndexPath(base)));
    RemoveIndex(base);
  }
  Reopen();
  RecoveryStats stats = journal_->Recovery();
  EXPECT_EQ(stats.indexes_missing, 3u);
  EXPECT_EQ(stats.segments_scanned, 4u);
  EXPECT_EQ(stats.segments_from_index, 0u);
  const State scanned = Capture();
  EXPECT_EQ(scanned.end, Offset{30});
  EXPECT_EQ(*fs::ReadFile(IndexPath(8)), good[1]);
  Reopen();
  EXPECT_EQ(journal_->Recovery().segments_from_index, 3u);
  EXPECT_EQ(Capture(), scanned);
}

TEST_F(SegmentIndexTest, TornTailOfTheActiveSegmentIsCutWhileSealedOnesComeFromTheirIndex) {
  journal_.reset();
  TruncateBy(SegmentPath(24), 5);
  Reopen();
  EXPECT_EQ(journal_->Recovery().segments_from_index, 3u);
  EXPECT_EQ(log_->End(), Offset{29});
  EXPECT_EQ(stdfs::file_size(SegmentPath(24)), FramePos(5, 100));
  AppendOk({Record(100, 'z')});
  Reopen();
  EXPECT_EQ(ReadAll(Offset{29}).at(0).data, Record(100, 'z'));
}

TEST_F(SegmentIndexTest, CorruptionInTheActiveSegmentStillFailsOpen) {
  journal_.reset();
  CorruptByte(SegmentPath(24), FramePos(2, 100) + format::kFrameHeaderSize + 3);
  Status st = TryReopen();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(
      st.message().find(SegmentPath(24) + ": byte offset " + std::to_string(FramePos(2, 100))),
      std::string::npos)
      << st.message();
}

TEST_F(JournalTest, IndexLeftOnTheLastSegmentByACrashWhileRollingIsRemovedAndRewritten) {
  options_.segment_bytes = 1000;
  Reopen();
  for (int i = 0; i < 8; ++i) AppendOk({Record(100, 'a')});  // full: the next append rolls
  journal_.reset();
  // Died after sealing segment 0 (index written) and before creating segment 8.
  const std::string sealed = EncodeSegmentIndex(SegmentIndex{
      0, 8, stdfs::file_size(SegmentPath(0)), clock_.NowMs(), {{0, format::kSegmentHeaderSize}}});
  ASSERT_TRUE(fs::WriteFileAtomically(IndexPath(0), sealed).ok());
  Reopen();
  EXPECT_FALSE(fs::Exists(IndexPath(0)));
  EXPECT_EQ(journal_->Recovery().segments_scanned, 1u);
  AppendOk({Record(100, 'b')});
  EXPECT_EQ(*fs::ReadFile(IndexPath(0)), sealed);
  Reopen();
  EXPECT_EQ(journal_->Recovery().segments_from_index, 1u);
  EXPECT_EQ(ReadAll().size(), 9u);
}

TEST_F(JournalTest, IndexThatCannotBeWrittenCostsAScanNotData) {
  options_.segment_bytes = 1000;
  Reopen();
  for (int i = 0; i < 8; ++i) AppendOk({Record(100, 'a')});
  // A non-empty directory where the index goes: the rename at sealing fails.
  ASSERT_TRUE(stdfs::create_directory(IndexPath(0)));
  ASSERT_TRUE(fs::WriteFileAtomically(IndexPath(0) + "/x", "x").ok());
  AppendOk({Record(100, 'b')});  // seals segment 0 without its index and goes on
  AppendOk({Record(100, 'c')});
  Reopen();
  EXPECT_EQ(journal_->Recovery().indexes_damaged, 1u);  // unreadable: scanned instead
  EXPECT_EQ(ReadAll().size(), 10u);
  stdfs::remove_all(IndexPath(0));
  Reopen();
  EXPECT_EQ(journal_->Recovery().indexes_missing, 1u);  // scanned, and now written
  Reopen();
  EXPECT_EQ(journal_->Recovery().segments_from_index, 1u);
  EXPECT_EQ(ReadAll().size(), 10u);
}

TEST_F(JournalTest, IndexWithoutItsSegmentIsRemovedOnOpen) {
  AppendOk({"a"});
  const std::string orphan = PartitionDir() + "/" + IndexFileName(1234);
  ASSERT_TRUE(fs::WriteFileAtomically(orphan, "left by a crash").ok());
  Reopen();
  EXPECT_FALSE(fs::Exists(orphan));
}

TEST(JournalFormatTest, SegmentIndexRoundTripsAndRejectsDamage) {
  const SegmentIndex index{100, 160, 70'000, 1'700'000'000'123, {{100, 32}, {130, 40'000}}};
  const std::string data = EncodeSegmentIndex(index);
  EXPECT_EQ(data.size(), format::kIndexHeaderSize + 2 * format::kIndexEntrySize + 4);
  EXPECT_EQ(*DecodeSegmentIndex(data), index);
  EXPECT_EQ(IndexFileName(100), "00000000000000000100.index");
  EXPECT_EQ(ParseIndexFileName("00000000000000000100.index"), 100u);
  EXPECT_FALSE(ParseIndexFileName("00000000000000000100.log"));
  for (size_t i = 0; i < data.size(); ++i) {
    std::string bad = data;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    EXPECT_EQ(DecodeSegmentIndex(bad).status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  EXPECT_FALSE(DecodeSegmentIndex(data.substr(0, data.size() - 1)).ok());
  // Self-consistency, even with a valid checksum.
  SegmentIndex unordered = index;
  std::swap(unordered.entries[0], unordered.entries[1]);
  EXPECT_FALSE(DecodeSegmentIndex(EncodeSegmentIndex(unordered)).ok());
  SegmentIndex outside = index;
  outside.entries[1].offset = 160;
  EXPECT_FALSE(DecodeSegmentIndex(EncodeSegmentIndex(outside)).ok());
  SegmentIndex no_entries = index;
  no_entries.entries.clear();
  EXPECT_FALSE(DecodeSegmentIndex(EncodeSegmentIndex(no_entries)).ok());
}

TEST(JournalFormatTest, SegmentNamesAreZeroPaddedBaseOffsets) {
  EXPECT_EQ(SegmentFileName(1234), "00000000000000001234.log");
  EXPECT_EQ(ParseSegmentFileName("00000000000000001234.log"), 1234u);
  EXPECT_FALSE(ParseSegmentFileName("1234.log"));
  EXPECT_FALSE(ParseSegmentFileName("0000000000000000123x.log"));
  EXPECT_EQ(*DecodeCheckpoint(EncodeCheckpoint(42)), 42u);
  auto with_intent =
      DecodeConsumerState(EncodeCheckpoint({Offset{5}, BatchIntent{Offset{9}, 2, -1}}));
  ASSERT_TRUE(with_intent.ok());
  EXPECT_EQ(with_intent->next, Offset{5});
  EXPECT_EQ(*with_intent->intent, (BatchIntent{Offset{9}, 2, -1}));
  EXPECT_TRUE(CheckSegmentHeader(EncodeSegmentHeader(7), 7).ok());
  EXPECT_FALSE(CheckSegmentHeader(EncodeSegmentHeader(7), 8).ok());
}

TEST(JournalNamesTest, StreamNamesMayCarryANamespace) {
  EXPECT_TRUE(journal::IsValidStreamName("orders"));
  EXPECT_TRUE(journal::IsValidStreamName("kinesis+orders"));
  EXPECT_TRUE(journal::IsValidStreamName("kinesis+" + std::string(128, 'a')));
  EXPECT_FALSE(journal::IsValidStreamName("kinesis+" + std::string(129, 'a')));
  EXPECT_FALSE(journal::IsValidStreamName("+orders"));
  EXPECT_FALSE(journal::IsValidStreamName("Kinesis+orders"));
  EXPECT_FALSE(journal::IsValidStreamName("kinesis+.."));
  EXPECT_FALSE(journal::IsValidStreamName("a+b+c"));
  EXPECT_FALSE(journal::IsValidStreamName("../x"));
  EXPECT_FALSE(journal::IsValidName("kinesis+orders"));  // consumer names have no namespace
}

}  // namespace
}  // namespace sluice::journal
