// S3 client behaviour against a scripted local HTTP server: request shape, retries, error
// mapping, multipart abort, list continuation. The real-signature checks are in the s3rver test.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/base64.h"
#include "objectstore/s3_store.h"
#include "testutil/objectstore_fake_http_server.h"

namespace sluice::objectstore {
namespace {

using testutil::FakeHttpReply;
using testutil::FakeHttpRequest;
using testutil::FakeHttpServer;

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

aws::EnvLookup MapEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::string Md5Base64(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_md5(), nullptr);
  return base64::Encode(std::string_view(reinterpret_cast<char*>(out), n));
}

FakeHttpReply S3Error(int status, const std::string& code, const std::string& message = "") {
  return {status, "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + message +
                      "</Message></Error>"};
}

class S3ClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<S3ObjectStore> Connect(FakeHttpServer& server,
                                         const std::string& url = "s3://bkt") {
    options_.url = url;
    options_.endpoint = server.endpoint();
    options_.path_style = true;
    options_.region = "us-west-2";
    options_.access_key_id = "AKIDEXAMPLE";
    options_.secret_access_key = kSecret;
    S3Hooks hooks;
    hooks.sleep = [this](int64_t ms) { sleeps_.push_back(ms); };
    hooks.seed = 1;
    hooks.list_page_size = list_page_size_;
    auto store = S3ObjectStore::Create(options_, MapEnv({}), hooks);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  StoreOptions options_;
  int list_page_size_ = 1000;
  std::vector<int64_t> sleeps_;
};

TEST(S3EncodingTest, UriEncodeKeepsUnreservedAndEncodesUtf8Bytes) {
  EXPECT_EQ(UriEncode("logs/2024/a b+c~d_e-f.g", true), "logs/2024/a%20b%2Bc~d_e-f.g");
  EXPECT_EQ(UriEncode("Zürich/日本", true), "Z%C3%BCrich/%E6%97%A5%E6%9C%AC");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("!'()*", true), "%21%27%28%29%2A");
}

TEST(S3EncodingTest, CanonicalQueryIsSortedEncodedAndWritesBareKeysWithEquals) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"uploadId", "x/y"}, {"partNumber", "3"}}),
            "partNumber=3&uploadId=x%2Fy");
  EXPECT_EQ(
      CanonicalQuery({{"prefix", "a b/"}, {"list-type", "2"}, {"continuation-token", "t+/="}}),
      "continuation-token=t%2B%2F%3D&list-type=2&prefix=a%20b%2F");
}

TEST(S3UrlTest, ParsesBucketAndPrefix) {
  auto a = ParseS3Url("s3://my-bucket");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bucket, "my-bucket");
  EXPECT_EQ(a->prefix, "");
  auto b = ParseS3Url("s3://my-bucket/raw/data");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->prefix, "raw/data/");
  EXPECT_EQ(ParseS3Url("s3://").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseS3Url("s3://bad bucket").status().code(), StatusCode::kInvalidArgument);
}

TEST(S3UrlTest, OpenRejectsUnknownSchemesNamingTheAllowedOnes) {
  StoreOptions options;
  options.url = "ftp://x";
  auto r = Open(options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("s3://<bucket>[/<prefix>]"), std::string::npos);
}

class CredentialsTest : public ::testing::Test {
 protected:
  CredentialsTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aws_creds.XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  ~CredentialsTest() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(CredentialsTest, OptionsWinOverTheEnvironment) {
  StoreOptions options;
  options.access_key_id = "AKIDOPT";
  options.secret_access_key = "secret-opt";
  auto c = ResolveStoreCredentials(
      options, MapEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "x"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIDOPT");
  EXPECT_EQ(c->source, "store options");
}

TEST_F(CredentialsTest, EnvironmentIncludingSessionTokenAndRegion) {
  auto env = MapEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                     {"AWS_SECRET_ACCESS_KEY", "secret-env"},
                     {"AWS_SESSION_TOKEN", "tok"},
                     {"AWS_DEFAULT_REGION", "eu-west-1"}});
  auto c = ResolveStoreCredentials(StoreOptions{}, env);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->secret_access_key, "secret-env");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(ResolveStoreRegion(StoreOptions{}, env), "eu-west-1");
}

