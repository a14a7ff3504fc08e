// The S3 store against @20minutes/s3rver 4.0.4, which verifies SigV4 signatures: proves that
// what curl signs (path, canonical query, x-amz-content-sha256) matches what a server computes.
#include <gtest/gtest.h>

#include <filesystem>

#include "objectstore/s3_store.h"
#include "testutil/objectstore_s3rver.h"

namespace sluice::objectstore {
namespace {

constexpr const char* kBucket = "sluice-test";

aws::EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

class S3rverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testutil::S3rverProcess::Start(SLUICE_SOURCE_DIR, kBucket);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  StoreOptions Options(const std::string& url = std::string("s3://") + kBucket) {
    StoreOptions options;
    options.url = url;
    options.endpoint = server_->endpoint();
    options.path_style = true;
    options.region = "us-east-1";
    options.access_key_id = testutil::S3rverProcess::kAccessKey;
    options.secret_access_key = testutil::S3rverProcess::kSecretKey;
    return options;
  }

  std::unique_ptr<S3ObjectStore> Connect(const StoreOptions& options, int list_page_size = 1000) {
    S3Hooks hooks;
    hooks.sleep = [this](int64_t ms) { sleeps_.push_back(ms); };
    hooks.list_page_size = list_page_size;
    auto store = S3ObjectStore::Create(options, NoEnv(), hooks);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  static testutil::S3rverProcess* server_;
  std::vector<int64_t> sleeps_;
};

testutil::S3rverProcess* S3rverTest::server_ = nullptr;

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST_F(S3rverTest, PutGetListDeleteRoundTrip) {
  auto store = Connect(Options());
  ASSERT_TRUE(store->Put("basic/one.json", "{\"a\":1}\n").ok());
  ASSERT_TRUE(store->Put("basic/two.json", "{\"a\":2}\n").ok());
  ASSERT_TRUE(store->Put("basic/empty", "").ok());
  EXPECT_EQ(*store->Get("basic/one.json"), "{\"a\":1}\n");
  EXPECT_EQ(*store->Get("basic/empty"), "");
  auto keys = store->List("basic/");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, (std::vector<std::string>{"basic/empty", "basic/one.json", "basic/two.json"}));
  ASSERT_TRUE(store->Put("basic/one.json", "replaced").ok());
  EXPECT_EQ(*store->Get("basic/one.json"), "replaced");
  ASSERT_TRUE(store->Delete("basic/one.json").ok());
  EXPECT_EQ(store->Get("basic/one.json").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*store->List("basic/"), (std::vector<std::string>{"basic/empty", "basic/two.json"}));
}

TEST_F(S3rverTest, KeysWithSpacesUnicodeAndReservedCharactersAreSignedAndListed) {
  auto store = Connect(Options());
  // s3rver 4.0.4 double-escapes '&' and '\'' in list results (a server bug), so those two are
  // covered by the fake-server list test instead.
  const std::vector<std::string> keys = {"odd/a b c.json", "odd/Zürich/日本語.json",
                                         "odd/plus+eq=semi;.json", "odd/tilde~paren(1)!*%.json"};
  for (const auto& key : keys) {
    Status s = store->Put(key, "data of " + key);
    ASSERT_TRUE(s.ok()) << key << ": " << s.ToString();
  }
  for (const auto& key : keys) EXPECT_EQ(*store->Get(key), "data of " + key) << key;
  auto listed = store->List("odd/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(*listed, sorted);
}

TEST_F(S3rverTest, ListFollowsContinuationAcrossPages) {
  auto store = Connect(Options(), /*list_page_size=*/3);
  std::vector<std::string> expected;
  for (int i = 0; i < 8; ++i) {
    std::string key = "paged/k" + std::to_string(i);
    ASSERT_TRUE(store->Put(key, "x").ok());
    expected.push_back(key);
  }
  int64_t before = store->RequestCountForTest();
  auto keys = store->List("paged/");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, expected);
  EXPECT_EQ(store->RequestCountForTest() - before, 3);  // pages of 3, 3, 2
}

TEST_F(S3rverTest, PrefixedStoreKeepsKeysRelative) {
  auto store = Connect(Options(std::string("s3://") + kBucket + "/tenant-a"));
  ASSERT_TRUE(store->Put("x/1.json", "one").ok());
  auto root = Connect(Options());
  EXPECT_EQ(*root->Get("tenant-a/x/1.json"), "one");
  EXPECT_EQ(*store->List("x/"), std::vector<std::string>{"x/1.json"});
  EXPECT_EQ(store->Describe(), std::string("s3://") + kBucket + "/tenant-a");
}

TEST_F(S3rverTest, MultipartUploadWithSeveralPartsAssemblesTheObject) {
  StoreOptions options = Options();
  options.multipart_threshold_bytes = 5 << 20;
  options.part_size_bytes = 5 << 20;
  options.max_parallel_parts = 2;
  auto store = Connect(options);
  std::string data = Pattern((3 * 5 << 20) + 12345, 1);  // 4 parts: 3 x 5 MiB + a tail
  int64_t before = store->RequestCountForTest();
  Status s = store->Put("multi/big.bin", data);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Create + 4 parts + Complete.
  EXPECT_EQ(store->RequestCountForTest() - before, 6);
  auto back = store->Get("multi/big.bin");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data) << "multipart object differs (" << back->size() << " vs "
                             << data.size() << " bytes)";
  // No upload is left pending on the server.
  std::error_code ec;
  size_t pending = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(server_->data_dir(), ec)) {
    if (entry.path().parent_path().filename() == "._S3rver_uploads") ++pending;  // s3rver layout
  }
  EXPECT_EQ(pending, 0u);
}

TEST_F(S3rverTest, WrongSecretIsAClearErrorAndNotRetried) {
  StoreOptions options = Options();
  options.secret_access_key = "definitely-not-the-secret";
  options.max_attempts = 5;
  auto store = Connect(options);
  Status s = store->Put("denied/k.json", "v");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), std::string("s3://") + kBucket +
                             "/denied/k.json: PutObject denied (403 SignatureDoesNotMatch): check "
                             "the secret access key "
                             "(credentials from store options)");
  EXPECT_EQ(s.message().find("definitely-not-the-secret"), std::string::npos);
  EXPECT_EQ(store->RequestCountForTest(), 1);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(S3rverTest, UnknownAccessKeyNamesTheAccessKey) {
  StoreOptions options = Options();
  options.access_key_id = "NOSUCHKEY";
  auto store = Connect(options);
  Status s = store->Put("denied/k.json", "v");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("(403 InvalidAccessKeyId): check the access key id"),
            std::string::npos)
      << s.message();
}

TEST_F(S3rverTest, OpenBuildsAnS3StoreFromTheUrl) {
  auto store = Open(Options());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("open/k", "via Open").ok());
  EXPECT_EQ(*(*store)->Get("open/k"), "via Open");
}

}  // namespace
}  // namespace sluice::objectstore
