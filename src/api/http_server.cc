// clang-format off
#include <utility>  // before Boost.Asio (Boost 1.74 + g++12 C++20)
// clang-format on

#include "api/http_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
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
using internal::AnyStream;
using internal::Connection;
using Clock = std::chrono::steady_clock;

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
  Status ReloadTls();
  size_t connections() {
    MutexLock lock(mu_);
    return sessions_.size();
  }
  // The TLS context new connections get; null without TLS.
  std::shared_ptr<net::ssl::context> tls_context() {
    MutexLock lock(tls_mu_);
    return tls_context_;
  }

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
  Result<std::shared_ptr<net::ssl::context>> MakeTlsContext() const;

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
  // At max_connections: OnAccept did not accept again; Remove resumes.
  bool accept_paused_ SLUICE_GUARDED_BY(mu_) = false;

  Mutex tls_mu_;
  std::shared_ptr<net::ssl::context> tls_context_ SLUICE_GUARDED_BY(tls_mu_);
};

namespace {

// One HTTP/1.1 connection; a connection that opens with the HTTP/2 preface is handed over to an
// HTTP/2 session (http2_session.h). Thread safety: every member is touched only on the
// connection's strand.
class Session : public Connection, public std::enable_shared_from_this<Session> {
 public:
  Session(AnyStream stream, HttpServer::Impl& server)
      : stream_(std::move(stream)),
        exec_(stream_.get_executor()),
        server_(server),
        sniffing_(server.options().http2 && !stream_.is_tls()) {}

  void Start() override {
    net::dispatch(exec_, [self = shared_from_this()] {
      if (self->stream_.is_tls()) return self->Handshake();
      self->DoRead();
    });
  }

  // Stop(): close now if idle, else after the in-flight response.
  void Shutdown() override {
    net::post(exec_, [self = shared_from_this()] {
      if (self->handed_over_) return;
      self->closing_ = true;
      if (!self->busy_) self->stream_.tcp().cancel();
    });
  }

  void ForceClose() override {
    net::post(exec_, [self = shared_from_this()] {
      if (self->handed_over_) return;
      error_code ec;
      self->stream_.tcp().socket().close(ec);
    });
  }

 private:
  // TLS: the handshake (within header_timeout), then ALPN picks HTTP/2 or HTTP/1.1.
  void Handshake() {
    stream_.tcp().expires_after(server_.options().header_timeout);
    stream_.tls().async_handshake(
        net::ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
          if (ec) return self->Finish();  // not TLS, a refused client certificate, a timeout...
          const unsigned char* proto = nullptr;
          unsigned int length = 0;
          SSL_get0_alpn_selected(self->stream_.tls().native_handle(), &proto, &length);
          if (self->server_.options().http2 &&
              std::string_view(reinterpret_cast<const char*>(proto), length) == "h2") {
            return self->HandOverToHttp2({});
          }
          self->DoRead();
        });
  }