TEST_F(CredentialsTest, SharedFilesWithProfile) {
  std::string creds =
      Write("credentials",
            "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = sdef\n\n"
            "[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=sci\naws_session_token=tci\n");
  std::string config =
      Write("config", "[default]\nregion = us-east-2\n[profile ci]\nregion = ap-south-1\n");
  auto env = MapEnv(
      {{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config}, {"AWS_PROFILE", "ci"}});
  auto c = ResolveStoreCredentials(StoreOptions{}, env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCI");
  EXPECT_EQ(c->secret_access_key, "sci");
  EXPECT_EQ(c->session_token, "tci");
  EXPECT_EQ(c->source, creds);
  EXPECT_EQ(ResolveStoreRegion(StoreOptions{}, env), "ap-south-1");
  auto home = MapEnv({{"HOME", dir_}});
  std::filesystem::create_directories(dir_ + "/.aws");
  std::filesystem::copy_file(creds, dir_ + "/.aws/credentials");
  EXPECT_EQ(ResolveStoreCredentials(StoreOptions{}, home)->access_key_id, "AKIDDEF");
}

TEST_F(CredentialsTest, MissingCredentialsNameEveryPlaceLookedAt) {
  auto c = ResolveStoreCredentials(StoreOptions{}, MapEnv({{"HOME", dir_}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"),
            std::string::npos);
  EXPECT_NE(c.status().message().find(dir_ + "/.aws/credentials"), std::string::npos);
  auto half =
      ResolveStoreCredentials(StoreOptions{}, MapEnv({{"AWS_SECRET_ACCESS_KEY", "s3cr3t"}}));
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().message().find("s3cr3t"), std::string::npos);
}

TEST_F(S3ClientTest, PutSendsSignedRequestWithIntegrityHeadersAndEncodedKey) {
  FakeHttpServer server([](const FakeHttpRequest&) {
    return FakeHttpReply{200, "", {{"ETag", "\"x\""}}};
  });
  auto store = Connect(server, "s3://bkt/raw");
  std::string body = "{\"a\":1}\n";
  ASSERT_TRUE(store->Put("2024/01/a b+ü.json", body).ok());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const FakeHttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, "/bkt/raw/2024/01/a%20b%2B%C3%BC.json");
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.headers.at("content-md5"), Md5Base64(body));
  EXPECT_EQ(r.headers.at("x-amz-content-sha256"),
            "e346432021b04179518d9614f3560ccd71354a4ee101ddcb893d6959a9d6301c");
  const std::string& auth = r.headers.at("authorization");
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << auth;
  EXPECT_NE(auth.find("/us-west-2/s3/aws4_request"), std::string::npos) << auth;
  EXPECT_NE(auth.find("x-amz-content-sha256"), std::string::npos) << auth;
  EXPECT_EQ(auth.find(kSecret), std::string::npos);
  EXPECT_EQ(store->Describe(), "s3://bkt/raw");
}

// Retrying a single-request call is the caller's job (the delivery worker's Retrier): the store
// sends one request and reports its error, so retries never nest.
TEST_F(S3ClientTest, AServerErrorIsReturnedAfterOneRequestForTheCallerToRetry) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeHttpRequest&) {
    return ++calls <= 2 ? S3Error(500, "InternalError", "We encountered an internal error")
                        : FakeHttpReply{200};
  });
  auto store = Connect(server);
  Status first = store->Put("k", "v");
  EXPECT_EQ(first.code(), StatusCode::kUnavailable);
  EXPECT_EQ(first.message(),
            "s3://bkt/k: PutObject failed (500 InternalError): We encountered an internal error");
  EXPECT_EQ(store->RequestCountForTest(), 1);
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_FALSE(store->Put("k", "v").ok());
  ASSERT_TRUE(store->Put("k", "v").ok());
  EXPECT_EQ(store->RequestCountForTest(), 3);
  for (const auto& r : server.requests()) EXPECT_EQ(r.body, "v");
}

TEST_F(S3ClientTest, ADroppedConnectionIsUnavailableAndTheNextCallSucceeds) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeHttpRequest&) {
    FakeHttpReply reply{200, "payload"};
    reply.drop_connection = ++calls <= 1;
    return reply;
  });
  auto store = Connect(server);
  auto dropped = store->Get("k");
  EXPECT_EQ(dropped.status().code(), StatusCode::kUnavailable);
  auto value = store->Get("k");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, "payload");
  EXPECT_EQ(store->RequestCountForTest(), 2);
}

TEST_F(S3ClientTest, ThrottlingIsResourceExhaustedWithoutRetry) {
  FakeHttpServer server([](const FakeHttpRequest&) {
    return S3Error(503, "SlowDown", "Please reduce your request rate.");
  });
  options_.max_attempts = 3;
  auto store = Connect(server);
  Status s = store->Put("k", "v");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "s3://bkt/k: PutObject throttled (503 SlowDown): Please reduce your request rate.");
  EXPECT_EQ(store->RequestCountForTest(), 1);
}

