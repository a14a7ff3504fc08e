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

std::string EncodeSegmentIndex(const SegmentIndex& index) {
  std::string d(format::kIndexHeaderSize + index.entries.size() * format::kIndexEntrySize +
                    format::kIndexCrcSize,
                '\0');
  char* p = d.data();
  std::memcpy(p, format::kIndexMagic, sizeof format::kIndexMagic);
  Put32(p + format::kIndexVersionPos, format::kIndexVersion);
  Put32(p + format::kIndexCountPos, static_cast<uint32_t>(index.entries.size()));
  Put64(p + format::kIndexBaseOffsetPos, index.base_offset);
  Put64(p + format::kIndexEndOffsetPos, index.end_offset);
  Put64(p + format::kIndexSegmentBytesPos, index.segment_bytes);
  Put64(p + format::kIndexMaxArrivalPos, static_cast<uint64_t>(index.max_arrival_ms));
  char* e = p + format::kIndexHeaderSize;
  for (const IndexEntry& entry : index.entries) {
    Put64(e, entry.offset);
    Put64(e + 8, entry.pos);
    e += format::kIndexEntrySize;
  }
  Put32(e, crc32c::Mask(crc32c::Value(p, static_cast<size_t>(e - p))));
  return d;
}

Result<SegmentIndex> DecodeSegmentIndex(std::string_view data) {
  if (data.size() < format::kIndexHeaderSize + format::kIndexCrcSize) {
    return Status::Corruption("index has " + std::to_string(data.size()) + " bytes, too short");
  }
  const char* p = data.data();
  if (std::memcmp(p, format::kIndexMagic, sizeof format::kIndexMagic) != 0) {
    return Status::Corruption("bad index magic");
  }
  uint32_t count = Get32(p + format::kIndexCountPos);
  if (count > format::kIndexMaxEntries ||
      data.size() != format::kIndexHeaderSize + uint64_t{count} * format::kIndexEntrySize +
                         format::kIndexCrcSize) {
    return Status::Corruption("index has " + std::to_string(data.size()) + " bytes for " +
                              std::to_string(count) + " entries");
  }
  const size_t crc_pos = data.size() - format::kIndexCrcSize;
  if (Get32(p + crc_pos) != crc32c::Mask(crc32c::Value(p, crc_pos))) {
    return Status::Corruption("index checksum mismatch");
  }
  uint32_t version = Get32(p + format::kIndexVersionPos);
  if (version != format::kIndexVersion) {
    return Status::Corruption("unsupported index version " + std::to_string(version));
  }
  SegmentIndex index;
  index.base_offset = Get64(p + format::kIndexBaseOffsetPos);
  index.end_offset = Get64(p + format::kIndexEndOffsetPos);
  index.segment_bytes = Get64(p + format::kIndexSegmentBytesPos);
  index.max_arrival_ms = static_cast<int64_t>(Get64(p + format::kIndexMaxArrivalPos));
  index.entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const char* e = p + format::kIndexHeaderSize + size_t{i} * format::kIndexEntrySize;
    index.entries.push_back(IndexEntry{Get64(e), Get64(e + 8)});
  }
  // Invariant (the writer's and the recovery scan's): frames are [base, end) in
  // [header, segment_bytes); entries ascend, and the first frame has one when there are frames.
  if (index.end_offset < index.base_offset || index.segment_bytes < format::kSegmentHeaderSize ||
      (index.end_offset > index.base_offset) != !index.entries.empty()) {
    return Status::Corruption("index describes an impossible segment");
  }
  if (!index.entries.empty() &&
      index.entries.front() != IndexEntry{index.base_offset, format::kSegmentHeaderSize}) {
    return Status::Corruption("index does not start at the segment's first frame");
  }
  for (size_t i = 0; i < index.entries.size(); ++i) {
    const IndexEntry& e = index.entries[i];
    bool in_range = e.offset < index.end_offset && e.pos < index.segment_bytes;
    bool ascending =
        i == 0 || (e.offset > index.entries[i - 1].offset && e.pos > index.entries[i - 1].pos);
    if (!in_range || !ascending) {
      return Status::Corruption("index entry " + std::to_string(i) + " is out of order or range");
    }
  }
  return index;
}

