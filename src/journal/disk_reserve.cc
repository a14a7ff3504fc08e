#include "journal/disk_reserve.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "journal/codec.h"
#include "journal/partition_log.h"

namespace sluice::journal {

void DiskReserve::Add(PartitionLogImpl* log) {
  MutexLock lock(mu_);
  partitions_.push_back(log);
}

void DiskReserve::Remove(PartitionLogImpl* log) {
  MutexLock lock(mu_);
  partitions_.erase(std::remove(partitions_.begin(), partitions_.end(), log), partitions_.end());
}

Result<size_t> DiskReserve::Enforce(bool wait) {
  if (reserve_ == 0) return size_t{0};
  if (wait) {
    mu_.Lock();
  } else if (!mu_.TryLock()) {
    return size_t{0};
  }
  Result<size_t> deleted = EnforceLocked();
  mu_.Unlock();
  return deleted;
}

Result<size_t> DiskReserve::EnforceLocked() {
  SLUICE_ASSIGN_OR_RETURN(uint64_t free, fs_->FreeBytes(dir_));
  if (free >= reserve_) {
    short_logged_ = false;
    return size_t{0};
  }
  const uint64_t need = reserve_ - free;
  struct Candidates {
    PartitionLogImpl* log;
    std::vector<PartitionLogImpl::DeliveredSegment> segments;  // oldest first
    size_t next = 0;
  };
  std::vector<Candidates> all;
  for (PartitionLogImpl* log : partitions_) {
    auto segments = log->DeliveredSegments();
    if (!segments.empty()) all.push_back(Candidates{log, std::move(segments)});
  }
  uint64_t freed = 0;
  size_t deleted = 0;
  Status error;
  while (freed < need) {
    // Oldest first across partitions; within one, its segments go in order (a prefix).
    Candidates* oldest = nullptr;
    for (auto& c : all) {
      if (c.next == c.segments.size()) continue;
      if (oldest == nullptr ||
          c.segments[c.next].max_arrival_ms < oldest->segments[oldest->next].max_arrival_ms) {
        oldest = &c;
      }
    }
    if (oldest == nullptr) break;
    const PartitionLogImpl::DeliveredSegment& segment = oldest->segments[oldest->next++];
    auto bytes = oldest->log->RemoveOldestDelivered(segment.base);
    if (!bytes.ok()) {
      error = bytes.status();
      break;
    }
    if (*bytes == 0) {  // retention deleted it meanwhile: look at this partition again next time
      oldest->next = oldest->segments.size();
      continue;
    }
    spdlog::info("journal: disk reserve: deleted delivered {}",
                 oldest->log->SegmentContext(segment.base));
    freed += *bytes;
    ++deleted;
  }
  if (deleted > 0) {
    spdlog::warn(
        "journal {}: free disk space {} MiB is below the reserve of {} MiB: deleted {} delivered "
        "segment(s) ({:.1f} MiB), oldest first",
        dir_, free >> 20, reserve_ >> 20, deleted, static_cast<double>(freed) / (1 << 20));
  }
  if (freed >= need) {
    short_logged_ = false;
  } else if (!short_logged_ && error.ok()) {
    short_logged_ = true;
    spdlog::warn(
        "journal {}: free disk space {} MiB is below the reserve of {} MiB and no delivered data "
        "is left to delete; undelivered data is never deleted (the quota bounds it)",
        dir_, (free + freed) >> 20, reserve_ >> 20);
  }
  SLUICE_RETURN_IF_ERROR(error);
  return deleted;
}

}  // namespace sluice::journal
