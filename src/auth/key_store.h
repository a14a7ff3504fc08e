// The access keys `sluice keys create|list|revoke` manage, kept in the data dir:
//
//   <data_dir>/auth/master.key   32 random bytes (mode 0600), created with the first key
//   <data_dir>/auth/keys         one key per line (mode 0600), written atomically:
//     <id> TAB <user> TAB <created ms> TAB <base64(nonce[12] | AES-256-GCM(secret) | tag[16])>
//          TAB <base64(policy JSON)>
//
// SigV4 verification needs the secret itself, so it is stored encrypted under the master key
// (AES-256-GCM; the key id is the associated data, so a ciphertext cannot be moved to another
// key), never in plain text; it is shown once, by Create. Copying the data dir copies the keys.
// Thread safety: none; one process (the CLI, or the server reading at start and on SIGHUP).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::auth {

struct StoredKey {
  std::string id;
  std::string user;
  int64_t created_ms = 0;
  std::string secret;       // decrypted (Load) or just generated (Create); empty in List
  std::string policy_json;  // the IAM policy document as given
};

class KeyStore {
 public:
  explicit KeyStore(std::string data_dir);

  // True if the data dir has a key file (even with every key revoked): auth stays on.
  bool Exists() const;
  // Creates a key with a fresh id (AKIA + 16 characters) and secret (40 characters).
  Result<StoredKey> Create(const std::string& user, const std::string& policy_json, int64_t now_ms);
  // The keys, secrets decrypted when `with_secrets`.
  Result<std::vector<StoredKey>> Load(bool with_secrets) const;
  // NotFound if there is no such key.
  Status Revoke(const std::string& id);

 private:
  Result<std::string> MasterKey(bool create) const;
  Status Save(const std::vector<std::string>& lines) const;
  Result<std::vector<std::string>> Lines() const;

  std::string dir_;
};

}  // namespace sluice::auth
