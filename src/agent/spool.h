// The agent's spool: a journal (src/journal) in <state-dir>/spool with one partition per input
// (stream "in-<input>", partition 0) and one named consumer per output. A spooled record is an
// envelope: where it came from (a 64-bit source key, e.g. a file's device+inode, and the source
// position just past the record) and the record's bytes. Inputs recover their exact position
// from the envelopes past their last checkpoint, so a crash between the spool append and the
// checkpoint write neither loses nor repeats a record.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "journal/journal.h"

namespace sluice::agent {

struct Envelope {
  uint64_t source_key = 0;
  uint64_t source_end = 0;  // source position just past the record
  std::string_view data;
};

std::string EncodeEnvelope(uint64_t source_key, uint64_t source_end, std::string_view data);
// Corruption for a record that is not an envelope.
Result<Envelope> DecodeEnvelope(std::string_view stored);

// The spool stream of an input.
std::string SpoolStream(const std::string& input);

// Appends `records` to `log` and waits until they are durable. When the spool's quota refuses a
// tail, waits (logging once) and retries it until accepted or `stop` is set. Returns the number of
// records made durable (all of them unless stopped or failed).
Result<size_t> SpoolAppend(journal::PartitionLog& log, std::vector<std::string> records,
                           const std::string& input, const std::atomic<bool>& stop);

}  // namespace sluice::agent
