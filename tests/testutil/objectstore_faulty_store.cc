#include "testutil/objectstore_faulty_store.h"

#include <chrono>

namespace sluice::testutil {

void FaultyObjectStore::FailNext(int n, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = n;
  fail_status_ = std::move(status);
}

void FaultyObjectStore::HangNext(int n, int bound_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  hang_next_ = n;
  hang_bound_ms_ = bound_ms;
  released_flag_ = false;
}

void FaultyObjectStore::ReleaseHangs() {
  std::lock_guard<std::mutex> lock(mu_);
  released_flag_ = true;
  released_.notify_all();
}

int FaultyObjectStore::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

int FaultyObjectStore::passed_through() const {
  std::lock_guard<std::mutex> lock(mu_);
  return passed_;
}

Status FaultyObjectStore::Inject() {
  std::unique_lock<std::mutex> lock(mu_);
  ++calls_;
  if (fail_next_ > 0) {
    --fail_next_;
    return fail_status_;
  }
  if (hang_next_ > 0) {
    --hang_next_;
    released_.wait_for(lock, std::chrono::milliseconds(hang_bound_ms_),
                       [&] { return released_flag_; });
    return Status::Unavailable("injected: request hung and timed out");
  }
  ++passed_;
  return Status::Ok();
}

Status FaultyObjectStore::Put(const std::string& key, std::string_view data) {
  SLUICE_RETURN_IF_ERROR(Inject());
  return inner_->Put(key, data);
}

Result<std::string> FaultyObjectStore::Get(const std::string& key) {
  SLUICE_RETURN_IF_ERROR(Inject());
  return inner_->Get(key);
}

Result<std::vector<std::string>> FaultyObjectStore::List(const std::string& prefix) {
  SLUICE_RETURN_IF_ERROR(Inject());
  return inner_->List(prefix);
}

Status FaultyObjectStore::Delete(const std::string& key) {
  SLUICE_RETURN_IF_ERROR(Inject());
  return inner_->Delete(key);
}

}  // namespace sluice::testutil
