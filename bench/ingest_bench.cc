// Firehose PutRecordBatch and Kinesis PutRecords ingest through `sluice serve`, against the raw
// disk (issues 2 and 10).
//
// For each API in --api and each connection count C: start `sluice serve` on a fresh data dir
// (one delivery stream `bench`, buffering 128 MB / 900 s; for --api kinesis also a Kinesis stream
// `bench` of `partitions` shards made with CreateStream and waited ACTIVE before measuring), open
// C keep-alive HTTP/1.1 connections from one epoll thread and keep each busy with the same
// pre-built request for `seconds`: Firehose_20150804.PutRecordBatch, or
// Kinesis_20131202.PutRecords with a distinct partition key per record ("pk-<i>"), either way
// `batch` base64 records of `record` bytes of JSON. Every answer must be 200 with
// "FailedPutCount":0 / "FailedRecordCount":0 (else it counts as failed). Requests that finish after
// `warmup` and before the end are measured: records/s, payload MB/s, p50/p99/max latency. Then: the
// server's peak RSS (VmHWM), its and the generator's CPU, SIGTERM (must exit 0), and, on the same
// disk, the raw ceiling: the same number of payload bytes written sequentially in chunks of one
// request's payload, each followed by fdatasync
// ("ceiling"), and in chunks of `group_kb` ("group"; what group commit could reach).
// ratio = ingest MB/s / ceiling MB/s.
//
// --read-mb M (Kinesis read throughput per shard, issue 10): on a fresh server, fill a 1-shard
// stream with about M MB of the same records (PutRecords over 4 connections), then read it from
// TRIM_HORIZON on one connection with GetRecords Limit 10000 in a loop until every record put has
// been read; reports payload MB/s, records/s, calls, and the server's and this process's CPU.
//
// Usage: ingest_bench [--sluice PATH] [--dir D] [--seconds S] [--warmup S] [--connections 4,16,64]
//                     [--api firehose,kinesis] [--batch N] [--record BYTES] [--io-threads N]
//                     [--partitions N] [--group-kb KB] [--bucket URL] [--read-mb M] [--keep]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

Clock::duration FromSeconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

struct Flags {
  std::string sluice;
  std::string dir = ".";
  double seconds = 10;
  double warmup = 1;
  std::vector<int> connections = {4, 16, 64};
  std::vector<std::string> apis = {"firehose"};
  size_t batch = 500;
  size_t record = 1024;
  int io_threads = 2;
  int partitions = 1;
  size_t group_kb = 4096;
  std::string bucket;
  double read_mb = 0;  // 0: no GetRecords read benchmark
  bool keep = false;
};

bool IsKinesis(const std::string& api) {
  return api == "kinesis";
}

// One JSON record of exactly `size` bytes (padded in "pad"); `seq` makes every record distinct.
std::string MakeRecord(size_t seq, size_t size) {
  char head[160];
  std::snprintf(head, sizeof head,
                "{\"seq\":%zu,\"device\":\"sensor-%02zu\",\"ts\":\"2024-05-01T12:00:00.000Z\","
                "\"temp_c\":21.5,\"status\":\"ok\",\"pad\":\"",
                seq, seq % 97);
  std::string r = head;
  const std::string tail = "\"}";
  if (r.size() + tail.size() < size) r.append(size - r.size() - tail.size(), 'x');
  r += tail;
  return r;
}

