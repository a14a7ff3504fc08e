#include "cli/cmd_keys.h"

#include <ctime>

#include "auth/key_store.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "config/config.h"

namespace sluice::cli {
namespace {

std::string FormatTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

CLI::App* AddKeysCommand(CLI::App& app, KeysOptions& o) {
  auto* keys = app.add_subcommand(
      "keys",
      "Manage the access keys kept in the data dir (SigV4; secrets stored encrypted, shown once)");
  keys->require_subcommand(1);
  keys->footer(
      "Keys in the data dir and keys in the config's auth: block both work; once the data dir "
      "has a key file every request must be signed. A running server reloads them on SIGHUP. "
      "See docs/security.md.");
  auto* create = keys->add_subcommand("create", "Create a key; prints its id and secret once");
  create->add_option("--user", o.user, "Principal name (arn:aws:iam::<account>:user/<user>)");
  create->add_option("--policy", o.policy,
                     "IAM policy JSON (Statement: Effect, Action, Resource), or @FILE; without "
                     "one the key may do nothing");
  create->callback([&o] { o.action = "create"; });
  auto* list = keys->add_subcommand("list", "List the keys (never their secrets)");
  list->callback([&o] { o.action = "list"; });
  auto* revoke = keys->add_subcommand("revoke", "Delete a key (takes effect on SIGHUP)");
  revoke->add_option("id", o.id, "Access key id")->required();
  revoke->callback([&o] { o.action = "revoke"; });
  for (auto* c : {create, list, revoke}) {
    c->add_option("--data-dir", o.data_dir, "The server's data directory (default ./var)");
  }
  return keys;
}

int RunKeys(const KeysOptions& o, std::ostream& out, std::ostream& err) {
  auth::KeyStore store(o.data_dir);
  if (o.action == "create") {
    std::string policy = o.policy;
    if (!policy.empty() && policy[0] == '@') {
      auto text = fs::ReadFile(policy.substr(1));
      if (!text.ok()) {
        err << "sluice keys create: " << text.status().message() << "\n";
        return 2;
      }
      policy = *text;
    }
    if (!policy.empty()) {
      auth::Policy parsed;
      if (Status st = config::ParsePolicy(policy, "--policy", parsed); !st.ok()) {
        err << "sluice keys create: " << st.message() << "\n";
        return 2;
      }
    }
    auto key = store.Create(o.user, policy, Clock::System().NowMs());
    if (!key.ok()) {
      err << "sluice keys create: " << key.status().ToString() << "\n";
      return 1;
    }
    out << "AccessKeyId: " << key->id << "\nSecretAccessKey: " << key->secret << "\n";
    err << "The secret is shown only now: store it. A running server picks the key up on "
           "SIGHUP.\n";
    return 0;
  }
  if (o.action == "list") {
    auto keys = store.Load(false);
    if (!keys.ok()) {
      err << "sluice keys list: " << keys.status().ToString() << "\n";
      return 1;
    }
    for (const auto& k : *keys) {
      out << k.id << "\t" << k.user << "\t" << FormatTime(k.created_ms) << "\t"
          << (k.policy_json.empty() ? "(no policy: nothing allowed)" : k.policy_json) << "\n";
    }
    return 0;
  }
  if (Status st = store.Revoke(o.id); !st.ok()) {
    err << "sluice keys revoke: " << st.message() << "\n";
    return 1;
  }
  err << "Revoked " << o.id << ". A running server drops it on SIGHUP.\n";
  return 0;
}

}  // namespace sluice::cli
