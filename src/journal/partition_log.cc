#include "journal/partition_log.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>

#include "common/file_util.h"
#include "journal/metrics.h"

namespace sluice::journal {

size_t UndeliveredBytes::ReservePrefix(const RecordBatch& batch,
                                       const std::vector<uint32_t>& members, uint64_t* reserved) {
  uint64_t current = bytes_.load();
  for (;;) {
    uint64_t sum = 0;
    size_t n = 0;
    for (; n < members.size(); ++n) {
      uint64_t cost = FrameBytes(batch[members[n]]);
      if (current + sum + cost > quota_) break;
      sum += cost;
    }
    if (sum == 0 || bytes_.compare_exchange_weak(current, current + sum)) {
      *reserved = sum;
      return n;
    }
  }
}

namespace {

// A reader over one partition. Not thread-safe. Must not outlive its PartitionLog.
class ReaderImpl final : public Reader {
 public:
  explicit ReaderImpl(const PartitionLogImpl* log) : log_(log) {}

  Status Seek(Offset offset) override {
    SLUICE_ASSIGN_OR_RETURN(auto target, log_->Locate(offset.value));
    SLUICE_RETURN_IF_ERROR(OpenTarget(std::move(target)));
    // Scan forward from the index entry to `offset`, verifying the frames passed over.
    uint64_t at = target_.start.offset;
    pos_ = target_.start.pos;
    FrameView frame;
    while (at < offset.value) {
      SLUICE_RETURN_IF_ERROR(ReadFrameAt(at, &frame));
      pos_ += frame.size();
      ++at;
    }
    offset_ = offset.value;
    positioned_ = true;
    return Status::Ok();
  }

  Result<size_t> Next(size_t max_records, size_t max_bytes,
                      std::vector<StoredRecord>& out) override {
    if (!positioned_) SLUICE_RETURN_IF_ERROR(Seek(log_->Begin()));
    size_t n = 0;
    size_t bytes = 0;
    FrameView frame;
    while (n < max_records) {
      if (offset_ >= target_.end_offset) {
        // The segment is exhausted as far as it was durable: look again (it may have grown, or
        // the log may have rolled to the next segment).
        SLUICE_ASSIGN_OR_RETURN(auto target, log_->Locate(offset_));
        if (target.end_offset <= offset_) break;  // at the durable end
        if (target.base == target_.base) {
          target_.end_offset = target.end_offset;
          target_.limit_bytes = target.limit_bytes;
        } else {
          SLUICE_RETURN_IF_ERROR(OpenTarget(std::move(target)));
          pos_ = format::kSegmentHeaderSize;
        }
      }
      SLUICE_RETURN_IF_ERROR(ReadFrameAt(offset_, &frame));
      if (n > 0 && bytes + frame.header.length > max_bytes) break;
      out.push_back(
          StoredRecord{Offset{offset_}, frame.header.arrival_ms, std::string(frame.payload)});
      bytes += frame.header.length;
      pos_ += frame.size();
      ++offset_;
      ++n;
    }
    return n;
  }

 private:
  Status OpenTarget(PartitionLogImpl::ReadTarget target) {
    SLUICE_ASSIGN_OR_RETURN(segment_, SegmentReader::Open(target.path));
    target_ = std::move(target);
    return Status::Ok();
  }

  Status ReadFrameAt(uint64_t expected, FrameView* frame) {
    SLUICE_ASSIGN_OR_RETURN(FrameCheck check,
                            segment_->ReadFrame(pos_, target_.limit_bytes, expected, frame));
    if (check != FrameCheck::kOk) {
      return Status::Corruption(target_.path + ": byte offset " + std::to_string(pos_) + ": " +
                                FrameCheckText(check) + " (record offset " +
                                std::to_string(expected) + ")");
    }
    return Status::Ok();
  }

