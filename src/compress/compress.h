// Whole-object compression for delivered objects, in the formats Firehose names in
// `CompressionFormat` (plus ZSTD). Output is deterministic: the same input and options always give
// the same bytes (no timestamps in gzip/zip headers), so a redelivered batch rewrites an identical
// object under its deterministic key.
//
// Thread safety: every function is pure and may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::compress {

enum class Format {
  kUncompressed,
  kGzip,          // RFC 1952 gzip member (zlib deflate)
  kZip,           // PKZIP archive with exactly one deflated entry
  kSnappy,        // Snappy framing format (stream identifier, CRC32C-checked chunks)
  kHadoopSnappy,  // Hadoop BlockCompressorStream: [u32be raw len][u32be comp len][snappy block]...
  kZstd,          // one zstd frame with the content size and a checksum
};

struct Options {
  int gzip_level = 6;  // 1..9, also used for ZIP's deflate
  int zstd_level = 3;  // 1..19
  // Name of the single entry inside a ZIP archive.
  std::string zip_entry_name = "data";
  // Decompress refuses to produce more than this many bytes (decompression-bomb guard).
  size_t max_decompressed_bytes = size_t{1} << 31;
};

// The Firehose spelling: "UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY", "ZSTD".
std::string_view FormatName(Format format);

// Parses a format name, case-insensitively ("gzip" and "GZIP" both work; "none" means
// UNCOMPRESSED). InvalidArgument naming the allowed values otherwise.
Result<Format> ParseFormat(std::string_view name);

// Default object-key suffix: ".gz", ".zip", ".snappy" (both snappy formats), ".zst", or "".
std::string_view FileExtension(Format format);

// Compresses a whole object. InvalidArgument for inputs the container cannot hold (ZIP without
// ZIP64 is limited to < 4 GiB) or bad levels; Internal if the codec library fails.
Result<std::string> Compress(Format format, std::string_view data, const Options& options = {});

// Inverse of Compress. Corruption (with the offset or chunk where it was found) for malformed or
// checksum-failing input; ResourceExhausted above options.max_decompressed_bytes.
Result<std::string> Decompress(Format format, std::string_view data, const Options& options = {});

}  // namespace sluice::compress
