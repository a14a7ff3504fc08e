// clang-format off
#include <utility>  // before Boost.Asio (Boost 1.74 + g++12 C++20)
// clang-format on

#include "api/http_server.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/errors.h"
#include "api/http2_session.h"
#include "common/mutex.h"

namespace sluice::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using Gate = internal::ResponderGate;
using internal::Connection;

constexpr size_t kMaxDrainBytes = 64 * 1024 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler& handler)
      : options_(std::move(options)),
        handler_(handler),
        ioc_(options_.io_threads),
        acceptor_(net::make_strand(ioc_)),
        gate_(std::make_shared<Gate>()) {}

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }

  const HttpServerOptions& options() const { return options_; }
  HttpHandler& handler() { return handler_; }
  const std::shared_ptr<Gate>& gate() const { return gate_; }
  bool stopping() const { return stopping_.load(); }
  // Registers a connection the server did not accept itself (an HTTP/1.1 connection handed over
  // to HTTP/2).
  void Adopt(std::shared_ptr<Connection> c);
  void Remove(Connection* c);
  internal::ConnectionContext ConnectionContext() {
    return {&options_, &handler_, gate_, [this] { return stopping(); },
            [this](Connection* c) { Remove(c); }};
  }

 private:
  void DoAccept();
  void OnAccept(error_code ec, tcp::socket socket);

  HttpServerOptions options_;
  HttpHandler& handler_;
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_{ioc_};
  std::shared_ptr<Gate> gate_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;

  Mutex mu_;
  CondVar cv_;
  // Live connections. shared_ptr: a session is co-owned by this registry (while it waits for its
  // handler) and by its pending Asio operations.
  std::unordered_map<Connection*, std::shared_ptr<Connection>> sessions_ SLUICE_GUARDED_BY(mu_);
};

