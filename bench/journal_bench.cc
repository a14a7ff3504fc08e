// Journal append throughput against the raw disk.
//
// Phase 1: `threads` producers each append batches of `batch` records of `record` bytes and wait
// for the durable acknowledgement, for `seconds`. Reports records/s, MB/s and fdatasyncs/s.
// Raw: the same disk, plain write + fdatasync for the same time, once before the journal phase
// (write size = every producer's batch) and once after (write size = the journal's measured
// average group). Reports MB/s and the journal/raw ratio against the faster raw run.
//
// Usage: journal_bench [--dir D] [--seconds S] [--threads T] [--batch B] [--record BYTES]
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "journal/file.h"
#include "journal/journal.h"

namespace {

using Clock = std::chrono::steady_clock;
using sluice::Result;
using sluice::Status;
namespace journal = sluice::journal;

// Counts fdatasyncs and bytes written through the journal's file seam.
class CountingFileSystem final : public journal::FileSystem {
 public:
  class File final : public journal::WritableFile {
   public:
    File(std::unique_ptr<journal::WritableFile> f, CountingFileSystem* owner)
        : f_(std::move(f)), owner_(owner) {}
    Result<size_t> Write(const char* data, size_t n) override {
      auto r = f_->Write(data, n);
      if (r.ok()) owner_->bytes += *r;
      return r;
    }
    Status Sync() override {
      ++owner_->syncs;
      return f_->Sync();
    }
    void DropCache(uint64_t size) override { f_->DropCache(size); }
    Status Truncate(uint64_t size) override { return f_->Truncate(size); }
    const std::string& path() const override { return f_->path(); }

   private:
    std::unique_ptr<journal::WritableFile> f_;
    CountingFileSystem* owner_;
  };

  Result<std::unique_ptr<journal::WritableFile>> OpenForAppend(const std::string& path) override {
    auto f = journal::FileSystem::Posix().OpenForAppend(path);
    if (!f.ok()) return f.status();
    return std::unique_ptr<journal::WritableFile>(std::make_unique<File>(std::move(*f), this));
  }
  Status SyncDir(const std::string& dir) override {
    return journal::FileSystem::Posix().SyncDir(dir);
  }
  Result<uint64_t> FreeBytes(const std::string& dir) override {
    return journal::FileSystem::Posix().FreeBytes(dir);
  }

  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> bytes{0};
};

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

struct RawResult {
  double mb_s = 0;
  double syncs_per_s = 0;
};

// Sequential write of `chunk_bytes` + fdatasync, repeated for `duration`; the file is removed.
std::optional<RawResult> RawThroughput(const std::string& path, size_t chunk_bytes,
                                       Clock::duration duration) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("open raw");
    return std::nullopt;
  }
  std::string chunk(chunk_bytes, 'r');
  uint64_t bytes = 0;
  uint64_t syncs = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < duration) {
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("raw write");
      ::close(fd);
      return std::nullopt;
    }
    bytes += chunk.size();
    ++syncs;
  }
  const double s = Seconds(Clock::now() - start);
  ::close(fd);
  ::unlink(path.c_str());
  return RawResult{static_cast<double>(bytes) / s / 1e6, static_cast<double>(syncs) / s};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  double seconds = 3;
  int threads = 4;
  size_t batch = 500;
  size_t record = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dir")
      dir = argv[i + 1];
    else if (flag == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (flag == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (flag == "--batch")
      batch = static_cast<size_t>(std::atol(argv[i + 1]));
    else if (flag == "--record")
      record = static_cast<size_t>(std::atol(argv[i + 1]));
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  bool made_dir = false;
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::fprintf(stderr, "%s: %s\n", dir.c_str(), ec.message().c_str());
      return 1;
    }
  } else {
    made_dir = true;
    std::string tmpl = "./journal_bench.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }

  // Phase 0: raw write + fdatasync of the largest possible group (every producer's batch).
  const size_t raw_before_bytes = static_cast<size_t>(threads) * batch * (record + 28);
  const auto duration =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto raw_before = RawThroughput(dir + "/raw_before.dat", raw_before_bytes, duration);
  if (!raw_before) return 1;

  // Phase 1: the journal.
  CountingFileSystem counting;
  journal::Options options;
  options.dir = dir + "/journal";
  options.fs = &counting;
  auto opened = journal::Journal::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto& jrnl = *opened;
  auto log = jrnl->Partition("bench", 0);
  if (!log.ok()) return 1;
  uint64_t syncs_before = counting.syncs.load();
  uint64_t bytes_before = counting.bytes.load();
  std::atomic<uint64_t> records_acked{0};
  std::atomic<bool> failed{false};
  const auto start = Clock::now();
  const auto stop =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      std::string payload(record, static_cast<char>('a' + t));
      while (Clock::now() < stop && !failed) {
        std::vector<std::string> records(batch, payload);
        std::promise<Result<journal::AppendResult>> done;
        auto future = done.get_future();
        (*log)->Append(std::move(records), 0, [&done](auto r) { done.set_value(std::move(r)); });
        auto r = future.get();
        if (!r.ok() || r->accepted != batch) {
          std::fprintf(stderr, "append: %s\n",
                       r.ok() ? "quota refused records" : r.status().ToString().c_str());
          failed = true;
          return;
        }
        records_acked += r->accepted;
      }
    });
  }
  for (auto& p : producers) p.join();
  const double journal_s = Seconds(Clock::now() - start);
  jrnl->Close();
  if (failed) return 1;
  const uint64_t syncs = counting.syncs.load() - syncs_before;
  const uint64_t written = counting.bytes.load() - bytes_before;
  const double rec_per_s = static_cast<double>(records_acked.load()) / journal_s;
  const double journal_mb_s = static_cast<double>(written) / journal_s / 1e6;
  const size_t group_bytes = syncs > 0 ? static_cast<size_t>(written / syncs) : batch * record;

  // Phase 2: raw write + fdatasync of the journal's average group size on the same disk.
  auto raw_after = RawThroughput(dir + "/raw_after.dat", group_bytes, stop - start);
  if (!raw_after) return 1;
  const double raw_mb_s = std::max(raw_before->mb_s, raw_after->mb_s);

  std::printf("journal: %d threads x %zu records x %zu B for %.2f s\n", threads, batch, record,
              journal_s);
  std::printf("journal: %.0f records/s  %.1f MB/s  %.1f fdatasyncs/s  (avg group %zu B)\n",
              rec_per_s, journal_mb_s, static_cast<double>(syncs) / journal_s, group_bytes);
  std::printf("raw before: %.1f MB/s  %.1f fdatasyncs/s  (write of %zu B + fdatasync)\n",
              raw_before->mb_s, raw_before->syncs_per_s, raw_before_bytes);
  std::printf("raw after:  %.1f MB/s  %.1f fdatasyncs/s  (write of %zu B + fdatasync)\n",
              raw_after->mb_s, raw_after->syncs_per_s, group_bytes);
  std::printf("ratio:   journal/raw = %.2f (against the faster raw run)\n",
              raw_mb_s > 0 ? journal_mb_s / raw_mb_s : 0.0);
  // Remove only what this run created.
  std::error_code ec;
  std::filesystem::remove_all(made_dir ? dir : options.dir, ec);
  return 0;
}
