#include "compress/compress.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <limits>

#include "common/crc32c.h"

namespace sluice::compress {
namespace {

// ---- little helpers for fixed-width integers ----------------------------------------------

void PutLe16(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}
void PutLe24(std::string& out, uint32_t v) {
  PutLe16(out, v & 0xffff);
  out.push_back(static_cast<char>((v >> 16) & 0xff));
}
void PutLe32(std::string& out, uint32_t v) {
  PutLe16(out, v & 0xffff);
  PutLe16(out, v >> 16);
}
void PutBe32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}
uint32_t GetLe(std::string_view s, size_t pos, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}
uint32_t GetBe32(std::string_view s, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

Status TooLarge(std::string_view what, size_t limit) {
  return Status::ResourceExhausted(std::string(what) + ": decompressed size exceeds the limit of " +
                                   std::to_string(limit) + " bytes");
}

// ---- zlib (gzip and raw deflate) ------------------------------------------------------------

// zlib counts in uInt; large objects are fed and drained in slices of this size.
constexpr size_t kZlibSlice = size_t{1} << 30;

// window_bits: 15 + 16 for a gzip member, -15 for raw deflate (inside ZIP).
Result<std::string> Deflate(std::string_view data, int level, int window_bits) {
  if (level < 1 || level > 9) {
    return Status::InvalidArgument("gzip level " + std::to_string(level) + " is outside 1..9");
  }
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("zlib: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 64);
  size_t fed = 0;
  int rc = Z_OK;
  for (;;) {
    if (zs.avail_in == 0 && fed < data.size()) {
      size_t n = std::min(data.size() - fed, kZlibSlice);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    if (zs.total_out == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - zs.total_out, kZlibSlice));
    rc = deflate(&zs, fed == data.size() ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  size_t total = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return Status::Internal("zlib: deflate failed (code " + std::to_string(rc) + ")");
  out.resize(total);
  return out;
}

// Inflates one stream starting at data[0]. *consumed receives the compressed bytes used, so that
// a caller can continue after the stream (concatenated gzip members).
Result<std::string> Inflate(std::string_view data, int window_bits, size_t limit,
                            std::string_view what, size_t* consumed) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return Status::Internal("zlib: inflateInit2 failed");
  std::string out;
  out.resize(std::min(std::max<size_t>(data.size() * 4, 4096), limit));
  size_t fed = 0;
  int rc = Z_OK;
  bool too_large = false;
  for (;;) {
    if (zs.avail_in == 0 && fed < data.size()) {
      size_t n = std::min(data.size() - fed, kZlibSlice);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    if (zs.total_out == out.size()) {
      if (out.size() >= limit) {
        // Full at the limit: one probe byte tells whether the stream wants to produce more.
        char probe;
        zs.next_out = reinterpret_cast<Bytef*>(&probe);
        zs.avail_out = 1;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (zs.avail_out == 0) too_large = true;
        break;
      }
      out.resize(std::min(out.size() * 2, limit));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - zs.total_out, kZlibSlice));
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && !(zs.avail_in == 0 && fed == data.size())) continue;
    break;  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, or Z_BUF_ERROR with all input consumed
  }
  size_t total = zs.total_out;
  size_t in_used = zs.total_in;
  inflateEnd(&zs);
  if (too_large) return TooLarge(what, limit);
  if (rc != Z_STREAM_END) {
    return Status::Corruption(std::string(what) +
                              ": deflate stream is corrupt or truncated near input offset " +
                              std::to_string(in_used));
  }
  out.resize(total);
  *consumed = in_used;
  return out;
}

Result<std::string> GzipDecompress(std::string_view data, size_t limit) {
  std::string out;
  size_t pos = 0;
  // A gzip file may hold several concatenated members (gzip -dc concatenates them).
  do {
    size_t consumed = 0;
    SLUICE_ASSIGN_OR_RETURN(std::string member, Inflate(data.substr(pos), 15 + 16,
                                                        limit - out.size(), "gzip", &consumed));
    out += member;
    pos += consumed;
  } while (pos < data.size());
  return out;
}

// ---- ZIP ------------------------------------------------------------------------------------
//
// Layout written (all little-endian, APPNOTE 6.3):
//   local file header  sig 0x04034b50, version 20, flags 0x0800 (UTF-8 name), method 8,
//                      DOS time 0 / date 1980-01-01, crc32, sizes, name
//   deflated data
//   central directory  sig 0x02014b50, one entry pointing at offset 0
//   end of central dir sig 0x06054b50
constexpr uint32_t kZipLocalSig = 0x04034b50;
constexpr uint32_t kZipCentralSig = 0x02014b50;
constexpr uint32_t kZipEndSig = 0x06054b50;
constexpr uint32_t kZipLocalHeaderSize = 30;
constexpr uint32_t kZipDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr uint32_t kZipFlags = 0x0800;
constexpr uint32_t kZipMethodDeflate = 8;
constexpr uint32_t kZipMethodStored = 0;
constexpr size_t kZipMaxSize = 0xfffffffeu;

uint32_t Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t pos = 0;
  while (pos < data.size()) {
    uInt n = static_cast<uInt>(std::min<size_t>(data.size() - pos, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + pos), n);
    pos += n;
  }
  return static_cast<uint32_t>(crc);
}

Result<std::string> ZipCompress(std::string_view data, const Options& options) {
  const std::string& name = options.zip_entry_name;
  if (name.empty() || name.size() > 0xffff) {
    return Status::InvalidArgument("zip entry name must be 1..65535 bytes");
  }
  if (data.size() > kZipMaxSize) {
    return Status::InvalidArgument("ZIP without ZIP64 holds at most 4 GiB; object is " +
                                   std::to_string(data.size()) + " bytes");
  }
  SLUICE_ASSIGN_OR_RETURN(std::string deflated, Deflate(data, options.gzip_level, -15));
  if (deflated.size() > kZipMaxSize)
    return Status::InvalidArgument("ZIP entry exceeds 4 GiB after deflate");
  uint32_t crc = Crc32(data);
  auto common = [&](std::string& out) {
    PutLe16(out, 20);  // version needed: 2.0 (deflate)
    PutLe16(out, kZipFlags);
    PutLe16(out, kZipMethodDeflate);
    PutLe16(out, 0);  // DOS time
    PutLe16(out, kZipDosDate);
    PutLe32(out, crc);
    PutLe32(out, static_cast<uint32_t>(deflated.size()));
    PutLe32(out, static_cast<uint32_t>(data.size()));
    PutLe16(out, static_cast<uint32_t>(name.size()));
    PutLe16(out, 0);  // extra field length
  };
  std::string out;
  out.reserve(deflated.size() + 2 * name.size() + 128);
  PutLe32(out, kZipLocalSig);
  common(out);
  out += name;
  out += deflated;
  uint64_t central_offset = out.size();
  if (central_offset > kZipMaxSize) return Status::InvalidArgument("ZIP archive exceeds 4 GiB");
  PutLe32(out, kZipCentralSig);
  PutLe16(out, (3 << 8) | 20);  // made by: Unix, spec 2.0
  common(out);
  PutLe16(out, 0);               // comment length
  PutLe16(out, 0);               // disk number start
  PutLe16(out, 0);               // internal attributes
  PutLe32(out, 0100644u << 16);  // external attributes: regular file, rw-r--r--
  PutLe32(out, 0);               // local header offset
  out += name;
  uint64_t central_size = out.size() - central_offset;
  PutLe32(out, kZipEndSig);
  PutLe16(out, 0);  // this disk
  PutLe16(out, 0);  // disk with the central directory
  PutLe16(out, 1);  // entries on this disk
  PutLe16(out, 1);  // entries total
  PutLe32(out, static_cast<uint32_t>(central_size));
  PutLe32(out, static_cast<uint32_t>(central_offset));
  PutLe16(out, 0);  // comment length
  return out;
}

// Reads the first entry through its local header (sizes must be in the header: no data
// descriptor), which is what ZipCompress writes and what `zip` writes for regular files.
Result<std::string> ZipDecompress(std::string_view data, size_t limit) {
  if (data.size() < kZipLocalHeaderSize || GetLe(data, 0, 4) != kZipLocalSig) {
    return Status::Corruption("zip: no local file header at offset 0");
  }
  // A whole archive ends with an end-of-central-directory record (22 bytes + a comment of up to
  // 64 KiB); without one the archive was truncated.
  bool has_end = false;
  for (size_t back = 22; back <= data.size() && back <= 22 + 0xffff && !has_end; ++back) {
    size_t at = data.size() - back;
    has_end = GetLe(data, at, 4) == kZipEndSig && at + 22 + GetLe(data, at + 20, 2) == data.size();
  }
  if (!has_end)
    return Status::Corruption("zip: no end-of-central-directory record (truncated archive)");
  uint32_t flags = GetLe(data, 6, 2);
  uint32_t method = GetLe(data, 8, 2);
  uint32_t crc = GetLe(data, 14, 4);
  uint32_t compressed_size = GetLe(data, 18, 4);
  uint32_t size = GetLe(data, 22, 4);
  size_t header = kZipLocalHeaderSize + GetLe(data, 26, 2) + GetLe(data, 28, 2);
  if (flags & 0x0008)
    return Status::Corruption("zip: entries with a data descriptor are not supported");
  if (flags & 0x0001) return Status::Corruption("zip: encrypted entries are not supported");
  if (header + compressed_size > data.size())
    return Status::Corruption("zip: entry data is truncated");
  if (size > limit) return TooLarge("zip", limit);
  std::string_view body = data.substr(header, compressed_size);
  std::string out;
  if (method == kZipMethodStored) {
    out.assign(body);
  } else if (method == kZipMethodDeflate) {
    size_t consumed = 0;
    SLUICE_ASSIGN_OR_RETURN(out, Inflate(body, -15, limit, "zip", &consumed));
  } else {
    return Status::Corruption("zip: unsupported compression method " + std::to_string(method));
  }
  if (out.size() != size) return Status::Corruption("zip: entry size does not match its header");
  if (Crc32(out) != crc) return Status::Corruption("zip: CRC-32 mismatch in the first entry");
  return out;
}

// ---- Snappy framing format ------------------------------------------------------------------
//
// https://github.com/google/snappy/blob/main/framing_format.txt
//   stream identifier  ff 06 00 00 "sNaPpY"
//   chunk              [type u8][length u24le][masked crc32c of the uncompressed data
//   u32le][payload] type 0x00 = snappy-compressed payload, 0x01 = uncompressed payload; at most
//   65536 raw bytes.
constexpr std::string_view kSnappyStreamId("\xff\x06\x00\x00sNaPpY", 10);
constexpr size_t kSnappyMaxChunkRaw = 65536;
constexpr uint8_t kSnappyCompressed = 0x00;
constexpr uint8_t kSnappyUncompressed = 0x01;
constexpr uint8_t kSnappyPadding = 0xfe;

std::string SnappyFramedCompress(std::string_view data) {
  std::string out(kSnappyStreamId);
  out.reserve(data.size() + data.size() / 6 + 64);
  std::string block;
  for (size_t pos = 0; pos < data.size(); pos += kSnappyMaxChunkRaw) {
    std::string_view raw = data.substr(pos, kSnappyMaxChunkRaw);
    uint32_t masked = crc32c::Mask(crc32c::Value(raw));
    snappy::Compress(raw.data(), raw.size(), &block);
    // Like the reference implementation: keep the compressed form only when it saves >= 1/8.
    bool compressed = block.size() < raw.size() - raw.size() / 8;
    std::string_view payload = compressed ? std::string_view(block) : raw;
    out.push_back(static_cast<char>(compressed ? kSnappyCompressed : kSnappyUncompressed));
    PutLe24(out, static_cast<uint32_t>(payload.size() + 4));
    PutLe32(out, masked);
    out += payload;
  }
  return out;
}

Result<std::string> SnappyFramedDecompress(std::string_view data, size_t limit) {
  if (data.substr(0, kSnappyStreamId.size()) != kSnappyStreamId) {
    return Status::Corruption("snappy: missing stream identifier at offset 0");
  }
  std::string out;
  size_t pos = kSnappyStreamId.size();
  std::string raw;
  while (pos < data.size()) {
    if (data.size() - pos < 4)
      return Status::Corruption("snappy: truncated chunk header at offset " + std::to_string(pos));
    uint8_t type = static_cast<uint8_t>(data[pos]);
    uint32_t length = GetLe(data, pos + 1, 3);
    size_t body = pos + 4;
    if (data.size() - body < length) {
      return Status::Corruption("snappy: chunk at offset " + std::to_string(pos) + " is truncated");
    }
    std::string_view chunk = data.substr(body, length);
    if (type == kSnappyCompressed || type == kSnappyUncompressed) {
      if (length < 4)
        return Status::Corruption("snappy: chunk at offset " + std::to_string(pos) +
                                  " has no checksum");
      uint32_t masked = GetLe(chunk, 0, 4);
      std::string_view payload = chunk.substr(4);
      if (type == kSnappyCompressed) {
        size_t n = 0;
        if (!snappy::GetUncompressedLength(payload.data(), payload.size(), &n) ||
            n > kSnappyMaxChunkRaw || !snappy::Uncompress(payload.data(), payload.size(), &raw)) {
          return Status::Corruption("snappy: chunk at offset " + std::to_string(pos) +
                                    " does not decompress");
        }
      } else {
        raw.assign(payload);
      }
      if (crc32c::Mask(crc32c::Value(raw)) != masked) {
        return Status::Corruption("snappy: CRC32C mismatch in chunk at offset " +
                                  std::to_string(pos));
      }
      if (out.size() + raw.size() > limit) return TooLarge("snappy", limit);
      out += raw;
    } else if (type == kSnappyPadding || type >= 0x80) {
      // Padding and skippable chunks (0x80..0xfd); a repeated stream identifier (0xff) too.
      if (type == 0xff && chunk != kSnappyStreamId.substr(4)) {
        return Status::Corruption("snappy: bad stream identifier at offset " + std::to_string(pos));
      }
    } else {
      return Status::Corruption("snappy: reserved unskippable chunk type " + std::to_string(type) +
                                " at offset " + std::to_string(pos));
    }
    pos = body + length;
  }
  return out;
}

// ---- Hadoop snappy (BlockCompressorStream with SnappyCodec) -----------------------------------
//
//   block := [u32be uncompressed length] ([u32be compressed length][raw snappy block])+
// Hadoop's default io.compression.codec.snappy.buffersize is 256 KiB; each block holds one chunk.
constexpr size_t kHadoopBlock = 256 * 1024;

std::string HadoopSnappyCompress(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 6 + 64);
  std::string block;
  for (size_t pos = 0; pos < data.size(); pos += kHadoopBlock) {
    std::string_view raw = data.substr(pos, kHadoopBlock);
    snappy::Compress(raw.data(), raw.size(), &block);
    PutBe32(out, static_cast<uint32_t>(raw.size()));
    PutBe32(out, static_cast<uint32_t>(block.size()));
    out += block;
  }
  return out;
}

Result<std::string> HadoopSnappyDecompress(std::string_view data, size_t limit) {
  std::string out;
  std::string raw;
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4)
      return Status::Corruption("hadoop-snappy: truncated block header at offset " +
                                std::to_string(pos));
    size_t block_start = pos;
    uint32_t raw_length = GetBe32(data, pos);
    pos += 4;
    if (out.size() + raw_length > limit) return TooLarge("hadoop-snappy", limit);
    size_t produced = 0;
    while (produced < raw_length) {
      if (data.size() - pos < 4)
        return Status::Corruption("hadoop-snappy: truncated chunk header at offset " +
                                  std::to_string(pos));
      uint32_t length = GetBe32(data, pos);
      pos += 4;
      if (data.size() - pos < length)
        return Status::Corruption("hadoop-snappy: chunk at offset " + std::to_string(pos) +
                                  " is truncated");
      if (!snappy::Uncompress(data.data() + pos, length, &raw) ||
          produced + raw.size() > raw_length) {
        return Status::Corruption("hadoop-snappy: chunk at offset " + std::to_string(pos) +
                                  " does not decompress");
      }
      out += raw;
      produced += raw.size();
      pos += length;
    }
    if (produced != raw_length) {
      return Status::Corruption("hadoop-snappy: block at offset " + std::to_string(block_start) +
                                " has the wrong size");
    }
  }
  return out;
}

