// Firehose PutRecordBatch ingest through `sluice serve`, against the raw disk (issue 2).
//
// For each connection count C: start `sluice serve` on a fresh data dir (one stream `bench`,
// buffering 128 MB / 900 s), open C keep-alive HTTP/1.1 connections from one epoll thread and keep
// each busy with the same pre-built PutRecordBatch request (`batch` base64 records of `record`
// bytes of JSON) for `seconds`. Every answer must be 200 with "FailedPutCount":0 (else it counts
// as failed). Requests that finish after `warmup` and before the end are measured: records/s,
// payload MB/s, p50/p99/max latency. Then: the server's peak RSS (VmHWM), its and the generator's
// CPU, SIGTERM (must exit 0), and, on the same disk, the raw ceiling: the same number of payload
// bytes written sequentially in chunks of one request's payload, each followed by fdatasync
// ("ceiling"), and in chunks of `group_kb` ("group"; what group commit could reach).
// ratio = ingest MB/s / ceiling MB/s.
//
// Usage: ingest_bench [--sluice PATH] [--dir D] [--seconds S] [--warmup S] [--connections 4,16,64]
//                     [--batch N] [--record BYTES] [--io-threads N] [--partitions N]
//                     [--group-kb KB] [--bucket URL] [--keep]
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
  size_t batch = 500;
  size_t record = 1024;
  int io_threads = 2;
  int partitions = 1;
  size_t group_kb = 4096;
  std::string bucket;
  bool keep = false;
};

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

// The complete HTTP/1.1 request bytes: headers and the PutRecordBatch JSON body.
std::string MakeRequest(const Flags& f) {
  std::string body = "{\"DeliveryStreamName\":\"bench\",\"Records\":[";
  for (size_t i = 0; i < f.batch; ++i) {
    if (i > 0) body += ',';
    body += "{\"Data\":\"";
    sluice::base64::EncodeTo(MakeRecord(i, f.record), body);
    body += "\"}";
  }
  body += "]}";
  std::string req =
      "POST / HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\n"
      "Connection: keep-alive\r\n"
      "X-Amz-Target: Firehose_20150804.PutRecordBatch\r\n"
      "Content-Type: application/x-amz-json-1.1\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  return req + body;
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

bool AllRecordsAccepted(int status, std::string_view body) {
  return status == 200 && (body.find("\"FailedPutCount\":0,") != std::string_view::npos ||
                           body.find("\"FailedPutCount\":0}") != std::string_view::npos);
}

std::optional<LoadResult> RunLoad(uint16_t port, int connections, const std::string& request,
                                  double warmup_s, double seconds) {
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
  auto begin = [&](size_t i) {
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
        if (now < stop && !closed) begin(i);
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
  if (f.seconds <= 0 || f.warmup < 0 || f.batch < 1 || f.record < 64 || f.group_kb < 1) {
    std::fprintf(stderr, "need --seconds > 0, --warmup >= 0, --batch >= 1, --record >= 64\n");
    return false;
  }
  return true;
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
  const std::string request = MakeRequest(f);
  const uint64_t payload_per_request = f.batch * f.record;
  const size_t group_bytes = f.group_kb * 1024;

  std::printf("machine: %u cpus, %s; data dir %s (%s)\n", std::thread::hardware_concurrency(),
              CpuModel().c_str(), run_root.c_str(), MountOf(run_root).c_str());
  std::printf(
      "request: %zu records x %zu B JSON (payload %llu B, %zu B on the wire); "
      "server io_threads %d, partitions %d; %.1f s warm-up + %.1f s measured per row\n",
      f.batch, f.record, static_cast<unsigned long long>(payload_per_request), request.size(),
      f.io_threads, f.partitions, f.warmup, f.seconds);
  std::printf(
      "ceiling = write(%llu B) + fdatasync; group = write(%zu B) + fdatasync; "
      "same bytes as the row ingested\n\n",
      static_cast<unsigned long long>(payload_per_request), group_bytes);
  std::printf("%5s %11s %8s %8s %8s %8s %6s %8s %8s %8s %9s %9s %6s %13s %6s\n", "conns",
              "records/s", "MB/s", "p50 ms", "p99 ms", "max ms", "failed", "RSS MB", "srv CPU",
              "gen CPU", "ceil MB/s", "grp MB/s", "ratio", "rec/srv-CPU-s", "load1");
  std::fflush(stdout);

  bool all_ok = true;
  for (size_t row = 0; row < f.connections.size(); ++row) {
    const int conns = f.connections[row];
    const std::string run_dir = run_root + "/c" + std::to_string(conns);
    fs::create_directories(run_dir);
    ServerProcess server;
    if (!server.Start(f, run_dir)) return 1;
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
        "%5d %11.0f %8.1f %8.1f %8.1f %8.1f %6llu %8.1f %7.0f%% %7.0f%% %9.1f %9.1f %6.2f %13.0f "
        "%6.2f\n",
        conns, records_s, mb_s, Percentile(lat, 0.50), Percentile(lat, 0.99),
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