  const PartitionLogImpl* log_;
  std::unique_ptr<SegmentReader> segment_;
  PartitionLogImpl::ReadTarget target_;
  uint64_t pos_ = 0;     // byte position of offset_'s frame in segment_
  uint64_t offset_ = 0;  // the next record to read
  bool positioned_ = false;
};

}  // namespace

PartitionLogImpl::PartitionLogImpl(std::string stream, uint32_t partition, std::string dir,
                                   const Options& options, FileSystem* fs,
                                   UndeliveredBytes* undelivered, DiskReserve* reserve)
    : stream_(std::move(stream)),
      partition_(partition),
      dir_(std::move(dir)),
      options_(options),
      fs_(fs),
      undelivered_(undelivered),
      reserve_(reserve) {}

PartitionLogImpl::~PartitionLogImpl() {
  Close();
}

Result<std::unique_ptr<PartitionLogImpl>> PartitionLogImpl::Open(
    std::string stream, uint32_t partition, std::string dir, const Options& options, FileSystem* fs,
    UndeliveredBytes* undelivered, DiskReserve* reserve) {
  std::unique_ptr<PartitionLogImpl> log(new PartitionLogImpl(
      std::move(stream), partition, std::move(dir), options, fs, undelivered, reserve));
  SLUICE_RETURN_IF_ERROR(log->Recover());
  return log;
}

std::string PartitionLogImpl::SegmentContext(uint64_t base) const {
  return "stream " + stream_ + " partition " + std::to_string(partition_) + " segment " +
         SegmentFileName(base);
}

Result<std::unique_ptr<WritableFile>> PartitionLogImpl::CreateSegmentFile(uint64_t base) {
  std::string path = fs::Join(dir_, SegmentFileName(base));
  SLUICE_ASSIGN_OR_RETURN(auto file, fs_->OpenForAppend(path));
  // REQUIRES: the file is new or holds only a torn header; start it over.
  SLUICE_RETURN_IF_ERROR(file->Truncate(0).WithContext(SegmentContext(base)));
  std::string header = EncodeSegmentHeader(base);
  size_t done = 0;
  while (done < header.size()) {
    auto n = file->Write(header.data() + done, header.size() - done);
    if (!n.ok()) return n.status().WithContext(SegmentContext(base));
    done += *n;
  }
  if (options_.sync) SLUICE_RETURN_IF_ERROR(file->Sync().WithContext(SegmentContext(base)));
  SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  return file;
}

Status PartitionLogImpl::Recover() {
  // Recover runs from Open, before the log is shared: the lock is never contended; it is held so
  // that the analysis can check the guarded members it builds.
  MutexLock lock(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto names, fs::ListDir(dir_));
  std::vector<uint64_t> bases;
  std::vector<uint64_t> index_bases;
  std::vector<std::string> checkpoint_names;
  for (const auto& name : names) {
    if (name.find(".tmp.") != std::string::npos) {
      // A temp file of an interrupted atomic replace: never renamed, so never visible.
      SLUICE_RETURN_IF_ERROR(fs::RemoveFile(fs::Join(dir_, name)));
    } else if (auto base = ParseSegmentFileName(name)) {
      bases.push_back(*base);
    } else if (auto indexed = ParseIndexFileName(name)) {
      index_bases.push_back(*indexed);
    } else if (name.rfind(format::kCheckpointPrefix, 0) == 0) {
      checkpoint_names.push_back(name);
    }
  }
  std::sort(bases.begin(), bases.end());
  // Invariant: an index file exists only for a sealed segment. Remove the active segment's (the
  // process died between sealing it and creating the next one: it is scanned and appended to) and
  // those of deleted segments.
  bool removed_index = false;
  for (uint64_t base : index_bases) {
    if (std::binary_search(bases.begin(), bases.end(), base) && base != bases.back()) continue;
    SLUICE_RETURN_IF_ERROR(fs::RemoveFile(fs::Join(dir_, IndexFileName(base))));
    removed_index = true;
  }
  if (removed_index) SLUICE_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  if (bases.empty()) {
    SLUICE_ASSIGN_OR_RETURN(active_file_, CreateSegmentFile(0));
    segments_.push_back(
        Segment{0, fs::Join(dir_, SegmentFileName(0)), format::kSegmentHeaderSize, 0, 0, {}});
    end_ = 0;
  }
  uint64_t logical = 0;
  for (size_t i = 0; i < bases.size(); ++i) {
    bool is_last = i + 1 == bases.size();
    std::string path = fs::Join(dir_, SegmentFileName(bases[i]));
    bool write_index = false;
    if (!is_last) {
      // A sealed segment: trust its index, so that opening reads only the active segment.
      Status restored = RestoreFromIndex(bases[i], bases[i + 1], logical);
      if (restored.ok()) {
        ++recovery_stats_.segments_from_index;
        const Segment& seg = segments_.back();
        logical += seg.bytes - format::kSegmentHeaderSize;
        end_ = bases[i + 1];
        continue;
      }
      if (restored.code() == StatusCode::kNotFound) {
        ++recovery_stats_.indexes_missing;  // summarised below
      } else if (restored.code() == StatusCode::kCorruption) {
        ++recovery_stats_.indexes_damaged;
        spdlog::warn("journal {}: {}; scanning the segment instead and rewriting its index",
                     fs::Join(dir_, IndexFileName(bases[i])), restored.message());
      } else {
        return restored;
      }
      write_index = true;
    }
    SLUICE_ASSIGN_OR_RETURN(SegmentScan scan,
                            ScanSegment(path, bases[i], is_last, options_.repair_tail));
    ++recovery_stats_.segments_scanned;
    recovery_stats_.bytes_scanned += scan.file_bytes;
    if (scan.repaired) {
      spdlog::warn(
          "journal {}: repaired: truncated at byte {} of {} ({} bytes after the damage "
          "discarded)",
          path, scan.valid_bytes, scan.file_bytes, scan.file_bytes - scan.valid_bytes);
    }
    if (!is_last && scan.end_offset != bases[i + 1]) {
      return Status::Corruption(path + ": byte offset " + std::to_string(scan.valid_bytes) +
                                ": segment ends at record offset " +
                                std::to_string(scan.end_offset) +
                                " but the next segment starts at " + std::to_string(bases[i + 1]));
    }
    if (is_last) {
      if (scan.torn_header) {
        SLUICE_ASSIGN_OR_RETURN(active_file_, CreateSegmentFile(bases[i]));
        scan.valid_bytes = format::kSegmentHeaderSize;
      } else {
        SLUICE_ASSIGN_OR_RETURN(active_file_, fs_->OpenForAppend(path));
        if (scan.valid_bytes < scan.file_bytes) {
          // Torn tail: the writer died mid-group. Nothing there was acknowledged.
          SLUICE_RETURN_IF_ERROR(active_file_->Truncate(scan.valid_bytes).WithContext(path));
          SLUICE_RETURN_IF_ERROR(active_file_->Sync().WithContext(path));
        }
      }
      last_indexed_pos_ = scan.index.empty() ? 0 : scan.index.back().pos;
    }
    if (write_index) {
      // Non-last: the scan succeeded, so the whole file is valid frames ending at bases[i + 1].
      Status st = WriteIndex(SegmentIndex{bases[i], scan.end_offset, scan.valid_bytes,
                                          scan.max_arrival_ms, scan.index});
      if (!st.ok()) spdlog::warn("{}; the next start-up scans this segment again", st.ToString());
    }
    segments_.push_back(Segment{bases[i], path, scan.valid_bytes, logical, scan.max_arrival_ms,
                                std::move(scan.index)});
    logical += scan.valid_bytes - format::kSegmentHeaderSize;
    end_ = scan.end_offset;
  }
  if (recovery_stats_.indexes_missing > 0) {
    spdlog::info(
        "journal {}: {} sealed segment(s) had no index file (written by a version without "
        "segment indexes, or removed); scanned them and wrote their indexes",
        dir_, recovery_stats_.indexes_missing);
  }
  lock.Unlock();  // LoadCheckpoint takes it itself
  for (const auto& name : checkpoint_names) {
    SLUICE_RETURN_IF_ERROR(
        LoadCheckpoint(name.substr(sizeof format::kCheckpointPrefix - 1), fs::Join(dir_, name)));
  }
  return Status::Ok();
}

Status PartitionLogImpl::RestoreFromIndex(uint64_t base, uint64_t next_base,
                                          uint64_t logical_start) {
  const std::string index_path = fs::Join(dir_, IndexFileName(base));
  const std::string path = fs::Join(dir_, SegmentFileName(base));
  auto content = fs::ReadFile(index_path);
  if (!content.ok()) {
    if (content.status().code() == StatusCode::kNotFound) return content.status();
    // Unreadable (EIO, permissions): the segment itself may still be readable; scan it.
    return Status::Corruption("unreadable: " + content.status().message());
  }
  SLUICE_ASSIGN_OR_RETURN(SegmentIndex index, DecodeSegmentIndex(*content));
  if (index.base_offset != base) {
    return Status::Corruption("index is for base offset " + std::to_string(index.base_offset));
  }
  if (index.end_offset != next_base) {
    return Status::Corruption("index says the segment ends at record offset " +
                              std::to_string(index.end_offset) +
                              " but the next segment starts at " + std::to_string(next_base));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IoError(path + ": stat failed: " + ErrnoText(errno));
  }
  if (static_cast<uint64_t>(st.st_size) != index.segment_bytes) {
    return Status::Corruption("index says the segment has " + std::to_string(index.segment_bytes) +
                              " bytes but the file has " + std::to_string(st.st_size));
  }
  segments_.push_back(Segment{base, path, index.segment_bytes, logical_start, index.max_arrival_ms,
                              std::move(index.entries)});
  return Status::Ok();
}

Status PartitionLogImpl::WriteIndex(const SegmentIndex& index) {
  return fs::WriteFileAtomically(fs::Join(dir_, IndexFileName(index.base_offset)),
                                 EncodeSegmentIndex(index))
      .WithContext(SegmentContext(index.base_offset) + ": writing its index");
}

Status PartitionLogImpl::LoadCheckpoint(const std::string& consumer, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::string content, fs::ReadFile(path));
  auto state = DecodeConsumerState(content);
  if (!state.ok()) return Status::Corruption(path + ": " + state.status().message());
  uint64_t value = state->next.value;
  uint64_t end;
  {
    MutexLock lock(mu_);
    end = end_;
  }
  if (value > end || (state->intent && state->intent->end.value > end)) {
    // Only possible when records were acknowledged without fdatasync (options.sync = false) and
    // then lost: the consumer resumes at the end (its batch is gone), and the file is corrected
    // so that it does not skip records appended from now on.
    value = std::min(value, end);
    state->intent.reset();
    SLUICE_RETURN_IF_ERROR(fs::WriteFileAtomically(path, EncodeCheckpoint(value)));
  }
  SLUICE_ASSIGN_OR_RETURN(uint64_t pos, LogicalPos(value));
  MutexLock lock(mu_);
  consumers_[consumer] = ConsumerPosition{value, pos, state->intent};
  return Status::Ok();
}