// ---- zstd -----------------------------------------------------------------------------------

Result<std::string> ZstdCompress(std::string_view data, int level) {
  if (level < 1 || level > ZSTD_maxCLevel()) {
    return Status::InvalidArgument("zstd level " + std::to_string(level) + " is outside 1.." +
                                   std::to_string(ZSTD_maxCLevel()));
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return Status::Internal("zstd: out of memory");
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  std::string out;
  out.resize(ZSTD_compressBound(data.size()));
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view data, size_t limit) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return Status::Internal("zstd: out of memory");
  std::string out;
  std::array<char, 1 << 17> buffer;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t last = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buffer.data(), buffer.size(), 0};
    last = ZSTD_decompressStream(dctx, &o, &in);
    if (ZSTD_isError(last)) {
      ZSTD_freeDCtx(dctx);
      return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(last) +
                                " near input offset " + std::to_string(in.pos));
    }
    if (out.size() + o.pos > limit) {
      ZSTD_freeDCtx(dctx);
      return TooLarge("zstd", limit);
    }
    out.append(buffer.data(), o.pos);
    if (o.pos == 0 && in.pos == in.size) break;
  }
  // Flush whatever the decoder still holds once all input is consumed.
  while (last != 0) {
    ZSTD_outBuffer o{buffer.data(), buffer.size(), 0};
    last = ZSTD_decompressStream(dctx, &o, &in);
    if (ZSTD_isError(last) || (o.pos == 0 && last != 0)) {
      ZSTD_freeDCtx(dctx);
      return Status::Corruption("zstd: frame is truncated");
    }
    if (out.size() + o.pos > limit) {
      ZSTD_freeDCtx(dctx);
      return TooLarge("zstd", limit);
    }
    out.append(buffer.data(), o.pos);
  }
  ZSTD_freeDCtx(dctx);
  return out;
}

