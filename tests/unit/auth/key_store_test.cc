#include "auth/key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace sluice::auth {
namespace {

std::string TempDir() {
  std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  t += "/sluice-keystore-XXXXXX";
  return mkdtemp(t.data());
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(KeyStore, CreatedSecretIsStoredEncryptedInPrivateFilesAndLoadsBack) {
  const std::string dir = TempDir();
  KeyStore store(dir);
  EXPECT_FALSE(store.Exists());
  auto key = store.Create("producer", R"({"Statement":[]})", 1'700'000'000'000);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->id.substr(0, 4), "AKIA");
  EXPECT_EQ(key->id.size(), 20u);
  EXPECT_EQ(key->secret.size(), 40u);
  EXPECT_TRUE(store.Exists());
  for (const char* f : {"/auth/keys", "/auth/master.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  EXPECT_EQ(Slurp(dir + "/auth/keys").find(key->secret), std::string::npos);
  auto loaded = KeyStore(dir).Load(true);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, key->id);
  EXPECT_EQ((*loaded)[0].secret, key->secret);
  EXPECT_EQ((*loaded)[0].user, "producer");
  EXPECT_EQ((*loaded)[0].policy_json, R"({"Statement":[]})");
  auto listed = KeyStore(dir).Load(false);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE((*listed)[0].secret.empty());
}

TEST(KeyStore, RevokeRemovesOnlyThatKeyAndTheFileStays) {
  const std::string dir = TempDir();
  KeyStore store(dir);
  auto a = store.Create("a", "", 1);
  auto b = store.Create("b", "", 2);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(store.Revoke(a->id).ok());
  EXPECT_EQ(store.Revoke(a->id).code(), StatusCode::kNotFound);
  auto loaded = store.Load(true);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, b->id);
  ASSERT_TRUE(store.Revoke(b->id).ok());
  EXPECT_TRUE(store.Exists());  // auth stays on with every key revoked
}

TEST(KeyStore, AnotherMasterKeyDoesNotDecrypt) {
  const std::string dir = TempDir();
  KeyStore store(dir);
  ASSERT_TRUE(store.Create("a", "", 1).ok());
  {
    std::ofstream out(dir + "/auth/master.key", std::ios::binary | std::ios::trunc);
    out << std::string(32, 'x');
  }
  auto loaded = store.Load(true);
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_NE(loaded.status().message().find("does not decrypt"), std::string::npos);
}

}  // namespace
}  // namespace sluice::auth
