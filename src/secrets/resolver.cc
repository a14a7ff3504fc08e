#include "secrets/resolver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/file_util.h"

extern char** environ;

namespace sluice::secrets {
namespace {

constexpr std::string_view kOpen = "${secret:";

std::string TrimTrailing(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

// Splits a command line on blanks; '...' and "..." group words (no escapes inside).
Result<std::vector<std::string>> SplitArgs(std::string_view line) {
  std::vector<std::string> args;
  std::string current;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        current += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) args.push_back(std::move(current));
      current.clear();
      in_word = false;
    } else {
      current += c;
      in_word = true;
    }
  }
  if (quote != 0) return Status::InvalidArgument("unterminated quote in command");
  if (in_word) args.push_back(std::move(current));
  if (args.empty()) return Status::InvalidArgument("empty command");
  return args;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

Resolver::Resolver(Redactor* redactor, const Clock* clock, ResolverOptions options)
    : redactor_(redactor), clock_(clock), options_(options) {}

bool Resolver::HasReference(std::string_view text) {
  return text.find(kOpen) != std::string_view::npos;
}

Result<std::string> Resolver::Resolve(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t start = text.find(kOpen, pos);
    if (start == std::string_view::npos) break;
    out.append(text.substr(pos, start - pos));
    const size_t end = text.find('}', start);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("unterminated secret reference starting '${secret:' at " +
                                     std::to_string(start));
    }
    const std::string reference(text.substr(start, end - start + 1));
    const std::string_view body = text.substr(start + kOpen.size(), end - start - kOpen.size());
    const size_t colon = body.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == body.size()) {
      return Status::InvalidArgument(reference + ": expected ${secret:<env|file|exec>:<argument>}");
    }
    SLUICE_ASSIGN_OR_RETURN(std::string value,
                            ResolveOne(body.substr(0, colon), body.substr(colon + 1), reference));
    redactor_->Add(value);
    out.append(value);
    pos = end + 1;
  }
  out.append(text.substr(pos));
  return out;
}

Result<std::string> Resolver::ResolveOne(std::string_view provider, std::string_view arg,
                                         const std::string& reference) {
  if (provider == "env") {
    const std::string name(arg);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return Status::NotFound(reference + ": environment variable not set");
    return std::string(value);
  }
  if (provider == "file") {
    Result<std::string> content = fs::ReadFile(std::string(arg));
    if (!content.ok()) {
      // The status message names the path and errno only, never the content.
      return Status(content.status().code(), reference + ": " + content.status().message());
    }
    return TrimTrailing(std::move(content).value());
  }
  if (provider == "exec") {
    const std::string key(arg);
    {
      MutexLock lock(mu_);
      auto it = exec_cache_.find(key);
      if (it != exec_cache_.end() && clock_->MonotonicMs() < it->second.expires_ms) {
        return it->second.value;
      }
    }
    SLUICE_ASSIGN_OR_RETURN(std::string value, RunExec(arg, reference));
    MutexLock lock(mu_);
    exec_cache_[key] = {value, clock_->MonotonicMs() + options_.exec_cache_ttl_ms};
    return value;
  }
  return Status::InvalidArgument(reference + ": unknown secret provider '" + std::string(provider) +
                                 "' (expected env, file or exec)");
}

Result<std::string> Resolver::RunExec(std::string_view command_line, const std::string& reference) {
  Result<std::vector<std::string>> args = SplitArgs(command_line);
  if (!args.ok()) return Status::InvalidArgument(reference + ": " + args.status().message());
  std::vector<char*> argv;
  for (std::string& a : *args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(reference + ": pipe", errno);
  FdCloser read_closer(fds[0]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int spawn_err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawn_err != 0) {
    return Status(StatusCode::kNotFound,
                  reference + ": cannot run '" + (*args)[0] + "': " + std::strerror(spawn_err));
  }

  std::string output;
  bool timed_out = false;
  bool too_long = false;
  const int64_t deadline = Clock::System().MonotonicMs() + options_.exec_timeout_ms;
  char buf[4096];
  while (true) {
    const int64_t left = deadline - Clock::System().MonotonicMs();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int rc = poll(&pfd, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      timed_out = true;
      break;
    }
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (or error): the child closed stdout
    output.append(buf, static_cast<size_t>(n));
    if (output.size() > options_.exec_max_output_bytes) {
      too_long = true;
      break;
    }
  }
  if (timed_out || too_long) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Status::Unavailable(reference + ": command timed out after " +
                               std::to_string(options_.exec_timeout_ms) + " ms");
  }
  if (too_long) {
    return Status::InvalidArgument(reference + ": command output exceeds " +
                                   std::to_string(options_.exec_max_output_bytes) + " bytes");
  }
  if (WIFSIGNALED(wstatus)) {
    return Status::Unavailable(reference + ": command killed by signal " +
                               std::to_string(WTERMSIG(wstatus)));
  }
  if (WEXITSTATUS(wstatus) != 0) {
    return Status::Unavailable(reference + ": command exited with status " +
                               std::to_string(WEXITSTATUS(wstatus)));
  }
  return TrimTrailing(std::move(output));
}

}  // namespace sluice::secrets
