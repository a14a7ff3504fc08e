// Crash test: a real process appending from several threads is killed with SIGKILL at a random
// moment; the journal must reopen and hold every acknowledged record, intact. Repeated on the
// same directory, so each round also recovers what the previous kill left.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>

#include "crash/journal_crash_record.h"
#include "gtest/gtest.h"
#include "journal/journal.h"

namespace sluice::journal {
namespace {

constexpr int kRounds = 6;
constexpr auto kRoundTimeout = std::chrono::seconds(60);

struct Ack {
  uint64_t first = 0;
  uint64_t count = 0;
};

// Parses complete "ACK first count" lines from `text`; leaves an unfinished line in `text`.
void ParseAcks(std::string& text, std::vector<Ack>& acks) {
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::istringstream line(text.substr(start, nl - start));
    std::string word;
    Ack ack;
    if (line >> word >> ack.first >> ack.count && word == "ACK") acks.push_back(ack);
  }
  text.erase(0, start);
}

class JournalCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "journal_crash.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Starts the writer, kills it with SIGKILL once `kill_after` appends were acknowledged, and
  // returns every acknowledgement it printed before dying.
  std::vector<Ack> RunAndKill(size_t kill_after) {
    std::vector<Ack> acks;
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::execl(JOURNAL_CRASH_WRITER, JOURNAL_CRASH_WRITER, dir_.c_str(), "4",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string pending;
    bool killed = false;
    bool eof = false;
    auto deadline = std::chrono::steady_clock::now() + kRoundTimeout;
    while (!eof && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) {
        eof = true;
        break;
      }
      pending.append(buf, static_cast<size_t>(n));
      ParseAcks(pending, acks);
      if (!killed && acks.size() >= kill_after) {
        ::kill(pid, SIGKILL);
        killed = true;  // keep reading: acks already in the pipe were printed before death
      }
    }
    if (!eof) ::kill(pid, SIGKILL);
    ::close(fds[0]);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    EXPECT_TRUE(eof) << "the writer did not finish within the round timeout";
    EXPECT_TRUE(killed) << "the writer exited by itself after " << acks.size() << " acks";
    EXPECT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "writer wait status " << wstatus;
    return acks;
  }

  std::string dir_;
};

TEST_F(JournalCrashTest, EveryAcknowledgedRecordSurvivesKillNine) {
  std::random_device rd;
  const unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  uint64_t total_acked = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    size_t kill_after = std::uniform_int_distribution<size_t>(1, 400)(rng);
    std::vector<Ack> acks = RunAndKill(kill_after);
    ASSERT_FALSE(HasFailure());
    ASSERT_GE(acks.size(), kill_after);

    Options options;
    options.dir = dir_;
    auto journal = Journal::Open(options);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    auto log = (*journal)->Partition("crash", 0);
    ASSERT_TRUE(log.ok());
    // A kill never leaves a sealed segment without a valid index (it is written before the next
    // segment exists), so recovery scanned only the active segment.
    RecoveryStats stats = (*journal)->Recovery();
    EXPECT_EQ(stats.indexes_missing + stats.indexes_damaged, 0u);
    EXPECT_EQ(stats.segments_scanned, 1u);
    uint64_t end = (*log)->End().value;
    for (const Ack& ack : acks) {
      ASSERT_LE(ack.first + ack.count, end) << "acknowledged records missing after recovery";
      total_acked += ack.count;
    }
    // Every record in the log, acknowledged or not, is intact and densely numbered.
    auto reader = std::move((*log)->NewReader().value());
    std::vector<StoredRecord> records;
    uint64_t next = 0;
    for (;;) {
      records.clear();
      auto n = reader->Next(1000, 4 << 20, records);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      if (*n == 0) break;
      for (const auto& r : records) {
        ASSERT_EQ(r.offset.value, next);
        ASSERT_TRUE(crashtest::VerifyCrashRecord(r.data)) << "record " << next << " damaged";
        ++next;
      }
    }
    EXPECT_EQ(next, end);
  }
  EXPECT_GT(total_acked, 0u);
}

}  // namespace
}  // namespace sluice::journal