// The complete HTTP/1.1 request bytes for `target` (e.g. "Kinesis_20131202.CreateStream").
std::string MakeHttpRequest(const std::string& target, const std::string& body) {
  return "POST / HTTP/1.1\r\n"
         "Host: 127.0.0.1\r\n"
         "Connection: keep-alive\r\n"
         "X-Amz-Target: " +
         target +
         "\r\n"
         "Content-Type: application/x-amz-json-1.1\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The put request of `api`: PutRecordBatch to delivery stream `bench`, or PutRecords to Kinesis
// stream `bench` with partition keys "pk-<i>".
std::string MakePutRequest(const Flags& f, const std::string& api) {
  const bool kinesis = IsKinesis(api);
  std::string body = kinesis ? "{\"StreamName\":\"bench\",\"Records\":["
                             : "{\"DeliveryStreamName\":\"bench\",\"Records\":[";
  for (size_t i = 0; i < f.batch; ++i) {
    if (i > 0) body += ',';
    body += "{\"Data\":\"";
    sluice::base64::EncodeTo(MakeRecord(i, f.record), body);
    body += '"';
    if (kinesis) body += ",\"PartitionKey\":\"pk-" + std::to_string(i) + '"';
    body += '}';
  }
  body += "]}";
  return MakeHttpRequest(
      kinesis ? "Kinesis_20131202.PutRecords" : "Firehose_20150804.PutRecordBatch", body);
}

// --- the server process ---------------------------------------------------------------------

std::optional<double> ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // Fields after the ")" of the command name: state is field 3; utime and stime are 14 and 15.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Peak resident set (VmHWM) in kB, from /proc/<pid>/status.
std::optional<long> PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return std::nullopt;
}

double SelfCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `sluice serve` on its own data dir. The destructor SIGKILLs it if Stop() was not reached.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Writes the config, starts the server and waits (at most 30 s) for its ready file.
  bool Start(const Flags& f, const std::string& run_dir) {
    const std::string config = run_dir + "/sluice.yaml";
    const std::string ready = run_dir + "/ready";
    log_ = run_dir + "/server.log";
    {
      std::ofstream out(config);
      out << "server:\n"
          << "  listen: 127.0.0.1:0\n"
          << "  data_dir: " << run_dir << "/data\n"
          << "  io_threads: " << f.io_threads << "\n"
          << "delivery_streams:\n"
          << "  - name: bench\n"
          << "    partitions: " << f.partitions << "\n"
          << "    buffering: {size_mb: 128, interval_s: 900}\n";
      if (!f.bucket.empty()) out << "    staged: {url: \"" << f.bucket << "\"}\n";
      if (!out) {
        std::fprintf(stderr, "cannot write %s\n", config.c_str());
        return false;
      }
    }
    pid_ = ::fork();
    if (pid_ < 0) {
      std::perror("fork");
      return false;
    }
    if (pid_ == 0) {
      int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log_fd >= 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
      }
      ::execl(f.sluice.c_str(), f.sluice.c_str(), "serve", "--config", config.c_str(),
              "--ready-file", ready.c_str(), static_cast<char*>(nullptr));
      std::perror("exec sluice");
      ::_exit(127);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::fprintf(stderr, "sluice serve exited before it was ready; its log:\n%s\n",
                     ReadFile(log_).c_str());
        return false;
      }
      std::string addr = ReadFile(ready);
      if (!addr.empty() && addr.back() == '\n') {
        addr.pop_back();
        size_t colon = addr.rfind(':');
        if (colon == std::string::npos) break;
        port_ = static_cast<uint16_t>(std::atoi(addr.c_str() + colon + 1));
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::fprintf(stderr,
                 "sluice serve did not write a valid ready file within 30 s; its log:\n%s\n",
                 ReadFile(log_).c_str());
    return false;
  }

  // SIGTERM, then waits (at most `timeout`) for exit status 0.
  bool Stop(Clock::duration timeout) {
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
        std::fprintf(stderr, "sluice serve stopped with status %d; its log:\n%s\n", status,
                     ReadFile(log_).c_str());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::fprintf(stderr, "sluice serve did not exit within the timeout after SIGTERM\n");
    return false;
  }

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

// --- the load generator ---------------------------------------------------------------------

struct LoadResult {
  uint64_t ok_requests = 0;      // measured window only
  uint64_t failed_requests = 0;  // whole run, warm-up included
  double window_s = 0;
  std::vector<double> latencies_ms;  // measured window only
  std::string first_failure;
};