Result<uint64_t> PartitionLogImpl::LogicalPos(uint64_t offset) const {
  IndexEntry start;
  std::string path;
  uint64_t limit = 0;
  uint64_t logical_start = 0;
  {
    MutexLock lock(mu_);
    const Segment& active = segments_.back();
    if (offset >= end_) return active.logical_start + active.bytes - format::kSegmentHeaderSize;
    if (offset <= segments_.front().base) return segments_.front().logical_start;
    SLUICE_ASSIGN_OR_RETURN(ReadTarget target, LocateLocked(offset));
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](uint64_t o, const Segment& s) { return o < s.base; });
    logical_start = std::prev(it)->logical_start;
    start = target.start;
    path = target.path;
    limit = target.limit_bytes;
  }
  SLUICE_ASSIGN_OR_RETURN(auto reader, SegmentReader::Open(path));
  FrameView frame;
  uint64_t pos = start.pos;
  for (uint64_t at = start.offset; at < offset; ++at) {
    SLUICE_ASSIGN_OR_RETURN(FrameCheck check, reader->ReadFrame(pos, limit, at, &frame));
    if (check != FrameCheck::kOk) {
      return Status::Corruption(path + ": byte offset " + std::to_string(pos) + ": " +
                                FrameCheckText(check));
    }
    pos += frame.size();
  }
  return logical_start + pos - format::kSegmentHeaderSize;
}

