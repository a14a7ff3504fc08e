#include "aws/credentials.h"

#include <cstdlib>
#include <fstream>
#include <map>

namespace sluice::aws {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Reads one [section] of an INI-style AWS file; nullopt if the file or section is missing.
std::optional<std::map<std::string, std::string>> ReadIniSection(const std::string& path,
                                                                 const std::string& section) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::map<std::string, std::string> values;
  bool found = false;
  bool inside = false;
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      inside = Trim(line.substr(1, line.size() - 2)) == section;
      found = found || inside;
      continue;
    }
    if (!inside) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    values[Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  if (!found) return std::nullopt;
  return values;
}

std::string Get(const EnvLookup& env, const std::string& name) {
  auto v = env(name);
  return v ? *v : "";
}

std::string HomeFile(const EnvLookup& env, const std::string& override_var,
                     const std::string& name) {
  std::string path = Get(env, override_var);
  if (!path.empty()) return path;
  std::string home = Get(env, "HOME");
  return home.empty() ? "" : home + "/.aws/" + name;
}

std::string Profile(const EnvLookup& env) {
  std::string profile = Get(env, "AWS_PROFILE");
  return profile.empty() ? "default" : profile;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Credentials> ResolveCredentials(const CredentialSources& sources, const EnvLookup& env) {
  const bool has_explicit = !sources.explicit_source.empty();
  if (has_explicit && (!sources.access_key_id.empty() || !sources.secret_access_key.empty())) {
    if (sources.access_key_id.empty() || sources.secret_access_key.empty()) {
      return Status::FailedPrecondition(sources.explicit_source +
                                        " set only one of access_key_id / secret_access_key; "
                                        "set both");
    }
    return Credentials{sources.access_key_id, sources.secret_access_key, sources.session_token,
                       sources.explicit_source};
  }
  std::string id = Get(env, "AWS_ACCESS_KEY_ID");
  std::string secret = Get(env, "AWS_SECRET_ACCESS_KEY");
  if (!id.empty() || !secret.empty()) {
    if (id.empty() || secret.empty()) {
      return Status::FailedPrecondition(
          "only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set in the environment; set "
          "both");
    }
    return Credentials{id, secret, Get(env, "AWS_SESSION_TOKEN"), "environment"};
  }
  std::string message = "no AWS credentials: set ";
  if (has_explicit)
    message += "access_key_id/secret_access_key in the " + sources.explicit_source + ", or ";
  message += "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment";
  if (!sources.shared_files) return Status::FailedPrecondition(message);
  std::string file = HomeFile(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  std::string profile = Profile(env);
  if (!file.empty()) {
    if (auto section = ReadIniSection(file, profile)) {
      std::string fid = (*section)["aws_access_key_id"];
      std::string fsecret = (*section)["aws_secret_access_key"];
      if (fid.empty() || fsecret.empty()) {
        return Status::FailedPrecondition(
            "profile [" + profile + "] in " + file +
            " needs both aws_access_key_id and aws_secret_access_key");
      }
      return Credentials{fid, fsecret, (*section)["aws_session_token"], file};
    }
  }
  return Status::FailedPrecondition(message + ", or profile [" + profile + "] in " +
                                    (file.empty() ? std::string("~/.aws/credentials") : file));
}

std::string ResolveRegion(const std::string& explicit_region, const EnvLookup& env,
                          bool shared_files) {
  if (!explicit_region.empty()) return explicit_region;
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    std::string v = Get(env, name);
    if (!v.empty()) return v;
  }
  if (!shared_files) return "us-east-1";
  std::string file = HomeFile(env, "AWS_CONFIG_FILE", "config");
  std::string profile = Profile(env);
  if (!file.empty()) {
    auto section = ReadIniSection(file, profile == "default" ? "default" : "profile " + profile);
    if (section && !(*section)["region"].empty()) return (*section)["region"];
  }
  return "us-east-1";
}

}  // namespace sluice::aws
