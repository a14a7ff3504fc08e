#include "auth/key_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string_view>

#include "common/base64.h"
#include "common/file_util.h"

namespace sluice::auth {
namespace {

constexpr size_t kNonce = 12, kTag = 16, kMasterKey = 32;

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

// Writes `data` to `path` atomically with mode 0600.
Status WritePrivateFile(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(tmp, errno);
  Status st = fs::WriteAll(fd, data, tmp);
  if (st.ok() && ::fchmod(fd, 0600) != 0) st = Status::FromErrno(tmp, errno);
  if (st.ok() && ::fsync(fd) != 0) st = Status::FromErrno(tmp + ": fsync", errno);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Status::FromErrno(path, errno);
  if (!st.ok()) return st;
  return fs::FsyncDir(fs::DirName(path));
}

// `n` random characters from `alphabet`.
Result<std::string> RandomString(size_t n, std::string_view alphabet) {
  std::string bytes(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    return Status::Internal("RAND_bytes failed");
  }
  std::string out;
  for (char b : bytes) out += alphabet[static_cast<unsigned char>(b) % alphabet.size()];
  return out;
}

Result<std::string> Seal(const std::string& key, const std::string& id, const std::string& plain) {
  std::string out(kNonce + plain.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(o, kNonce) != 1) return Status::Internal("RAND_bytes failed");
  CipherCtx c;
  int len = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, k, o) != 1 ||
      EVP_EncryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(id.data()),
                        static_cast<int>(id.size())) != 1 ||
      EVP_EncryptUpdate(c.ctx, o + kNonce, &len,
                        reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(c.ctx, o + kNonce + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, kTag, o + kNonce + plain.size()) != 1) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> Open(const std::string& key, const std::string& id, std::string sealed) {
  if (sealed.size() < kNonce + kTag)
    return Status::Corruption("key " + id + ": sealed secret too short");
  auto* s = reinterpret_cast<unsigned char*>(sealed.data());
  const size_t n = sealed.size() - kNonce - kTag;
  std::string plain(n, '\0');
  CipherCtx c;
  int len = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, k, s) != 1 ||
      EVP_DecryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(id.data()),
                        static_cast<int>(id.size())) != 1 ||
      EVP_DecryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(plain.data()), &len, s + kNonce,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kTag, s + kNonce + n) != 1 ||
      EVP_DecryptFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(plain.data()) + len, &len) != 1) {
    return Status::Corruption("key " + id +
                              ": the secret does not decrypt under auth/master.key (wrong or "
                              "damaged master key)");
  }
  return plain;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    size_t p = s.find(sep);
    out.emplace_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

}  // namespace

KeyStore::KeyStore(std::string data_dir) : dir_(fs::Join(data_dir, "auth")) {}

bool KeyStore::Exists() const {
  return fs::Exists(fs::Join(dir_, "keys"));
}

Result<std::string> KeyStore::MasterKey(bool create) const {
  const std::string path = fs::Join(dir_, "master.key");
  if (fs::Exists(path)) {
    SLUICE_ASSIGN_OR_RETURN(std::string key, fs::ReadFile(path));
    if (key.size() != kMasterKey) {
      return Status::Corruption(path + ": must hold exactly 32 bytes, has " +
                                std::to_string(key.size()));
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      return Status::FailedPrecondition(path + ": readable by others (chmod 600 it)");
    }
    return key;
  }
  if (!create) return Status::NotFound(path + ": no master key (no key was ever created)");
  std::string key(kMasterKey, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kMasterKey) != 1) {
    return Status::Internal("RAND_bytes failed");
  }
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(dir_));
  ::chmod(dir_.c_str(), 0700);
  SLUICE_RETURN_IF_ERROR(WritePrivateFile(path, key));
  return key;
}

Result<std::vector<std::string>> KeyStore::Lines() const {
  const std::string path = fs::Join(dir_, "keys");
  if (!fs::Exists(path)) return std::vector<std::string>{};
  SLUICE_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
  std::vector<std::string> lines;
  for (auto& l : Split(text, '\n')) {
    if (!l.empty()) lines.push_back(std::move(l));
  }
  return lines;
}

Status KeyStore::Save(const std::vector<std::string>& lines) const {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  SLUICE_RETURN_IF_ERROR(fs::CreateDirs(dir_));
  return WritePrivateFile(fs::Join(dir_, "keys"), text);
}

Result<StoredKey> KeyStore::Create(const std::string& user, const std::string& policy_json,
                                   int64_t now_ms) {
  SLUICE_ASSIGN_OR_RETURN(std::string master, MasterKey(true));
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> lines, Lines());
  StoredKey key;
  SLUICE_ASSIGN_OR_RETURN(std::string suffix, RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
  key.id = "AKIA" + suffix;
  SLUICE_ASSIGN_OR_RETURN(
      key.secret,
      RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));
  key.user = user.empty() ? key.id : user;
  key.created_ms = now_ms;
  key.policy_json = policy_json;
  SLUICE_ASSIGN_OR_RETURN(std::string sealed, Seal(master, key.id, key.secret));
  lines.push_back(key.id + "\t" + key.user + "\t" + std::to_string(now_ms) + "\t" +
                  base64::Encode(sealed) + "\t" + base64::Encode(policy_json));
  SLUICE_RETURN_IF_ERROR(Save(lines));
  return key;
}

Result<std::vector<StoredKey>> KeyStore::Load(bool with_secrets) const {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> lines, Lines());
  std::string master;
  if (with_secrets && !lines.empty()) {
    SLUICE_ASSIGN_OR_RETURN(master, MasterKey(false));
  }
  std::vector<StoredKey> keys;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto f = Split(lines[i], '\t');
    const std::string where = fs::Join(dir_, "keys") + ":" + std::to_string(i + 1);
    auto sealed = f.size() == 5 ? base64::Decode(f[3]) : std::nullopt;
    auto policy = f.size() == 5 ? base64::Decode(f[4]) : std::nullopt;
    if (!sealed || !policy || f[2].empty() ||
        f[2].find_first_not_of("0123456789") != std::string::npos) {
      return Status::Corruption(where + ": not a key line");
    }
    StoredKey k;
    k.id = f[0];
    k.user = f[1];
    k.created_ms = std::stoll(f[2]);
    k.policy_json = std::move(*policy);
    if (with_secrets) {
      SLUICE_ASSIGN_OR_RETURN(k.secret, Open(master, k.id, std::move(*sealed)));
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

Status KeyStore::Revoke(const std::string& id) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> lines, Lines());
  std::vector<std::string> kept;
  for (auto& l : lines) {
    if (l.substr(0, l.find('\t')) != id) kept.push_back(std::move(l));
  }
  if (kept.size() == lines.size()) return Status::NotFound("no key " + id + " in " + dir_);
  return Save(kept);
}

}  // namespace sluice::auth
