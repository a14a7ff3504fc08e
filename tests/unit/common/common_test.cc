#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "common/crc32c.h"
#include "common/file_util.h"
#include "common/on_demand_thread.h"
#include "common/status.h"

namespace sluice {
namespace {

TEST(Crc32c, MatchesKnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8a9136aau);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones), 0x62a8ab43u);
  EXPECT_EQ(crc32c::Value("123456789"), 0xe3069283u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello, durable world";
  EXPECT_EQ(crc32c::Extend(crc32c::Value(s.substr(0, 5)), s.data() + 5, s.size() - 5),
            crc32c::Value(s));
}

TEST(Crc32c, MaskRoundTrips) {
  uint32_t c = crc32c::Value("foo");
  EXPECT_NE(crc32c::Mask(c), c);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(c)), c);
}

TEST(Base64, RoundTripsAllLengths) {
  std::string s;
  for (int i = 0; i < 300; ++i) {
    auto enc = base64::Encode(s);
    auto dec = base64::Decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, s);
    EXPECT_EQ(base64::DecodedSize(enc), s.size());
    s.push_back(static_cast<char>(i * 37));
  }
}

TEST(Base64, KnownVectorsAndRejects) {
  EXPECT_EQ(base64::Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64::Encode("fo"), "Zm8=");
  EXPECT_EQ(*base64::Decode("eyJhIjoxfQo="), "{\"a\":1}\n");
  EXPECT_FALSE(base64::Decode("abc").has_value());
  EXPECT_FALSE(base64::Decode("ab!d").has_value());
  EXPECT_FALSE(base64::Decode("a===").has_value());
}

TEST(Status, CarriesContext) {
  Status st = Status::IoError("fsync failed").WithContext("segment 42");
  EXPECT_EQ(st.ToString(), "IoError: segment 42: fsync failed");
  Result<int> r = Status::NotFound("x");
  EXPECT_FALSE(r.ok());
  Result<int> v = 7;
  EXPECT_EQ(*v, 7);
}

TEST(FileUtil, WriteFileAtomicallyReplacesContent) {
  std::string dir = ::testing::TempDir() + "/fu_test";
  ASSERT_TRUE(fs::CreateDirs(dir + "/a/b").ok());
  std::string path = dir + "/a/b/f";
  ASSERT_TRUE(fs::WriteFileAtomically(path, "one").ok());
  ASSERT_TRUE(fs::WriteFileAtomically(path, "two").ok());
  EXPECT_EQ(*fs::ReadFile(path), "two");
  auto names = fs::ListDir(dir + "/a/b");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 1u);  // no temp files left behind
  EXPECT_EQ(fs::ReadFile(dir + "/nope").status().code(), StatusCode::kNotFound);
}

TEST(FileUtil, ResolvePathFollowsSymlinksAndFoldsDots) {
  std::string dir = *fs::ResolvePath(::testing::TempDir() + "/resolve_test");
  ASSERT_TRUE(fs::CreateDirs(dir + "/root/inside").ok());
  ASSERT_TRUE(fs::CreateDirs(dir + "/outside").ok());
  ::unlink((dir + "/root/link").c_str());
  ASSERT_EQ(::symlink((dir + "/outside").c_str(), (dir + "/root/link").c_str()), 0);
  EXPECT_EQ(*fs::ResolvePath(dir + "/root/inside/../inside/./new/x"), dir + "/root/inside/new/x");
  EXPECT_EQ(*fs::ResolvePath(dir + "/root/link/new"), dir + "/outside/new");
  EXPECT_EQ(*fs::ResolvePath(dir + "/root/../../.."), "/");
  EXPECT_TRUE(fs::IsWithin(dir + "/root/inside", dir + "/root"));
  EXPECT_TRUE(fs::IsWithin(dir + "/root", dir + "/root"));
  EXPECT_FALSE(fs::IsWithin(dir + "/rootless", dir + "/root"));
  EXPECT_FALSE(fs::IsWithin(*fs::ResolvePath(dir + "/root/link"), dir + "/root"));
}

TEST(OnDemandThread, RunsOnlyWhenWokenAndExitsWhenDone) {
  std::atomic<int> runs{0};
  OnDemandThread t([&] { ++runs; }, /*linger_ms=*/0);
  EXPECT_FALSE(t.running());
  t.Wake();
  t.Join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_FALSE(t.running());
  t.Wake();
  t.Wake();  // may coalesce with the first, never lost
  t.Join();
  EXPECT_GE(runs.load(), 2);
  EXPECT_LE(runs.load(), 3);
}

TEST(OnDemandThread, AWakeDuringADrainRunsItAgain) {
  std::atomic<int> runs{0};
  OnDemandThread* self = nullptr;
  OnDemandThread t(
      [&] {
        if (++runs == 1) self->Wake();  // work arriving while draining
      },
      0);
  self = &t;
  t.Wake();
  t.Join();
  EXPECT_EQ(runs.load(), 2);
}

TEST(OnDemandThread, ManyWakersFromManyThreadsNeverLoseOne) {
  std::atomic<int> work{0}, done{0};
  OnDemandThread t([&] { done = work.load(); }, 1);
  std::vector<std::thread> wakers;
  for (int i = 0; i < 4; ++i) {
    wakers.emplace_back([&] {
      for (int k = 0; k < 500; ++k) {
        ++work;
        t.Wake();
      }
    });
  }
  for (auto& w : wakers) w.join();
  t.Join();
  EXPECT_EQ(done.load(), 2000) << "the last wake was served after the last work";
}

}  // namespace
}  // namespace sluice