class Connection {
 public:
  int fd = -1;
  size_t sent = 0;
  bool busy = false;
  Clock::time_point started;
  std::string in;
};

int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Parses one complete HTTP response at the front of `in`. Returns the bytes it spans (0 if
// incomplete) and sets `status` and `body`; -1 if malformed.
long ParseResponse(const std::string& in, int& status, std::string_view& body) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  if (in.compare(0, 9, "HTTP/1.1 ") != 0) return -1;
  status = std::atoi(in.c_str() + 9);
  std::string head = in.substr(0, end);
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  size_t cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) return -1;
  size_t length = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
  if (in.size() < end + 4 + length) return 0;
  body = std::string_view(in).substr(end + 4, length);
  return static_cast<long>(end + 4 + length);
}

// A 200 answer whose failed-record count (FailedPutCount or FailedRecordCount) is 0.
bool AllRecordsAccepted(int status, std::string_view body) {
  if (status != 200) return false;
  for (std::string_view key : {"\"FailedPutCount\":0", "\"FailedRecordCount\":0"}) {
    size_t at = body.find(key);
    if (at != std::string_view::npos && at + key.size() < body.size() &&
        (body[at + key.size()] == ',' || body[at + key.size()] == '}')) {
      return true;
    }
  }
  return false;
}

// One request at a time on a blocking keep-alive connection (set-up calls and GetRecords).
class BlockingClient {
 public:
  explicit BlockingClient(uint16_t port) : port_(port) {}
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;
  ~BlockingClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Sends `target` with `body`; returns the status and the response body, or nullopt (and a
  // message on stderr) if the connection fails or the answer is not HTTP/1.1 with Content-Length.
  std::optional<std::pair<int, std::string>> Call(const std::string& target,
                                                  const std::string& body) {
    if (fd_ < 0 && !Open()) return std::nullopt;
    const std::string request = MakeHttpRequest(target, body);
    size_t sent = 0;
    while (sent < request.size()) {
      ssize_t w = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (w <= 0) {
        std::perror("send");
        Reset();
        return std::nullopt;
      }
      sent += static_cast<size_t>(w);
    }
    for (;;) {
      int status = 0;
      std::string_view resp;
      long used = ParseResponse(in_, status, resp);
      if (used < 0) {
        std::fprintf(stderr, "malformed HTTP response: %s\n", in_.substr(0, 200).c_str());
        Reset();
        return std::nullopt;
      }
      if (used > 0) {
        std::pair<int, std::string> out{status, std::string(resp)};
        in_.erase(0, static_cast<size_t>(used));
        return out;
      }
      ssize_t r = ::recv(fd_, buf_.data(), buf_.size(), 0);
      if (r > 0) in_.append(buf_.data(), static_cast<size_t>(r));
      if (r <= 0) {
        std::fprintf(stderr, "connection closed by the server mid-request (%s)\n", target.c_str());
        Reset();
        return std::nullopt;
      }
    }
  }

 private:
  bool Open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("connect");
      Reset();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in_.clear();
  }

  uint16_t port_;
  int fd_ = -1;
  std::string in_;
  std::vector<char> buf_ = std::vector<char>(1 << 20);
};

// The string value of the first `"key":"..."` in a JSON text (values here have no escapes).
std::optional<std::string> JsonStringField(std::string_view json, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  at += needle.size();
  size_t end = json.find('"', at);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(json.substr(at, end - at));
}

