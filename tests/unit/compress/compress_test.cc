#include "compress/compress.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace sluice::compress {
namespace {

constexpr Format kAllFormats[] = {Format::kUncompressed, Format::kGzip,         Format::kZip,
                                  Format::kSnappy,       Format::kHadoopSnappy, Format::kZstd};

// JSON-lines text (compressible) followed by random bytes (not), spanning several snappy chunks
// and hadoop blocks.
std::string MixedPayload(size_t lines, size_t random_bytes) {
  std::string out;
  for (size_t i = 0; i < lines; ++i) {
    out += "{\"id\":" + std::to_string(i) + ",\"name\":\"record " +
           std::to_string(i * 7919 % 1000) + "\",\"city\":\"Zürich\"}\n";
  }
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < random_bytes; ++i) out.push_back(static_cast<char>(rng() & 0xff));
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "compress_test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command and returns its stdout; fails the test on a non-zero exit.
std::string RunTool(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[1 << 16];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  int rc = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << command << " exited with " << rc;
  return out;
}

bool HaveTool(const std::string& tool) {
  return access(("/usr/bin/" + tool).c_str(), X_OK) == 0;
}

TEST(CompressFormatTest, ParsesFirehoseSpellingsCaseInsensitively) {
  EXPECT_EQ(*ParseFormat("UNCOMPRESSED"), Format::kUncompressed);
  EXPECT_EQ(*ParseFormat("GZIP"), Format::kGzip);
  EXPECT_EQ(*ParseFormat("gzip"), Format::kGzip);
  EXPECT_EQ(*ParseFormat("ZIP"), Format::kZip);
  EXPECT_EQ(*ParseFormat("Snappy"), Format::kSnappy);
  EXPECT_EQ(*ParseFormat("HADOOP_SNAPPY"), Format::kHadoopSnappy);
  EXPECT_EQ(*ParseFormat("zstd"), Format::kZstd);
  EXPECT_EQ(*ParseFormat("none"), Format::kUncompressed);
  for (Format f : kAllFormats) EXPECT_EQ(*ParseFormat(FormatName(f)), f);
}

TEST(CompressFormatTest, UnknownNameListsAllowedValues) {
  auto r = ParseFormat("brotli");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "unknown compression format 'brotli'; allowed values: UNCOMPRESSED, GZIP, ZIP, Snappy, "
            "HADOOP_SNAPPY, ZSTD");
}

TEST(CompressFormatTest, DefaultFileExtensions) {
  EXPECT_EQ(FileExtension(Format::kUncompressed), "");
  EXPECT_EQ(FileExtension(Format::kGzip), ".gz");
  EXPECT_EQ(FileExtension(Format::kZip), ".zip");
  EXPECT_EQ(FileExtension(Format::kSnappy), ".snappy");
  EXPECT_EQ(FileExtension(Format::kHadoopSnappy), ".snappy");
  EXPECT_EQ(FileExtension(Format::kZstd), ".zst");
}

TEST(CompressTest, EveryFormatRoundTripsEmptySmallAndMultiChunkInputs) {
  const std::string inputs[] = {"", "x", "123456789", MixedPayload(20000, 300000)};
  for (Format f : kAllFormats) {
    for (const std::string& input : inputs) {
      auto packed = Compress(f, input);
      ASSERT_TRUE(packed.ok()) << FormatName(f) << ": " << packed.status().ToString();
      auto unpacked = Decompress(f, *packed);
      ASSERT_TRUE(unpacked.ok()) << FormatName(f) << ": " << unpacked.status().ToString();
      EXPECT_EQ(*unpacked, input) << FormatName(f) << " with " << input.size() << " bytes";
    }
  }
}

TEST(CompressTest, OutputIsDeterministicAndCompressesText) {
  std::string input = MixedPayload(20000, 0);
  for (Format f : kAllFormats) {
    auto a = Compress(f, input);
    auto b = Compress(f, input);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << FormatName(f);
    if (f != Format::kUncompressed) {
      EXPECT_LT(a->size(), input.size() / 3) << FormatName(f);
    }
  }
}

TEST(CompressTest, GzipOutputDecompressesWithGzipTool) {
  if (!HaveTool("gzip")) GTEST_SKIP() << "/usr/bin/gzip not installed";
  TempDir dir;
  std::string input = MixedPayload(5000, 100000);
  WriteFile(dir.File("o.gz"), *Compress(Format::kGzip, input));
  EXPECT_EQ(RunTool("/usr/bin/gzip -dc " + dir.File("o.gz")), input);
}

TEST(CompressTest, ZstdOutputDecompressesWithZstdTool) {
  if (!HaveTool("zstd")) GTEST_SKIP() << "/usr/bin/zstd not installed";
  TempDir dir;
  std::string input = MixedPayload(5000, 100000);
  WriteFile(dir.File("o.zst"), *Compress(Format::kZstd, input));
  EXPECT_EQ(RunTool("/usr/bin/zstd -q -dc " + dir.File("o.zst")), input);
}

