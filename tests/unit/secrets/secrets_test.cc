#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "secrets/redactor.h"
#include "secrets/resolver.h"

namespace sluice::secrets {
namespace {

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-secrets-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }
  int LineCount(const std::string& path) {
    std::ifstream in(path);
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }

  std::filesystem::path dir_;
  Redactor redactor_;
  ManualClock clock_;
  Resolver resolver_{&redactor_, &clock_,
                     ResolverOptions{.exec_timeout_ms = 2000, .exec_cache_ttl_ms = 60'000}};
};

TEST_F(ResolverTest, TextWithoutReferencesIsUnchanged) {
  auto out = resolver_.Resolve("host=db user=x");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "host=db user=x");
  EXPECT_FALSE(Resolver::HasReference("host=db"));
  EXPECT_TRUE(Resolver::HasReference("password=${secret:env:X}"));
}

TEST_F(ResolverTest, EnvReferenceIsReplacedAnywhereInTheString) {
  setenv("SLUICE_TEST_PW", "hunter2", 1);
  auto out = resolver_.Resolve("host=db password=${secret:env:SLUICE_TEST_PW} user=x");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "host=db password=hunter2 user=x");
  EXPECT_EQ(redactor_.Redact("login failed for hunter2"), "login failed for ****");
}

TEST_F(ResolverTest, MissingEnvVariableNamesTheReference) {
  unsetenv("SLUICE_TEST_ABSENT");
  auto out = resolver_.Resolve("x=${secret:env:SLUICE_TEST_ABSENT}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(out.status().message(),
            "${secret:env:SLUICE_TEST_ABSENT}: environment variable not set");
}

TEST_F(ResolverTest, FileReferenceIsTrimmedOfTrailingNewlines) {
  const std::string path = WriteFile("pw", "file-secret-1\n\n");
  auto out = resolver_.Resolve("${secret:file:" + path + "}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "file-secret-1");
}

TEST_F(ResolverTest, MissingFileNamesTheReference) {
  auto out = resolver_.Resolve("${secret:file:/nonexistent/sluice-pw}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(out.status().message().rfind("${secret:file:/nonexistent/sluice-pw}: ", 0), 0u)
      << out.status().message();
}

TEST_F(ResolverTest, ExecRunsWithoutAShellAndTrimsStdout) {
  // Without a shell, '$HOME' and ';' reach echo literally.
  auto out = resolver_.Resolve("${secret:exec:echo 'a b' $HOME;}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "a b $HOME;");
}

TEST_F(ResolverTest, ExecResultIsCachedUntilTheTtlExpires) {
  const std::string counter = (dir_ / "runs").string();
  const std::string ref =
      "${secret:exec:/bin/sh -c 'echo run >> " + counter + "; echo exec-secret'}";
  for (int i = 0; i < 3; ++i) {
    auto out = resolver_.Resolve(ref);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, "exec-secret");
  }
  EXPECT_EQ(LineCount(counter), 1);
  clock_.AdvanceMs(60'001);
  ASSERT_TRUE(resolver_.Resolve(ref).ok());
  EXPECT_EQ(LineCount(counter), 2);
}

TEST_F(ResolverTest, ExecFailureReportsStatusButNotOutput) {
  const std::string path = WriteFile("out", "leaked-value\n");
  auto out = resolver_.Resolve("${secret:exec:/bin/sh -c 'cat " + path + "; exit 3'}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(out.status().message().find("exited with status 3"), std::string::npos);
  EXPECT_EQ(out.status().message().find("leaked-value"), std::string::npos);
}

TEST_F(ResolverTest, ExecIsKilledAfterTheTimeout) {
  Resolver quick(&redactor_, &clock_, ResolverOptions{.exec_timeout_ms = 50});
  auto out = quick.Resolve("${secret:exec:sleep 30}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "${secret:exec:sleep 30}: command timed out after 50 ms");
}

TEST_F(ResolverTest, UnknownCommandIsNotFound) {
  auto out = resolver_.Resolve("${secret:exec:/nonexistent/sluice-cmd}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kNotFound);
}

TEST_F(ResolverTest, MalformedReferencesAreInvalid) {
  EXPECT_EQ(resolver_.Resolve("${secret:env:X").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver_.Resolve("${secret:env}").status().code(), StatusCode::kInvalidArgument);
  auto unknown = resolver_.Resolve("${secret:vault:x}");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown secret provider 'vault'"), std::string::npos);
}

TEST(RedactorTest, MasksEveryKnownValueLongestFirst) {
  Redactor r;
  r.Add("abc");
  r.Add("abcdef");
  r.Add("");
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.Redact("x abcdef y abc z"), "x **** y **** z");
  EXPECT_EQ(r.Redact("nothing here"), "nothing here");
}

TEST(RedactDsnTest, HidesKeyValuePasswords) {
  EXPECT_EQ(RedactDsn("host=db password=s3cret user=x"), "host=db password=**** user=x");
  EXPECT_EQ(RedactDsn("host=db password = 'a b\\'c' user=x"), "host=db password = **** user=x");
  EXPECT_EQ(RedactDsn("host=db user=x"), "host=db user=x");
}

TEST(RedactDsnTest, HidesUriPasswords) {
  EXPECT_EQ(RedactDsn("postgresql://u:p%40ss@h:5432/db?sslmode=require"),
            "postgresql://u:****@h:5432/db?sslmode=require");
  EXPECT_EQ(RedactDsn("postgres://u@h/db?password=x&user=u"),
            "postgres://u@h/db?password=****&user=u");
  EXPECT_EQ(RedactDsn("postgresql://h/db"), "postgresql://h/db");
}

}  // namespace
}  // namespace sluice::secrets
