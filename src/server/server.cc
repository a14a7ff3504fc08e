#include "server/server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "api/cbor_adapter.h"
#include "api/firehose_handler.h"
#include "api/http_server.h"
#include "api/kinesis_handler.h"
#include "api/kinesis_ids.h"
#include "api/router.h"
#include "auth/key_store.h"
#include "auth/sigv4.h"
#include "common/file_util.h"
#include "common/mutex.h"
#include "journal/journal.h"
#include "secrets/resolver.h"
#include "server/admin.h"
#include "server/metrics.h"
#include "server/stream_registry.h"
#include "streams/autoscaler.h"
#include "streams/service.h"

namespace sluice::server {
namespace {

Status SplitHostPort(const std::string& listen, std::string& host, uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return Status::InvalidArgument("listen address '" + listen + "' must be HOST:PORT");
  }
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string p = listen.substr(colon + 1);
  if (p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5 ||
      std::stoul(p) > 65535) {
    return Status::InvalidArgument("listen address '" + listen + "': port must be 0..65535");
  }
  port = static_cast<uint16_t>(std::stoul(p));
  return Status::Ok();
}

// The data listener's options from `server:` (tls, limits, io_threads).
api::HttpServerOptions ListenerOptions(const config::ServerConfig& sc) {
  api::HttpServerOptions ho;
  ho.io_threads = static_cast<int>(sc.io_threads);
  const config::LimitsConfig& l = sc.limits;
  ho.body_limit = l.max_body_bytes;
  ho.body_limit_for = [firehose = l.firehose_max_body_bytes, kinesis = l.kinesis_max_body_bytes,
                       any = l.max_body_bytes](std::string_view target) -> size_t {
    if (target.starts_with(api::kFirehoseTargetPrefix)) return firehose;
    if (target.starts_with(api::kKinesisTargetPrefix)) return kinesis;
    return any;
  };
  ho.header_limit_bytes = l.max_header_bytes;
  ho.max_header_count = l.max_header_count;
  ho.header_timeout = std::chrono::milliseconds(l.header_timeout_ms);
  ho.body_min_bytes_per_s = l.body_min_bytes_per_s;
  ho.idle_timeout = std::chrono::milliseconds(l.idle_timeout_ms);
  ho.http2_max_concurrent_streams = l.http2_max_concurrent_streams;
  ho.http2_max_buffered_bytes = l.http2_max_buffered_bytes;
  // Connections get at most half of the open-file limit: the journal's segments, delivery and
  // outgoing connections need the rest.
  ho.max_connections = l.max_connections;
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
      lim.rlim_cur / 2 < ho.max_connections) {
    ho.max_connections = std::max<size_t>(1, lim.rlim_cur / 2);
    spdlog::warn(
        "server.limits.max_connections {} lowered to {}: half of the open-file limit {} "
        "(raise it with ulimit -n)",
        l.max_connections, ho.max_connections, lim.rlim_cur);
  }
  if (sc.tls.enabled()) {
    ho.tls = api::TlsOptions{sc.tls.cert_file, sc.tls.key_file, sc.tls.client_ca_file,
                             sc.tls.min_version};
  }
  return ho;
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  if (host.rfind("127.", 0) != 0) return false;
  return host.find_first_not_of("0123456789.") == std::string::npos;
}

namespace {

class ServerImpl : public Server {
 public:
  explicit ServerImpl(ServeOptions options) : options_(std::move(options)) {}
  ~ServerImpl() override { Shutdown(); }

