// Journal start-up time against backlog size (issue 8, item 6).
//
// Grows one partition's undelivered backlog to each size in --sizes-gb (records of --record bytes,
// --segment-mb segments, a consumer checkpoint at a tenth of the log), and at each size measures:
//   open (index)     Journal::Open as it is: sealed segments restored from their index files,
//                    only the active segment scanned;
//   scan all         ScanSegment over every segment, the work Journal::Open did before segment
//                    indexes existed (every frame of every retained segment read and checked);
//   open (no index)  Journal::Open after deleting every index file: the first start of a data dir
//                    written before indexes (scans every sealed segment, then writes its index).
// Each is measured cold (page cache dropped: sync + /proc/sys/vm/drop_caches, needs root) and warm;
// without root only warm numbers are printed (open_noidx is cold when the cache can be dropped).
// x_cold / x_warm = scan all / open (index). The backlog is deleted at the end.
//
// Usage: startup_bench [--dir D] [--sizes-gb 1,5,20] [--record BYTES] [--segment-mb MB]
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "journal/codec.h"
#include "journal/journal.h"
#include "journal/segment_scan.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace journal = sluice::journal;
namespace stdfs = std::filesystem;

constexpr char kStream[] = "backlog";

struct Args {
  std::string dir;
  std::vector<double> sizes_gb = {1, 5, 20};
  size_t record = 1024;
  uint64_t segment_mb = 64;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "startup_bench: %s\n", what.c_str());
  std::exit(1);
}

std::optional<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    std::string v = argv[++i];
    if (k == "--dir") {
      a.dir = v;
    } else if (k == "--sizes-gb") {
      a.sizes_gb.clear();
      std::stringstream ss(v);
      for (std::string part; std::getline(ss, part, ',');) a.sizes_gb.push_back(std::stod(part));
      std::sort(a.sizes_gb.begin(), a.sizes_gb.end());
    } else if (k == "--record") {
      a.record = std::stoul(v);
    } else if (k == "--segment-mb") {
      a.segment_mb = std::stoull(v);
    } else {
      return std::nullopt;
    }
  }
  if (a.sizes_gb.empty() || a.record == 0 || a.segment_mb == 0) return std::nullopt;
  return a;
}

journal::Options JournalOptions(const Args& args, const std::string& dir) {
  journal::Options o;
  o.dir = dir;
  o.segment_bytes = args.segment_mb << 20;
  o.quota_bytes = UINT64_MAX / 2;  // the backlog is the point: never refuse
  o.sync = false;                  // building the backlog; durability is not measured here
  return o;
}

// Drops the page cache (root only). False if that is not possible: numbers are then warm.
bool DropCaches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  if (!f) return false;
  f << "3\n";
  f.flush();
  return static_cast<bool>(f);
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Appends records until the partition's log holds `target_bytes` of frames.
void GrowTo(const Args& args, const std::string& dir, uint64_t target_bytes, uint64_t* log_bytes) {
  auto j = journal::Journal::Open(JournalOptions(args, dir));
  if (!j.ok()) Die("open: " + j.status().ToString());
  auto log = (*j)->Partition(kStream, 0);
  if (!log.ok()) Die("partition: " + log.status().ToString());
  const uint64_t frame = journal::format::kFrameHeaderSize + args.record;
  const size_t per_batch = std::max<size_t>(1, (1u << 20) / frame);
  const std::string payload(args.record, 'r');
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::string error;
  while (*log_bytes < target_bytes) {
    size_t n =
        static_cast<size_t>(std::min<uint64_t>(per_batch, (target_bytes - *log_bytes) / frame + 1));
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < 8; });
      if (!error.empty()) Die("append: " + error);
      ++in_flight;
    }
    (*log)->Append(std::vector<std::string>(n, payload), 1'700'000'000'000,
                   [&](const sluice::Result<journal::AppendResult>& r) {
                     std::lock_guard lock(mu);
                     if (!r.ok()) error = r.status().ToString();
                     --in_flight;
                     cv.notify_all();
                   });
    *log_bytes += n * frame;
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  if (!error.empty()) Die("append: " + error);
  // Some of the backlog is delivered: recovery also loads a checkpoint.
  journal::Offset end = (*log)->End();
  if (auto st = (*log)->CommitCheckpoint("s3", journal::Offset{end.value / 10}); !st.ok()) {
    Die("checkpoint: " + st.ToString());
  }
  (*j)->Close();
}

struct OpenResult {
  double ms = 0;
  journal::RecoveryStats stats;
};

OpenResult TimeOpen(const Args& args, const std::string& dir) {
  auto start = Clock::now();
  auto j = journal::Journal::Open(JournalOptions(args, dir));
  if (!j.ok()) Die("open: " + j.status().ToString());
  OpenResult r{MsSince(start), (*j)->Recovery()};
  return r;
}

std::string PartitionDir(const std::string& dir) {
  return dir + "/streams/" + kStream + "/0";
}

