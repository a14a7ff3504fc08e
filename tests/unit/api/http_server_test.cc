// HttpServer over real loopback sockets: keep-alive, pipelining, asynchronous responders on other
// threads, the body limit, and a graceful Stop() with a request in flight.
#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/firehose_handler.h"
#include "common/base64.h"
#include "testutil/api_fake_backend.h"

namespace sluice::api {
namespace {

constexpr int kTimeoutSeconds = 10;

// Echoes "<method> <target> <body>"; requests to /hold are parked until Release().
// Responders run on a separate thread, as the journal commit thread would.
class TestHandler : public HttpHandler {
 public:
  ~TestHandler() override {
    for (auto& t : threads_) t.join();
  }
  void Handle(HttpRequest req, Responder respond) override {
    HttpResponse r;
    r.headers.emplace_back("X-Test", "1");
    r.body = req.method + " " + req.target + " " + req.body;
    std::lock_guard<std::mutex> lock(mu_);
    if (req.target == "/hold") {
      held_.push_back([respond = std::move(respond), r]() mutable { respond(std::move(r)); });
      cv_.notify_all();
      return;
    }
    threads_.emplace_back([respond = std::move(respond), r]() mutable { respond(std::move(r)); });
  }
  // Waits (bounded) until a /hold request arrived.
  bool WaitHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(kTimeoutSeconds),
                        [this] { return !held_.empty(); });
  }
  void Release() {
    std::vector<std::function<void()>> run;
    {
      std::lock_guard<std::mutex> lock(mu_);
      run.swap(held_);
    }
    for (auto& f : run) f();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> held_;
  std::vector<std::thread> threads_;
};

// A blocking loopback client with receive timeouts, so every wait is bounded.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{kTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  struct Response {
    int status = 0;
    std::string head;
    std::string body;
  };
  // Reads one response (Content-Length framed). nullopt on timeout or EOF.
  std::optional<Response> Read() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Response r;
    r.head = buf_.substr(0, end + 2);
    r.status = std::stoi(r.head.substr(9, 3));
    size_t length = 0;
    std::string lower = r.head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (size_t p = lower.find("content-length: "); p != std::string::npos) {
      length = std::stoul(lower.substr(p + 16));
    }
    buf_.erase(0, end + 4);
    while (buf_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }
  // Reads until `marker` has arrived; returns everything up to and including it ("" on timeout).
  std::string ReadUntil(const std::string& marker) {
    size_t at;
    while ((at = buf_.find(marker)) == std::string::npos) {
      if (!Fill()) return "";
    }
    std::string out = buf_.substr(0, at + marker.size());
    buf_.erase(0, at + marker.size());
    return out;
  }
  // True when the server closed the connection (EOF) within the timeout.
  bool ReadsEof() {
    char c;
    return buf_.empty() && ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Post(const std::string& target, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpHandler& handler) {
    HttpServerOptions options;
    options.port = 0;
    options.io_threads = 2;
    options.drain_timeout = std::chrono::seconds(30);
    server_ = std::make_unique<HttpServer>(options, handler);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersKeepAliveRequestsOnOneConnection) {
  TestHandler handler;
  StartServer(handler);
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(Post("/", "req" + std::to_string(i))));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << "no response to request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST / req" + std::to_string(i));
    EXPECT_NE(r->head.find("X-Test: 1"), std::string::npos);
  }
  server_->Stop();
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  TestHandler handler;
  StartServer(handler);
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Post("/a", "first") + Post("/b", "second")));
  auto r1 = c.Read();
  auto r2 = c.Read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->body, "POST /a first");
  EXPECT_EQ(r2->body, "POST /b second");
  server_->Stop();
}

TEST_F(HttpServerTest, OversizedBodyGets413WithAwsErrorAndClose) {
  TestHandler handler;
  StartServer(handler);
  Client c(server_->port());
  std::string body(8 * 1024 * 1024 + 1, 'x');
  c.Send(Post("/", body));  // the server may stop reading early; a short write is fine
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find(R"("__type":"RequestEntityTooLargeException")"), std::string::npos);
  EXPECT_NE(r->head.find("x-amzn-RequestId: "), std::string::npos);
  EXPECT_TRUE(c.ReadsEof());
  server_->Stop();
}