Result<PartitionLogImpl::ReadTarget> PartitionLogImpl::Locate(uint64_t offset) const {
  MutexLock lock(mu_);
  return LocateLocked(offset);
}

Result<PartitionLogImpl::ReadTarget> PartitionLogImpl::LocateLocked(uint64_t offset) const {
  if (offset < segments_.front().base) {
    return Status::NotFound("stream " + stream_ + " partition " + std::to_string(partition_) +
                            ": offset " + std::to_string(offset) +
                            " was deleted by retention; the first retained record is " +
                            std::to_string(segments_.front().base));
  }
  if (offset > end_) {
    return Status::InvalidArgument(
        "stream " + stream_ + " partition " + std::to_string(partition_) + ": offset " +
        std::to_string(offset) + " is past the end " + std::to_string(end_));
  }
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](uint64_t o, const Segment& s) { return o < s.base; });
  const Segment& seg = *std::prev(it);
  ReadTarget target;
  target.path = seg.path;
  target.base = seg.base;
  target.end_offset = it == segments_.end() ? end_ : it->base;
  target.limit_bytes = seg.bytes;
  target.start = IndexEntry{seg.base, format::kSegmentHeaderSize};
  auto idx = std::upper_bound(seg.index.begin(), seg.index.end(), offset,
                              [](uint64_t o, const IndexEntry& e) { return o < e.offset; });
  if (idx != seg.index.begin()) target.start = *std::prev(idx);
  return target;
}

