#include "agent/spool.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "common/clock.h"

namespace sluice::agent {
namespace {
constexpr uint8_t kEnvelopeVersion = 1;
constexpr size_t kHeader = 1 + 8 + 8;

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
}  // namespace

std::string EncodeEnvelope(uint64_t source_key, uint64_t source_end, std::string_view data) {
  std::string out;
  out.reserve(kHeader + data.size());
  out.push_back(static_cast<char>(kEnvelopeVersion));
  PutU64(out, source_key);
  PutU64(out, source_end);
  out.append(data);
  return out;
}

Result<Envelope> DecodeEnvelope(std::string_view stored) {
  if (stored.size() < kHeader || static_cast<uint8_t>(stored[0]) != kEnvelopeVersion) {
    return Status::Corruption("spool record is not an agent envelope (version " +
                              std::to_string(stored.empty() ? 0 : static_cast<uint8_t>(stored[0])) +
                              ", " + std::to_string(stored.size()) + " bytes)");
  }
  Envelope e;
  e.source_key = GetU64(stored.data() + 1);
  e.source_end = GetU64(stored.data() + 9);
  e.data = stored.substr(kHeader);
  return e;
}

std::string SpoolStream(const std::string& input) {
  return "in-" + input;
}

Result<size_t> SpoolAppend(journal::PartitionLog& log, std::vector<std::string> records,
                           const std::string& input, const std::atomic<bool>& stop) {
  size_t done = 0;
  bool logged_full = false;
  int64_t wait_ms = 50;
  while (!records.empty()) {
    std::promise<Result<journal::AppendResult>> promise;
    auto future = promise.get_future();
    const size_t n = records.size();
    // Append takes the vector; keep a copy only when the quota might refuse a tail.
    std::vector<std::string> copy = records;
    log.Append(std::move(copy), Clock::System().NowMs(),
               [&promise](Result<journal::AppendResult> r) { promise.set_value(std::move(r)); });
    Result<journal::AppendResult> r = future.get();
    if (!r.ok()) return r.status().WithContext("spool append for input " + input);
    done += r->accepted;
    if (r->accepted == n) break;
    records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(r->accepted));
    if (!logged_full) {
      spdlog::warn("input {}: spool full (quota reached); reading paused until outputs deliver",
                   input);
      logged_full = true;
    }
    if (stop.load()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    wait_ms = std::min<int64_t>(wait_ms * 2, 1000);
  }
  if (logged_full) spdlog::info("input {}: spool has room again; reading resumed", input);
  return done;
}

}  // namespace sluice::agent
