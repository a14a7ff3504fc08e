#include "testutil/objectstore_s3rver.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <vector>

namespace sluice::testutil {

Result<std::unique_ptr<S3rverProcess>> S3rverProcess::Start(const std::string& source_dir,
                                                            const std::string& bucket,
                                                            int ready_timeout_ms) {
  std::string node = "/usr/bin/node";
  std::string script = source_dir + "/tests/testutil/objectstore_s3rver.mjs";
  std::string modules = source_dir + "/tests/compat";
  if (access(node.c_str(), X_OK) != 0)
    return Status::FailedPrecondition("s3rver: /usr/bin/node is not installed");
  if (!std::filesystem::exists(modules + "/node_modules/@20minutes/s3rver")) {
    return Status::FailedPrecondition("s3rver: run `npm ci` in " + modules + " first");
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "s3rver.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno("s3rver: mkdtemp", errno);

  int in_pipe[2];
  int out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return Status::FromErrno("s3rver: pipe", errno);
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno("s3rver: fork", errno);
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    close(in_pipe[1]);
    close(out_pipe[0]);
    // s3rver 4.0.4 encrypts continuation tokens with DES, which Node 20's OpenSSL 3 only has in
    // the legacy provider.
    execl(node.c_str(), node.c_str(), "--openssl-legacy-provider", script.c_str(), modules.c_str(),
          tmpl.c_str(), bucket.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  std::unique_ptr<S3rverProcess> process(new S3rverProcess());
  process->pid_ = pid;
  process->stdin_fd_ = in_pipe[1];
  process->data_dir_ = tmpl;

  std::string output;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ready_timeout_ms);
  while (output.find('\n') == std::string::npos) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) break;
    pollfd p{out_pipe[0], POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    char buffer[256];
    ssize_t n = read(out_pipe[0], buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  if (output.rfind("READY ", 0) != 0) {
    return Status::Unavailable("s3rver did not report READY within " +
                               std::to_string(ready_timeout_ms) + " ms; output: '" + output + "'");
  }
  process->port_ = std::atoi(output.c_str() + 6);
  return process;
}

S3rverProcess::~S3rverProcess() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    // Bounded wait: SIGKILL if it has not exited after 5 s.
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(10'000);
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ec;
  if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_, ec);
}

}  // namespace sluice::testutil