  Status Init() {
    const config::ServerConfig& sc = options_.config.server;
    {
      std::string host;
      uint16_t port = 0;
      SLUICE_RETURN_IF_ERROR(SplitHostPort(sc.listen, host, port));
      if (!options_.config.auth.enabled && !auth::KeyStore(sc.data_dir).Exists() &&
          !options_.allow_anonymous && !IsLoopbackHost(host)) {
        return Status::FailedPrecondition(
            "refusing to listen on " + sc.listen +
            " without authentication: anyone who can reach it could read and write every "
            "stream; add an `auth:` block (docs/security.md) or pass --allow-anonymous");
      }
    }
    SLUICE_RETURN_IF_ERROR(fs::CreateDirs(sc.data_dir));
    journal::Options jo;
    jo.dir = fs::Join(sc.data_dir, "journal");
    jo.segment_bytes = sc.segment_mb << 20;
    jo.quota_bytes = sc.quota_mb << 20;
    jo.disk_reserve_bytes = sc.disk_reserve_mb << 20;
    jo.sync = sc.sync;
    jo.repair_tail = options_.repair_journal;
    SLUICE_ASSIGN_OR_RETURN(journal_, journal::Journal::Open(jo));
    if (options_.redactor == nullptr) {
      own_redactor_ = std::make_unique<secrets::Redactor>();
      options_.redactor = own_redactor_.get();
    }
    resolver_ = std::make_unique<secrets::Resolver>(options_.redactor, &Clock::System());
    streams_ = std::make_unique<streams::Service>(
        journal_.get(),
        streams::ServiceOptions{fs::Join(sc.data_dir, "ingest-streams"), &Clock::System()});
    SLUICE_RETURN_IF_ERROR(streams_->Open());
    // Kinesis Data Streams: their own catalog and journal namespace, so that a Kinesis stream and
    // a delivery stream may share a name.
    kinesis_streams_ = std::make_unique<streams::Service>(
        journal_.get(),
        streams::ServiceOptions{fs::Join(sc.data_dir, "kinesis/streams"), &Clock::System(),
                                streams::kKinesisJournalNamespace});
    SLUICE_RETURN_IF_ERROR(kinesis_streams_->Open().WithContext("kinesis streams"));
    registry_ = std::make_unique<StreamRegistry>(sc, streams_.get(), resolver_.get());
    registry_->SetKinesisStreams(kinesis_streams_.get());
    autoscaler_ =
        std::make_unique<streams::AutoScaler>(kinesis_streams_.get(), streams::AutoScalerOptions{});
    for (const auto& s : options_.config.streams) {
      SLUICE_RETURN_IF_ERROR(registry_->AddConfigStream(s).WithContext("stream " + s.name));
    }
    SLUICE_RETURN_IF_ERROR(registry_->LoadApiStreams());
    SLUICE_ASSIGN_OR_RETURN(
        api::IteratorCodec iterators,
        api::IteratorCodec::Open(fs::Join(sc.data_dir, "kinesis/iterator.key")));
    api::KinesisOptions ko;
    if (const char* file = std::getenv("SLUICE_TEST_CLOCK_OFFSET_FILE"); file && *file) {
      test_clock_ = std::make_unique<FileOffsetClock>(file);
      ko.clock = test_clock_.get();
      spdlog::warn(
          "the Kinesis API uses a test clock offset by the contents of {} "
          "(SLUICE_TEST_CLOCK_OFFSET_FILE); never set it in production",
          file);
    }
    ko.region = sc.region;
    ko.account_id = sc.account_id;
    ko.create_stream_ms = static_cast<int64_t>(sc.kinesis_create_stream_ms);
    ko.delete_stream_ms = static_cast<int64_t>(sc.kinesis_delete_stream_ms);
    ko.update_stream_ms = static_cast<int64_t>(sc.kinesis_update_stream_ms);
    ko.shard_limit = sc.kinesis_shard_limit;
    ko.enforce_shard_limits = sc.kinesis_enforce_shard_limits;
    ko.readers = [this](const std::string& stream) { return registry_->ReadersOf(stream); };
    kinesis_ = std::make_unique<api::KinesisHandler>(*kinesis_streams_, std::move(iterators), ko);

    firehose_ = std::make_unique<api::FirehoseHandler>(*registry_);
    router_.Add(std::string(api::kFirehoseTargetPrefix), firehose_.get());
    // Kinesis: CBOR clients (Java SDKs, KCL) reach the JSON handler through the CBOR adapter.
    kinesis_cbor_ = std::make_unique<api::CborAdapter>(kinesis_.get());
    router_.Add(std::string(api::kKinesisTargetPrefix), kinesis_cbor_.get());
    auth_enabled_ = options_.config.auth.enabled || auth::KeyStore(sc.data_dir).Exists();
    if (auth_enabled_) {
      SLUICE_ASSIGN_OR_RETURN(auto verifier, BuildVerifier(options_.config));
      spdlog::info("auth: SigV4 required on every request ({} access key(s))",
                   verifier->key_count());
      router_.SetVerifier(std::move(verifier));
    } else if (options_.allow_anonymous) {
      spdlog::warn("auth: none (--allow-anonymous): unsigned requests are accepted from anyone");
    }
    api::HttpServerOptions ho = ListenerOptions(sc);
    SLUICE_RETURN_IF_ERROR(SplitHostPort(sc.listen, ho.host, ho.port));
    instrumented_ = std::make_unique<InstrumentedHandler>(&router_);
    http_ = std::make_unique<api::HttpServer>(ho, *instrumented_);
    SLUICE_RETURN_IF_ERROR(http_->Start());
    api_listening_ = true;
    CountStreams();
    metrics_collector_ = observe::Registry::Default().AddCollector([this] { CollectMetrics(); });
    SLUICE_RETURN_IF_ERROR(StartAdmin(sc));
    housekeeping_ = std::thread([this] { Housekeeping(); });
    address_ = (ho.host.find(':') != std::string::npos ? "[" + ho.host + "]" : ho.host) + ":" +
               std::to_string(http_->port());
    spdlog::info(
        "sluice listening on {}{} (admin {}, data in {}, {} delivery stream(s), {} Kinesis "
        "stream(s))",
        address_, sc.tls.enabled() ? " (TLS)" : "",
        admin_address_.empty() ? std::string("off") : admin_address_, sc.data_dir,
        registry_->ListStreams().size(), kinesis_streams_->List().size());
    if (!options_.ready_file.empty()) {
      SLUICE_RETURN_IF_ERROR(fs::WriteFileAtomically(options_.ready_file, address_ + "\n"));
    }
    return Status::Ok();
  }