namespace {

// One HTTP/1.1 connection; a connection that opens with the HTTP/2 preface is handed over to an
// HTTP/2 session (http2_session.h). Thread safety: every member is touched only on the
// connection's strand.
class Session : public Connection, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server), sniffing_(server.options().http2) {}

  void Start() override {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

  // Stop(): close now if idle, else after the in-flight response.
  void Shutdown() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->stream_.cancel();
    });
  }

  void ForceClose() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      error_code ec;
      self->stream_.socket().close(ec);
    });
  }

 private:
  void DoRead() {
    if (closing_ || server_.stopping()) return Close();
    if (sniffing_) return Sniff();
    parser_.emplace();
    parser_->body_limit(server_.options().body_limit);
    // Beast reads at most the buffer's free capacity (>= 512 bytes) per call; without room a
    // 700 KB PutRecordBatch body takes ~1,400 reads. 64 KiB is Beast's largest single read.
    if (buffer_.capacity() < kReadBufferBytes) buffer_.reserve(kReadBufferBytes);
    stream_.expires_after(server_.options().idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // The first bytes of a connection: the HTTP/2 client preface hands the connection over to an
  // HTTP/2 session; anything else is read as HTTP/1.1 (the bytes stay in buffer_ for Beast).
  void Sniff() {
    stream_.expires_after(server_.options().idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(kReadBufferBytes), [self = shared_from_this()](error_code ec, size_t n) {
          self->buffer_.commit(n);
          if (ec) return self->Close();
          const auto data = self->buffer_.data();
          const std::string_view got(static_cast<const char*>(data.data()), data.size());
          const std::string_view preface = internal::kHttp2Preface;
          const size_t k = std::min(got.size(), preface.size());
          if (got.substr(0, k) != preface.substr(0, k)) {
            self->sniffing_ = false;
            return self->DoRead();
          }
          if (got.size() < preface.size()) return self->Sniff();
          self->HandOverToHttp2(got);
        });
  }

  void HandOverToHttp2(std::string_view received) {
    stream_.expires_never();
    auto h2 =
        internal::MakeHttp2Session(stream_.release_socket(), received, server_.ConnectionContext());
    buffer_.consume(buffer_.size());
    closed_ = true;
    server_.Adopt(h2);
    h2->Start();
    server_.Remove(this);
  }

  void OnHeader(error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      busy_ = true;
      continue_.version(11);
      continue_.result(http::status::continue_);
      http::async_write(stream_, continue_, [self = shared_from_this()](error_code wec, size_t) {
        self->busy_ = false;
        if (wec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnReadError(error_code ec) {
    if (ec == http::error::body_limit) {
      busy_ = true;
      keep_alive_ = false;
      linger_ = true;
      ApiError e{"RequestEntityTooLargeException",
                 "Request body exceeds the limit of " +
                     std::to_string(server_.options().body_limit) + " bytes",
                 413};
      return Write(++seq_, ErrorResponse(e, NewRequestId()));
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      // Malformed HTTP.
      busy_ = true;
      keep_alive_ = false;
      linger_ = true;
      ApiError e = ApiError::Serialization("Malformed HTTP request: " + ec.message());
      return Write(++seq_, ErrorResponse(e, NewRequestId()));
    }
    Close();
  }

  void OnRead(error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req) {
      r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    r.body = std::move(req.body());
    stream_.expires_never();  // the handler may wait for a durable commit
    const uint64_t seq = ++seq_;
    Responder::OneShot one_shot = [weak = weak_from_this(), gate = server_.gate(),
                                   exec = stream_.get_executor(), seq](HttpResponse response) {
      MutexLock lock(gate->mu);
      if (!gate->open) return;
      auto self = weak.lock();
      if (!self) return;
      net::post(exec, [self, seq, response = std::move(response)]() mutable {
        self->Write(seq, std::move(response));
      });
    };
    Responder::Streamer streamer = [weak = weak_from_this(), gate = server_.gate(),
                                    exec = stream_.get_executor(),
                                    seq](int status, HttpHeaders headers) {
      auto stream = std::make_shared<Stream>(weak, gate, exec, seq);
      MutexLock lock(gate->mu);
      if (!gate->open) return stream;
      if (auto self = weak.lock()) {
        net::post(exec, [self, seq, status, headers = std::move(headers)]() {
          self->WriteStreamHead(seq, status, headers);
        });
      }
      return stream;
    };
    server_.handler().Handle(std::move(r), Responder(std::move(one_shot), std::move(streamer)));
  }

  // The ResponseStream of one request: posts parts to the connection's strand.
  class Stream : public ResponseStream {
   public:
    Stream(std::weak_ptr<Session> session, std::shared_ptr<Gate> gate,
           beast::tcp_stream::executor_type exec, uint64_t seq)
        : session_(std::move(session)), gate_(std::move(gate)), exec_(std::move(exec)), seq_(seq) {}
    ~Stream() override { End(); }
    void Write(std::string part, std::function<void(bool)> written) override {
      {
        MutexLock lock(gate_->mu);
        auto self = session_.lock();
        if (gate_->open && self && !ended_.load()) {
          net::post(exec_, [self, seq = seq_, part = std::move(part),
                            written = std::move(written)]() mutable {
            self->StreamPart(seq, std::move(part), std::move(written));
          });
          return;
        }
      }
      if (written) written(false);
    }
    void End() override {
      if (ended_.exchange(true)) return;
      MutexLock lock(gate_->mu);
      auto self = session_.lock();
      if (!gate_->open || !self) return;
      net::post(exec_, [self, seq = seq_] { self->StreamLast(seq); });
    }

   private:
    std::weak_ptr<Session> session_;
    std::shared_ptr<Gate> gate_;
    beast::tcp_stream::executor_type exec_;
    uint64_t seq_;
    std::atomic<bool> ended_{false};
  };

  // Streamed responses (Transfer-Encoding: chunked): the head, then one chunk per part, then the
  // last chunk. Parts that arrive before the head is written wait in stream_queue_.
  void WriteStreamHead(uint64_t seq, int status, const HttpHeaders& headers) {
    if (seq != seq_ || writing_ || !busy_) return;
    writing_ = true;
    streaming_ = true;
    stream_head_ = {};
    stream_head_.version(11);
    stream_head_.result(static_cast<unsigned>(status));
    for (auto& [k, v] : headers) stream_head_.set(k, v);
    stream_keep_ = keep_alive_ && !closing_ && !server_.stopping() && !head_;
    stream_head_.keep_alive(stream_keep_);
    stream_head_.chunked(true);
    stream_serializer_.emplace(stream_head_);
    stream_.expires_after(server_.options().idle_timeout);
    http::async_write_header(stream_, *stream_serializer_,
                             [self = shared_from_this()](error_code ec, size_t) {
                               if (ec) return self->FailStream();
                               self->stream_head_written_ = true;
                               self->PumpStream();
                             });
  }

  void StreamPart(uint64_t seq, std::string part, std::function<void(bool)> written) {
    if (seq != seq_ || !streaming_) {
      if (written) written(false);
      return;
    }
    stream_queue_.emplace_back(std::move(part), std::move(written));
    PumpStream();
  }

  void StreamLast(uint64_t seq) {
    if (seq != seq_ || !streaming_) return;
    stream_ended_ = true;
    PumpStream();
  }

  void PumpStream() {
    if (!stream_head_written_ || stream_in_flight_) return;
    if (!stream_queue_.empty()) {
      stream_in_flight_ = true;
      stream_current_ = std::move(stream_queue_.front());
      stream_queue_.pop_front();
      stream_.expires_after(server_.options().idle_timeout);
      net::async_write(stream_, http::make_chunk(net::buffer(stream_current_.first)),
                       [self = shared_from_this()](error_code ec, size_t) {
                         self->stream_in_flight_ = false;
                         auto written = std::move(self->stream_current_.second);
                         if (written) written(!ec);
                         if (ec) return self->FailStream();
                         self->stream_.expires_never();
                         self->PumpStream();
                       });
      return;
    }
    if (!stream_ended_) return;
    stream_in_flight_ = true;
    stream_.expires_after(server_.options().idle_timeout);
    net::async_write(stream_, http::make_chunk_last(),
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->ResetStream();
                       if (ec || !self->stream_keep_) return self->Close();
                       self->DoRead();
                     });
  }

  void FailStream() {
    for (auto& [part, written] : stream_queue_) {
      if (written) written(false);
    }
    ResetStream();
    Close();
  }

  void ResetStream() {
    stream_queue_.clear();
    stream_serializer_.reset();
    streaming_ = false;
    stream_head_written_ = false;
    stream_in_flight_ = false;
    stream_ended_ = false;
    busy_ = false;
    writing_ = false;
  }

  // Writes the response of request `seq`. A second call for the same request is ignored.
  void Write(uint64_t seq, HttpResponse response) {
    if (seq != seq_ || writing_ || !busy_) return;
    writing_ = true;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(response.status));
    for (auto& [k, v] : response.headers) res_.set(k, v);
    res_.body() = std::move(response.body);
    bool keep = keep_alive_ && !closing_ && !server_.stopping();
    res_.keep_alive(keep);
    res_.prepare_payload();
    if (head_) {
      // RFC 9110 §9.3.2: the answer to HEAD has the headers of the GET answer and no body; a
      // body would be read as the start of the next response on a kept-alive connection.
      const auto length = res_.body().size();
      res_.body().clear();
      res_.content_length(length);
    }
    stream_.expires_after(server_.options().idle_timeout);
    http::async_write(stream_, res_, [self = shared_from_this(), keep](error_code ec, size_t) {
      self->busy_ = false;
      self->writing_ = false;
      if (ec || !keep) return self->Close();
      self->DoRead();
    });
  }

  // Closes the connection. After an error response (linger_), half-closes first and discards what
  // the peer still sends (bounded), so that the response is not lost to a TCP reset caused by
  // unread request bytes.
  void Close() {
    if (closed_) return;
    closed_ = true;
    if (!linger_) return Finish();
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Finish();
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    drain_buf_.resize(64 * 1024);
    stream_.async_read_some(net::buffer(drain_buf_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return self->Finish();
                              self->Drain();
                            });
  }

  void Finish() {
    error_code ec;
    stream_.socket().close(ec);
    server_.Remove(this);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  static constexpr size_t kReadBufferBytes = 64 * 1024;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  http::response<http::empty_body> continue_;
  std::vector<char> drain_buf_;
  size_t drained_ = 0;
  bool keep_alive_ = true;
  bool head_ = false;  // the request being answered is a HEAD
  bool busy_ = false;  // a request is with the handler or its response is being written
  bool writing_ = false;
  bool closing_ = false;  // Stop() asked to close after the in-flight response
  bool closed_ = false;
  bool linger_ = false;  // drain before closing (an error response left request bytes unread)
  bool sniffing_;        // the first bytes are not read yet: HTTP/2 preface or HTTP/1.1?
  uint64_t seq_ = 0;     // the current request's number on this connection
  // A streamed response in progress (see WriteStreamHead).
  http::response<http::empty_body> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> stream_serializer_;
  std::deque<std::pair<std::string, std::function<void(bool)>>> stream_queue_;
  std::pair<std::string, std::function<void(bool)>> stream_current_;
  bool streaming_ = false;
  bool stream_head_written_ = false;
  bool stream_in_flight_ = false;
  bool stream_ended_ = false;
  bool stream_keep_ = false;
};

}  // namespace

Status HttpServer::Impl::Start() {
  std::string where = options_.host + ":" + std::to_string(options_.port);
  error_code ec;
  auto address = net::ip::make_address(options_.host, ec);
  if (ec) return Status::InvalidArgument("listen address " + where + ": " + ec.message());
  tcp::endpoint endpoint(address, options_.port);
  if (acceptor_.open(endpoint.protocol(), ec); ec) {
    return Status::IoError("listen " + where + ": open: " + ec.message());
  }
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return Status::IoError("listen " + where + ": SO_REUSEADDR: " + ec.message());
  }
  if (acceptor_.bind(endpoint, ec); ec) {
    return Status::IoError("listen " + where + ": bind: " + ec.message());
  }
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Status::IoError("listen " + where + ": listen: " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  started_ = true;
  work_.emplace(ioc_.get_executor());
  DoAccept();
  int n = options_.io_threads > 0 ? options_.io_threads : 1;
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
  return Status::Ok();
}

void HttpServer::Impl::DoAccept() {
  acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Impl::OnAccept, this));
}

void HttpServer::Impl::OnAccept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (!ec && !stopping_) {
    auto session = std::make_shared<Session>(std::move(socket), *this);
    {
      MutexLock lock(mu_);
      sessions_.emplace(session.get(), session);
    }
    session->Start();
  }
  if (ec && !stopping_) {
    // EMFILE/ENFILE and friends: accepting again at once would spin. Back off briefly; the
    // pending connection stays in the listen backlog.
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) DoAccept();
    });
    return;
  }
  DoAccept();
}