std::string EncodeCheckpoint(const ConsumerState& state) {
  std::string c(format::kCheckpointSize, '\0');
  std::memcpy(c.data(), format::kCheckpointMagic, sizeof format::kCheckpointMagic);
  Put32(c.data() + format::kCheckpointVersionPos, format::kCheckpointVersion);
  Put64(c.data() + format::kCheckpointNextPos, state.next.value);
  if (state.intent) {
    Put32(c.data() + format::kCheckpointFlagsPos, format::kCheckpointFlagIntent);
    Put64(c.data() + format::kCheckpointIntentEndPos, state.intent->end.value);
    Put64(c.data() + format::kCheckpointIntentVersionPos, state.intent->version);
    Put64(c.data() + format::kCheckpointIntentOldestPos,
          static_cast<uint64_t>(state.intent->oldest_ms));
  }
  Put32(c.data() + format::kCheckpointCrcPos,
        crc32c::Mask(crc32c::Value(c.data(), format::kCheckpointCrcPos)));
  return c;
}

Result<ConsumerState> DecodeConsumerState(std::string_view data) {
  if (data.size() < sizeof format::kCheckpointMagic + 4 ||
      std::memcmp(data.data(), format::kCheckpointMagic, sizeof format::kCheckpointMagic) != 0) {
    return Status::Corruption("bad checkpoint magic");
  }
  const uint32_t version = Get32(data.data() + format::kCheckpointVersionPos);
  const size_t want =
      version == format::kCheckpointVersionV1 ? format::kCheckpointSizeV1 : format::kCheckpointSize;
  if (data.size() != want) {
    return Status::Corruption("checkpoint has " + std::to_string(data.size()) + " bytes, want " +
                              std::to_string(want));
  }
  const size_t crc_pos = version == format::kCheckpointVersionV1 ? format::kCheckpointCrcPosV1
                                                                 : format::kCheckpointCrcPos;
  if (Get32(data.data() + crc_pos) != crc32c::Mask(crc32c::Value(data.data(), crc_pos))) {
    return Status::Corruption("checkpoint checksum mismatch");
  }
  ConsumerState state;
  if (version == format::kCheckpointVersionV1) {
    state.next = Offset{Get64(data.data() + format::kCheckpointNextPosV1)};
    return state;
  }
  if (version != format::kCheckpointVersion) {
    return Status::Corruption("unsupported checkpoint version " + std::to_string(version));
  }
  const uint32_t flags = Get32(data.data() + format::kCheckpointFlagsPos);
  if ((flags & ~format::kCheckpointKnownFlags) != 0) {
    return Status::Corruption("unknown checkpoint flags " + std::to_string(flags));
  }
  state.next = Offset{Get64(data.data() + format::kCheckpointNextPos)};
  if ((flags & format::kCheckpointFlagIntent) != 0) {
    BatchIntent intent;
    intent.end = Offset{Get64(data.data() + format::kCheckpointIntentEndPos)};
    intent.version = Get64(data.data() + format::kCheckpointIntentVersionPos);
    intent.oldest_ms =
        static_cast<int64_t>(Get64(data.data() + format::kCheckpointIntentOldestPos));
    if (intent.end <= state.next) {
      return Status::Corruption("checkpoint's batch intent ends at " +
                                std::to_string(intent.end.value) + ", not after next " +
                                std::to_string(state.next.value));
    }
    state.intent = intent;
  }
  return state;
}

namespace {

std::string BaseDigits(uint64_t base_offset) {
  std::string digits = std::to_string(base_offset);
  return std::string(format::kSegmentNameDigits - digits.size(), '0') + digits;
}

// The base offset if `name` is kSegmentNameDigits digits followed by `suffix`.
std::optional<uint64_t> ParseBaseName(std::string_view name, std::string_view suffix) {
  if (name.size() != format::kSegmentNameDigits + suffix.size()) return std::nullopt;
  if (name.substr(format::kSegmentNameDigits) != suffix) return std::nullopt;
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

}  // namespace

std::string SegmentFileName(uint64_t base_offset) {
  return BaseDigits(base_offset) + format::kSegmentSuffix;
}

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  return ParseBaseName(name, format::kSegmentSuffix);
}

std::string IndexFileName(uint64_t base_offset) {
  return BaseDigits(base_offset) + format::kIndexSuffix;
}

std::optional<uint64_t> ParseIndexFileName(std::string_view name) {
  return ParseBaseName(name, format::kIndexSuffix);
}

namespace {

bool IsNameOf(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsValidName(std::string_view name) {
  return IsNameOf(name, 64);
}

bool IsValidStreamName(std::string_view name) {
  size_t plus = name.find('+');
  if (plus == std::string_view::npos) return IsNameOf(name, 128);
  std::string_view ns = name.substr(0, plus);
  if (ns.empty() || ns.size() > 16) return false;
  for (char c : ns) {
    if (c < 'a' || c > 'z') return false;
  }
  return IsNameOf(name.substr(plus + 1), 128);
}

}  // namespace sluice::journal
