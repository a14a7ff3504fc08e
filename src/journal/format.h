// On-disk format of the local journal: the constants shared by the writer (partition_log.cc),
// the recovery scan and the reader (segment_scan.cc). docs/journal_format.md is the same format as
// a grammar; the three must agree. All integers are little-endian.
//
//   <dir>/streams/<stream>/<partition>/<base offset, 20 digits>.log   segment files
//   <dir>/streams/<stream>/<partition>/checkpoint.<consumer>           consumer checkpoints
//
// Segment file = SegmentHeader Frame*
//
//   SegmentHeader (32 bytes)
//   +--------------+---------+----------+-------------+----------+----------+
//   | magic (8)    | ver (4) | resv (4) | base_off (8)| crc (4)  | resv (4) |
//   | "SLUICEJL"   | u32 = 1 | 0        | u64         | masked   | 0        |
//   +--------------+---------+----------+-------------+----------+----------+
//   crc = Mask(CRC32C(bytes [0, 24)))
//
//   Frame = FrameHeader payload[length]
//   +----------+------------+------------+----------------+-----------+
//   | crc (4)  | length (4) | offset (8) | arrival_ms (8) | flags (4) |
//   +----------+------------+------------+----------------+-----------+
//   crc = Mask(CRC32C(header bytes [4, 28) ++ payload))
//   offset = the record's offset; frames of a segment carry base_off, base_off+1, ... densely.
//
// Checkpoint file (24 bytes) = magic "SLUICECP" (8) | version u32 = 1 | next u64 | crc u32,
//   crc = Mask(CRC32C(bytes [0, 20))).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::journal::format {

// Segment header.
inline constexpr char kSegmentMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'J', 'L'};
inline constexpr uint32_t kSegmentVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 32;
inline constexpr size_t kSegmentVersionPos = 8;
inline constexpr size_t kSegmentBaseOffsetPos = 16;
inline constexpr size_t kSegmentCrcPos = 24;  // CRC covers [0, kSegmentCrcPos)

// Frame header.
inline constexpr size_t kFrameHeaderSize = 28;
inline constexpr size_t kFrameCrcPos = 0;  // CRC covers [kFrameLengthPos, kFrameHeaderSize)+payload
inline constexpr size_t kFrameLengthPos = 4;
inline constexpr size_t kFrameOffsetPos = 8;
inline constexpr size_t kFrameArrivalPos = 16;
inline constexpr size_t kFrameFlagsPos = 24;
// Largest payload a frame may carry (well above the API's 1,000 KiB record limit).
inline constexpr uint32_t kMaxPayload = 64u << 20;
// Flags: none defined yet; readers of version 1 reject unknown bits as corruption.
inline constexpr uint32_t kKnownFlags = 0;

// Segment file names: kSegmentNameDigits decimal digits of the base offset, then kSegmentSuffix.
inline constexpr size_t kSegmentNameDigits = 20;
inline constexpr char kSegmentSuffix[] = ".log";
inline constexpr char kCheckpointPrefix[] = "checkpoint.";

// Checkpoint file.
inline constexpr char kCheckpointMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'P'};
inline constexpr uint32_t kCheckpointVersion = 1;
inline constexpr size_t kCheckpointSize = 24;
inline constexpr size_t kCheckpointNextPos = 12;
inline constexpr size_t kCheckpointCrcPos = 20;  // CRC covers [0, kCheckpointCrcPos)

}  // namespace sluice::journal::format
