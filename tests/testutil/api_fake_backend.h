// An in-memory api::Backend for API tests: streams in a map, Puts recorded, per-record refusals
// and deferred (asynchronous) completion on demand.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/backend.h"

namespace sluice::testutil {

class ApiFakeBackend : public api::Backend {
 public:
  Status CreateStream(config::StreamConfig config, int64_t create_timestamp_ms) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (streams_.count(config.name)) return Status::AlreadyExists("stream " + config.name);
    api::StreamInfo info;
    info.state = {true, 1, create_timestamp_ms};
    info.config = std::move(config);
    streams_[info.config.name] = std::move(info);
    return Status::Ok();
  }
  Status DeleteStream(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (streams_.erase(name) == 0) return Status::NotFound("stream " + name);
    return Status::Ok();
  }
  Result<api::StreamInfo> DescribeStream(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return Status::NotFound("stream " + name);
    return it->second;
  }
  std::vector<std::string> ListStreams() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> names;
    for (const auto& [name, info] : streams_) names.push_back(name);
    return names;
  }
  Status UpdateDestination(const config::StreamConfig& updated,
                           uint64_t expected_version) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(updated.name);
    if (it == streams_.end()) return Status::NotFound("stream " + updated.name);
    if (it->second.state.version != expected_version) return Status::Aborted("version moved");
    it->second.config = updated;
    it->second.state.version = expected_version + 1;
    return Status::Ok();
  }
  Status UpdateTags(const std::string& name, const std::map<std::string, std::string>& add,
                    const std::vector<std::string>& remove) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return Status::NotFound("stream " + name);
    auto tags = it->second.config.tags;
    for (const auto& [k, v] : add) tags[k] = v;
    for (const auto& k : remove) tags.erase(k);
    if (tags.size() > kMaxTags) return Status::ResourceExhausted("too many tags");
    it->second.config.tags = std::move(tags);
    return Status::Ok();
  }
  void Put(const std::string& stream, journal::RecordBatch batch, api::PutCallback done) override {
    std::vector<std::string> records;
    for (size_t i = 0; i < batch.size(); ++i) records.emplace_back(batch[i]);
    std::unique_lock<std::mutex> lock(mu_);
    if (!streams_.count(stream)) {
      lock.unlock();
      done(Status::NotFound("stream " + stream));
      return;
    }
    // Records land in shard 0 at offsets 0, 1, ... (RecordIds: FirehoseRecordId(0, 0, n)).
    api::PutResult entries;
    for (size_t i = 0; i < records.size(); ++i) {
      api::PutEntry e;
      if (refuse_.count(i)) {
        e.status = Status::ResourceExhausted("quota");
      } else {
        e.offset = static_cast<uint64_t>(next_id_++);
      }
      entries.entries.push_back(std::move(e));
    }
    puts_.emplace_back(stream, std::move(records));
    if (defer_) {
      deferred_.push_back([done = std::move(done), entries = std::move(entries)]() mutable {
        done(std::move(entries));
      });
      return;
    }
    lock.unlock();
    done(std::move(entries));
  }

  // Test controls.
  void RefuseRecord(size_t index) { refuse_.insert(index); }
  void DeferCompletion() { defer_ = true; }
  // Runs the completions held back by DeferCompletion(); returns how many ran.
  size_t CompleteDeferred() {
    std::vector<std::function<void()>> run;
    {
      std::lock_guard<std::mutex> lock(mu_);
      run.swap(deferred_);
    }
    for (auto& f : run) f();
    return run.size();
  }
  size_t DeferredCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return deferred_.size();
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> puts() {
    std::lock_guard<std::mutex> lock(mu_);
    return puts_;
  }
  void AddStream(const std::string& name, const std::string& type = "DirectPut") {
    config::StreamConfig c;
    c.name = name;
    c.type = type == "KinesisStreamAsSource" ? config::SourceType::kKinesisStreamAsSource
             : type == "MSKAsSource"         ? config::SourceType::kMSKAsSource
                                             : config::SourceType::kDirectPut;
    c.staged.url = "bucket://b";
    (void)CreateStream(std::move(c), 0);
  }

 private:
  std::mutex mu_;
  std::map<std::string, api::StreamInfo> streams_;
  std::vector<std::pair<std::string, std::vector<std::string>>> puts_;
  std::set<size_t> refuse_;
  bool defer_ = false;
  std::vector<std::function<void()>> deferred_;
  int next_id_ = 0;
};

}  // namespace sluice::testutil
