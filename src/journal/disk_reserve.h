// The free-disk reserve (Options::disk_reserve_bytes): when the file system holding the journal has
// less free space than the reserve, delivered segments (every consumer has checkpointed past them)
// are deleted across all partitions, oldest first by their newest record's arrival time, until the
// shortfall is freed or no delivered segment is left. Undelivered data is never deleted: the quota
// (Options::quota_bytes) bounds it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "journal/file.h"

namespace sluice::journal {

class PartitionLogImpl;

// Thread safety: thread-safe. Enforce runs at Open, on a partition's commit thread after it sealed
// a segment, and on demand (Journal::EnforceDiskReserve); one Enforce runs at a time. Lock order:
// DiskReserve before a partition's locks; Enforce never takes the journal's lock.
class DiskReserve {
 public:
  // `reserve_bytes` 0 disables the reserve.
  DiskReserve(std::string dir, uint64_t reserve_bytes, FileSystem* fs)
      : dir_(std::move(dir)), reserve_(reserve_bytes), fs_(fs) {}
  DiskReserve(const DiskReserve&) = delete;
  DiskReserve& operator=(const DiskReserve&) = delete;

  // A partition takes part from Add until Remove, which must come before it is closed.
  void Add(PartitionLogImpl* log) SLUICE_EXCLUDES(mu_);
  void Remove(PartitionLogImpl* log) SLUICE_EXCLUDES(mu_);

  // Checks the free space of the journal's file system; below the reserve, deletes delivered
  // segments oldest first and logs what it deleted (and, once until space recovers, that nothing
  // delivered is left). Returns the number of segments deleted. `wait` false: returns 0 at once
  // when another Enforce is running.
  Result<size_t> Enforce(bool wait) SLUICE_EXCLUDES(mu_);

 private:
  Result<size_t> EnforceLocked() SLUICE_REQUIRES(mu_);

  const std::string dir_;
  const uint64_t reserve_;
  FileSystem* const fs_;
  Mutex mu_;  // held through Enforce
  std::vector<PartitionLogImpl*> partitions_ SLUICE_GUARDED_BY(mu_);
  bool short_logged_ SLUICE_GUARDED_BY(mu_) = false;
};

}  // namespace sluice::journal
