// clang-format off
#include <utility>  // before Boost.Asio (Boost 1.74 + g++12 C++20)
// clang-format on

#include "api/http2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "api/errors.h"

namespace sluice::api::internal {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
// One socket write gathers frames up to this size.
constexpr size_t kMaxWriteBytes = 256 * 1024;
// The connection-level receive window (the stream-level one is an option).
constexpr size_t kMaxWindowBytes = (1u << 31) - 1;  // RFC 9113 §6.9.1

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Headers HTTP/2 forbids (RFC 9113 §8.2.2) or that this transport sets itself.
bool DroppedResponseHeader(std::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade" || lower_name == "content-length" || lower_name.empty() ||
         lower_name[0] == ':';
}

nghttp2_nv MakeNv(const std::string& name, const std::string& value) {
  // nghttp2 copies the name/value pairs during nghttp2_submit_response.
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

class Http2Session;

// One part of a response body and its completion.
struct Part {
  std::string data;
  size_t offset = 0;  // bytes already copied into DATA frames
  std::function<void(bool)> written;
};

// The state of one HTTP/2 stream (request and response) on the connection's strand.
struct StreamState {
  HttpRequest request;
  Clock::time_point created{};  // HEADERS began: the header and body deadlines count from here
  size_t body_limit = 0;        // this request's limit (per API), set once the headers are in
  size_t header_bytes = 0;      // as counted for SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2)
  size_t header_count = 0;
  size_t received = 0;  // body bytes received (kept or discarded)
  bool headers_done = false;
  bool timed_out = false;   // reset for a stalled request (slowloris)
  bool head = false;        // the request is a HEAD
  bool too_large = false;   // the body passed body_limit: answered 413, the rest is discarded
  bool dispatched = false;  // handed to the handler
  bool responded = false;   // a response (one-shot or streamed) was submitted
  bool end = false;         // no parts will follow those in `parts`
  bool deferred = false;    // the data provider returned NGHTTP2_ERR_DEFERRED
  std::deque<Part> parts;
};

// The ResponseStream of one HTTP/2 stream: posts parts to the connection's strand.
class Http2ResponseStream : public ResponseStream {
 public:
  Http2ResponseStream(std::weak_ptr<Http2Session> session, std::shared_ptr<ResponderGate> gate,
                      net::any_io_executor exec, int32_t stream_id)
      : session_(std::move(session)),
        gate_(std::move(gate)),
        exec_(std::move(exec)),
        stream_id_(stream_id) {}
  ~Http2ResponseStream() override { End(); }
  void Write(std::string part, std::function<void(bool)> written) override;
  void End() override;

 private:
  std::weak_ptr<Http2Session> session_;
  std::shared_ptr<ResponderGate> gate_;
  net::any_io_executor exec_;
  int32_t stream_id_;
  std::atomic<bool> ended_{false};
};

class Http2Session : public Connection, public std::enable_shared_from_this<Http2Session> {
 public:
  Http2Session(AnyStream stream, std::string_view received, ConnectionContext context)
      : socket_(std::move(stream)),
        context_(std::move(context)),
        options_(*context_.options),
        received_(received),
        timer_(socket_.get_executor()) {}

  ~Http2Session() override {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  void Start() override {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->DoStart(); });
  }

  void Shutdown() override {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->closed_) return;
      self->BeginShutdown();
      self->SendPending();
    });
  }

  void ForceClose() override {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->Finish(); });
  }

  // --- Called on the strand (posted by Responders and Http2ResponseStream) --------------------

  void Respond(int32_t id, HttpResponse response) {
    StreamState* s = Find(id);
    if (s == nullptr || s->responded || closed_) return;
    s->responded = true;
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back(":status", std::to_string(response.status));
    for (auto& [k, v] : response.headers) {
      std::string name = Lower(k);
      if (!DroppedResponseHeader(name)) headers.emplace_back(std::move(name), v);
    }
    headers.emplace_back("content-length", std::to_string(response.body.size()));
    const bool with_body = !s->head && !response.body.empty();
    if (with_body) s->parts.push_back(Part{std::move(response.body), 0, nullptr});
    s->end = true;
    Submit(id, headers, with_body);
    SendPending();
  }

  void StartStream(int32_t id, int status, const HttpHeaders& response_headers) {
    StreamState* s = Find(id);
    if (s == nullptr || s->responded || closed_) return;
    s->responded = true;
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back(":status", std::to_string(status));
    for (const auto& [k, v] : response_headers) {
      std::string name = Lower(k);
      if (!DroppedResponseHeader(name)) headers.emplace_back(std::move(name), v);
    }
    if (s->head) s->end = true;  // HEAD: the headers only
    Submit(id, headers, /*with_body=*/!s->head);
    SendPending();
  }

  void StreamPart(int32_t id, std::string part, std::function<void(bool)> written) {
    StreamState* s = Find(id);
    if (s == nullptr || !s->responded || s->end || closed_) {
      if (written) written(false);
      return;
    }
    s->parts.push_back(Part{std::move(part), 0, std::move(written)});
    Resume(id, *s);
  }

  void StreamEnd(int32_t id) {
    StreamState* s = Find(id);
    if (s == nullptr || !s->responded || s->end || closed_) return;
    s->end = true;
    Resume(id, *s);
  }

 private:
  void DoStart() {
    // Small frames (WINDOW_UPDATE, SETTINGS ACK, short DATA) must not wait for Nagle.
    error_code ec;
    socket_.tcp().socket().set_option(tcp::no_delay(true), ec);
    if (!Init()) return Finish();
    if (context_.stopping()) BeginShutdown();
    last_activity_ = Clock::now();
    std::string received = std::move(received_);
    if (!Receive(reinterpret_cast<const uint8_t*>(received.data()), received.size())) return;
    DoRead();
    ArmTimer();
  }

  bool Init() {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &OnFrameSend);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) {
      nghttp2_session_callbacks_del(callbacks);
      return false;
    }
    // Manual connection-level flow control: bytes of bodies not yet handed to the handler stay
    // unacknowledged, so a connection never buffers more than its window (see Consume).
    nghttp2_option_set_no_auto_window_update(option, 1);
    // nghttp2 enforces the concurrent-stream limit we announce (RST_STREAM REFUSED_STREAM past it).
    const int rv = nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) return false;
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.http2_max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.http2_stream_window_bytes},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(options_.header_limit_bytes)},
    };
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) {
      return false;
    }
    return nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                                 ConnectionWindow()) == 0;
  }

  // The connection-level window: the bound on buffered request bodies, and at least one body.
  int32_t ConnectionWindow() const {
    const size_t w = std::max(options_.http2_max_buffered_bytes, options_.body_limit);
    return static_cast<int32_t>(std::min<size_t>(w, kMaxWindowBytes));
  }

  // Body bytes leave the connection's buffer (handed to the handler or discarded): the client may
  // send that many more.
  void Consume(size_t n) {
    if (n == 0 || session_ == nullptr) return;
    nghttp2_session_consume_connection(session_, n);
  }

  void DoRead() {
    socket_.async_read_some(net::buffer(read_buf_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (self->closed_) return;
                              if (ec) return self->Finish();  // EOF or reset: the client is gone
                              self->last_activity_ = Clock::now();
                              if (!self->Receive(self->read_buf_.data(), n)) return;
                              self->DoRead();
                            });
  }

  // Feeds received bytes to nghttp2, hands complete requests to the handler and sends what
  // nghttp2 queued. False when the connection was finished.
  bool Receive(const uint8_t* data, size_t n) {
    const ssize_t rv = nghttp2_session_mem_recv(session_, data, n);
    if (rv < 0) {
      // A connection error (bad preface, flood, ...): GOAWAY, then close once it is written.
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    } else {
      RunReady();
    }
    SendPending();
    return !closed_;
  }

  // Requests whose last frame arrived go to the handler; bodies over the limit get 413. Run
  // outside nghttp2's callbacks, so a handler never runs inside nghttp2_session_mem_recv.
  void RunReady() {
    std::vector<int32_t> too_large = std::move(too_large_);
    too_large_.clear();
    for (int32_t id : too_large) {
      const StreamState* s = Find(id);
      const size_t limit = s != nullptr ? s->body_limit : options_.body_limit;
      Respond(id, ErrorResponse(ApiError::BodyTooLarge(limit), NewRequestId()));
    }
    std::vector<int32_t> ready = std::move(ready_);
    ready_.clear();
    for (int32_t id : ready) {
      StreamState* s = Find(id);
      if (s == nullptr || s->too_large || s->dispatched) continue;
      s->dispatched = true;
      HttpRequest request = std::move(s->request);
      Consume(request.body.size());
      context_.handler->Handle(std::move(request), MakeResponder(id));
    }
  }

  Responder MakeResponder(int32_t id) {
    Responder::OneShot one_shot = [weak = weak_from_this(), gate = context_.gate,
                                   exec = socket_.get_executor(), id](HttpResponse response) {
      MutexLock lock(gate->mu);
      if (!gate->open) return;
      auto self = weak.lock();
      if (!self) return;
      net::post(exec, [self, id, response = std::move(response)]() mutable {
        self->Respond(id, std::move(response));
      });
    };
    Responder::Streamer streamer = [weak = weak_from_this(), gate = context_.gate,
                                    exec = socket_.get_executor(),
                                    id](int status, HttpHeaders headers) {
      auto stream = std::make_shared<Http2ResponseStream>(weak, gate, exec, id);
      MutexLock lock(gate->mu);
      if (!gate->open) return stream;
      if (auto self = weak.lock()) {
        net::post(exec, [self, id, status, headers = std::move(headers)] {
          self->StartStream(id, status, headers);
        });
      }
      return stream;
    };
    return Responder(std::move(one_shot), std::move(streamer));
  }

  void Submit(int32_t id, const std::vector<std::pair<std::string, std::string>>& headers,
              bool with_body) {
    std::vector<nghttp2_nv> nva;
    nva.reserve(headers.size());
    for (const auto& [k, v] : headers) nva.push_back(MakeNv(k, v));
    nghttp2_data_provider provider{};
    provider.read_callback = &ReadBody;
    if (nghttp2_submit_response(session_, id, nva.data(), nva.size(),
                                with_body ? &provider : nullptr) != 0) {
      // The stream is gone on nghttp2's side (reset by the client): drop what is queued.
      FailParts(id);
    }
  }

  void Resume(int32_t id, StreamState& s) {
    if (s.deferred) {
      s.deferred = false;
      nghttp2_session_resume_data(session_, id);
    }
    SendPending();
  }

  void FailParts(int32_t id) {
    StreamState* s = Find(id);
    if (s == nullptr) return;
    std::deque<Part> parts = std::move(s->parts);
    s->parts.clear();
    for (auto& p : parts) {
      if (p.written) p.written(false);
    }
  }

  // Serializes what nghttp2 has queued and writes it; one write at a time.
  void SendPending() {
    if (closed_ || write_in_flight_) return;
    out_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return Finish();
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      if (out_.size() >= kMaxWriteBytes) break;
    }
    if (out_.empty()) {
      // Nothing to send: done when nghttp2 neither expects frames nor has any to send (GOAWAY
      // sent or received and no open streams, or a connection error).
      if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
        Finish();
      }
      return;
    }
    write_in_flight_ = true;
    write_started_ = Clock::now();
    // The parts copied into these frames count as sent once the write completes.
    write_callbacks_ = std::move(copied_callbacks_);
    copied_callbacks_.clear();
    net::async_write(
        socket_, net::buffer(out_), [self = shared_from_this()](error_code ec, size_t) {
          self->write_in_flight_ = false;
          std::vector<std::function<void(bool)>> done = std::move(self->write_callbacks_);
          self->write_callbacks_.clear();
          for (auto& f : done) f(!ec);
          if (ec) return self->Finish();
          self->SendPending();
        });
  }

  void BeginShutdown() {
    if (goaway_sent_) return;
    goaway_sent_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }

  // Idle connections (no request being answered and no frame received for idle_timeout) get
  // GOAWAY and are closed; requests whose body stalled that long are dropped with them. A peer
  // that does not take our bytes for idle_timeout is cut off.
  void ArmTimer() {
    const auto idle = options_.idle_timeout;
    auto next = Clock::now() + idle;
    if (!Answering()) next = std::min(next, last_activity_ + idle);
    if (write_in_flight_) next = std::min(next, write_started_ + idle);
    for (const auto& [id, s] : streams_) {
      if (Receiving(*s)) next = std::min(next, Deadline(*s));
    }
    timer_.expires_at(next);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closed_) return;
      self->OnTimer();
    });
  }

  void OnTimer() {
    const auto now = Clock::now();
    const auto idle = options_.idle_timeout;
    if (write_in_flight_ && now - write_started_ >= idle) return Finish();
    bool reset = false;
    for (auto& [id, s] : streams_) {
      if (!Receiving(*s) || now < Deadline(*s)) continue;
      // Slowloris: the headers or the body arrive too slowly. The stream goes; the connection
      // and its other streams stay.
      s->timed_out = true;
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      reset = true;
    }
    if (reset) {
      SendPending();
      if (closed_) return;
    }
    if (!idle_closing_ && !Answering() && now - last_activity_ >= idle) {
      idle_closing_ = true;
      // GOAWAY, then close once it is written (nghttp2 stops wanting to read or write).
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      SendPending();
      if (closed_) return;
    }
    ArmTimer();
  }

  // A request still arriving (neither handed to the handler nor answered 413 nor reset).
  static bool Receiving(const StreamState& s) {
    return !s.dispatched && !s.too_large && !s.timed_out;
  }

  // When a request still arriving is cut off: its headers within header_timeout, its body at
  // body_min_bytes_per_s on average after that grace (64 KiB ahead, as HTTP/1.1).
  Clock::time_point Deadline(const StreamState& s) const {
    auto deadline = s.created + options_.header_timeout;
    if (!s.headers_done || options_.body_min_bytes_per_s == 0) return deadline;
    const uint64_t allowed_ms = (static_cast<uint64_t>(s.received) + kReadBufferBytes) * 1000 /
                                options_.body_min_bytes_per_s;
    return deadline + std::chrono::milliseconds(allowed_ms);
  }

  // True while a request is with the handler or its response is being sent: however long that
  // takes (event streams last minutes), the connection is not idle.
  bool Answering() const {
    return std::any_of(streams_.begin(), streams_.end(), [](const auto& entry) {
      return entry.second->dispatched || entry.second->too_large;
    });
  }

  void Finish() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    socket_.tcp().socket().close(ec);
    timer_.cancel();
    std::vector<std::function<void(bool)>> failed = std::move(copied_callbacks_);
    copied_callbacks_.clear();
    for (auto& [id, s] : streams_) {
      for (auto& p : s->parts) {
        if (p.written) failed.push_back(std::move(p.written));
      }
    }
    streams_.clear();
    for (auto& f : failed) f(false);
    context_.closed(this);
  }

  StreamState* Find(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  // --- nghttp2 callbacks (inside nghttp2_session_mem_recv / mem_send, on the strand) ----------

  static Http2Session& Self(void* user_data) { return *static_cast<Http2Session*>(user_data); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto state = std::make_unique<StreamState>();
    state->created = Clock::now();
    Http2Session& self = Self(user_data);
    state->body_limit = self.options_.body_limit;
    self.streams_.emplace(frame->hd.stream_id, std::move(state));
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user_data) {
    Http2Session& self = Self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    StreamState* s = self.Find(frame->hd.stream_id);
    if (s == nullptr || s->too_large) return 0;
    s->header_bytes += namelen + valuelen + 32;
    if (++s->header_count > self.options_.max_header_count ||
        s->header_bytes > self.options_.header_limit_bytes) {
      // Too many or too large headers: nghttp2 resets the stream (RST_STREAM).
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") {
      s->request.method = std::string(v);
      s->head = v == "HEAD";
    } else if (n == ":path") {
      s->request.target = std::string(v);
    } else if (n == ":authority") {
      if (s->request.Header("host").empty()) s->request.headers.emplace_back("host", v);
    } else if (!n.empty() && n[0] == ':') {
      // :scheme, :protocol: not part of HttpRequest.
    } else {
      if (n == "host") {
        // A host header wins over :authority (RFC 9113 §8.3.1 wants them equal).
        auto& h = s->request.headers;
        h.erase(
            std::remove_if(h.begin(), h.end(), [](const auto& kv) { return kv.first == "host"; }),
            h.end());
      }
      s->request.headers.emplace_back(std::string(n), std::string(v));
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user_data) {
    Http2Session& self = Self(user_data);
    // The stream's own window is acknowledged at once; the connection's only once the bytes leave
    // the buffer (Consume), which bounds what all streams of a connection hold together.
    nghttp2_session_consume_stream(self.session_, stream_id, len);
    StreamState* s = self.Find(stream_id);
    if (s == nullptr || s->too_large || s->dispatched || s->timed_out) {
      self.Consume(len);  // discarded
      return 0;
    }
    s->received += len;
    if (s->request.body.size() + len > s->body_limit) {
      s->too_large = true;
      self.Consume(s->request.body.size() + len);
      std::string().swap(s->request.body);
      self.too_large_.push_back(stream_id);
      return 0;
    }
    s->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Http2Session& self = Self(user_data);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      if (StreamState* s = self.Find(frame->hd.stream_id))
        self.OnRequestHeaders(frame->hd.stream_id, *s);
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 &&
        self.Find(frame->hd.stream_id) != nullptr) {
      self.ready_.push_back(frame->hd.stream_id);
    }
    return 0;
  }

  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
    Http2Session& self = Self(user_data);
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
      return 0;
    }
    StreamState* s = self.Find(frame->hd.stream_id);
    // The 413 is out while the client may still be sending the body: ask it to stop
    // (RFC 9113 §8.1: RST_STREAM with NO_ERROR after a complete response).
    if (s != nullptr && s->too_large &&
        nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    Http2Session& self = Self(user_data);
    auto it = self.streams_.find(stream_id);
    if (it == self.streams_.end()) return 0;
    if (!it->second->dispatched) self.Consume(it->second->request.body.size());  // never handled
    for (auto& p : it->second->parts) {
      if (p.written) self.closed_callbacks_.push_back(std::move(p.written));
    }
    self.streams_.erase(it);
    self.last_activity_ = Clock::now();
    if (!self.closed_callbacks_.empty()) {
      // Run outside nghttp2's callbacks: the callback may be user code.
      net::post(self.socket_.get_executor(), [keep = self.shared_from_this()] {
        std::vector<std::function<void(bool)>> failed = std::move(keep->closed_callbacks_);
        keep->closed_callbacks_.clear();
        for (auto& f : failed) f(false);
      });
    }
    return 0;
  }

  // The request's headers are in: its per-API body limit, and a declared Content-Length over it
  // is answered 413 before any DATA is read.
  void OnRequestHeaders(int32_t id, StreamState& s) {
    s.headers_done = true;
    if (options_.body_limit_for) {
      s.body_limit =
          std::min(options_.body_limit, options_.body_limit_for(s.request.Header("x-amz-target")));
    }
    const std::string_view length_text = s.request.Header("content-length");
    if (length_text.empty() || s.too_large) return;
    // nghttp2 checked it is a number (and will check that it matches the DATA received).
    uint64_t length = 0;
    for (char c : length_text) {
      if (length > (std::numeric_limits<uint64_t>::max() - 9) / 10) break;
      length = length * 10 + static_cast<uint64_t>(c - '0');
    }
    if (length > s.body_limit) {
      s.too_large = true;
      too_large_.push_back(id);
    }
  }

  // The data provider of every response body: copies queued parts into DATA frames; without
  // parts (a stream waiting for its next Write) it defers until Resume().
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    Http2Session& self = Self(user_data);
    StreamState* s = self.Find(stream_id);
    if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    size_t copied = 0;
    while (!s->parts.empty()) {
      Part& p = s->parts.front();
      const size_t n = std::min(length - copied, p.data.size() - p.offset);
      std::memcpy(buf + copied, p.data.data() + p.offset, n);
      copied += n;
      p.offset += n;
      if (p.offset < p.data.size()) break;  // the frame is full
      if (p.written) self.copied_callbacks_.push_back(std::move(p.written));
      s->parts.pop_front();
    }
    if (s->parts.empty() && s->end) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(copied);
    }
    if (copied == 0) {
      s->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(copied);
  }

  AnyStream socket_;
  ConnectionContext context_;
  const HttpServerOptions& options_;
  std::string received_;  // the bytes read before the hand-over (the preface and maybe more)
  net::steady_timer timer_;
  nghttp2_session* session_ = nullptr;
  std::array<uint8_t, kReadBufferBytes> read_buf_{};
  std::string out_;  // the bytes of the write in flight
  bool write_in_flight_ = false;
  bool goaway_sent_ = false;
  bool idle_closing_ = false;
  bool closed_ = false;
  Clock::time_point last_activity_{};
  Clock::time_point write_started_{};
  // Owned by this connection; unique_ptr so nghttp2 callbacks can hold a StreamState* briefly.
  std::map<int32_t, std::unique_ptr<StreamState>> streams_;
  std::vector<int32_t> ready_;      // requests complete, not yet handed to the handler
  std::vector<int32_t> too_large_;  // streams to answer with 413
  std::vector<std::function<void(bool)>> copied_callbacks_;  // parts in frames not yet written
  std::vector<std::function<void(bool)>> write_callbacks_;   // parts in the write in flight
  std::vector<std::function<void(bool)>> closed_callbacks_;  // parts of reset streams
};

void Http2ResponseStream::Write(std::string part, std::function<void(bool)> written) {
  {
    MutexLock lock(gate_->mu);
    auto self = session_.lock();
    if (gate_->open && self && !ended_.load()) {
      net::post(exec_, [self, id = stream_id_, part = std::move(part),
                        written = std::move(written)]() mutable {
        self->StreamPart(id, std::move(part), std::move(written));
      });
      return;
    }
  }
  if (written) written(false);
}

void Http2ResponseStream::End() {
  if (ended_.exchange(true)) return;
  MutexLock lock(gate_->mu);
  auto self = session_.lock();
  if (!gate_->open || !self) return;
  net::post(exec_, [self, id = stream_id_] { self->StreamEnd(id); });
}

}  // namespace

std::shared_ptr<Connection> MakeHttp2Session(AnyStream stream, std::string_view received,
                                             ConnectionContext context) {
  return std::make_shared<Http2Session>(std::move(stream), received, std::move(context));
}

}  // namespace sluice::api::internal
