// Mutexes the clang thread-safety analysis understands (common/thread_annotations.h): libstdc++'s
// std::mutex and std::shared_mutex carry no annotations, so members they guard cannot be checked.
//
//   Mutex mu_;
//   CondVar cv_;
//   bool ready_ SLUICE_GUARDED_BY(mu_) = false;
//
//   MutexLock lock(mu_);
//   while (!ready_) cv_.Wait(mu_);  // a loop, not a predicate lambda: the analysis does not
//                                   // know a lambda runs with mu_ held
//
// Thread safety: these are the synchronization primitives; Mutex and SharedMutex are neither
// recursive nor copyable. Costs are those of std::mutex / std::shared_mutex /
// std::condition_variable (every method is an inline forward).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "common/thread_annotations.h"

namespace sluice {

class SLUICE_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() SLUICE_ACQUIRE() { mu_.lock(); }
  void Unlock() SLUICE_RELEASE() { mu_.unlock(); }
  [[nodiscard]] bool TryLock() SLUICE_TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // Tells the analysis the caller holds the mutex where it cannot see it (not checked at run time:
  // std::mutex cannot tell who holds it). Only with a comment saying why it is held.
  void AssertHeld() const SLUICE_ASSERT_CAPABILITY(this) {}

  // BasicLockable, for std::scoped_lock over several mutexes and spdlog-style templates.
  void lock() SLUICE_ACQUIRE() { mu_.lock(); }
  void unlock() SLUICE_RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for its scope. Unlock()/Lock() release and re-acquire it inside the scope (e.g.
// around a callback that must run unlocked); the destructor unlocks only if held.
class SLUICE_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) SLUICE_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() SLUICE_RELEASE() {
    if (locked_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() SLUICE_RELEASE() {
    locked_ = false;
    mu_.Unlock();
  }
  void Lock() SLUICE_ACQUIRE() {
    mu_.Lock();
    locked_ = true;
  }

 private:
  Mutex& mu_;
  bool locked_ = true;
};

// A condition variable waited on with a held sluice::Mutex (std::condition_variable underneath).
// Wait* atomically release the mutex, block, and re-acquire it before returning; they may wake
// spuriously, so callers wait in a loop on the guarded condition.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex& mu) SLUICE_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: ownership stays with the caller
  }
  // Returns true if `deadline` passed (the mutex is held again either way).
  bool WaitUntil(Mutex& mu, std::chrono::steady_clock::time_point deadline) SLUICE_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    const bool timed_out = cv_.wait_until(lock, deadline) == std::cv_status::timeout;
    lock.release();
    return timed_out;
  }
  template <class Rep, class Period>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout) SLUICE_REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }

  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// A reader/writer mutex (std::shared_mutex underneath): one writer or many readers.
class SLUICE_CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() SLUICE_ACQUIRE() { mu_.lock(); }
  void Unlock() SLUICE_RELEASE() { mu_.unlock(); }
  [[nodiscard]] bool TryLock() SLUICE_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  void ReaderLock() SLUICE_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() SLUICE_RELEASE_SHARED() { mu_.unlock_shared(); }
  [[nodiscard]] bool ReaderTryLock() SLUICE_TRY_ACQUIRE_SHARED(true) {
    return mu_.try_lock_shared();
  }
  void AssertHeld() const SLUICE_ASSERT_CAPABILITY(this) {}
  void AssertReaderHeld() const SLUICE_ASSERT_SHARED_CAPABILITY(this) {}

 private:
  std::shared_mutex mu_;
};

// Holds a SharedMutex exclusively for its scope.
class SLUICE_SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex& mu) SLUICE_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterMutexLock() SLUICE_RELEASE() { mu_.Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds a SharedMutex shared (with other readers) for its scope.
class SLUICE_SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex& mu) SLUICE_ACQUIRE_SHARED(mu) : mu_(mu) {
    mu_.ReaderLock();
  }
  ~ReaderMutexLock() SLUICE_RELEASE() { mu_.ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace sluice