TEST_F(S3ClientTest, SignatureMismatchIsAClearNonRetryableError) {
  FakeHttpServer server([](const FakeHttpRequest&) {
    return S3Error(403, "SignatureDoesNotMatch",
                   "The request signature we calculated does not match");
  });
  auto store = Connect(server);
  Status s = store->Put("dir/k.json", "v");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "s3://bkt/dir/k.json: PutObject denied (403 SignatureDoesNotMatch): check the secret "
            "access key "
            "(credentials from store options)");
  EXPECT_EQ(s.message().find(kSecret), std::string::npos);
  EXPECT_EQ(store->RequestCountForTest(), 1);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(S3ClientTest, MissingKeyIsNotFoundWithoutRetry) {
  FakeHttpServer server([](const FakeHttpRequest&) {
    return S3Error(404, "NoSuchKey", "The specified key does not exist.");
  });
  auto store = Connect(server);
  auto r = store->Get("nope");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      r.status().message(),
      "s3://bkt/nope: GetObject found nothing (404 NoSuchKey): The specified key does not exist.");
  EXPECT_EQ(store->RequestCountForTest(), 1);
}

TEST_F(S3ClientTest, SilentServerTimesOutAsUnavailable) {
  FakeHttpServer server([](const FakeHttpRequest&) {
    FakeHttpReply reply;
    reply.silent_ms = 10'000;  // bounded; the client gives up first
    return reply;
  });
  options_.low_speed_timeout_s = 1;
  auto store = Connect(server);
  auto r = store->Get("k");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("s3://bkt/k: GetObject failed: "), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(store->RequestCountForTest(), 1);
}

// A fake multipart endpoint: records parts, fails the part numbers in `fail_parts` with 403.
struct FakeMultipart {
  std::set<int> fail_parts;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  FakeHttpReply Handle(const FakeHttpRequest& r) {
    std::string q = r.Query();
    if (r.method == "POST" && q == "uploads=") {
      return {200,
              "<InitiateMultipartUploadResult><UploadId>up/1</UploadId></"
              "InitiateMultipartUploadResult>"};
    }
    if (r.method == "PUT" && q.find("partNumber=") == 0) {
      int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      int part = std::stoi(q.substr(11));
      --in_flight;
      if (fail_parts.count(part)) return S3Error(403, "AccessDenied", "Access Denied");
      return {200, "", {{"ETag", "\"etag-" + std::to_string(part) + "\""}}};
    }
    if (r.method == "POST" && q == "uploadId=up%2F1") {
      return {
          200,
          "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>"};
    }
    if (r.method == "DELETE" && q == "uploadId=up%2F1") return {204};
    return S3Error(400, "InvalidRequest", "unexpected " + r.method + " " + r.target);
  }
};

std::string Numbered(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += std::to_string(i) + ",";
  s.resize(n);
  return s;
}

TEST_F(S3ClientTest, MultipartUploadSendsOrderedPartsAndCompletes) {
  FakeMultipart fake;
  FakeHttpServer server([&](const FakeHttpRequest& r) { return fake.Handle(r); });
  options_.multipart_threshold_bytes = 1000;
  options_.part_size_bytes = 400;
  options_.max_parallel_parts = 2;
  auto store = Connect(server);
  std::string data = Numbered(1900);  // 5 parts: 4 x 400 + 300
  ASSERT_TRUE(store->Put("big", data).ok());

  std::map<int, std::string> parts;
  std::string complete_body;
  for (const auto& r : server.requests()) {
    if (r.method == "PUT") {
      std::string q = r.Query();
      EXPECT_EQ(q.substr(q.find('&')), "&uploadId=up%2F1");
      EXPECT_EQ(r.headers.at("content-md5"), Md5Base64(r.body));
      parts[std::stoi(q.substr(11))] = r.body;
    }
    if (r.method == "POST" && r.Query() == "uploadId=up%2F1") complete_body = r.body;
    EXPECT_NE(r.method, "DELETE");
  }
  ASSERT_EQ(parts.size(), 5u);
  std::string joined;
  for (const auto& [n, body] : parts) joined += body;
  EXPECT_EQ(joined, data);
  EXPECT_EQ(complete_body,
            "<CompleteMultipartUpload>"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;etag-2&quot;</ETag></Part>"
            "<Part><PartNumber>3</PartNumber><ETag>&quot;etag-3&quot;</ETag></Part>"
            "<Part><PartNumber>4</PartNumber><ETag>&quot;etag-4&quot;</ETag></Part>"
            "<Part><PartNumber>5</PartNumber><ETag>&quot;etag-5&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_LE(fake.max_in_flight.load(), 2);
}

TEST_F(S3ClientTest, FailedPartAbortsTheUploadAndNeverCompletes) {
  FakeMultipart fake;
  fake.fail_parts = {2};
  FakeHttpServer server([&](const FakeHttpRequest& r) { return fake.Handle(r); });
  options_.multipart_threshold_bytes = 1000;
  options_.part_size_bytes = 400;
  auto store = Connect(server);
  Status s = store->Put("big", Numbered(1900));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message().rfind("s3://bkt/big: UploadPart denied (403 AccessDenied)", 0), 0u)
      << s.message();
  int aborts = 0;
  for (const auto& r : server.requests()) {
    if (r.method == "DELETE" && r.Query() == "uploadId=up%2F1") ++aborts;
    EXPECT_FALSE(r.method == "POST" && r.Query() == "uploadId=up%2F1")
        << "CompleteMultipartUpload was sent";
  }
  EXPECT_EQ(aborts, 1);
}