  void DoRead() {
    if (closing_ || server_.stopping()) return Close();
    if (sniffing_) return Sniff();
    if (buffer_.size() == 0 && requests_ > 0) return AwaitRequest();
    // The request's first bytes are in: all of its headers within header_timeout.
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options().header_limit_bytes));
    parser_->body_limit(server_.options().body_limit);
    // Beast reads at most the buffer's free capacity (>= 512 bytes) per call; without room a
    // 700 KB PutRecordBatch body takes ~1,400 reads. 64 KiB is Beast's largest single read.
    if (buffer_.capacity() < kReadBufferBytes) buffer_.reserve(kReadBufferBytes);
    if (requests_ == 0 && !request_clock_started_) {
      // A new connection: the wait for its first request counts as header time.
      request_clock_started_ = true;
      stream_.tcp().expires_at(accepted_ + server_.options().header_timeout);
    } else {
      stream_.tcp().expires_after(server_.options().header_timeout);
    }
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  // Keep-alive: waits up to idle_timeout for the next request's first bytes.
  void AwaitRequest() {
    stream_.tcp().expires_after(server_.options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadBufferBytes),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->Close();
                              self->DoRead();
                            });
  }

  // The first bytes of a connection: the HTTP/2 client preface hands the connection over to an
  // HTTP/2 session; anything else is read as HTTP/1.1 (the bytes stay in buffer_ for Beast).
  void Sniff() {
    request_clock_started_ = true;
    stream_.tcp().expires_at(accepted_ + server_.options().header_timeout);
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
    stream_.tcp().expires_never();
    handed_over_ = true;
    auto h2 = internal::MakeHttp2Session(std::move(stream_), received, server_.ConnectionContext());
    buffer_.consume(buffer_.size());
    closed_ = true;
    server_.Adopt(h2);
    h2->Start();
    server_.Remove(this);
  }

  void OnHeader(error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    ++requests_;
    auto& req = parser_->get();
    const auto& options = server_.options();
    size_t fields = 0;
    for (auto it = req.begin(); it != req.end(); ++it) ++fields;
    if (fields > options.max_header_count) {
      return Refuse(ApiError::HeadersTooLarge("Request has " + std::to_string(fields) +
                                              " header fields; the limit is " +
                                              std::to_string(options.max_header_count)));
    }
    // The body limit of this API, answered before the body is read.
    body_limit_ = options.body_limit;
    if (options.body_limit_for) {
      const auto target = req["X-Amz-Target"];
      body_limit_ = std::min(
          body_limit_, options.body_limit_for(std::string_view(target.data(), target.size())));
    }
    if (const auto length = parser_->content_length(); length && *length > body_limit_) {
      return Refuse(ApiError::BodyTooLarge(body_limit_));
    }
    parser_->body_limit(body_limit_);
    body_started_ = Clock::now();
    body_received_ = 0;
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

  // Reads the body in parts: on average at least body_min_bytes_per_s after a grace of
  // header_timeout (a slow sender is cut off, a fast one never waits for a timer).
  void ReadBody() {
    if (parser_->is_done()) return OnRead({}, 0);
    const auto& options = server_.options();
    auto deadline = body_started_ + options.header_timeout;
    if (options.body_min_bytes_per_s > 0) {
      deadline += std::chrono::milliseconds((body_received_ + kReadBufferBytes) * 1000 /
                                            options.body_min_bytes_per_s);
    } else {
      deadline = Clock::now() + options.idle_timeout;
    }
    stream_.tcp().expires_at(deadline);
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = shared_from_this()](error_code ec, size_t n) {
                            if (ec) return self->OnReadError(ec);
                            self->body_received_ += n;
                            self->ReadBody();
                          });
  }

  // Answers an error the request brought on itself and closes the connection afterwards
  // (draining, bounded, what the client still sends).
  void Refuse(const ApiError& e) {
    busy_ = true;
    keep_alive_ = false;
    linger_ = true;
    Write(++seq_, ErrorResponse(e, NewRequestId()));
  }

  void OnReadError(error_code ec) {
    if (ec == http::error::body_limit) return Refuse(ApiError::BodyTooLarge(body_limit_));
    if (ec == http::error::header_limit) {
      return Refuse(ApiError::HeadersTooLarge("Request headers exceed the limit of " +
                                              std::to_string(server_.options().header_limit_bytes) +
                                              " bytes"));
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      // Malformed HTTP.
      return Refuse(ApiError::Serialization("Malformed HTTP request: " + ec.message()));
    }
    Close();  // the client went away, or was too slow (beast::error::timeout)
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
    stream_.tcp().expires_never();  // the handler may wait for a durable commit
    const uint64_t seq = ++seq_;
    Responder::OneShot one_shot = [weak = weak_from_this(), gate = server_.gate(), exec = exec_,
                                   seq](HttpResponse response) {
      MutexLock lock(gate->mu);
      if (!gate->open) return;
      auto self = weak.lock();
      if (!self) return;
      net::post(exec, [self, seq, response = std::move(response)]() mutable {
        self->Write(seq, std::move(response));
      });
    };
    Responder::Streamer streamer = [weak = weak_from_this(), gate = server_.gate(), exec = exec_,
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
           AnyStream::executor_type exec, uint64_t seq)
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
    AnyStream::executor_type exec_;
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
    stream_.tcp().expires_after(server_.options().idle_timeout);
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
      stream_.tcp().expires_after(server_.options().idle_timeout);
      net::async_write(stream_, http::make_chunk(net::buffer(stream_current_.first)),
                       [self = shared_from_this()](error_code ec, size_t) {
                         self->stream_in_flight_ = false;
                         auto written = std::move(self->stream_current_.second);
                         if (written) written(!ec);
                         if (ec) return self->FailStream();
                         self->stream_.tcp().expires_never();
                         self->PumpStream();
                       });
      return;
    }
    if (!stream_ended_) return;
    stream_in_flight_ = true;
    stream_.tcp().expires_after(server_.options().idle_timeout);
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
    stream_.tcp().expires_after(server_.options().idle_timeout);
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
    stream_.tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Finish();
    stream_.tcp().expires_after(kLingerTime);
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
    stream_.tcp().socket().close(ec);
    server_.Remove(this);
  }

  AnyStream stream_;
  AnyStream::executor_type exec_;  // stream_'s, kept: stream_ is moved out on a hand-over
  HttpServer::Impl& server_;
  Clock::time_point accepted_ = Clock::now();
  bool request_clock_started_ = false;
  uint64_t requests_ = 0;  // requests whose headers were read
  size_t body_limit_ = 0;  // the current request's
  Clock::time_point body_started_{};
  uint64_t body_received_ = 0;
  bool handed_over_ = false;  // the stream went to an HTTP/2 session
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
  if (options_.tls) {
    SLUICE_ASSIGN_OR_RETURN(auto context, MakeTlsContext());
    MutexLock lock(tls_mu_);
    tls_context_ = std::move(context);
  }
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
    std::shared_ptr<net::ssl::context> tls = tls_context();
    auto session = std::make_shared<Session>(
        tls ? AnyStream(std::move(socket), std::move(tls)) : AnyStream(std::move(socket)), *this);
    bool at_limit = false;
    {
      MutexLock lock(mu_);
      sessions_.emplace(session.get(), session);
      if (options_.max_connections > 0 && sessions_.size() >= options_.max_connections) {
        // Stop accepting (new clients wait in the listen backlog) until a connection closes.
        accept_paused_ = true;
        at_limit = true;
      }
    }
    session->Start();
    if (at_limit) return;
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
  if (accept_paused_ && sessions_.size() < options_.max_connections && !stopping_) {
    accept_paused_ = false;
    net::post(acceptor_.get_executor(), [this] {
      if (acceptor_.is_open()) DoAccept();
    });
  }
}