void PartitionLogImpl::Append(std::shared_ptr<const RecordBatch> batch, uint32_t shard,
                              int64_t arrival_ms, AppendCallback done) {
  AppendRequest req;
  req.members.reserve(batch->size());
  for (size_t i = 0; i < batch->size(); ++i) {
    if (batch->shard(i) != shard) continue;
    const size_t size = (*batch)[i].size();
    if (size > format::kMaxPayload) {
      done(Status::InvalidArgument("record of " + std::to_string(size) +
                                   " bytes exceeds the journal limit of " +
                                   std::to_string(format::kMaxPayload)));
      return;
    }
    req.members.push_back(static_cast<uint32_t>(i));
  }
  req.accepted = undelivered_->ReservePrefix(*batch, req.members, &req.reserved_bytes);
  req.batch = std::move(batch);
  req.arrival_ms = arrival_ms;
  req.done = std::move(done);
  MutexLock lock(queue_mu_);
  if (closing_) {
    lock.Unlock();
    undelivered_->Sub(req.reserved_bytes);
    req.done(Status::FailedPrecondition("stream " + stream_ + " partition " +
                                        std::to_string(partition_) + ": journal is closed"));
    return;
  }
  bool was_empty = queue_.empty();
  queue_.push_back(std::move(req));
  lock.Unlock();
  // A non-empty queue has a commit pass coming (it drains until the queue is empty), so only the
  // first append into an empty queue needs to wake (or start) the commit thread.
  if (was_empty) commit_thread_.Wake();
}

Offset PartitionLogImpl::End() const {
  MutexLock lock(mu_);
  return Offset{end_};
}

Offset PartitionLogImpl::Begin() const {
  MutexLock lock(mu_);
  return Offset{segments_.front().base};
}

bool PartitionLogImpl::WaitForData(Offset after, int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  MutexLock lock(mu_);
  while (!(end_ > after.value || closed_)) {
    if (data_cv_.WaitUntil(mu_, deadline)) break;
  }
  return end_ > after.value;
}

Result<std::unique_ptr<Reader>> PartitionLogImpl::NewReader() {
  return std::unique_ptr<Reader>(std::make_unique<ReaderImpl>(this));
}

uint64_t PartitionLogImpl::MinDeliveredPosLocked() const {
  uint64_t floor = segments_.front().logical_start;
  if (consumers_.empty()) return floor;
  uint64_t min = UINT64_MAX;
  for (const auto& [name, state] : consumers_) min = std::min(min, state.logical_pos);
  return std::max(min, floor);
}

uint64_t PartitionLogImpl::Undelivered() const {
  MutexLock lock(mu_);
  const Segment& active = segments_.back();
  return active.logical_start + active.bytes - format::kSegmentHeaderSize - MinDeliveredPosLocked();
}