  std::string Address() const override { return address_; }
  std::string AdminAddress() const override { return admin_address_; }

  int WaitForSignalAndStop() override {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    int sig = 0;
    for (;;) {
      sigwait(&set, &sig);
      if (sig != SIGHUP) break;
      Reload();
    }
    spdlog::info("received {}, stopping: finishing requests, flushing buffers", strsignal(sig));
    Shutdown();
    spdlog::info("stopped");
    return 0;
  }

  // SIGHUP: the TLS certificate and key are read again (new connections get them, open ones
  // keep theirs), and so are the access keys and policies (every request from then on). A bad
  // file keeps what is in use and says why.
  void Reload() {
    const bool tls = options_.config.server.tls.enabled();
    if (!tls && !auth_enabled_) {
      spdlog::info("received SIGHUP: nothing to reload (no server.tls, no authentication)");
      return;
    }
    if (tls) {
      if (Status st = http_->ReloadTls(); !st.ok()) {
        spdlog::error("SIGHUP: TLS reload failed, keeping the current certificate: {}",
                      st.message());
      } else {
        spdlog::info("SIGHUP: TLS certificate reloaded from {}",
                     options_.config.server.tls.cert_file);
      }
    }
    if (auth_enabled_) {
      spdlog::info("received SIGHUP: reloading access keys and policies");
      if (Status st = ReloadAuth(); !st.ok()) {
        spdlog::error("reload failed, keeping the previous keys and policies: {}", st.ToString());
      }
    }
  }

  Status ReloadAuth() override {
    if (!auth_enabled_) {
      return Status::FailedPrecondition(
          "the server started without authentication (no `auth:` block, no keys in the data "
          "dir); turning it on needs a restart");
    }
    config::Config cfg = options_.config;
    if (!options_.config_file.empty()) {
      SLUICE_ASSIGN_OR_RETURN(cfg, config::LoadConfigFile(options_.config_file));
      if (options_.config.auth.enabled && !cfg.auth.enabled) {
        return Status::FailedPrecondition(options_.config_file +
                                          " has no `auth:` block any more; removing it needs a "
                                          "restart (refusing to turn authentication off)");
      }
      cfg.server = options_.config.server;
    }
    SLUICE_ASSIGN_OR_RETURN(auto verifier, BuildVerifier(cfg));
    spdlog::info("auth: reloaded {} access key(s)", verifier->key_count());
    router_.SetVerifier(std::move(verifier));
    return Status::Ok();
  }

