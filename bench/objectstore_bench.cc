// Delivery throughput: N objects of M MiB of JSON lines, compressed (UNCOMPRESSED / GZIP / ZSTD)
// and put to file:// (temp dir) and to s3rver 4.0.4 (started here, if node is installed).
// Prints MB/s of uncompressed input and this process's CPU seconds per MB (getrusage; s3rver's
// own CPU is not included). One delivery worker, objects put one after another.
//   objectstore_bench [--objects 64] [--size-mib 5] [--no-s3]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "compress/compress.h"
#include "objectstore/file_store.h"
#include "objectstore/s3_store.h"
#include "testutil/objectstore_s3rver.h"

namespace {

using sluice::compress::Format;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string JsonLines(size_t bytes, int seed) {
  std::string out;
  out.reserve(bytes + 256);
  uint64_t x = static_cast<uint64_t>(seed) * 0x9e3779b97f4a7c15ull + 1;
  for (int i = 0; out.size() < bytes; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out += "{\"id\":" + std::to_string(i) + ",\"user\":\"u" + std::to_string(x % 100000) +
           "\",\"event\":\"" +
           (x % 3 == 0   ? "click"
            : x % 3 == 1 ? "view"
                         : "purchase") +
           "\",\"amount\":" + std::to_string(x % 10000) + "." + std::to_string(x % 100) +
           ",\"ts\":\"2024-05-01T12:" + std::to_string(10 + x % 50) + ":00Z\"}\n";
  }
  out.resize(bytes);
  return out;
}

int Run(sluice::objectstore::ObjectStore& store, const char* target, Format format, int objects,
        const std::vector<std::string>& payloads) {
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  size_t in_bytes = 0;
  size_t out_bytes = 0;
  for (int i = 0; i < objects; ++i) {
    const std::string& payload = payloads[i % payloads.size()];
    auto packed = sluice::compress::Compress(format, payload);
    if (!packed.ok()) {
      std::fprintf(stderr, "compress: %s\n", packed.status().ToString().c_str());
      return 1;
    }
    std::string key = "bench/" + std::string(sluice::compress::FormatName(format)) + "/obj-" +
                      std::to_string(i) + std::string(sluice::compress::FileExtension(format));
    sluice::Status s = store.Put(key, *packed);
    if (!s.ok()) {
      std::fprintf(stderr, "%s: %s\n", target, s.ToString().c_str());
      return 1;
    }
    in_bytes += payload.size();
    out_bytes += packed->size();
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu0;
  double mb = static_cast<double>(in_bytes) / 1e6;
  std::printf("%-8s %-13s objects=%d in=%.1fMB out=%.1fMB ratio=%.2f  %.1f MB/s  %.4f cpu-s/MB\n",
              target, std::string(sluice::compress::FormatName(format)).c_str(), objects, mb,
              static_cast<double>(out_bytes) / 1e6,
              static_cast<double>(in_bytes) / static_cast<double>(out_bytes), mb / wall, cpu / mb);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int objects = 64;
  double size_mib = 5;
  bool s3 = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--objects") && i + 1 < argc)
      objects = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--size-mib") && i + 1 < argc)
      size_mib = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-s3"))
      s3 = false;
    else {
      std::fprintf(stderr, "usage: %s [--objects N] [--size-mib M] [--no-s3]\n", argv[0]);
      return 2;
    }
  }
  size_t size = static_cast<size_t>(size_mib * 1024 * 1024);
  // A few distinct payloads so that nothing benefits from identical consecutive objects.
  std::vector<std::string> payloads;
  for (int i = 0; i < 4; ++i) payloads.push_back(JsonLines(size, i));

  std::string tmpl = (std::filesystem::temp_directory_path() / "objectstore_bench.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return 1;
  const Format formats[] = {Format::kUncompressed, Format::kGzip, Format::kZstd};
  int rc = 0;
  {
    sluice::objectstore::FileObjectStore store(tmpl);
    for (Format f : formats) rc |= Run(store, "file://", f, objects, payloads);
  }
  std::filesystem::remove_all(tmpl);

  if (s3) {
    auto server = sluice::testutil::S3rverProcess::Start(SLUICE_SOURCE_DIR, "bench");
    if (!server.ok()) {
      std::fprintf(stderr, "s3rver unavailable, skipping S3: %s\n",
                   server.status().ToString().c_str());
      return rc;
    }
    sluice::objectstore::StoreOptions options;
    options.url = "s3://bench";
    options.endpoint = (*server)->endpoint();
    options.path_style = true;
    options.region = "us-east-1";
    options.access_key_id = sluice::testutil::S3rverProcess::kAccessKey;
    options.secret_access_key = sluice::testutil::S3rverProcess::kSecretKey;
    auto store = sluice::objectstore::S3ObjectStore::Create(options);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      return 1;
    }
    for (Format f : formats) rc |= Run(**store, "s3rver", f, objects, payloads);
  }
  return rc;
}