// CreateStream `bench` with `shards` shards, then DescribeStreamSummary until ACTIVE (at most 30
// s).
bool CreateKinesisStream(uint16_t port, int shards) {
  BlockingClient client(port);
  auto created =
      client.Call("Kinesis_20131202.CreateStream",
                  "{\"StreamName\":\"bench\",\"ShardCount\":" + std::to_string(shards) + "}");
  if (!created || created->first != 200) {
    std::fprintf(stderr, "CreateStream failed: %s\n", created ? created->second.c_str() : "");
    return false;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    auto summary =
        client.Call("Kinesis_20131202.DescribeStreamSummary", "{\"StreamName\":\"bench\"}");
    if (!summary || summary->first != 200) {
      std::fprintf(stderr, "DescribeStreamSummary failed: %s\n",
                   summary ? summary->second.c_str() : "");
      return false;
    }
    if (JsonStringField(summary->second, "StreamStatus") == "ACTIVE") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "stream bench not ACTIVE within 30 s\n");
  return false;
}

// `max_requests` > 0: no request is started after that many (the run ends when they are answered).
std::optional<LoadResult> RunLoad(uint16_t port, int connections, const std::string& request,
                                  double warmup_s, double seconds, uint64_t max_requests = 0) {
  LoadResult result;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Connection> conns(static_cast<size_t>(connections));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(port);
    if (conns[i].fd < 0) {
      std::perror("connect");
      return std::nullopt;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  const auto start = Clock::now();
  const auto window_start = start + FromSeconds(warmup_s);
  const auto stop = window_start + FromSeconds(seconds);
  const auto drain_deadline = stop + std::chrono::seconds(60);
  auto set_interest = [&](size_t i, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_MOD, conns[i].fd, &ev);
  };
  uint64_t started = 0;
  auto begin = [&](size_t i) {
    ++started;
    conns[i].busy = true;
    conns[i].sent = 0;
    conns[i].started = Clock::now();
    set_interest(i, EPOLLIN | EPOLLOUT);
  };
  auto fail = [&](const std::string& why) {
    ++result.failed_requests;
    if (result.first_failure.empty()) result.first_failure = why;
  };
  size_t open = conns.size();
  for (size_t i = 0; i < conns.size(); ++i) begin(i);
  std::vector<epoll_event> events(conns.size());
  char buf[65536];
  while (open > 0 && Clock::now() < drain_deadline) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) {
      std::perror("epoll_wait");
      return std::nullopt;
    }
    for (int e = 0; e < n; ++e) {
      const size_t i = events[e].data.u64;
      Connection& c = conns[i];
      if (c.fd < 0) continue;
      bool closed = false;
      if ((events[e].events & EPOLLOUT) && c.busy && c.sent < request.size()) {
        ssize_t w = ::send(c.fd, request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
        if (w > 0) {
          c.sent += static_cast<size_t>(w);
          if (c.sent == request.size()) set_interest(i, EPOLLIN);
        } else if (w < 0 && errno != EAGAIN) {
          closed = true;
        }
      }
      if (!closed && (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        for (;;) {
          ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || errno != EAGAIN) closed = true;
          break;
        }
      }
      int status = 0;
      std::string_view body;
      long used = closed && c.in.empty() ? 0 : ParseResponse(c.in, status, body);
      if (used < 0) {
        fail("malformed HTTP response: " + c.in.substr(0, 200));
        closed = true;
      } else if (used > 0) {
        const auto now = Clock::now();
        if (!AllRecordsAccepted(status, body)) {
          fail("HTTP " + std::to_string(status) + ": " + std::string(body.substr(0, 300)));
        } else if (now >= window_start && now <= stop) {
          ++result.ok_requests;
          result.latencies_ms.push_back(Seconds(now - c.started) * 1e3);
        }
        c.in.erase(0, static_cast<size_t>(used));
        c.busy = false;
        if (now < stop && !closed && (max_requests == 0 || started < max_requests)) begin(i);
      }
      if (closed && c.busy) fail("connection closed by the server mid-request");
      if (closed || !c.busy) {
        ::close(c.fd);
        c.fd = -1;
        --open;
        // A connection the server closed while the run goes on is replaced.
        if (closed && Clock::now() < stop) {
          c.fd = Connect(port);
          if (c.fd >= 0) {
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLOUT;
            ev.data.u64 = i;
            ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
            c.in.clear();
            ++open;
            begin(i);
          }
        }
      }
    }
  }
  for (auto& c : conns) {
    if (c.fd >= 0) {
      if (c.busy) fail("no answer within 60 s of the end of the run");
      ::close(c.fd);
    }
  }
  ::close(ep);
  result.window_s = seconds;
  return result;
}