void HttpServer::Impl::Adopt(std::shared_ptr<Connection> c) {
  MutexLock lock(mu_);
  sessions_.emplace(c.get(), std::move(c));
}

void HttpServer::Impl::Remove(Connection* c) {
  MutexLock lock(mu_);
  sessions_.erase(c);
  cv_.NotifyAll();
}

void HttpServer::Impl::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  std::promise<void> closed;
  net::post(acceptor_.get_executor(), [this, &closed] {
    error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    closed.set_value();
  });
  closed.get_future().wait();

  std::vector<std::shared_ptr<Connection>> live;
  {
    MutexLock lock(mu_);
    for (auto& [ptr, s] : sessions_) live.push_back(s);
  }
  for (auto& s : live) s->Shutdown();
  live.clear();
  {
    MutexLock lock(mu_);
    const auto drained = std::chrono::steady_clock::now() + options_.drain_timeout;
    while (!sessions_.empty() && !cv_.WaitUntil(mu_, drained)) {
    }
    if (!sessions_.empty()) {
      for (auto& [ptr, s] : sessions_) s->ForceClose();
      const auto closed_by = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (!sessions_.empty() && !cv_.WaitUntil(mu_, closed_by)) {
      }
    }
  }
  {
    MutexLock lock(gate_->mu);
    gate_->open = false;
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  MutexLock lock(mu_);
  sessions_.clear();
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  return impl_->Start();
}

uint16_t HttpServer::port() const {
  return impl_->port();
}

void HttpServer::Stop() {
  impl_->Stop();
}

}  // namespace sluice::api
