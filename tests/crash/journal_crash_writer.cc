// Helper for journal_crash_test: appends to <dir> from several threads until killed, and prints
// one line "ACK <first offset> <count>" per acknowledged append, written with one write(2) each
// after the append's callback reported success (that is, after the records were durable).
//
// Usage: journal_crash_writer <journal dir> <threads>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "crash/journal_crash_record.h"
#include "journal/journal.h"

namespace {

void WriteLine(const std::string& line) {
  // One write per line: lines up to PIPE_BUF bytes are never interleaved on a pipe.
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    std::_Exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <journal dir> <threads>\n", argv[0]);
    return 2;
  }
  sluice::journal::Options options;
  options.dir = argv[1];
  options.segment_bytes = 256 << 10;  // roll often
  int threads = std::atoi(argv[2]);
  auto journal = sluice::journal::Journal::Open(options);
  if (!journal.ok()) {
    std::fprintf(stderr, "open: %s\n", journal.status().ToString().c_str());
    return 1;
  }
  auto log = (*journal)->Partition("crash", 0);
  if (!log.ok()) {
    std::fprintf(stderr, "partition: %s\n", log.status().ToString().c_str());
    return 1;
  }
  const uint64_t writer = static_cast<uint64_t>(::getpid());
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t seq = 0;;) {
        std::vector<std::string> batch;
        size_t n = 1 + seq % 20;
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(
              sluice::crashtest::MakeCrashRecord(writer, static_cast<uint32_t>(t), seq++));
        }
        std::promise<sluice::Result<sluice::journal::AppendResult>> done;
        auto future = done.get_future();
        (*log)->Append(std::move(batch), 0, [&done](auto r) { done.set_value(std::move(r)); });
        auto r = future.get();
        if (!r.ok()) {
          std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
          std::_Exit(1);
        }
        WriteLine("ACK " + std::to_string(r->first.value) + " " + std::to_string(r->accepted) +
                  "\n");
      }
    });
  }
  for (auto& w : workers) w.join();  // never returns: the test kills the process
  return 0;
}