Status PartitionLogImpl::Commit(const std::string& consumer, const ConsumerState& state) {
  const Offset next = state.next;
  if (!IsValidName(consumer)) {
    return Status::InvalidArgument("consumer name '" + consumer + "' is not [a-zA-Z0-9_.-]{1,64}");
  }
  MutexLock checkpoint_lock(checkpoint_mu_);
  {
    MutexLock lock(mu_);
    if (next.value > end_) {
      return Status::InvalidArgument(
          "stream " + stream_ + " partition " + std::to_string(partition_) + ": checkpoint " +
          std::to_string(next.value) + " is past the end " + std::to_string(end_));
    }
    if (state.intent && (state.intent->end <= next || state.intent->end.value > end_)) {
      return Status::InvalidArgument(
          "stream " + stream_ + " partition " + std::to_string(partition_) + ": batch intent [" +
          std::to_string(next.value) + ", " + std::to_string(state.intent->end.value) +
          ") is empty or past the end " + std::to_string(end_));
    }
  }
  SLUICE_ASSIGN_OR_RETURN(uint64_t pos, LogicalPos(next.value));
  std::string path = fs::Join(dir_, format::kCheckpointPrefix + consumer);
  SLUICE_RETURN_IF_ERROR(fs::WriteFileAtomically(path, EncodeCheckpoint(state)));
  MutexLock lock(mu_);
  uint64_t old_min = MinDeliveredPosLocked();
  consumers_[consumer] = ConsumerPosition{next.value, pos, state.intent};
  uint64_t new_min = MinDeliveredPosLocked();
  if (new_min > old_min) undelivered_->Sub(new_min - old_min);
  if (new_min < old_min) undelivered_->Add(old_min - new_min);
  return Status::Ok();
}

Status PartitionLogImpl::RemoveConsumer(const std::string& consumer) {
  if (!IsValidName(consumer)) {
    return Status::InvalidArgument("consumer name '" + consumer + "' is not [a-zA-Z0-9_.-]{1,64}");
  }
  MutexLock checkpoint_lock(checkpoint_mu_);
  std::string path = fs::Join(dir_, format::kCheckpointPrefix + consumer);
  if (fs::Exists(path)) {
    SLUICE_RETURN_IF_ERROR(fs::RemoveFile(path));
    SLUICE_RETURN_IF_ERROR(fs::FsyncDir(dir_));
  }
  MutexLock lock(mu_);
  uint64_t old_min = MinDeliveredPosLocked();
  consumers_.erase(consumer);
  uint64_t new_min = MinDeliveredPosLocked();
  if (new_min > old_min) undelivered_->Sub(new_min - old_min);
  if (new_min < old_min) undelivered_->Add(old_min - new_min);
  return Status::Ok();
}

ConsumerState PartitionLogImpl::Committed(const std::string& consumer) const {
  MutexLock lock(mu_);
  auto it = consumers_.find(consumer);
  if (it == consumers_.end()) return ConsumerState{Offset{segments_.front().base}, std::nullopt};
  return ConsumerState{Offset{it->second.next}, it->second.intent};
}

Result<size_t> PartitionLogImpl::ApplyRetention(const Retention& retention) {
  MutexLock checkpoint_lock(checkpoint_mu_);
  const int64_t now = options_.clock->NowMs();
  const int64_t cutoff = retention.max_age_ms >= now ? INT64_MIN : now - retention.max_age_ms;
  size_t n = 0;
  {
    MutexLock lock(mu_);
    const size_t delivered = DeliveredPrefixLocked();
    uint64_t delivered_bytes = 0;
    for (size_t i = 0; i < delivered; ++i) delivered_bytes += segments_[i].bytes;
    for (; n < delivered; ++n) {
      bool old = segments_[n].max_arrival_ms < cutoff;
      bool over = delivered_bytes > retention.max_delivered_bytes;
      if (!old && !over) break;
      delivered_bytes -= segments_[n].bytes;
    }
  }
  return RemoveFront(n);
}

size_t PartitionLogImpl::DeliveredPrefixLocked() const {
  // With no consumer, nothing was delivered: nothing may be deleted.
  if (consumers_.empty()) return 0;
  uint64_t min_next = UINT64_MAX;
  for (const auto& [name, state] : consumers_) min_next = std::min(min_next, state.next);
  size_t n = 0;
  while (n + 1 < segments_.size() && segments_[n + 1].base <= min_next) ++n;
  return n;
}

std::vector<PartitionLogImpl::DeliveredSegment> PartitionLogImpl::DeliveredSegments() const {
  MutexLock lock(mu_);
  std::vector<DeliveredSegment> out;
  const size_t delivered = DeliveredPrefixLocked();
  for (size_t i = 0; i < delivered; ++i) {
    out.push_back(
        DeliveredSegment{segments_[i].base, segments_[i].bytes, segments_[i].max_arrival_ms});
  }
  return out;
}