std::vector<uint64_t> SegmentBases(const std::string& dir) {
  std::vector<uint64_t> bases;
  for (const auto& e : stdfs::directory_iterator(PartitionDir(dir))) {
    if (auto b = journal::ParseSegmentFileName(e.path().filename().string())) bases.push_back(*b);
  }
  std::sort(bases.begin(), bases.end());
  return bases;
}

// What Journal::Open did before indexes: scan every segment.
double TimeScanAll(const std::string& dir) {
  auto start = Clock::now();
  std::vector<uint64_t> bases = SegmentBases(dir);
  for (size_t i = 0; i < bases.size(); ++i) {
    auto scan = journal::ScanSegment(PartitionDir(dir) + "/" + journal::SegmentFileName(bases[i]),
                                     bases[i], i + 1 == bases.size());
    if (!scan.ok()) Die("scan: " + scan.status().ToString());
  }
  return MsSince(start);
}

size_t RemoveIndexes(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : stdfs::directory_iterator(PartitionDir(dir))) {
    if (journal::ParseIndexFileName(e.path().filename().string())) n += stdfs::remove(e.path());
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = ParseArgs(argc, argv);
  if (!parsed) {
    std::fprintf(stderr,
                 "usage: startup_bench [--dir D] [--sizes-gb 1,5,20] [--record BYTES] "
                 "[--segment-mb MB]\n");
    return 2;
  }
  Args args = *parsed;
  bool own_dir = args.dir.empty();
  if (own_dir) {
    std::string tmpl = (stdfs::temp_directory_path() / "startup_bench.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
    args.dir = tmpl;
  }
  const std::string dir = args.dir + "/journal";
  const bool cold = DropCaches();
  std::printf("startup_bench: 1 partition, %zu-byte records, %llu MiB segments, page cache %s\n",
              args.record, static_cast<unsigned long long>(args.segment_mb),
              cold ? "dropped before each cold run" : "NOT droppable (not root): warm only");
  std::printf("%-10s %-9s %-12s | %-15s %-15s | %-15s %-15s | %-9s %-9s | %-15s\n", "backlog",
              "segments", "active_MiB", "open_index_cold", "open_index_warm", "scan_all_cold",
              "scan_all_warm", "x_cold", "x_warm", "open_noidx");
  uint64_t log_bytes = 0;
  for (double gb : args.sizes_gb) {
    auto start = Clock::now();
    GrowTo(args, dir, static_cast<uint64_t>(gb * (1ull << 30)), &log_bytes);
    std::fprintf(stderr, "startup_bench: wrote %.2f GiB in %.0f s\n",
                 static_cast<double>(log_bytes) / (1ull << 30), MsSince(start) / 1000);
    double index_cold = -1;
    double scan_cold = -1;
    double noidx_cold = -1;
    OpenResult index_run;
    if (cold) {
      DropCaches();
      index_run = TimeOpen(args, dir);
      index_cold = index_run.ms;
    }
    OpenResult warm = TimeOpen(args, dir);
    if (!cold) index_run = warm;
    if (cold) {
      DropCaches();
      scan_cold = TimeScanAll(dir);
    }
    TimeScanAll(dir);  // fill the cache
    double scan_warm = TimeScanAll(dir);
    RemoveIndexes(dir);
    if (cold) DropCaches();
    OpenResult noidx = TimeOpen(args, dir);  // rewrites the indexes
    if (cold) noidx_cold = noidx.ms;
    if (noidx.stats.indexes_missing + 1 != noidx.stats.segments_scanned) {
      Die("open without indexes did not scan every segment");
    }
    if (index_run.stats.segments_scanned != 1) Die("open with indexes scanned sealed segments");
    auto fmt = [](double ms) {
      char b[32];
      if (ms < 0) return std::string("n/a");
      std::snprintf(b, sizeof b, "%.0f ms", ms);
      return std::string(b);
    };
    auto ratio = [](double a, double b) {
      char buf[32];
      if (a < 0 || b <= 0) return std::string("n/a");
      std::snprintf(buf, sizeof buf, "%.0fx", a / b);
      return std::string(buf);
    };
    char size[32];
    std::snprintf(size, sizeof size, "%.1f GiB", static_cast<double>(log_bytes) / (1ull << 30));
    std::printf("%-10s %-9llu %-12.1f | %-15s %-15s | %-15s %-15s | %-9s %-9s | %-15s\n", size,
                static_cast<unsigned long long>(index_run.stats.segments_from_index) + 1,
                static_cast<double>(index_run.stats.bytes_scanned) / (1 << 20),
                fmt(index_cold).c_str(), fmt(warm.ms).c_str(), fmt(scan_cold).c_str(),
                fmt(scan_warm).c_str(), ratio(scan_cold, index_cold).c_str(),
                ratio(scan_warm, warm.ms).c_str(),
                fmt(noidx_cold < 0 ? noidx.ms : noidx_cold).c_str());
    std::fflush(stdout);
  }
  stdfs::remove_all(own_dir ? args.dir : dir);
  return 0;
}