// --- the raw disk ---------------------------------------------------------------------------

// Sequential write of `total` bytes in `chunk`-byte writes, each followed by fdatasync; stops
// early after `max_duration`. Returns MB/s (1 MB = 1e6 bytes); the file is removed.
std::optional<double> RawWriteMbS(const std::string& path, uint64_t total, size_t chunk,
                                  Clock::duration max_duration) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror("open raw file");
    return std::nullopt;
  }
  std::string data(chunk, 'r');
  uint64_t written = 0;
  const auto start = Clock::now();
  while (written < total && Clock::now() - start < max_duration) {
    if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("raw write");
      ::close(fd);
      return std::nullopt;
    }
    written += data.size();
  }
  const double s = Seconds(Clock::now() - start);
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(written) / s / 1e6;
}

// --- reporting ------------------------------------------------------------------------------

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(std::lround(p * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(idx, sorted.size() - 1)];
}

// The 1-minute load average: other work on the machine competes for the same cores.
double LoadAverage1() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// "device fstype" of the mount holding `path` (longest matching mount point).
std::string MountOf(const std::string& path) {
  std::error_code ec;
  const std::string abs = fs::canonical(path, ec).string();
  std::ifstream in("/proc/self/mounts");
  std::string dev, mnt, type, rest, best = "unknown";
  size_t best_len = 0;
  while (in >> dev >> mnt >> type && std::getline(in, rest)) {
    const bool under =
        abs == mnt || (abs.rfind(mnt, 0) == 0 && (mnt == "/" || abs[mnt.size()] == '/'));
    if (under && mnt.size() >= best_len) {
      best_len = mnt.size();
      best = dev + " " + type + " on " + mnt;
    }
  }
  return best;
}

bool ParseFlags(int argc, char** argv, Flags& f) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--keep") {
      f.keep = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "flag %s needs a value\n", argv[i]);
      return false;
    }
    const char* v = argv[++i];
    if (flag == "--sluice") {
      f.sluice = v;
    } else if (flag == "--dir") {
      f.dir = v;
    } else if (flag == "--seconds") {
      f.seconds = std::atof(v);
    } else if (flag == "--warmup") {
      f.warmup = std::atof(v);
    } else if (flag == "--connections") {
      f.connections.clear();
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) f.connections.push_back(std::atoi(item.c_str()));
    } else if (flag == "--api") {
      f.apis.clear();
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) f.apis.push_back(item);
    } else if (flag == "--read-mb") {
      f.read_mb = std::atof(v);
    } else if (flag == "--batch") {
      f.batch = static_cast<size_t>(std::atol(v));
    } else if (flag == "--record") {
      f.record = static_cast<size_t>(std::atol(v));
    } else if (flag == "--io-threads") {
      f.io_threads = std::atoi(v);
    } else if (flag == "--partitions") {
      f.partitions = std::atoi(v);
    } else if (flag == "--group-kb") {
      f.group_kb = static_cast<size_t>(std::atol(v));
    } else if (flag == "--bucket") {
      f.bucket = v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  for (int c : f.connections) {
    if (c < 1) {
      std::fprintf(stderr, "--connections must be a list of positive counts\n");
      return false;
    }
  }
  for (const auto& api : f.apis) {
    if (api != "firehose" && api != "kinesis") {
      std::fprintf(stderr, "--api takes a list of firehose and kinesis, not %s\n", api.c_str());
      return false;
    }
  }
  if (f.read_mb < 0) {
    std::fprintf(stderr, "--read-mb must be >= 0\n");
    return false;
  }
  if (f.seconds <= 0 || f.warmup < 0 || f.batch < 1 || f.record < 64 || f.group_kb < 1) {
    std::fprintf(stderr, "need --seconds > 0, --warmup >= 0, --batch >= 1, --record >= 64\n");
    return false;
  }
  return true;
}

