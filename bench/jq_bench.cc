// Dynamic-partitioning metadata extraction throughput (sluice::jq::MetadataExtractor on libjq 1.6).
//
// One extractor (one thread, as the delivery worker uses it) runs a query on 1 KiB JSON order
// records for `seconds` per query and reports records/s, MB/s and µs/record, for the spec query
// `{customer_id:.customer_id,year:.ts|strftime("%Y")}` and for a five-key hive-style query.
// Also reports the one-off compile time. Exits 1 if any record fails to extract.
//
// Usage: jq_bench [--seconds S] [--record BYTES]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "jq/metadata_extractor.h"

namespace {

using Clock = std::chrono::steady_clock;
using sluice::jq::MetadataExtractor;

// Distinct order records of exactly `size` bytes (padded through the "note" field).
std::vector<std::string> MakeOrders(size_t count, size_t size) {
  std::vector<std::string> records;
  records.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    char head[512];
    std::snprintf(head, sizeof(head),
                  R"({"order_id":"o-%08zu","customer_id":"c-%05zu","ts":%zu,"status":"paid",)"
                  R"("currency":"EUR","total":%zu.%02zu,"device":{"type":"%s","os":"ios"},)"
                  R"("items":[{"sku":"SKU-%zu","qty":2,"price":19.99},)"
                  R"({"sku":"SKU-%zu","qty":1,"price":5.5}],"note":")",
                  i, i % 997, 1565383509 + i * 37, 10 + i % 500, i % 100,
                  i % 3 == 0 ? "mobile" : "desktop", i % 211, i % 89);
    std::string record = head;
    const std::string tail = "\"}";
    if (record.size() + tail.size() < size) record.append(size - record.size() - tail.size(), 'n');
    record += tail;
    records.push_back(std::move(record));
  }
  return records;
}

// Runs `query` over `records` (cycling) for `seconds`; returns false if any record failed.
bool Run(const char* label, const char* query, const std::vector<std::string>& records,
         double seconds) {
  const auto compile_start = Clock::now();
  auto compiled = MetadataExtractor::Compile(query);
  const double compile_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - compile_start).count();
  if (!compiled.ok()) {
    std::fprintf(stderr, "%s: %s\n", label, compiled.status().ToString().c_str());
    return false;
  }
  MetadataExtractor& extractor = **compiled;
  size_t done = 0;
  size_t bytes = 0;
  size_t failures = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    for (int i = 0; i < 256; ++i) {  // check the clock every 256 records
      const std::string& record = records[done % records.size()];
      auto keys = extractor.Extract(record);
      if (!keys.ok()) {
        if (failures++ == 0) std::fprintf(stderr, "%s\n", keys.status().ToString().c_str());
      }
      bytes += record.size();
      ++done;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "%-6s %.0f records/s  %.1f MB/s  %.2f us/record  (compile %.1f ms; %zu records, "
      "%zu failed)\n",
      label, done / elapsed, bytes / elapsed / 1e6, elapsed / done * 1e6, compile_ms, done,
      failures);
  return failures == 0;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  size_t record_size = 1024;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", argv[i]);
      return 2;
    }
    if (flag == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (flag == "--record") {
      record_size = static_cast<size_t>(std::atol(argv[i + 1]));
    } else {
      std::fprintf(stderr, "unknown flag %s\nusage: jq_bench [--seconds S] [--record BYTES]\n",
                   argv[i]);
      return 2;
    }
  }
  const std::vector<std::string> records = MakeOrders(1000, record_size);
  std::printf("jq: 1 thread, %zu distinct order records of %zu B, %.1f s per query\n",
              records.size(), records.front().size(), seconds);
  bool ok = Run("spec", R"({customer_id:.customer_id,year:.ts|strftime("%Y")})", records, seconds);
  ok = Run("hive5",
           R"({customer_id:.customer_id,device:.device.type,year:.ts|strftime("%Y"),)"
           R"(month:.ts|strftime("%m"),day:.ts|strftime("%d")})",
           records, seconds) &&
       ok;
  return ok ? 0 : 1;
}