TEST_F(HttpServerTest, ExpectContinueIsHonoured) {
  TestHandler handler;
  StartServer(handler);
  Client c(server_->port());
  std::string head =
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  ASSERT_TRUE(c.Send(head));
  auto cont = c.Read();
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.Send("body"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "POST /e body");
  server_->Stop();
}

TEST_F(HttpServerTest, StopLetsTheInFlightRequestFinishAndClosesIdleConnections) {
  TestHandler handler;
  StartServer(handler);
  Client idle(server_->port());
  ASSERT_TRUE(idle.Send(Post("/", "warm")));
  ASSERT_TRUE(idle.Read().has_value());
  Client busy(server_->port());
  ASSERT_TRUE(busy.Send(Post("/hold", "wait")));
  ASSERT_TRUE(handler.WaitHeld());

  auto stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  EXPECT_TRUE(idle.ReadsEof()) << "idle keep-alive connection was not closed by Stop()";
  handler.Release();
  auto r = busy.Read();
  ASSERT_TRUE(r.has_value()) << "in-flight request lost during Stop()";
  EXPECT_EQ(r->body, "POST /hold wait");
  EXPECT_NE(r->head.find("Connection: close"), std::string::npos);
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(kTimeoutSeconds)), std::future_status::ready);
  Client late(server_->port());
  EXPECT_FALSE(late.connected() && late.Send(Post("/", "x")) && late.Read().has_value());
}

// Streams three parts from another thread, then ends; the connection then serves the next request.
class StreamingHandler : public HttpHandler {
 public:
  void Handle(HttpRequest request, Responder respond) override {
    if (request.target == "/plain") {
      HttpResponse r;
      r.body = "plain";
      return respond(std::move(r));
    }
    threads_.emplace_back([respond = std::move(respond), this] {
      auto stream = respond.Stream(200, {{"Content-Type", "application/vnd.amazon.eventstream"}});
      ASSERT_NE(stream, nullptr);
      for (const char* part : {"one", "two", "three"}) {
        std::promise<bool> sent;
        stream->Write(part, [&sent](bool ok) { sent.set_value(ok); });
        written_ok += sent.get_future().get() ? 1 : 0;
      }
      stream->End();
    });
  }
  ~StreamingHandler() override {
    for (auto& t : threads_) t.join();
  }
  std::atomic<int> written_ok{0};

 private:
  std::vector<std::thread> threads_;
};

TEST_F(HttpServerTest, StreamsAResponseInChunksThenKeepsTheConnection) {
  StreamingHandler handler;
  StartServer(handler);
  Client c(server_->port());
  ASSERT_TRUE(c.Send(Post("/", "x")));
  std::string raw = c.ReadUntil("0\r\n\r\n");
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Type: application/vnd.amazon.eventstream"), std::string::npos);
  EXPECT_NE(raw.find("\r\n\r\n3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n"), std::string::npos)
      << raw;
  ASSERT_TRUE(c.Send(Post("/plain", "x")));
  auto next = c.Read();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->body, "plain");
  server_->Stop();
  EXPECT_EQ(handler.written_ok.load(), 3);
}

TEST_F(HttpServerTest, ServesTheFirehoseHandlerEndToEnd) {
  testutil::ApiFakeBackend backend;
  backend.AddStream("events");
  FirehoseHandler handler(backend);
  StartServer(handler);
  Client c(server_->port());
  std::string body = R"({"DeliveryStreamName":"events","Records":[{"Data":")" +
                     base64::Encode("hello") + R"("}]})";
  ASSERT_TRUE(c.Send(Post("/", body,
                          "Content-Type: application/x-amz-json-1.1\r\n"
                          "X-Amz-Target: Firehose_20150804.PutRecordBatch\r\n")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(
      r->body,
      R"({"FailedPutCount":0,"Encrypted":false,"RequestResponses":[{"RecordId":"0000000000000000000000000000000000000000"}]})");
  EXPECT_NE(r->head.find("Content-Type: application/x-amz-json-1.1"), std::string::npos);
  EXPECT_NE(r->head.find("x-amzn-RequestId: "), std::string::npos);
  ASSERT_EQ(backend.puts().size(), 1u);
  EXPECT_EQ(backend.puts()[0].second[0], "hello");
  server_->Stop();
}

}  // namespace
}  // namespace sluice::api
