// sluice::Mutex, MutexLock, CondVar and SharedMutex (common/mutex.h): the annotated primitives
// behave like the std ones they wrap. Bounded waits only: a broken primitive fails, never hangs.
#include "common/mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace sluice {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// True if another thread can take `mu` right now (it releases it again at once).
bool OtherThreadCanLock(Mutex& mu) {
  bool acquired = false;
  std::thread other([&] {
    if (mu.TryLock()) {
      acquired = true;
      mu.Unlock();
    }
  });
  other.join();
  return acquired;
}

bool OtherThreadCanLock(SharedMutex& mu) {
  bool acquired = false;
  std::thread other([&] {
    if (mu.TryLock()) {
      acquired = true;
      mu.Unlock();
    }
  });
  other.join();
  return acquired;
}

bool OtherThreadCanReaderLock(SharedMutex& mu) {
  bool acquired = false;
  std::thread other([&] {
    if (mu.ReaderTryLock()) {
      acquired = true;
      mu.ReaderUnlock();
    }
  });
  other.join();
  return acquired;
}

class Counter {
 public:
  void Add() SLUICE_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    ++value_;
  }
  int value() SLUICE_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return value_;
  }

 private:
  Mutex mu_;
  int value_ SLUICE_GUARDED_BY(mu_) = 0;
};

TEST(Mutex, MutexLockExcludesOtherThreads) {
  Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) counter.Add();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), 40000);
}

TEST(Mutex, TryLockFailsWhileAnotherThreadHoldsIt) {
  Mutex mu;
  mu.Lock();
  EXPECT_FALSE(OtherThreadCanLock(mu));
  mu.Unlock();
  EXPECT_TRUE(OtherThreadCanLock(mu));
}

TEST(MutexLock, UnlockLetsOthersInAndLockTakesItBack) {
  Mutex mu;
  {
    MutexLock lock(mu);
    EXPECT_FALSE(OtherThreadCanLock(mu));
    lock.Unlock();
    EXPECT_TRUE(OtherThreadCanLock(mu));
    lock.Lock();
    EXPECT_FALSE(OtherThreadCanLock(mu));
  }
  EXPECT_TRUE(OtherThreadCanLock(mu)) << "the destructor unlocks";
}

TEST(MutexLock, DestructorAfterUnlockDoesNotUnlockAgain) {
  Mutex mu;
  {
    MutexLock lock(mu);
    lock.Unlock();
  }
  // Released by Unlock, so the destructor must not release it again (undefined for std::mutex);
  // the mutex then works as usual.
  mu.Lock();
  EXPECT_FALSE(OtherThreadCanLock(mu));
  mu.Unlock();
}

class Mailbox {
 public:
  void Put(int v) SLUICE_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    value_ = v;
    cv_.NotifyAll();
  }
  // The value once it is non-zero, or 0 if `timeout` passes first.
  int Take(milliseconds timeout) SLUICE_EXCLUDES(mu_) {
    const auto deadline = steady_clock::now() + timeout;
    MutexLock lock(mu_);
    while (value_ == 0) {
      if (cv_.WaitUntil(mu_, deadline)) break;
    }
    return value_;
  }
  int TakeBlocking() SLUICE_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (value_ == 0) cv_.Wait(mu_);
    return value_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  int value_ SLUICE_GUARDED_BY(mu_) = 0;
};

TEST(CondVar, WaitReturnsAfterNotifyWithTheMutexHeld) {
  Mailbox box;
  std::thread producer([&] { box.Put(7); });
  EXPECT_EQ(box.TakeBlocking(), 7);
  producer.join();
}

TEST(CondVar, WaitUntilWakesBeforeTheDeadline) {
  Mailbox box;
  std::thread producer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    box.Put(3);
  });
  const auto start = steady_clock::now();
  EXPECT_EQ(box.Take(milliseconds(30000)), 3);
  EXPECT_LT(steady_clock::now() - start, milliseconds(20000));
  producer.join();
}

TEST(CondVar, WaitUntilReturnsTimedOutAtTheDeadline) {
  Mailbox box;
  const auto start = steady_clock::now();
  EXPECT_EQ(box.Take(milliseconds(50)), 0);
  EXPECT_GE(steady_clock::now() - start, milliseconds(50));
}

TEST(CondVar, WaitForReportsTimeout) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(mu);
  EXPECT_TRUE(cv.WaitFor(mu, milliseconds(10)));
}

TEST(SharedMutex, ReadersShareAndAWriterExcludesThem) {
  SharedMutex mu;
  std::atomic<int> readers_inside{0};
  std::atomic<bool> both_in{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      ReaderMutexLock lock(mu);
      ++readers_inside;
      // Both readers hold the lock at once (bounded: a broken shared lock fails, not hangs).
      const auto deadline = steady_clock::now() + milliseconds(10000);
      while (readers_inside.load() < 2 && steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      if (readers_inside.load() == 2) both_in = true;
      --readers_inside;
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_TRUE(both_in.load());

  {
    WriterMutexLock writer(mu);
    EXPECT_FALSE(OtherThreadCanReaderLock(mu)) << "a reader got in while a writer held it";
    EXPECT_FALSE(OtherThreadCanLock(mu));
  }
  {
    ReaderMutexLock reader(mu);
    EXPECT_TRUE(OtherThreadCanReaderLock(mu));
    EXPECT_FALSE(OtherThreadCanLock(mu)) << "a writer got in while a reader held it";
  }
  EXPECT_TRUE(OtherThreadCanLock(mu));
}

}  // namespace
}  // namespace sluice