struct NamedFormat {
  Format format;
  std::string_view name;
};
constexpr std::array<NamedFormat, 6> kFormats{{
    {Format::kUncompressed, "UNCOMPRESSED"},
    {Format::kGzip, "GZIP"},
    {Format::kZip, "ZIP"},
    {Format::kSnappy, "Snappy"},
    {Format::kHadoopSnappy, "HADOOP_SNAPPY"},
    {Format::kZstd, "ZSTD"},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view FormatName(Format format) {
  for (const auto& f : kFormats) {
    if (f.format == format) return f.name;
  }
  return "UNKNOWN";
}

Result<Format> ParseFormat(std::string_view name) {
  for (const auto& f : kFormats) {
    if (EqualsIgnoreCase(name, f.name)) return f.format;
  }
  if (EqualsIgnoreCase(name, "none")) return Format::kUncompressed;
  std::string allowed;
  for (const auto& f : kFormats) {
    if (!allowed.empty()) allowed += ", ";
    allowed += f.name;
  }
  return Status::InvalidArgument("unknown compression format '" + std::string(name) +
                                 "'; allowed values: " + allowed);
}

std::string_view FileExtension(Format format) {
  switch (format) {
    case Format::kUncompressed: return "";
    case Format::kGzip: return ".gz";
    case Format::kZip: return ".zip";
    case Format::kSnappy:
    case Format::kHadoopSnappy: return ".snappy";
    case Format::kZstd: return ".zst";
  }
  return "";
}

Result<std::string> Compress(Format format, std::string_view data, const Options& options) {
  switch (format) {
    case Format::kUncompressed: return std::string(data);
    case Format::kGzip: return Deflate(data, options.gzip_level, 15 + 16);
    case Format::kZip: return ZipCompress(data, options);
    case Format::kSnappy: return SnappyFramedCompress(data);
    case Format::kHadoopSnappy: return HadoopSnappyCompress(data);
    case Format::kZstd: return ZstdCompress(data, options.zstd_level);
  }
  return Status::InvalidArgument("unknown compression format");
}

Result<std::string> Decompress(Format format, std::string_view data, const Options& options) {
  size_t limit = options.max_decompressed_bytes;
  switch (format) {
    case Format::kUncompressed:
      if (data.size() > limit) return TooLarge("uncompressed", limit);
      return std::string(data);
    case Format::kGzip: return GzipDecompress(data, limit);
    case Format::kZip: return ZipDecompress(data, limit);
    case Format::kSnappy: return SnappyFramedDecompress(data, limit);
    case Format::kHadoopSnappy: return HadoopSnappyDecompress(data, limit);
    case Format::kZstd: return ZstdDecompress(data, limit);
  }
  return Status::InvalidArgument("unknown compression format");
}

}  // namespace sluice::compress
