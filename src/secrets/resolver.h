// Resolution of secret references embedded in configuration strings.
//
//   ${secret:env:NAME}          the environment variable NAME
//   ${secret:file:/path}        the file's content, trailing whitespace/newlines trimmed
//   ${secret:exec:cmd arg ...}  the command's stdout, trailing whitespace/newlines trimmed
//
// A reference ends at the first '}', so an argument cannot contain '}'. exec commands run
// WITHOUT a shell: the text is split on blanks (single and double quotes group words, no other
// expansion), argv[0] is looked up on PATH, stdin is /dev/null and stderr is discarded (it may
// echo the secret). A command must exit 0 within the timeout or it is killed (SIGKILL).
// exec results are cached for a TTL measured on the injected clock; env and file are read on
// every Resolve so that rotated secrets are picked up.
//
// Every resolved value is added to the Redactor, and error messages name the reference but
// never a value: "${secret:env:ORDERS_DSN}: environment variable not set".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "secrets/redactor.h"

namespace sluice::secrets {

struct ResolverOptions {
  int64_t exec_timeout_ms = 10'000;
  int64_t exec_cache_ttl_ms = 300'000;
  size_t exec_max_output_bytes = 64 * 1024;
};

// Thread safety: Resolve may be called concurrently; exec commands run on the calling thread.
class Resolver {
 public:
  // `redactor` and `clock` must outlive the resolver.
  Resolver(Redactor* redactor, const Clock* clock, ResolverOptions options = {});
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // `text` with every ${secret:...} reference replaced by its value. Text without references is
  // returned unchanged. InvalidArgument for a malformed or unknown reference, NotFound / IoError /
  // Unavailable for a provider failure; messages never contain a secret value.
  Result<std::string> Resolve(std::string_view text);

  // True if `text` holds at least one "${secret:" reference.
  static bool HasReference(std::string_view text);

  Redactor& redactor() { return *redactor_; }

 private:
  Result<std::string> ResolveOne(std::string_view provider, std::string_view arg,
                                 const std::string& reference) SLUICE_EXCLUDES(mu_);
  Result<std::string> RunExec(std::string_view command_line, const std::string& reference);

  struct CachedValue {
    std::string value;
    int64_t expires_ms = 0;
  };
  Redactor* redactor_;
  const Clock* clock_;
  ResolverOptions options_;
  Mutex mu_;
  std::map<std::string, CachedValue> exec_cache_ SLUICE_GUARDED_BY(mu_);  // key: the command line
};

}  // namespace sluice::secrets
