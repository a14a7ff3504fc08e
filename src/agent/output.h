// An output: drains the spool partitions of its inputs into a Kinesis stream (PutRecords) or a
// Firehose delivery stream (PutRecordBatch), through client/record_sender.h's PutBatchOnce.
//
// Contract: the output's spool consumer (named after the output) moves past a record only after
// the endpoint acknowledged it (a SequenceNumber / RecordId). Before sending a batch it commits
// the batch as an intent, so that after a crash the batch resent (records the endpoint may
// already hold) is known: it is logged and counted as possible duplicates. Failed records are
// retried (only the failed subset) with jittered exponential backoff, for as long as it takes;
// non-retryable errors (e.g. the stream does not exist) are logged and retried at the maximum
// backoff: nothing is dropped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/config.h"
#include "client/aws_json.h"
#include "common/status.h"
#include "journal/journal.h"

namespace sluice::agent {

struct OutputCounters {
  std::atomic<uint64_t> sent{0};     // records acknowledged
  std::atomic<uint64_t> retried{0};  // record sends retried
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> resent_after_crash{0};  // possible duplicates
  std::atomic<int64_t> last_success_ms{0};
};

class Output {
 public:
  Output(OutputConfig config, std::vector<journal::PartitionLog*> logs);
  ~Output();

  [[nodiscard]] Status Start();
  // Runs until `stop` and then until the spool is drained or `hard_stop`. Returns true when
  // everything spooled for it was delivered.
  bool Run(const std::atomic<bool>& stop, const std::atomic<bool>& hard_stop);

  const OutputCounters& counters() const { return counters_; }
  const std::string& name() const { return config_.name; }
  // Records spooled for this output and not yet acknowledged.
  uint64_t Backlog() const;

 private:
  struct Source {
    journal::PartitionLog* log;
    std::unique_ptr<journal::Reader> reader;
    journal::Offset next;
  };
  // Sends [src.next, ...) one batch; returns the records delivered (0 if none were available).
  Result<size_t> SendOne(Source& src, const std::atomic<bool>& hard_stop);
  std::string PartitionKey(std::string_view data);
  void Sleep(int64_t ms, const std::atomic<bool>& hard_stop);

  OutputConfig config_;
  std::vector<Source> sources_;
  std::unique_ptr<client::AwsJsonClient> client_;
  OutputCounters counters_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool data_ = false;
  uint64_t rng_;
};

}  // namespace sluice::agent
