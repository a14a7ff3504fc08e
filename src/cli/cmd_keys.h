// `sluice keys create|list|revoke`: the access keys kept (encrypted) in the data dir
// (auth/key_store.h). A running server picks changes up on SIGHUP. The secret is printed once,
// by create; list shows ids, users, creation times and policies, never a secret.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

namespace sluice::cli {

struct KeysOptions {
  std::string data_dir = "./var";
  std::string action;  // create | list | revoke (set by the chosen subcommand)
  std::string user;    // create: principal name (default: the key id)
  std::string policy;  // create: IAM policy JSON, or @FILE
  std::string id;      // revoke
};

CLI::App* AddKeysCommand(CLI::App& app, KeysOptions& options);
int RunKeys(const KeysOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
