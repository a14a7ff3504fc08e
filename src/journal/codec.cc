#include "journal/codec.h"

#include <cstring>

#include "common/crc32c.h"

namespace sluice::journal {
namespace {

void Put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void Put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t Get32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t Get64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint32_t FrameCrc(const char* header, std::string_view payload) {
  uint32_t crc = crc32c::Extend(0, header + format::kFrameLengthPos,
                                format::kFrameHeaderSize - format::kFrameLengthPos);
  return crc32c::Mask(crc32c::Extend(crc, payload.data(), payload.size()));
}

}  // namespace

void AppendFrame(std::string& out, uint64_t offset, int64_t arrival_ms, std::string_view payload) {
  char h[format::kFrameHeaderSize];
  Put32(h + format::kFrameLengthPos, static_cast<uint32_t>(payload.size()));
  Put64(h + format::kFrameOffsetPos, offset);
  Put64(h + format::kFrameArrivalPos, static_cast<uint64_t>(arrival_ms));
  Put32(h + format::kFrameFlagsPos, 0);
  Put32(h + format::kFrameCrcPos, FrameCrc(h, payload));
  out.append(h, sizeof h);
  out.append(payload);
}

FrameHeader DecodeFrameHeader(const char* header) {
  FrameHeader h;
  h.masked_crc = Get32(header + format::kFrameCrcPos);
  h.length = Get32(header + format::kFrameLengthPos);
  h.offset = Get64(header + format::kFrameOffsetPos);
  h.arrival_ms = static_cast<int64_t>(Get64(header + format::kFrameArrivalPos));
  h.flags = Get32(header + format::kFrameFlagsPos);
  return h;
}

bool FrameCrcMatches(const char* header, std::string_view payload) {
  return Get32(header + format::kFrameCrcPos) == FrameCrc(header, payload);
}

std::string EncodeSegmentHeader(uint64_t base_offset) {
  std::string h(format::kSegmentHeaderSize, '\0');
  std::memcpy(h.data(), format::kSegmentMagic, sizeof format::kSegmentMagic);
  Put32(h.data() + format::kSegmentVersionPos, format::kSegmentVersion);
  Put64(h.data() + format::kSegmentBaseOffsetPos, base_offset);
  Put32(h.data() + format::kSegmentCrcPos,
        crc32c::Mask(crc32c::Value(h.data(), format::kSegmentCrcPos)));
  return h;
}

Status CheckSegmentHeader(std::string_view data, uint64_t base_offset) {
  if (data.size() < format::kSegmentHeaderSize)
    return Status::Corruption("segment header is short");
  if (std::memcmp(data.data(), format::kSegmentMagic, sizeof format::kSegmentMagic) != 0) {
    return Status::Corruption("bad segment magic");
  }
  if (Get32(data.data() + format::kSegmentCrcPos) !=
      crc32c::Mask(crc32c::Value(data.data(), format::kSegmentCrcPos))) {
    return Status::Corruption("segment header checksum mismatch");
  }
  uint32_t version = Get32(data.data() + format::kSegmentVersionPos);
  if (version != format::kSegmentVersion) {
    return Status::Corruption("unsupported segment version " + std::to_string(version));
  }
  uint64_t base = Get64(data.data() + format::kSegmentBaseOffsetPos);
  if (base != base_offset) {
    return Status::Corruption("segment header base offset " + std::to_string(base) +
                              " does not match its file name");
  }
  return Status::Ok();
}

std::string EncodeCheckpoint(uint64_t next) {
  std::string c(format::kCheckpointSize, '\0');
  std::memcpy(c.data(), format::kCheckpointMagic, sizeof format::kCheckpointMagic);
  Put32(c.data() + sizeof format::kCheckpointMagic, format::kCheckpointVersion);
  Put64(c.data() + format::kCheckpointNextPos, next);
  Put32(c.data() + format::kCheckpointCrcPos,
        crc32c::Mask(crc32c::Value(c.data(), format::kCheckpointCrcPos)));
  return c;
}

Result<uint64_t> DecodeCheckpoint(std::string_view data) {
  if (data.size() != format::kCheckpointSize) {
    return Status::Corruption("checkpoint has " + std::to_string(data.size()) + " bytes, want " +
                              std::to_string(format::kCheckpointSize));
  }
  if (std::memcmp(data.data(), format::kCheckpointMagic, sizeof format::kCheckpointMagic) != 0) {
    return Status::Corruption("bad checkpoint magic");
  }
  if (Get32(data.data() + format::kCheckpointCrcPos) !=
      crc32c::Mask(crc32c::Value(data.data(), format::kCheckpointCrcPos))) {
    return Status::Corruption("checkpoint checksum mismatch");
  }
  uint32_t version = Get32(data.data() + sizeof format::kCheckpointMagic);
  if (version != format::kCheckpointVersion) {
    return Status::Corruption("unsupported checkpoint version " + std::to_string(version));
  }
  return Get64(data.data() + format::kCheckpointNextPos);
}

std::string SegmentFileName(uint64_t base_offset) {
  std::string digits = std::to_string(base_offset);
  return std::string(format::kSegmentNameDigits - digits.size(), '0') + digits +
         format::kSegmentSuffix;
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  constexpr size_t kSuffixLen = sizeof format::kSegmentSuffix - 1;
  if (name.size() != format::kSegmentNameDigits + kSuffixLen) return std::nullopt;
  if (name.substr(format::kSegmentNameDigits) != format::kSegmentSuffix) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < format::kSegmentNameDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace sluice::journal
