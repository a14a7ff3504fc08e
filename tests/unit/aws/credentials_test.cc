#include "aws/credentials.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace sluice::aws {
namespace {

EnvLookup MapEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

class AwsCredentialsTest : public ::testing::Test {
 protected:
  AwsCredentialsTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aws_resolver.XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    std::filesystem::create_directories(dir_ + "/.aws");
    std::ofstream(dir_ + "/.aws/credentials")
        << "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = sfile\n";
    std::ofstream(dir_ + "/.aws/config") << "[default]\nregion = eu-north-1\n";
  }
  ~AwsCredentialsTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AwsCredentialsTest, ExplicitValuesComeFirstAndAreNamedBySource) {
  CredentialSources sources;
  sources.access_key_id = "AKIDX";
  sources.secret_access_key = "sx";
  sources.session_token = "tx";
  sources.explicit_source = "agent config";
  auto c = ResolveCredentials(
      sources, MapEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "senv"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDX");
  EXPECT_EQ(c->session_token, "tx");
  EXPECT_EQ(c->source, "agent config");
}

TEST_F(AwsCredentialsTest, TheEnvironmentComesBeforeTheSharedFile) {
  auto c = ResolveCredentials({}, MapEnv({{"HOME", dir_},
                                          {"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                          {"AWS_SECRET_ACCESS_KEY", "senv"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->source, "environment");
  auto file = ResolveCredentials({}, MapEnv({{"HOME", dir_}}));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->access_key_id, "AKIDFILE");
  EXPECT_EQ(file->source, dir_ + "/.aws/credentials");
}

TEST_F(AwsCredentialsTest, WithoutSharedFilesOnlyTheEnvironmentIsRead) {
  CredentialSources env_only;
  env_only.shared_files = false;
  auto c = ResolveCredentials(env_only, MapEnv({{"HOME", dir_}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.status().message(),
            "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment");
  EXPECT_EQ(ResolveRegion("", MapEnv({{"HOME", dir_}}), /*shared_files=*/false), "us-east-1");
  EXPECT_EQ(ResolveRegion("", MapEnv({{"HOME", dir_}})), "eu-north-1");
}

TEST_F(AwsCredentialsTest, HalfAKeyPairIsAnErrorThatShowsNoSecret) {
  auto half = ResolveCredentials({}, MapEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"}}));
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().message(),
            "only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set in the environment; set "
            "both");
  CredentialSources sources;
  sources.secret_access_key = "s3cr3t";
  sources.explicit_source = "agent config";
  auto explicit_half = ResolveCredentials(sources, MapEnv({}));
  ASSERT_FALSE(explicit_half.ok());
  EXPECT_EQ(explicit_half.status().message().find("s3cr3t"), std::string::npos);
}

TEST_F(AwsCredentialsTest, RegionPrefersExplicitThenAwsRegionThenDefaultRegion) {
  auto env = MapEnv({{"HOME", dir_}, {"AWS_REGION", "ap-east-1"}, {"AWS_DEFAULT_REGION", "x"}});
  EXPECT_EQ(ResolveRegion("sa-east-1", env), "sa-east-1");
  EXPECT_EQ(ResolveRegion("", env), "ap-east-1");
  EXPECT_EQ(ResolveRegion("", MapEnv({{"AWS_DEFAULT_REGION", "me-south-1"}}), false), "me-south-1");
  EXPECT_EQ(ResolveRegion("", MapEnv({})), "us-east-1");
}

}  // namespace
}  // namespace sluice::aws