Result<uint64_t> PartitionLogImpl::RemoveOldestDelivered(uint64_t base) {
  MutexLock checkpoint_lock(checkpoint_mu_);
  uint64_t bytes = 0;
  {
    MutexLock lock(mu_);
    if (DeliveredPrefixLocked() == 0 || segments_.front().base != base) return uint64_t{0};
    bytes = segments_.front().bytes;
  }
  SLUICE_ASSIGN_OR_RETURN(size_t removed, RemoveFront(1));
  return removed == 1 ? bytes : 0;
}

Result<size_t> PartitionLogImpl::RemoveFront(size_t n) {
  std::vector<uint64_t> doomed;
  {
    MutexLock lock(mu_);
    // Invariant: the active segment stays, so [Begin, End) stays contiguous and non-empty.
    assert(n < segments_.size());
    for (size_t i = 0; i < n; ++i) doomed.push_back(segments_[i].base);
  }
  size_t removed = 0;
  Status status;
  for (uint64_t base : doomed) {
    // The index first: a crash between the two leaves a segment without an index, which the next
    // open scans; never an index without its segment.
    status = fs::RemoveFile(fs::Join(dir_, IndexFileName(base)));
    if (status.ok()) status = fs::RemoveFile(fs::Join(dir_, SegmentFileName(base)));
    if (!status.ok()) break;
    ++removed;
  }
  {
    MutexLock lock(mu_);
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
  }
  Metrics().segments_deleted.Inc(removed);
  if (removed > 0) SLUICE_RETURN_IF_ERROR(fs::FsyncDir(dir_));
  SLUICE_RETURN_IF_ERROR(status);
  return removed;
}

void PartitionLogImpl::Close() {
  {
    MutexLock lock(queue_mu_);
    closing_ = true;
  }
  // Appends queued before closing_ are committed (their callbacks run) before Join returns.
  commit_thread_.Wake();
  commit_thread_.Join();
  {
    MutexLock lock(mu_);
    closed_ = true;
  }
  data_cv_.NotifyAll();
}

void PartitionLogImpl::CommitQueued() {
  std::vector<AppendRequest> group;
  for (;;) {
    {
      MutexLock lock(queue_mu_);
      if (queue_.empty()) return;
      group.swap(queue_);
    }
    CommitGroup(group);
    group.clear();
  }
}

void PartitionLogImpl::SetDataListener(const std::string& key, std::function<void()> listener) {
  MutexLock lock(listener_mu_);
  if (listener) {
    listeners_[key] = std::move(listener);
  } else {
    listeners_.erase(key);
  }
}

void PartitionLogImpl::FailGroup(std::vector<AppendRequest>& group, const Status& status) {
  for (auto& req : group) {
    undelivered_->Sub(req.reserved_bytes);
    req.done(status);
  }
}

Status PartitionLogImpl::Roll() {
  SegmentIndex sealed;
  {
    MutexLock lock(mu_);
    const Segment& active = segments_.back();
    sealed = SegmentIndex{active.base, end_, active.bytes, active.max_arrival_ms, active.index};
  }
  // Seal the active segment: its index lets the next open skip reading it. Without the index that
  // open scans the segment instead, so failing to write it costs start-up time, never data.
  if (Status st = WriteIndex(sealed); !st.ok()) {
    spdlog::warn("{}; the next start-up scans this segment instead", st.ToString());
  }
  const uint64_t base = sealed.end_offset;
  SLUICE_ASSIGN_OR_RETURN(auto file, CreateSegmentFile(base));
  active_file_ = std::move(file);
  last_indexed_pos_ = 0;
  cache_dropped_to_ = 0;
  MutexLock lock(mu_);
  const Segment& prev = segments_.back();
  uint64_t logical = prev.logical_start + prev.bytes - format::kSegmentHeaderSize;
  segments_.push_back(Segment{
      base, fs::Join(dir_, SegmentFileName(base)), format::kSegmentHeaderSize, logical, 0, {}});
  return Status::Ok();
}

void PartitionLogImpl::TrimPageCache(uint64_t durable_bytes) {
  // Dropping in steps of at least this much keeps it to one call per few groups.
  constexpr uint64_t kStep = 4u << 20;
  const uint64_t window = options_.page_cache_window_bytes;
  if (window == 0 || durable_bytes < window + kStep) return;
  const uint64_t to = durable_bytes - window;
  if (to < cache_dropped_to_ + kStep) return;
  active_file_->DropCache(to);
  cache_dropped_to_ = to;
}

