// HttpServer's HTTP/2 side (h2c with prior knowledge) over real loopback sockets, driven by an
// nghttp2 client session: concurrent streams answered out of order, the body limit per stream,
// flow control both ways, streamed responses and a client that goes away during one, the idle
// timeout, HTTP/1.1 on the same port, and a graceful Stop() with a stream in flight.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/firehose_handler.h"
#include "api/http_server.h"
#include "common/base64.h"
#include "testutil/api_fake_backend.h"

namespace sluice::api {
namespace {

constexpr auto kTimeout = std::chrono::seconds(10);

// A blocking HTTP/2 client on one loopback connection. Every wait is bounded by kTimeout.
class H2Client {
 public:
  struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    std::vector<size_t> data_frames;  // the length of each DATA frame received
    bool closed = false;
    uint32_t error_code = 0;  // RST_STREAM code; 0 (NO_ERROR) for a normal close
  };

  explicit H2Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnClose);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() {
    nghttp2_session_del(session_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  // Queues a request; `body` is sent as DATA (without content-length unless given in headers).
  int32_t Submit(const std::string& method, const std::string& path, std::string body = "",
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    std::vector<std::pair<std::string, std::string>> all = {
        {":method", method}, {":scheme", "http"}, {":authority", "localhost"}, {":path", path}};
    all.insert(all.end(), headers.begin(), headers.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : all) {
      nva.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()),
                     k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    auto upload = std::make_unique<Upload>();
    upload->data = std::move(body);
    nghttp2_data_provider provider{};
    provider.source.ptr = upload.get();
    provider.read_callback = &ReadUpload;
    const bool has_body = !upload->data.empty();
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                              has_body ? &provider : nullptr, nullptr);
    uploads_.push_back(std::move(upload));
    responses_[id];
    return id;
  }

  // Sends what is queued and reads until `done()` holds; false on timeout or EOF first.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = kTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!Flush()) return done();
      if (done()) return true;
      if (eof_) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      uint8_t buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      if (nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(n)) < 0) return false;
    }
  }
  bool RunUntilClosed(int32_t id) {
    return RunUntil([this, id] { return responses_[id].closed; });
  }
  // Sends all queued frames. False if the socket failed.
  bool Flush() {
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) return n == 0;
      if (!SendAll(data, static_cast<size_t>(n))) return false;
    }
  }
  // Sends the HEADERS of a POST whose body never comes.
  int32_t SubmitStalled(const std::string& path) {
    std::vector<std::pair<std::string, std::string>> all = {
        {":method", "POST"}, {":scheme", "http"}, {":authority", "localhost"}, {":path", path}};
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : all) {
      nva.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()),
                     k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                                nghttp2_data_source*,
                                void*) -> ssize_t { return NGHTTP2_ERR_DEFERRED; };
    const int32_t id =
        nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, nullptr);
    responses_[id];
    return id;
  }
  // Queues RST_STREAM(CANCEL) for stream `id`.
  void Reset(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
  bool SendAll(const uint8_t* data, size_t size) {
    size_t off = 0;
    while (off < size) {
      const ssize_t n = ::send(fd_, data + off, size - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until the server closed the connection.
  bool RunUntilEof() {
    return RunUntil([this] { return eof_; });
  }
  void Disconnect() {
    ::close(fd_);
    fd_ = -1;
  }

  const Response& response(int32_t id) { return responses_[id]; }
  const std::vector<int32_t>& completion_order() const { return completion_order_; }
  bool goaway_received() const { return goaway_; }
  uint32_t remote_max_concurrent_streams() const {
    return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  }
  bool eof() const { return eof_; }

 private:
  struct Upload {
    std::string data;
    size_t offset = 0;
  };
  static H2Client& Self(void* p) { return *static_cast<H2Client*>(p); }
  static ssize_t ReadUpload(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                            nghttp2_data_source* source, void*) {
    auto* u = static_cast<Upload*>(source->ptr);
    const size_t n = std::min(length, u->data.size() - u->offset);
    std::copy_n(u->data.data() + u->offset, n, buf);
    u->offset += n;
    if (u->offset == u->data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    auto& r = Self(p).responses_[frame->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      r.status = std::stoi(v);
    } else {
      r.headers[n] = v;
    }
    return 0;
  }
  static int OnData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* p) {
    Self(p).responses_[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    if (frame->hd.type == NGHTTP2_GOAWAY) Self(p).goaway_ = true;
    if (frame->hd.type == NGHTTP2_DATA && frame->hd.length > 0) {
      Self(p).responses_[frame->hd.stream_id].data_frames.push_back(frame->hd.length);
    }
    return 0;
  }
  static int OnClose(nghttp2_session*, int32_t id, uint32_t error_code, void* p) {
    auto& r = Self(p).responses_[id];
    r.closed = true;
    r.error_code = error_code;
    Self(p).completion_order_.push_back(id);
    return 0;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  bool goaway_ = false;
  nghttp2_session* session_ = nullptr;
  std::vector<std::unique_ptr<Upload>> uploads_;
  std::map<int32_t, Response> responses_;
  std::vector<int32_t> completion_order_;
};

// Parks every request; the test answers them (echo "<method> <target> <body>") in any order, each
// from its own thread, as the journal commit thread would.
class ParkingHandler : public HttpHandler {
 public:
  ~ParkingHandler() override {
    for (auto& t : threads_) t.join();
  }
  void Handle(HttpRequest req, Responder respond) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req);
    responders_.push_back(std::move(respond));
    cv_.notify_all();
  }
  // Waits (bounded) until `n` requests are parked at once.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kTimeout, [&] { return requests_.size() >= n; });
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  HttpRequest request(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.at(i);
  }
  void Answer(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    HttpResponse r;
    r.headers.emplace_back("X-Test", "1");
    r.headers.emplace_back("Connection", "keep-alive");  // hop-by-hop: must not reach HTTP/2
    const HttpRequest& req = requests_.at(i);
    r.body = req.method + " " + req.target + " " + req.body;
    threads_.emplace_back([respond = responders_.at(i), r]() mutable { respond(std::move(r)); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpRequest> requests_;
  std::vector<Responder> responders_;
  std::vector<std::thread> threads_;
};

// Answers every request at once from another thread (echo).
class EchoHandler : public HttpHandler {
 public:
  ~EchoHandler() override {
    for (auto& t : threads_) t.join();
  }
  void Handle(HttpRequest req, Responder respond) override {
    HttpResponse r;
    r.headers.emplace_back("Content-Type", "text/plain");
    r.body = req.method + " " + req.target + " " + req.body;
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([respond = std::move(respond), r]() mutable { respond(std::move(r)); });
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

// Streams its parts from another thread, each Write after the previous one was written; with
// `forever`, keeps writing until a Write reports false (the client went away).
class StreamingHandler : public HttpHandler {
 public:
  explicit StreamingHandler(bool forever = false) : forever_(forever) {}
  ~StreamingHandler() override {
    for (auto& t : threads_) t.join();
  }
  void Handle(HttpRequest, Responder respond) override {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([respond = std::move(respond), this] {
      auto stream = respond.Stream(200, {{"Content-Type", "application/vnd.amazon.eventstream"},
                                         {"Transfer-Encoding", "chunked"}});
      ASSERT_NE(stream, nullptr);
      std::vector<std::string> parts = {"one", "two", "three"};
      for (size_t i = 0; forever_ || i < parts.size(); ++i) {
        auto sent = std::make_shared<std::promise<bool>>();
        auto result = sent->get_future();
        stream->Write(forever_ ? std::string(1000, 'x') : parts[i],
                      [sent](bool ok) { sent->set_value(ok); });
        if (result.wait_for(kTimeout) != std::future_status::ready) {
          timed_out = true;
          return;
        }
        if (!result.get()) {
          ++written_false;
          return;
        }
        ++written_ok;
      }
      stream->End();
    });
  }
  std::atomic<int> written_ok{0};
  std::atomic<int> written_false{0};
  std::atomic<bool> timed_out{false};

 private:
  bool forever_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

class Http2ServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpHandler& handler, size_t body_limit = 8 * 1024 * 1024,
                   std::chrono::milliseconds idle_timeout = std::chrono::seconds(60)) {
    HttpServerOptions options;
    options.port = 0;
    options.io_threads = 2;
    options.body_limit = body_limit;
    options.idle_timeout = idle_timeout;
    options.drain_timeout = std::chrono::seconds(30);
    server_ = std::make_unique<HttpServer>(options, handler);
    ASSERT_TRUE(server_->Start().ok());
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(Http2ServerTest, AnswersAPriorKnowledgeRequest) {
  EchoHandler handler;
  StartServer(handler);
  H2Client c(server_->port());
  ASSERT_TRUE(c.connected());
  const int32_t id = c.Submit("POST", "/x?a=1", "hello", {{"x-amz-target", "T.Op"}});
  ASSERT_TRUE(c.RunUntilClosed(id));
  const auto& r = c.response(id);
  EXPECT_EQ(r.error_code, 0u);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST /x?a=1 hello");
  EXPECT_EQ(r.headers.at("content-type"), "text/plain");
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(c.remote_max_concurrent_streams(), 128u);
  server_->Stop();
}

TEST_F(Http2ServerTest, HeadGetsTheContentLengthWithoutABody) {
  EchoHandler handler;
  StartServer(handler);
  H2Client c(server_->port());
  const int32_t id = c.Submit("HEAD", "/h");
  ASSERT_TRUE(c.RunUntilClosed(id));
  EXPECT_EQ(c.response(id).status, 200);
  EXPECT_EQ(c.response(id).headers.at("content-length"),
            std::to_string(std::string("HEAD /h ").size()));
  EXPECT_EQ(c.response(id).body, "");
  server_->Stop();
}

TEST_F(Http2ServerTest, RequestHeadersArriveLowerCaseWithHostFromAuthority) {
  ParkingHandler handler;
  StartServer(handler);
  H2Client c(server_->port());
  const int32_t id = c.Submit("GET", "/h", "", {{"x-amz-target", "T.Op"}});
  ASSERT_TRUE(c.Flush());
  ASSERT_TRUE(handler.WaitFor(1));
  HttpRequest req = handler.request(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/h");
  EXPECT_EQ(req.Header("host"), "localhost");
  EXPECT_EQ(req.Header("X-Amz-Target"), "T.Op");
  for (const auto& [name, value] : req.headers) EXPECT_NE(name[0], ':') << name;
  handler.Answer(0);
  ASSERT_TRUE(c.RunUntilClosed(id));
  EXPECT_EQ(c.response(id).headers.count("connection"), 0u);
  EXPECT_EQ(c.response(id).headers.at("x-test"), "1");
  server_->Stop();
}

TEST_F(Http2ServerTest, ConcurrentStreamsOnOneConnectionAreAnsweredOutOfOrder) {
  ParkingHandler handler;
  StartServer(handler);
  H2Client c(server_->port());
  constexpr int kStreams = 20;
  std::vector<int32_t> ids;
  for (int i = 0; i < kStreams; ++i) {
    ids.push_back(c.Submit("POST", "/s" + std::to_string(i), "body" + std::to_string(i)));
  }
  ASSERT_TRUE(c.Flush());
  // All streams reach the handler before any is answered: they are handled concurrently.
  ASSERT_TRUE(handler.WaitFor(kStreams));
  std::map<std::string, size_t> by_target;
  for (size_t i = 0; i < kStreams; ++i) by_target[handler.request(i).target] = i;
  std::vector<int32_t> expected_order;
  for (int i = kStreams - 1; i >= 0; --i) {
    handler.Answer(by_target.at("/s" + std::to_string(i)));
    ASSERT_TRUE(c.RunUntilClosed(ids[i])) << "stream " << ids[i];
    expected_order.push_back(ids[i]);
  }
  EXPECT_EQ(c.completion_order(), expected_order);
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_EQ(c.response(ids[i]).body, "POST /s" + std::to_string(i) + " body" + std::to_string(i));
  }
  server_->Stop();
}

TEST_F(Http2ServerTest, BodyOverTheLimitGets413AndResetsOnlyThatStream) {
  EchoHandler handler;
  StartServer(handler, /*body_limit=*/1024);
  H2Client c(server_->port());
  const int32_t streamed = c.Submit("POST", "/big", std::string(4096, 'x'));
  const int32_t declared =
      c.Submit("POST", "/declared", std::string(2048, 'y'), {{"content-length", "2048"}});
  const int32_t small = c.Submit("POST", "/small", "ok");
  ASSERT_TRUE(c.RunUntil([&] {
    return c.response(streamed).closed && c.response(declared).closed && c.response(small).closed;
  }));
  for (int32_t id : {streamed, declared}) {
    const auto& r = c.response(id);
    EXPECT_EQ(r.status, 413) << "stream " << id;
    EXPECT_NE(r.body.find(R"("__type":"RequestEntityTooLargeException")"), std::string::npos)
        << r.body;
    EXPECT_EQ(r.headers.count("x-amzn-requestid"), 1u);
  }
  EXPECT_EQ(c.response(small).status, 200);
  EXPECT_EQ(c.response(small).body, "POST /small ok");
  // The connection is still usable.
  const int32_t after = c.Submit("GET", "/after");
  ASSERT_TRUE(c.RunUntilClosed(after));
  EXPECT_EQ(c.response(after).body, "GET /after ");
  server_->Stop();
}

TEST_F(Http2ServerTest, LargeBodiesBothWaysRespectFlowControl) {
  EchoHandler handler;
  StartServer(handler);
  H2Client c(server_->port());  // the client keeps the default 64 KiB windows
  std::string body(3 * 1024 * 1024, 'a');
  for (size_t i = 0; i < body.size(); i += 4096) body[i] = static_cast<char>('a' + (i / 4096) % 26);
  const int32_t id = c.Submit("POST", "/big", body);
  ASSERT_TRUE(c.RunUntilClosed(id));
  EXPECT_EQ(c.response(id).status, 200);
  EXPECT_TRUE(c.response(id).body == "POST /big " + body);
  server_->Stop();
}

TEST_F(Http2ServerTest, StreamsAResponseAsDataFramesPerWrite) {
  StreamingHandler handler;
  StartServer(handler);
  H2Client c(server_->port());
  const int32_t id = c.Submit("POST", "/subscribe", "x");
  ASSERT_TRUE(c.RunUntilClosed(id));
  const auto& r = c.response(id);
  EXPECT_EQ(r.error_code, 0u);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "application/vnd.amazon.eventstream");
  EXPECT_EQ(r.headers.count("transfer-encoding"), 0u);
  EXPECT_EQ(r.headers.count("content-length"), 0u);
  EXPECT_EQ(r.body, "onetwothree");
  EXPECT_EQ(r.data_frames, (std::vector<size_t>{3, 3, 5}));
  // The connection serves the next stream.
  const int32_t next = c.Submit("POST", "/again", "x");
  ASSERT_TRUE(c.RunUntilClosed(next));
  EXPECT_EQ(c.response(next).body, "onetwothree");
  server_->Stop();
  EXPECT_EQ(handler.written_ok.load(), 6);
}

TEST_F(Http2ServerTest, ClientDisconnectDuringAStreamedResponseFailsTheWrite) {
  StreamingHandler handler(/*forever=*/true);
  StartServer(handler);
  {
    H2Client c(server_->port());
    const int32_t id = c.Submit("POST", "/subscribe", "x");
    ASSERT_TRUE(c.RunUntil([&] { return c.response(id).body.size() >= 3000; }));
    c.Disconnect();
  }
  // The handler's next Write after the disconnect reports false.
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (handler.written_false.load() == 0 && !handler.timed_out.load() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(handler.written_false.load(), 1);
  EXPECT_FALSE(handler.timed_out.load());
  server_->Stop();
}

TEST_F(Http2ServerTest, ClientResetOfAStreamFailsItsWritesAndKeepsTheConnection) {
  StreamingHandler streaming(/*forever=*/true);
  StartServer(streaming);
  H2Client c(server_->port());
  const int32_t id = c.Submit("POST", "/subscribe", "x");
  ASSERT_TRUE(c.RunUntil([&] { return c.response(id).body.size() >= 3000; }));
  c.Reset(id);
  ASSERT_TRUE(c.Flush());
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (streaming.written_false.load() == 0 && !streaming.timed_out.load() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(streaming.written_false.load(), 1);
  // The connection still serves new streams.
  const int32_t next = c.Submit("GET", "/next");
  ASSERT_TRUE(c.RunUntil([&] { return c.response(next).body.size() >= 3000; }));
  c.Disconnect();  // the second stream never ends by itself
  server_->Stop();
}

TEST_F(Http2ServerTest, Http1StillWorksOnTheSamePort) {
  EchoHandler handler;
  StartServer(handler);
  H2Client h2(server_->port());
  const int32_t id = h2.Submit("POST", "/two", "h2");
  ASSERT_TRUE(h2.RunUntilClosed(id));
  EXPECT_EQ(h2.response(id).body, "POST /two h2");

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  // "P" as the first byte, like the preface, must still read as HTTP/1.1.
  const std::string req = "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nh1";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  while (got.find("POST /one h1") == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("POST /one h1"), std::string::npos) << got;
  server_->Stop();
}

TEST_F(Http2ServerTest, IdleConnectionGetsGoawayAndIsClosed) {
  EchoHandler handler;
  StartServer(handler, 8 * 1024 * 1024, /*idle_timeout=*/std::chrono::milliseconds(200));
  H2Client c(server_->port());
  const int32_t id = c.Submit("GET", "/");
  ASSERT_TRUE(c.RunUntilClosed(id));
  ASSERT_TRUE(c.RunUntilEof());
  EXPECT_TRUE(c.goaway_received());
  server_->Stop();
}

TEST_F(Http2ServerTest, StalledRequestBodyEndsWithTheIdleTimeout) {
  ParkingHandler handler;
  StartServer(handler, 8 * 1024 * 1024, /*idle_timeout=*/std::chrono::milliseconds(200));
  H2Client c(server_->port());
  c.SubmitStalled("/stalled");
  ASSERT_TRUE(c.RunUntilEof());
  EXPECT_TRUE(c.goaway_received());
  server_->Stop();
  EXPECT_EQ(handler.size(), 0u) << "the incomplete request reached the handler";
}

TEST_F(Http2ServerTest, ARequestWithTheHandlerDoesNotTimeOut) {
  ParkingHandler handler;
  StartServer(handler, 8 * 1024 * 1024, /*idle_timeout=*/std::chrono::milliseconds(100));
  H2Client c(server_->port());
  const int32_t id = c.Submit("POST", "/slow", "x");
  ASSERT_TRUE(c.Flush());
  ASSERT_TRUE(handler.WaitFor(1));
  // Several idle timeouts pass while the handler holds the request; the client keeps reading.
  c.RunUntil([&] { return c.eof(); }, std::chrono::milliseconds(500));
  EXPECT_FALSE(c.eof()) << "the connection was closed while the handler held its request";
  handler.Answer(0);
  ASSERT_TRUE(c.RunUntilClosed(id));
  EXPECT_EQ(c.response(id).body, "POST /slow x");
  server_->Stop();
}

TEST_F(Http2ServerTest, StopSendsGoawayAndLetsTheInFlightStreamFinish) {
  ParkingHandler handler;
  StartServer(handler);
  H2Client c(server_->port());
  const int32_t id = c.Submit("POST", "/hold", "wait");
  ASSERT_TRUE(c.Flush());
  ASSERT_TRUE(handler.WaitFor(1));

  auto stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  ASSERT_TRUE(c.RunUntil([&] { return c.goaway_received(); }));
  EXPECT_FALSE(c.response(id).closed);
  handler.Answer(0);
  ASSERT_TRUE(c.RunUntilClosed(id)) << "in-flight stream lost during Stop()";
  EXPECT_EQ(c.response(id).error_code, 0u);
  EXPECT_EQ(c.response(id).body, "POST /hold wait");
  EXPECT_TRUE(c.RunUntilEof());
  ASSERT_EQ(stopped.wait_for(kTimeout), std::future_status::ready);
}

TEST_F(Http2ServerTest, StopFailsTheWritesOfAStreamStillOpenAfterTheDrain) {
  StreamingHandler handler(/*forever=*/true);
  HttpServerOptions options;
  options.drain_timeout = std::chrono::milliseconds(100);
  server_ = std::make_unique<HttpServer>(options, handler);
  ASSERT_TRUE(server_->Start().ok());
  H2Client c(server_->port());
  const int32_t id = c.Submit("POST", "/subscribe", "x");
  ASSERT_TRUE(c.RunUntil([&] { return c.response(id).body.size() >= 3000; }));
  // The client stops reading; the stream never ends by itself, so Stop() closes it.
  server_->Stop();
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (handler.written_false.load() == 0 && !handler.timed_out.load() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(handler.written_false.load(), 1);
}

TEST_F(Http2ServerTest, AResponderCalledAfterStopIsIgnored) {
  ParkingHandler handler;
  HttpServerOptions options;
  options.drain_timeout = std::chrono::milliseconds(100);
  server_ = std::make_unique<HttpServer>(options, handler);
  ASSERT_TRUE(server_->Start().ok());
  H2Client c(server_->port());
  const int32_t id = c.Submit("POST", "/late", "x");
  ASSERT_TRUE(c.Flush());
  ASSERT_TRUE(handler.WaitFor(1));
  server_->Stop();  // the drain times out: the connection is closed with the stream open
  ASSERT_TRUE(c.RunUntilEof());
  EXPECT_EQ(c.response(id).status, 0) << "no response was sent";
  handler.Answer(0);  // runs on another thread after Stop(); must neither crash nor send
}

TEST_F(Http2ServerTest, ServesTheFirehoseHandlerEndToEnd) {
  testutil::ApiFakeBackend backend;
  backend.AddStream("events");
  FirehoseHandler handler(backend);
  StartServer(handler);
  H2Client c(server_->port());
  std::string body = R"({"DeliveryStreamName":"events","Records":[{"Data":")" +
                     base64::Encode("hello") + R"("}]})";
  const int32_t id = c.Submit("POST", "/", body,
                              {{"content-type", "application/x-amz-json-1.1"},
                               {"x-amz-target", "Firehose_20150804.PutRecordBatch"}});
  ASSERT_TRUE(c.RunUntilClosed(id));
  const auto& r = c.response(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      R"({"FailedPutCount":0,"Encrypted":false,"RequestResponses":[{"RecordId":"0000000000000000000000000000000000000000"}]})");
  EXPECT_EQ(r.headers.at("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r.headers.count("x-amzn-requestid"), 1u);
  ASSERT_EQ(backend.puts().size(), 1u);
  EXPECT_EQ(backend.puts()[0].second[0], "hello");
  server_->Stop();
}

}  // namespace
}  // namespace sluice::api