TEST(CompressTest, ZipOutputExtractsWithUnzipAndPassesItsIntegrityTest) {
  if (!HaveTool("unzip")) GTEST_SKIP() << "/usr/bin/unzip not installed";
  TempDir dir;
  std::string input = MixedPayload(5000, 100000);
  Options options;
  options.zip_entry_name = "records.json";
  WriteFile(dir.File("o.zip"), *Compress(Format::kZip, input, options));
  EXPECT_EQ(RunTool("/usr/bin/unzip -p " + dir.File("o.zip") + " records.json"), input);
  EXPECT_NE(RunTool("/usr/bin/unzip -tq " + dir.File("o.zip")).find("No errors detected"),
            std::string::npos);
}

TEST(CompressTest, DecompressReadsWhatTheStandardToolsWrite) {
  TempDir dir;
  std::string input = MixedPayload(3000, 50000);
  WriteFile(dir.File("in.json"), input);
  if (HaveTool("gzip")) {
    RunTool("/usr/bin/gzip -c " + dir.File("in.json") + " > " + dir.File("t.gz"));
    EXPECT_EQ(*Decompress(Format::kGzip, ReadFile(dir.File("t.gz"))), input);
  }
  if (HaveTool("zstd")) {
    RunTool("/usr/bin/zstd -q -c " + dir.File("in.json") + " > " + dir.File("t.zst"));
    EXPECT_EQ(*Decompress(Format::kZstd, ReadFile(dir.File("t.zst"))), input);
  }
  if (HaveTool("zip")) {
    RunTool("cd " + dir.File("") + " && /usr/bin/zip -q t.zip in.json");
    EXPECT_EQ(*Decompress(Format::kZip, ReadFile(dir.File("t.zip"))), input);
  }
}

// Framing-format vector built by hand from framing_format.txt: stream identifier, then one
// uncompressed chunk (type 0x01, length 4 + 9) whose checksum is the masked CRC32C of
// "123456789" (CRC32C check value 0xE3069283, masked 0xC78AB0E5, stored little-endian).
const std::string kSnappyVector = std::string("\xff\x06\x00\x00sNaPpY", 10) +
                                  std::string("\x01\x0d\x00\x00\xe5\xb0\x8a\xc7", 8) + "123456789";

TEST(CompressTest, SnappyFramingMatchesHandBuiltVector) {
  EXPECT_EQ(*Compress(Format::kSnappy, "123456789"), kSnappyVector);
  EXPECT_EQ(*Decompress(Format::kSnappy, kSnappyVector), "123456789");
}

// Hadoop block vector: raw length 9 (BE), compressed length 11 (BE), then the raw snappy block:
// varint length 0x09 and a literal tag ((9 - 1) << 2 = 0x20) followed by the bytes.
TEST(CompressTest, HadoopSnappyMatchesHandBuiltVector) {
  const std::string vector =
      std::string("\x00\x00\x00\x09\x00\x00\x00\x0b\x09\x20", 10) + "123456789";
  EXPECT_EQ(*Compress(Format::kHadoopSnappy, "123456789"), vector);
  EXPECT_EQ(*Decompress(Format::kHadoopSnappy, vector), "123456789");
}

TEST(CompressTest, SnappyChecksumMismatchIsCorruption) {
  std::string bad = kSnappyVector;
  bad[14] ^= 0x01;  // a checksum byte
  auto r = Decompress(Format::kSnappy, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("CRC32C mismatch in chunk at offset 10"), std::string::npos);
}

TEST(CompressTest, TruncatedInputIsCorruptionForEveryCompressedFormat) {
  std::string input = MixedPayload(2000, 0);
  for (Format f : kAllFormats) {
    if (f == Format::kUncompressed) continue;
    std::string packed = *Compress(f, input);
    auto r = Decompress(f, std::string_view(packed).substr(0, packed.size() - 7));
    ASSERT_FALSE(r.ok()) << FormatName(f);
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption)
        << FormatName(f) << ": " << r.status().ToString();
  }
}

TEST(CompressTest, DecompressionAboveTheLimitIsRefused) {
  std::string input(1 << 20, 'a');
  Options options;
  options.max_decompressed_bytes = 1000;
  for (Format f : kAllFormats) {
    std::string packed = *Compress(f, input);
    auto r = Decompress(f, packed, options);
    ASSERT_FALSE(r.ok()) << FormatName(f);
    EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << FormatName(f);
  }
  options.max_decompressed_bytes = input.size();
  for (Format f : kAllFormats)
    EXPECT_EQ(*Decompress(f, *Compress(f, input), options), input) << FormatName(f);
}

TEST(CompressTest, BadLevelsAreInvalidArgument) {
  Options options;
  options.gzip_level = 0;
  EXPECT_EQ(Compress(Format::kGzip, "x", options).status().code(), StatusCode::kInvalidArgument);
  options.gzip_level = 6;
  options.zstd_level = 99;
  EXPECT_EQ(Compress(Format::kZstd, "x", options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::compress
