#include "journal/journal.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <utility>

#include "common/file_util.h"
#include "common/mutex.h"
#include "journal/codec.h"
#include "journal/disk_reserve.h"
#include "journal/file.h"
#include "journal/partition_log.h"

namespace sluice::journal {
namespace {

// Thread safety: every method is thread-safe; mu_ guards the partition map.
class JournalImpl final : public Journal {
 public:
  explicit JournalImpl(Options options)
      : options_(std::move(options)),
        fs_(options_.fs != nullptr ? options_.fs : &FileSystem::Posix()),
        undelivered_(options_.quota_bytes),
        streams_dir_(fs::Join(options_.dir, "streams")),
        reserve_(options_.dir, options_.disk_reserve_bytes, fs_) {}
  ~JournalImpl() override { Close(); }

  Status Recover() SLUICE_EXCLUDES(mu_) {
    SLUICE_RETURN_IF_ERROR(fs::CreateDirs(streams_dir_));
    // Recover runs before the journal is shared: the lock is never contended; it is held so that
    // the analysis can check the partition map it fills. Released before Enforce, as before.
    MutexLock lock(mu_);
    SLUICE_ASSIGN_OR_RETURN(auto streams, fs::ListDir(streams_dir_));
    for (const auto& stream : streams) {
      if (!IsValidStreamName(stream)) continue;
      auto parts = fs::ListDir(fs::Join(streams_dir_, stream));
      if (!parts.ok()) continue;  // not a directory
      for (const auto& part : *parts) {
        auto partition = ParsePartitionName(part);
        if (!partition) continue;
        SLUICE_RETURN_IF_ERROR(OpenPartition(stream, *partition).status());
      }
    }
    if (!partitions_.empty()) {
      spdlog::info(
          "journal {}: recovered {} partition(s): {} sealed segment(s) from their index, {} "
          "segment(s) scanned ({} MiB)",
          options_.dir, partitions_.size(), recovery_.segments_from_index,
          recovery_.segments_scanned, recovery_.bytes_scanned >> 20);
    }
    lock.Unlock();
    if (auto deleted = reserve_.Enforce(true); !deleted.ok()) {
      spdlog::warn("journal {}: disk reserve check failed: {}", options_.dir,
                   deleted.status().ToString());
    }
    return Status::Ok();
  }

  Result<PartitionLog*> Partition(const std::string& stream, uint32_t partition) override {
    if (!IsValidStreamName(stream)) {
      return Status::InvalidArgument("stream name '" + stream + "' is not " +
                                     std::string(kStreamNameRule));
    }
    MutexLock lock(mu_);
    if (closed_) return Status::FailedPrecondition("journal is closed");
    auto it = partitions_.find({stream, partition});
    if (it != partitions_.end()) return static_cast<PartitionLog*>(it->second.get());
    SLUICE_ASSIGN_OR_RETURN(PartitionLogImpl * log, OpenPartition(stream, partition));
    return static_cast<PartitionLog*>(log);
  }

  Status DropStream(const std::string& stream) override {
    if (!IsValidStreamName(stream)) {
      return Status::InvalidArgument("stream name '" + stream + "' is not " +
                                     std::string(kStreamNameRule));
    }
    MutexLock lock(mu_);
    for (auto it = partitions_.lower_bound({stream, 0});
         it != partitions_.end() && it->first.first == stream;) {
      reserve_.Remove(it->second.get());
      it->second->Close();
      undelivered_.Sub(it->second->Undelivered());
      it = partitions_.erase(it);
    }
    std::string dir = fs::Join(streams_dir_, stream);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return Status::IoError(dir + ": remove failed: " + ec.message());
    return fs::FsyncDir(streams_dir_);
  }

  uint64_t UndeliveredBytes() const override { return undelivered_.Get(); }
  uint64_t QuotaBytes() const override { return undelivered_.Quota(); }

  RecoveryStats Recovery() const override {
    MutexLock lock(mu_);
    return recovery_;
  }

  Result<size_t> EnforceDiskReserve() override { return reserve_.Enforce(true); }

  void Close() override {
    MutexLock lock(mu_);
    closed_ = true;
    for (auto& [key, log] : partitions_) log->Close();
  }

 private:
  Result<PartitionLogImpl*> OpenPartition(const std::string& stream, uint32_t partition)
      SLUICE_REQUIRES(mu_) {
    std::string dir = fs::Join(fs::Join(streams_dir_, stream), std::to_string(partition));
    SLUICE_RETURN_IF_ERROR(fs::CreateDirs(dir));
    SLUICE_ASSIGN_OR_RETURN(auto log, PartitionLogImpl::Open(stream, partition, dir, options_, fs_,
                                                             &undelivered_, &reserve_));
    reserve_.Add(log.get());
    undelivered_.Add(log->Undelivered());
    recovery_ += log->recovery_stats();
    PartitionLogImpl* raw = log.get();
    partitions_[{stream, partition}] = std::move(log);
    return raw;
  }

  const Options options_;
  FileSystem* const fs_;
  journal::UndeliveredBytes undelivered_;
  const std::string streams_dir_;
  DiskReserve reserve_;  // before partitions_: outlives them
  mutable Mutex mu_;
  std::map<std::pair<std::string, uint32_t>, std::unique_ptr<PartitionLogImpl>> partitions_
      SLUICE_GUARDED_BY(mu_);
  bool closed_ SLUICE_GUARDED_BY(mu_) = false;
  RecoveryStats recovery_ SLUICE_GUARDED_BY(mu_);
};

}  // namespace

std::optional<uint32_t> ParsePartitionName(const std::string& name) {
  if (name.empty() || name.size() > 10 || (name.size() > 1 && name[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

RecoveryStats& RecoveryStats::operator+=(const RecoveryStats& o) {
  segments_from_index += o.segments_from_index;
  segments_scanned += o.segments_scanned;
  bytes_scanned += o.bytes_scanned;
  indexes_missing += o.indexes_missing;
  indexes_damaged += o.indexes_damaged;
  return *this;
}

Result<std::unique_ptr<Journal>> Journal::Open(Options options) {
  if (options.dir.empty()) return Status::InvalidArgument("journal directory is empty");
  if (options.clock == nullptr) return Status::InvalidArgument("journal clock is null");
  auto journal = std::make_unique<JournalImpl>(std::move(options));
  SLUICE_RETURN_IF_ERROR(journal->Recover());
  return std::unique_ptr<Journal>(std::move(journal));
}

}  // namespace sluice::journal