// --- GetRecords read throughput (--read-mb) --------------------------------------------------

// Counts the records of a GetRecords answer and their decoded bytes (every "Data" is base64).
void CountRecords(std::string_view body, uint64_t& records, uint64_t& bytes) {
  static constexpr std::string_view kData = "\"Data\":\"";
  for (size_t at = body.find(kData); at != std::string_view::npos; at = body.find(kData, at)) {
    at += kData.size();
    size_t end = body.find('"', at);
    if (end == std::string_view::npos) return;
    size_t n = end - at;
    size_t pad = (n > 0 && body[end - 1] == '=') + (n > 1 && body[end - 2] == '=');
    ++records;
    bytes += n / 4 * 3 - pad;
    at = end;
  }
}

// Fills a 1-shard stream with about `read_mb` MB, then reads it back with GetRecords Limit 10000.
bool RunReadBench(const Flags& f, const std::string& run_root) {
  const std::string run_dir = run_root + "/read";
  fs::create_directories(run_dir);
  ServerProcess server;
  if (!server.Start(f, run_dir)) return false;
  if (!CreateKinesisStream(server.port(), 1)) return false;
  const uint64_t payload_per_request = f.batch * f.record;
  const uint64_t requests =
      std::max<uint64_t>(1, static_cast<uint64_t>(f.read_mb * 1e6) / payload_per_request);
  const auto fill_start = Clock::now();
  auto fill = RunLoad(server.port(), 4, MakePutRequest(f, "kinesis"), 0, 3600, requests);
  const double fill_s = Seconds(Clock::now() - fill_start);
  if (!fill) return false;
  if (fill->failed_requests > 0) {
    std::printf("fill failed: %s\n", fill->first_failure.c_str());
    return false;
  }
  const uint64_t written = fill->ok_requests * f.batch;
  std::printf("\nGetRecords read, 1 shard: filled %llu records (%.1f MB payload) in %.2f s\n",
              static_cast<unsigned long long>(written),
              static_cast<double>(written * f.record) / 1e6, fill_s);

  BlockingClient client(server.port());
  auto it = client.Call("Kinesis_20131202.GetShardIterator",
                        "{\"StreamName\":\"bench\",\"ShardId\":\"shardId-000000000000\","
                        "\"ShardIteratorType\":\"TRIM_HORIZON\"}");
  std::optional<std::string> iterator;
  if (it && it->first == 200) iterator = JsonStringField(it->second, "ShardIterator");
  if (!iterator) {
    std::printf("GetShardIterator failed: %s\n", it ? it->second.c_str() : "");
    return false;
  }
  const double load1 = LoadAverage1();
  const double srv_cpu0 = ProcessCpuSeconds(server.pid()).value_or(0);
  const double gen_cpu0 = SelfCpuSeconds();
  uint64_t records = 0, bytes = 0, wire = 0, calls = 0, empty = 0;
  std::vector<double> latencies_ms;
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::seconds(600);
  while (records < written && Clock::now() < deadline) {
    const auto c0 = Clock::now();
    auto got = client.Call("Kinesis_20131202.GetRecords",
                           "{\"ShardIterator\":\"" + *iterator + "\",\"Limit\":10000}");
    latencies_ms.push_back(Seconds(Clock::now() - c0) * 1e3);
    if (!got || got->first != 200) {
      std::printf("GetRecords failed: %s\n", got ? got->second.substr(0, 300).c_str() : "");
      return false;
    }
    ++calls;
    wire += got->second.size();
    const uint64_t before = records;
    CountRecords(got->second, records, bytes);
    if (records == before) ++empty;
    iterator = JsonStringField(got->second, "NextShardIterator");
    if (!iterator) {
      std::printf("GetRecords answered no NextShardIterator on an open shard\n");
      return false;
    }
  }
  const double wall = Seconds(Clock::now() - t0);
  const double srv_cpu = ProcessCpuSeconds(server.pid()).value_or(0) - srv_cpu0;
  const double gen_cpu = SelfCpuSeconds() - gen_cpu0;
  const long rss_kb = PeakRssKb(server.pid()).value_or(0);
  if (!server.Stop(std::chrono::seconds(120))) return false;
  if (!f.keep) fs::remove_all(run_dir);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("%11s %9s %9s %7s %8s %8s %8s %8s %8s %8s %6s\n", "records/s", "MB/s", "wire MB/s",
              "calls", "rec/call", "p50 ms", "p99 ms", "RSS MB", "srv CPU", "gen CPU", "load1");
  std::printf("%11.0f %9.1f %9.1f %7llu %8.0f %8.1f %8.1f %8.1f %7.0f%% %7.0f%% %6.2f\n",
              static_cast<double>(records) / wall, static_cast<double>(bytes) / wall / 1e6,
              static_cast<double>(wire) / wall / 1e6, static_cast<unsigned long long>(calls),
              calls > 0 ? static_cast<double>(records) / static_cast<double>(calls) : 0.0,
              Percentile(latencies_ms, 0.50), Percentile(latencies_ms, 0.99), rss_kb / 1024.0,
              100 * srv_cpu / wall, 100 * gen_cpu / wall, load1);
  const bool complete = records == written && bytes == written * f.record;
  if (!complete) {
    std::printf("read %llu records / %llu B of %llu / %llu B written\n",
                static_cast<unsigned long long>(records), static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(written),
                static_cast<unsigned long long>(written * f.record));
  }
  std::printf(
      "MB/s = decoded record payload read per second of wall time (the records were just "
      "written, so the journal's segments are in the page cache); %llu empty answers\n",
      static_cast<unsigned long long>(empty));
  return complete;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, f)) return 2;
  if (f.sluice.empty()) {
    // Default: the sluice binary of the same build tree (<build>/bench/ingest_bench).
    std::error_code ec;
    f.sluice =
        (fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path() / "src/cli/sluice")
            .string();
  }
  if (::access(f.sluice.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "no sluice binary at %s (use --sluice PATH)\n", f.sluice.c_str());
    return 2;
  }
  std::string tmpl = f.dir + "/ingest_bench.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string run_root = fs::absolute(tmpl).string();
  std::vector<std::string> requests;
  for (const auto& api : f.apis) requests.push_back(MakePutRequest(f, api));
  const uint64_t payload_per_request = f.batch * f.record;
  const size_t group_bytes = f.group_kb * 1024;

  std::printf("machine: %u cpus, %s; data dir %s (%s)\n", std::thread::hardware_concurrency(),
              CpuModel().c_str(), run_root.c_str(), MountOf(run_root).c_str());
  std::printf(
      "request: %zu records x %zu B JSON (payload %llu B); "
      "server io_threads %d, partitions (Kinesis: shards) %d; %.1f s warm-up + %.1f s measured "
      "per row\n",
      f.batch, f.record, static_cast<unsigned long long>(payload_per_request), f.io_threads,
      f.partitions, f.warmup, f.seconds);
  for (size_t a = 0; a < f.apis.size(); ++a) {
    std::printf("  %s: %zu B on the wire per request\n", f.apis[a].c_str(), requests[a].size());
  }
  std::printf(
      "ceiling = write(%llu B) + fdatasync; group = write(%zu B) + fdatasync; "
      "same bytes as the row ingested\n\n",
      static_cast<unsigned long long>(payload_per_request), group_bytes);
  std::printf("%-8s %5s %11s %8s %8s %8s %8s %6s %8s %8s %8s %9s %9s %6s %13s %6s\n", "api",
              "conns", "records/s", "MB/s", "p50 ms", "p99 ms", "max ms", "failed", "RSS MB",
              "srv CPU", "gen CPU", "ceil MB/s", "grp MB/s", "ratio", "rec/srv-CPU-s", "load1");
  std::fflush(stdout);

  bool all_ok = true;
  for (size_t a = 0; a < f.apis.size(); ++a) {
    const std::string& api = f.apis[a];
    const std::string& request = requests[a];
    for (size_t row = 0; row < f.connections.size(); ++row) {
      const int conns = f.connections[row];
      const std::string run_dir = run_root + "/" + api + "-c" + std::to_string(conns);
      fs::create_directories(run_dir);
      ServerProcess server;
      if (!server.Start(f, run_dir)) return 1;
      if (IsKinesis(api) && !CreateKinesisStream(server.port(), f.partitions)) return 1;
      const double load1 = LoadAverage1();
      const double srv_cpu0 = ProcessCpuSeconds(server.pid()).value_or(0);
      const double gen_cpu0 = SelfCpuSeconds();
      const auto t0 = Clock::now();
      auto load = RunLoad(server.port(), conns, request, f.warmup, f.seconds);
      const double wall = Seconds(Clock::now() - t0);
      const double srv_cpu = ProcessCpuSeconds(server.pid()).value_or(0) - srv_cpu0;
      const double gen_cpu = SelfCpuSeconds() - gen_cpu0;
      const long rss_kb = PeakRssKb(server.pid()).value_or(0);
      if (!load) return 1;
      if (!server.Stop(std::chrono::seconds(120))) return 1;
      if (!f.keep) fs::remove_all(run_dir + "/data");

      const double records_s = static_cast<double>(load->ok_requests * f.batch) / load->window_s;
      const double mb_s =
          static_cast<double>(load->ok_requests * payload_per_request) / load->window_s / 1e6;
      const uint64_t total = std::max<uint64_t>(load->ok_requests, 1) * payload_per_request;
      const auto raw_limit = FromSeconds(std::max(2 * f.seconds, 2.0));
      auto ceiling = RawWriteMbS(run_dir + "/raw.dat", total, payload_per_request, raw_limit);
      auto group = RawWriteMbS(run_dir + "/raw.dat", total, group_bytes, raw_limit);
      if (!ceiling || !group) return 1;

      auto& lat = load->latencies_ms;
      std::sort(lat.begin(), lat.end());
      std::printf(
          "%-8s %5d %11.0f %8.1f %8.1f %8.1f %8.1f %6llu %8.1f %7.0f%% %7.0f%% %9.1f %9.1f %6.2f "
          "%13.0f %6.2f\n",
          api.c_str(), conns, records_s, mb_s, Percentile(lat, 0.50), Percentile(lat, 0.99),
          lat.empty() ? 0.0 : lat.back(), static_cast<unsigned long long>(load->failed_requests),
          rss_kb / 1024.0, 100 * srv_cpu / wall, 100 * gen_cpu / wall, *ceiling, *group,
          *ceiling > 0 ? mb_s / *ceiling : 0.0, srv_cpu > 0 ? records_s * wall / srv_cpu : 0.0,
          load1);
      std::fflush(stdout);
      if (load->failed_requests > 0) {
        std::printf("      first failure: %s\n", load->first_failure.c_str());
        all_ok = false;
      }
      if (!f.keep) fs::remove_all(run_dir);
    }
  }
  if (f.read_mb > 0 && !RunReadBench(f, run_root)) all_ok = false;
  if (!f.keep) {
    std::error_code ec;
    fs::remove_all(run_root, ec);
  }
  std::printf(
      "\nratio = ingest MB/s / ceiling MB/s (payload bytes; the journal also writes "
      "frame headers). CPU %% is of one core over the row's wall time;\n"
      "rec/srv-CPU-s = records per second of server CPU time; load1 = 1-minute load average "
      "when the row started.\n");
  return all_ok ? 0 : 1;
}
