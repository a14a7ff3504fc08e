// Test helper: a tiny scripted HTTP/1.1 server on 127.0.0.1:<free port>. Every request is handed
// to a callback that decides the reply: a status and body, or dropping the connection without an
// answer, or holding the connection silent for a while. Requests are recorded for assertions.
// Keep-alive is supported (libcurl reuses connections). Not for production; bodies need
// Content-Length (no chunked encoding).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::testutil {

struct FakeHttpRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Path() const { return target.substr(0, target.find('?')); }
  std::string Query() const {
    size_t q = target.find('?');
    return q == std::string::npos ? "" : target.substr(q + 1);
  }
};

struct FakeHttpReply {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
  bool drop_connection = false;  // close the socket without answering
  int silent_ms = 0;             // stay silent this long (bounded), then close without answering
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeHttpReply(const FakeHttpRequest&)>;
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<FakeHttpRequest> requests() const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<FakeHttpRequest> requests_;  // GUARDED_BY(mu_)
  std::vector<int> fds_;                   // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;       // GUARDED_BY(mu_)
};

}  // namespace sluice::testutil