Status PartitionLogImpl::WriteBuffer() {
  size_t done = 0;
  while (done < buf_.size()) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, active_file_->Write(buf_.data() + done, buf_.size() - done));
    done += n;
  }
  return Status::Ok();
}

void PartitionLogImpl::CommitGroup(std::vector<AppendRequest>& group) {
  if (!failed_.ok()) return FailGroup(group, failed_);
  uint64_t start_bytes;
  uint64_t base;
  bool has_records;
  {
    MutexLock lock(mu_);
    start_bytes = segments_.back().bytes;
    base = segments_.back().base;
    has_records = end_ > base;
  }
  bool rolled = false;
  if (has_records && start_bytes >= options_.segment_bytes) {
    rolled = true;
    Status st = Roll();
    if (!st.ok()) {
      // A half-created segment file may exist; reopening recovers it (torn header).
      failed_ = st;
      return FailGroup(group, st);
    }
    start_bytes = format::kSegmentHeaderSize;
    MutexLock lock(mu_);
    base = segments_.back().base;
  }
  // Encode every accepted record of the group into one buffer: one write, one fdatasync.
  buf_.clear();
  uint64_t offset;
  {
    MutexLock lock(mu_);
    offset = end_;
  }
  const uint64_t end_before = offset;
  int64_t max_arrival = 0;
  std::vector<IndexEntry> new_index;
  for (auto& req : group) {
    req.first = offset;
    if (req.accepted > 0) max_arrival = std::max(max_arrival, req.arrival_ms);
    for (size_t i = 0; i < req.accepted; ++i) {
      uint64_t pos = start_bytes + buf_.size();
      if (last_indexed_pos_ == 0 || pos - last_indexed_pos_ >= kIndexIntervalBytes) {
        new_index.push_back({offset, pos});
        last_indexed_pos_ = pos;
      }
      AppendFrame(buf_, offset, req.arrival_ms, (*req.batch)[req.members[i]]);
      ++offset;
    }
  }
  if (!buf_.empty()) {
    Status st = WriteBuffer();
    bool sync_failed = false;
    if (st.ok() && options_.sync) {
      const auto sync_started = std::chrono::steady_clock::now();
      st = active_file_->Sync();
      sync_failed = !st.ok();
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - sync_started;
      Metrics().fdatasync_seconds.Observe(took.count());
    }
    if (!st.ok()) {
      st = st.WithContext(SegmentContext(base));
      // Cut the half-written group so that no later record is written after it.
      Status cut = active_file_->Truncate(start_bytes);
      if (cut.ok() && options_.sync) cut = active_file_->Sync();
      if (sync_failed || !cut.ok()) {
        failed_ = Status(
            st.code(), st.message() + (cut.ok() ? "" : "; truncate back failed: " + cut.message()) +
                           "; partition stopped until the journal is reopened");
      }
      last_indexed_pos_ = 0;  // conservative: the next group starts a fresh index entry
      return FailGroup(group, st);
    }
  }
  {
    MutexLock lock(mu_);
    Segment& active = segments_.back();
    active.bytes += buf_.size();
    active.max_arrival_ms = std::max(active.max_arrival_ms, max_arrival);
    active.index.insert(active.index.end(), new_index.begin(), new_index.end());
    end_ = offset;
  }
  data_cv_.NotifyAll();
  if (!buf_.empty()) {
    Metrics().appended_records.Inc(offset - end_before);
    Metrics().appended_bytes.Inc(buf_.size());
    Metrics().group_records.Observe(static_cast<double>(offset - end_before));
  }
  if (rolled) Metrics().segments_created.Inc();
  for (auto& req : group) {
    req.done(AppendResult{Offset{req.first}, req.accepted});
    req.batch.reset();  // the request's buffer goes now, not when the group is cleared
  }
  if (!buf_.empty() && options_.sync) TrimPageCache(start_bytes + buf_.size());
  {
    MutexLock lock(listener_mu_);
    for (const auto& [key, listener] : listeners_) listener();
  }
  // Sealing a segment is when the journal's disk use grows: check the free-space reserve (after
  // the callbacks, so that acknowledgements never wait for deletions).
  if (rolled && reserve_ != nullptr) {
    if (auto deleted = reserve_->Enforce(false); !deleted.ok()) {
      spdlog::warn("journal: disk reserve check failed: {}", deleted.status().ToString());
    }
  }
}

}  // namespace sluice::journal