  void Shutdown() override {
    MutexLock lock(shutdown_mu_);
    {
      MutexLock hk(housekeeping_mu_);
      stopping_ = true;
      housekeeping_cv_.NotifyAll();
    }
    if (housekeeping_.joinable()) housekeeping_.join();
    if (kinesis_) kinesis_->StopSubscriptions();  // event streams would hold the drain
    api_listening_ = false;
    if (http_) http_->Stop();
    if (admin_http_) admin_http_->Stop();
    if (metrics_collector_ != 0) {
      observe::Registry::Default().RemoveCollector(metrics_collector_);
      metrics_collector_ = 0;
    }
    if (registry_) registry_->StopAll();
    if (journal_) journal_->Close();
  }

 private:
  // The admin listener (admin_listen), unless disabled.
  Status StartAdmin(const config::ServerConfig& sc) {
    if (sc.admin_listen.empty() || sc.admin_listen == "off") return Status::Ok();
    api::HttpServerOptions ao;
    SLUICE_RETURN_IF_ERROR(
        SplitHostPort(sc.admin_listen, ao.host, ao.port).WithContext("admin_listen"));
    ao.io_threads = 1;
    ao.http2 = false;
    ao.body_limit = 64 * 1024;
    ao.idle_timeout = std::chrono::milliseconds(30'000);
    admin_ = std::make_unique<AdminHandler>(&observe::Registry::Default(),
                                            [this] { return NotReadyReason(); });
    admin_http_ = std::make_unique<api::HttpServer>(ao, *admin_);
    SLUICE_RETURN_IF_ERROR(admin_http_->Start().WithContext("admin listener"));
    admin_address_ = (ao.host.find(':') != std::string::npos ? "[" + ao.host + "]" : ao.host) +
                     ":" + std::to_string(admin_http_->port());
    spdlog::info("admin listening on {} (GET /metrics, /healthz, /readyz)", admin_address_);
    return Status::Ok();
  }

  // Ready: the journal is open, the API listens, and undelivered data is below 95 % of the disk
  // quota (past it, puts are about to be refused: a batch is refused once it no longer fits).
  std::optional<std::string> NotReadyReason() const {
    if (!journal_) return "journal is not open";
    if (!api_listening_) return "API listener is not accepting";
    const uint64_t used = journal_->UndeliveredBytes();
    const uint64_t quota = journal_->QuotaBytes();
    if (quota > 0 && used >= quota / 100 * 95) {
      return "disk quota (nearly) reached: " + std::to_string(used) + " of " +
             std::to_string(quota) +
             " bytes undelivered (quota_mb); puts are refused until delivery catches up";
    }
    return std::nullopt;
  }

  // Not in CollectMetrics: a collector must take no lock that a thread removing a collector
  // (a delivery worker's destructor) may hold.
  void CountStreams() {
    Metrics().delivery_streams.With({}).Set(static_cast<double>(registry_->ListStreams().size()));
  }

  void CollectMetrics() {
    const ServerMetrics& m = Metrics();
    const double used = static_cast<double>(journal_->UndeliveredBytes());
    const double quota = static_cast<double>(journal_->QuotaBytes());
    m.journal_undelivered_bytes.With({}).Set(used);
    m.journal_quota_bytes.With({}).Set(quota);
    m.journal_quota_used_ratio.With({}).Set(quota > 0 ? used / quota : 0);
    m.ready.With({}).Set(NotReadyReason() ? 0 : 1);
  }

  // Periodic work that belongs to no one stream, once a second: delivery streams reading Kinesis
  // streams follow their shards, ON_DEMAND Kinesis streams scale, and once a minute Kinesis
  // retention runs.
  void Housekeeping() {
    MutexLock lock(housekeeping_mu_);
    int64_t last_retention = 0;
    while (!stopping_) {
      housekeeping_cv_.WaitFor(housekeeping_mu_, std::chrono::seconds(1));
      if (stopping_) break;
      lock.Unlock();
      registry_->FollowShards();
      autoscaler_->Tick();
      CountStreams();
      const int64_t now = Clock::System().MonotonicMs();
      if (now - last_retention >= 60'000) {
        last_retention = now;
        auto deleted = kinesis_streams_->ApplyRetention();
        if (deleted.ok() && *deleted > 0) {
          spdlog::info("kinesis retention deleted {} segment(s)", *deleted);
        }
      }
      lock.Lock();
    }
  }

  // The verifier of `cfg`'s `auth:` block, its secrets resolved (and so redacted from logs).
  Result<std::shared_ptr<const auth::Verifier>> BuildVerifier(const config::Config& cfg) {
    std::vector<auth::AccessKey> keys;
    for (const auto& k : cfg.auth.keys) {
      auth::AccessKey key;
      key.id = k.id;
      key.user = k.user;
      for (const auto& [ref, out] :
           {std::pair{&k.secret, &key.secret}, std::pair{&k.session_token, &key.session_token}}) {
        if (ref->empty()) continue;
        auto value = resolver_->Resolve(*ref);
        if (!value.ok()) return value.status().WithContext("auth key " + k.id);
        *out = std::move(*value);
      }
      key.policy = std::make_shared<const auth::Policy>(k.policy);
      keys.push_back(std::move(key));
    }
    // Keys made by `sluice keys create`, kept (encrypted) in the data dir.
    auth::KeyStore store(cfg.server.data_dir);
    SLUICE_ASSIGN_OR_RETURN(std::vector<auth::StoredKey> stored, store.Load(true));
    for (auto& k : stored) {
      auth::AccessKey key;
      key.id = k.id;
      key.user = k.user;
      key.secret = std::move(k.secret);
      options_.redactor->Add(key.secret);
      auth::Policy policy;
      if (!k.policy_json.empty()) {
        SLUICE_RETURN_IF_ERROR(
            config::ParsePolicy(k.policy_json, "the policy of stored key " + k.id, policy));
      }
      key.policy = std::make_shared<const auth::Policy>(std::move(policy));
      keys.push_back(std::move(key));
    }
    auth::VerifierOptions vo;
    vo.regions = cfg.auth.regions;
    if (vo.regions.empty()) vo.regions = {cfg.server.region};
    vo.account_id = cfg.server.account_id;
    vo.max_skew_ms = static_cast<int64_t>(cfg.auth.max_clock_skew_s) * 1000;
    if (test_clock_) vo.clock = test_clock_.get();
    return std::shared_ptr<const auth::Verifier>(
        std::make_shared<auth::Verifier>(std::move(vo), std::move(keys)));
  }

  ServeOptions options_;
  bool auth_enabled_ = false;  // an `auth:` block or a key file in the data dir
  std::unique_ptr<secrets::Redactor> own_redactor_;
  std::unique_ptr<secrets::Resolver> resolver_;
  // Destroyed bottom-up: the listener, the handlers, the delivery streams, the ingest streams, the
  // journal.
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<streams::Service> streams_;
  std::unique_ptr<StreamRegistry> registry_;
  std::unique_ptr<Clock> test_clock_;
  std::unique_ptr<streams::Service> kinesis_streams_;
  std::unique_ptr<streams::AutoScaler> autoscaler_;
  std::unique_ptr<api::FirehoseHandler> firehose_;
  std::unique_ptr<api::KinesisHandler> kinesis_;
  std::unique_ptr<api::CborAdapter> kinesis_cbor_;
  api::Router router_;
  std::unique_ptr<InstrumentedHandler> instrumented_;
  std::unique_ptr<api::HttpServer> http_;
  std::string address_;
  std::atomic<bool> api_listening_{false};
  std::unique_ptr<AdminHandler> admin_;
  std::unique_ptr<api::HttpServer> admin_http_;
  std::string admin_address_;
  uint64_t metrics_collector_ = 0;
  Mutex shutdown_mu_;
  Mutex housekeeping_mu_;
  CondVar housekeeping_cv_;
  bool stopping_ SLUICE_GUARDED_BY(housekeeping_mu_) = false;
  std::thread housekeeping_;
};

// Each stream partition keeps its active journal segment open: raise the soft limit on open files
// to the hard one (as servers like Kafka and nginx expect), so thousands of streams do not run
// out at the default 1,024.
void RaiseOpenFileLimit() {
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) == 0) {
    spdlog::debug("open file limit raised from {} to {}", before, lim.rlim_cur);
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServeOptions options) {
  RaiseOpenFileLimit();
  // Block the stop signals in every thread we create, so that WaitForSignalAndStop receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto server = std::make_unique<ServerImpl>(std::move(options));
  SLUICE_RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace sluice::server