// A multipart upload's sub-requests are retried inside the one Put call (redoing the upload
// would resend every part): a part that fails with 500 twice is sent a third time, with backoff.
TEST_F(S3ClientTest, AMultipartPartIsRetriedWithBackoffUntilItSucceeds) {
  FakeMultipart fake;
  std::atomic<int> part3_failures{0};
  FakeHttpServer server([&](const FakeHttpRequest& r) {
    if (r.method == "PUT" && r.Query().rfind("partNumber=3&", 0) == 0 && ++part3_failures <= 2) {
      return S3Error(500, "InternalError", "We encountered an internal error");
    }
    return fake.Handle(r);
  });
  options_.multipart_threshold_bytes = 1000;
  options_.part_size_bytes = 400;
  options_.max_parallel_parts = 1;
  auto store = Connect(server);
  ASSERT_TRUE(store->Put("big", Numbered(1900)).ok());
  // Create + 5 parts + 2 failed sends of part 3 + Complete.
  EXPECT_EQ(store->RequestCountForTest(), 9);
  EXPECT_EQ(sleeps_.size(), 2u);
  for (int64_t ms : sleeps_) EXPECT_LE(ms, 200);  // full jitter under 100 ms, then 200 ms
}

TEST_F(S3ClientTest, APartThatKeepsBeingThrottledReportsItsAttemptsAndAborts) {
  FakeMultipart fake;
  FakeHttpServer server([&](const FakeHttpRequest& r) {
    if (r.method == "PUT" && r.Query().rfind("partNumber=2&", 0) == 0) {
      return S3Error(503, "SlowDown", "Please reduce your request rate.");
    }
    return fake.Handle(r);
  });
  options_.multipart_threshold_bytes = 1000;
  options_.part_size_bytes = 400;
  options_.max_parallel_parts = 1;
  options_.max_attempts = 3;
  auto store = Connect(server);
  Status s = store->Put("big", Numbered(1900));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "s3://bkt/big: UploadPart throttled (503 SlowDown): Please reduce your request rate. "
            "(after 3 attempts)");
  int part2 = 0, aborts = 0;
  for (const auto& r : server.requests()) {
    if (r.method == "PUT" && r.Query().rfind("partNumber=2&", 0) == 0) ++part2;
    if (r.method == "DELETE" && r.Query() == "uploadId=up%2F1") ++aborts;
  }
  EXPECT_EQ(part2, 3);
  EXPECT_EQ(aborts, 1);
}

TEST_F(S3ClientTest, ListFollowsContinuationTokensDecodesKeysAndStripsThePrefix) {
  FakeHttpServer server([](const FakeHttpRequest& r) {
    if (r.Query().find("continuation-token=") == std::string::npos) {
      return FakeHttpReply{
          200,
          "<ListBucketResult><IsTruncated>true</IsTruncated>"
          "<Contents><Key>raw/b&amp;c.json</Key></Contents>"
          "<Contents><Key>raw/a.json</Key></Contents>"
          "<NextContinuationToken>tok+/=</NextContinuationToken></ListBucketResult>"};
    }
    return FakeHttpReply{
        200,
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        "<EncodingType>url</EncodingType><Contents><Key>raw/z%C3%BC+x%2By.json</Key></Contents>"
        "</ListBucketResult>"};
  });
  list_page_size_ = 2;
  auto store = Connect(server, "s3://bkt/raw");
  auto keys = store->List("");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, (std::vector<std::string>{"a.json", "b&c.json", "zü x+y.json"}));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/bkt?encoding-type=url&list-type=2&max-keys=2&prefix=raw%2F");
  EXPECT_EQ(requests[1].target,
            "/bkt?continuation-token=tok%2B%2F%3D&encoding-type=url&list-type=2&max-keys=2&prefix="
            "raw%2F");
}

}  // namespace
}  // namespace sluice::objectstore
