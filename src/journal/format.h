// On-disk format of the local journal: the constants shared by the writer (partition_log.cc),
// the recovery scan and the reader (segment_scan.cc). docs/journal_format.md is the same format as
// a grammar; the three must agree. All integers are little-endian.
//
//   <dir>/streams/<stream>/<partition>/<base offset, 20 digits>.log   segment files
//   <dir>/streams/<stream>/<partition>/<base offset, 20 digits>.index index of a sealed segment
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
// Checkpoint file: a consumer's committed state.
//   version 1 (24 bytes, read only) = magic "SLUICECP" (8) | version u32 = 1 | next u64 | crc u32,
//     crc = Mask(CRC32C(bytes [0, 20))).
//   version 2 (52 bytes, written) = magic "SLUICECP" (8) | version u32 = 2 | flags u32 |
//     next u64 | intent_end u64 | intent_version u64 | intent_oldest_ms i64 | crc u32,
//     crc = Mask(CRC32C(bytes [0, 48))). flags bit 0: a batch intent is pending — the batch
//     [next, intent_end) decided under stream version intent_version, oldest record
//     intent_oldest_ms; without it the three intent fields are 0.
//
// Segment index file: what recovery needs of a sealed segment, written (atomically, fsynced) when
// the segment is sealed, so that opening does not read the segment itself.
//   IndexHeader (48 bytes)
//   +--------------+---------+-----------+-------------+-------------+---------------+----------+
//   | magic (8)    | ver (4) | count (4) | base_off (8)| end_off (8) | seg_bytes (8) | max_ms(8)|
//   | "SLUICEIX"   | u32 = 1 | entries   | u64         | u64         | u64           | i64      |
//   +--------------+---------+-----------+-------------+-------------+---------------+----------+
//   then count entries of (offset u64, pos u64), then crc u32 = Mask(CRC32C(every byte before it)).
//   end_off = one past the segment's last record; seg_bytes = the segment file's size; max_ms =
//   newest arrival_ms in the segment; an entry says the frame of `offset` starts at byte `pos`.
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
// Index file names: the segment's digits, then kIndexSuffix.
inline constexpr char kIndexSuffix[] = ".index";

// Checkpoint file.
inline constexpr char kCheckpointMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'P'};
inline constexpr uint32_t kCheckpointVersionV1 = 1;  // read only
inline constexpr size_t kCheckpointSizeV1 = 24;
inline constexpr size_t kCheckpointNextPosV1 = 12;
inline constexpr size_t kCheckpointCrcPosV1 = 20;  // CRC covers [0, kCheckpointCrcPosV1)
inline constexpr uint32_t kCheckpointVersion = 2;
inline constexpr size_t kCheckpointSize = 52;
inline constexpr size_t kCheckpointVersionPos = 8;
inline constexpr size_t kCheckpointFlagsPos = 12;
inline constexpr size_t kCheckpointNextPos = 16;
inline constexpr size_t kCheckpointIntentEndPos = 24;
inline constexpr size_t kCheckpointIntentVersionPos = 32;
inline constexpr size_t kCheckpointIntentOldestPos = 40;
inline constexpr size_t kCheckpointCrcPos = 48;  // CRC covers [0, kCheckpointCrcPos)
inline constexpr uint32_t kCheckpointFlagIntent = 1;
inline constexpr uint32_t kCheckpointKnownFlags = kCheckpointFlagIntent;

// Segment index file.
inline constexpr char kIndexMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'I', 'X'};
inline constexpr uint32_t kIndexVersion = 1;
inline constexpr size_t kIndexHeaderSize = 48;
inline constexpr size_t kIndexVersionPos = 8;
inline constexpr size_t kIndexCountPos = 12;
inline constexpr size_t kIndexBaseOffsetPos = 16;
inline constexpr size_t kIndexEndOffsetPos = 24;
inline constexpr size_t kIndexSegmentBytesPos = 32;
inline constexpr size_t kIndexMaxArrivalPos = 40;
inline constexpr size_t kIndexEntrySize = 16;  // offset u64, pos u64
inline constexpr size_t kIndexCrcSize = 4;     // after the entries; covers every byte before it
// Sanity bound on entries (a 4 GiB segment indexed every 256 KiB has 16384).
inline constexpr uint32_t kIndexMaxEntries = 1u << 20;

}  // namespace sluice::journal::format