namespace {

// ALPN (RFC 7301): h2 when the client offers it and HTTP/2 is on, else http/1.1.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const bool http2 = *static_cast<const bool*>(arg);
  static constexpr unsigned char kH2[] = {2, 'h', '2'};
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (http2 && SSL_select_next_proto(&selected, outlen, kH2, sizeof kH2, in, inlen) ==
                   OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN (HTTP/1.1)
}

// The last OpenSSL error as text (OpenSSL's own text names the reason, e.g. "no start line").
std::string OpenSslError(const error_code& ec) {
  std::string text = ec.message();
  if (const unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text;
}

}  // namespace

Result<std::shared_ptr<net::ssl::context>> HttpServer::Impl::MakeTlsContext() const {
  const TlsOptions& t = *options_.tls;
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1 | net::ssl::context::no_compression |
                   net::ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  const int min_version = t.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(native, min_version) != 1) {
    return Status::InvalidArgument("tls: min_version " + t.min_version + " not supported");
  }
  // TLS 1.2: forward-secret AEAD suites only (Mozilla's "intermediate" list without DHE). TLS 1.3
  // suites are all AEAD; OpenSSL's defaults stand.
  static constexpr const char* kCiphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  if (SSL_CTX_set_cipher_list(native, kCiphers) != 1) {
    return Status::Internal("tls: cipher list refused by OpenSSL");
  }
  for (const std::string* file : {&t.cert_file, &t.key_file, &t.client_ca_file}) {
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0) {
      return Status::InvalidArgument("tls: cannot read " + *file + ": " + std::strerror(errno));
    }
  }
  error_code ec;
  ctx->use_certificate_chain_file(t.cert_file, ec);
  if (ec) return Status::InvalidArgument("tls: cert_file " + t.cert_file + ": " + OpenSslError(ec));
  ctx->use_private_key_file(t.key_file, net::ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("tls: key_file " + t.key_file + ": " + OpenSslError(ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("tls: key_file " + t.key_file +
                                   " does not match the certificate in " + t.cert_file);
  }
  if (!t.client_ca_file.empty()) {
    ctx->load_verify_file(t.client_ca_file, ec);
    if (ec) {
      return Status::InvalidArgument("tls: client_ca_file " + t.client_ca_file + ": " +
                                     OpenSslError(ec));
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(t.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
    ctx->set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
  }
  SSL_CTX_set_alpn_select_cb(native, &SelectAlpn, const_cast<bool*>(&options_.http2));
  return ctx;
}

Status HttpServer::Impl::ReloadTls() {
  if (!options_.tls) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(auto context, MakeTlsContext());
  MutexLock lock(tls_mu_);
  tls_context_ = std::move(context);
  return Status::Ok();
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

Status HttpServer::ReloadTls() {
  return impl_->ReloadTls();
}

size_t HttpServer::connections() const {
  return impl_->connections();
}

}  // namespace sluice::api
