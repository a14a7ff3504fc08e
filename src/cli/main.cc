// sluice: one binary, subcommands serve, put, streams, tail, transform, replay, agent, check-config
// (design.md §2).
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/cmd_agent.h"
#include "cli/cmd_keys.h"
#include "cli/cmd_put.h"
#include "cli/cmd_replay.h"
#include "cli/cmd_streams.h"
#include "cli/cmd_tail.h"
#include "cli/cmd_transform.h"
#include "common/json_writer.h"
#include "config/config.h"
#include "pipeline/delivery_stream.h"
#include "pipeline/transform_builder.h"
#include "pipeline/warehouse_sink.h"
#include "secrets/redactor.h"
#include "server/server.h"

namespace sluice::cli {
namespace {

constexpr char kVersion[] = "0.1.0";

// Writes log lines to stderr with every secret the server resolved masked.
// With `json`, each line is one JSON object {"time","level","msg"} for log shippers.
class RedactingStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  RedactingStderrSink(const secrets::Redactor* redactor, bool json)
      : redactor_(redactor), json_(json) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::string text = redactor_->Redact(std::string_view(buf.data(), buf.size()));
    if (json_) {
      // The formatter wrote "<time> <level> <message>\n" (see SetUpLogging).
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      size_t a = text.find(' '), b = a == std::string::npos ? a : text.find(' ', a + 1);
      json::Writer w;
      w.BeginObject();
      w.Key("time");
      w.String(text.substr(0, a));
      w.Key("level");
      w.String(std::string(spdlog::level::to_string_view(msg.level).data(),
                           spdlog::level::to_string_view(msg.level).size()));
      w.Key("msg");
      w.String(b == std::string::npos ? std::string() : text.substr(b + 1));
      w.EndObject();
      text = w.Take() + "\n";
    }
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  const secrets::Redactor* redactor_;
  bool json_;
};

secrets::Redactor& LogRedactor() {
  static secrets::Redactor redactor;
  return redactor;
}

void SetUpLogging(const std::string& level, const std::string& format) {
  auto logger = std::make_shared<spdlog::logger>(
      "sluice", std::make_shared<RedactingStderrSink>(&LogRedactor(), format == "json"));
  // One line per event, UTC, sortable, with the level: easy to grep and to parse.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

struct ServeFlags {
  std::string config_file;
  std::string listen;
  std::optional<std::string> admin_listen;
  std::string data_dir;
  std::string ready_file;
  std::string log_level;
  std::string log_format;
  bool repair_journal = false;
  bool allow_anonymous = false;
};

int RunServe(const ServeFlags& f) {
  config::Config cfg = config::DefaultConfig();
  if (!f.config_file.empty()) {
    auto loaded = config::LoadConfigFile(f.config_file);
    if (!loaded.ok()) {
      std::cerr << "sluice serve: " << loaded.status().message() << "\n";
      return 2;
    }
    cfg = std::move(loaded).value();
  }
  if (!f.listen.empty()) cfg.server.listen = f.listen;
  if (f.admin_listen) cfg.server.admin_listen = *f.admin_listen;
  if (!f.data_dir.empty()) cfg.server.data_dir = f.data_dir;
  if (!f.log_level.empty()) cfg.server.log_level = f.log_level;
  if (!f.log_format.empty()) cfg.server.log_format = f.log_format;
  SetUpLogging(cfg.server.log_level, cfg.server.log_format);
  server::ServeOptions opts;
  opts.config = std::move(cfg);
  opts.ready_file = f.ready_file;
  opts.redactor = &LogRedactor();
  opts.repair_journal = f.repair_journal;
  opts.allow_anonymous = f.allow_anonymous;
  opts.config_file = f.config_file;
  auto srv = server::Server::Start(std::move(opts));
  if (!srv.ok()) {
    spdlog::error("cannot start: {}", srv.status().ToString());
    return 1;
  }
  return (*srv)->WaitForSignalAndStop();
}

int RunTransform(const std::string& config_file, const std::string& stream,
                 const std::string& input, const TransformCommandOptions& options) {
  auto cfg = config::LoadConfigFile(config_file);
  if (!cfg.ok()) {
    std::cerr << "sluice transform: " << cfg.status().message() << "\n";
    return 2;
  }
  const config::StreamConfig* found = nullptr;
  std::string names;
  for (const auto& s : cfg->streams) {
    if (s.name == stream) found = &s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  if (found == nullptr) {
    std::cerr << "sluice transform: " << config_file << " declares no stream '" << stream
              << "' (streams: " << (names.empty() ? "none" : names) << ")\n";
    return 2;
  }
  const transform::FormatSpec& format = found->format;
  if (input.empty() || input == "-") {
    return RunTransformCommand(found->processors, format, found->name, std::cin, std::cout,
                               std::cerr, options);
  }
  std::ifstream in(input, std::ios::binary);
  if (!in) {
    std::cerr << "sluice transform: cannot read " << input << ": " << std::strerror(errno) << "\n";
    return 2;
  }
  return RunTransformCommand(found->processors, format, found->name, in, std::cout, std::cerr,
                             options);
}

int RunCheckConfig(const std::string& file) {
  auto cfg = config::LoadConfigFile(file);
  if (!cfg.ok()) {
    std::cerr << "sluice check-config: " << cfg.status().message() << "\n";
    return 1;
  }
  for (const auto& s : cfg->streams) {
    // The same validation `serve` and the API run (DeliveryStream::Validate).
    Status st = pipeline::DeliveryStream::Validate(s);
    if (!st.ok()) {
      std::cerr << "sluice check-config: " << file << ": " << st.message() << "\n";
      return 1;
    }
  }
  std::cout << file << ": OK\n";
  std::cout << "server: listen " << cfg->server.listen << ", data_dir " << cfg->server.data_dir
            << ", quota " << cfg->server.quota_mb << " MB\n";
  for (const auto& s : cfg->streams) {
    std::cout << "stream " << s.name << ": " << s.partitions << " partition(s), buffering "
              << s.buffering.size_mb << " MB / " << s.buffering.interval_s << " s, "
              << s.processors.size() << " processor(s), format " << s.format.KindName()
              << ", compression " << compress::FormatName(s.compression) << "\n";
    std::cout << "  staged: "
              << (s.staged.empty() ? "bucket://" + s.name + " (default)" : s.staged.url)
              << " prefix '" << s.staged.prefix << "'\n";
    if (!s.raw.empty())
      std::cout << "  raw:    " << s.raw.url << " prefix '" << s.raw.prefix << "'\n";
    if (s.warehouse) {
      const warehouse::WarehouseConfig* wh = &*s.warehouse;
      // The DSN is printed redacted: a literal password is masked, ${secret:...} stays a reference.
      std::cout << "  warehouse: " << warehouse::EngineName(wh->engine) << " table " << wh->table
                << ", mode " << warehouse::LoadModeName(wh->mode) << ", " << wh->columns.size()
                << " column(s), dsn '" << secrets::RedactDsn(wh->dsn) << "'\n";
    }
    if (!s.error_output_prefix.empty() || !s.errors.empty()) {
      std::cout << "  errors: " << (s.errors.empty() ? "(staged bucket)" : s.errors.url)
                << " prefix '" << s.error_output_prefix << "'\n";
    }
  }
  return 0;
}

}  // namespace
}  // namespace sluice::cli

int main(int argc, char** argv) {
  using namespace sluice::cli;  // NOLINT(google-build-using-namespace)
  CLI::App app{"Sluice: a self-hosted streaming pipeline for JSON data (Firehose-compatible)",
               "sluice"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  ServeFlags serve;
  auto* serve_cmd = app.add_subcommand(
      "serve", "Run the Firehose and Kinesis Data Streams APIs, the journal and delivery");
  serve_cmd->add_option("--config", serve.config_file,
                        "YAML config file (default: embedded defaults)");
  serve_cmd->add_option("--listen", serve.listen,
                        "HOST:PORT to listen on (default 127.0.0.1:4573; port 0 = any)");
  serve_cmd->add_option("--admin-listen", serve.admin_listen,
                        "HOST:PORT of the admin listener (GET /metrics, /healthz, /readyz; "
                        "default 127.0.0.1:4574; port 0 = any; \"\" or off = none)");
  serve_cmd->add_option("--data-dir", serve.data_dir,
                        "Directory for the journal and default buckets (default ./var)");
  serve_cmd->add_option("--ready-file", serve.ready_file, "Write HOST:PORT here once listening");
  serve_cmd->add_flag("--repair-journal", serve.repair_journal,
                      "After a power loss: truncate a partition at damage in its last segment even "
                      "when valid frames follow (those frames are discarded)");
  serve_cmd->add_flag(
      "--allow-anonymous", serve.allow_anonymous,
      "Without an auth: block, accept unsigned requests on a non-loopback address too (by default "
      "serve refuses to listen there: anyone reaching the port could read and write every stream)");
  serve_cmd->footer(
      "Authentication (docs/security.md): with an auth: block in the config every request must "
      "be SigV4-signed by one of its access keys and is allowed only what the key's policy "
      "allows; without one, unsigned requests are accepted on loopback addresses only. SIGHUP "
      "reloads the keys and policies without dropping connections.");
  serve_cmd
      ->add_option("--log-format", serve.log_format,
                   "text (default) or json: one JSON object per line")
      ->check(CLI::IsMember({"text", "json"}));
  serve_cmd->add_option("--log-level", serve.log_level,
                        "trace|debug|info|warn|error (default info)");

  PutOptions put;
  auto* put_cmd = AddPutCommand(app, put);

  ReplayOptions replay;
  auto* replay_cmd = AddReplayCommand(app, replay);

  StreamsOptions streams;
  auto* streams_cmd = AddStreamsCommand(app, streams);

  TailOptions tail;
  auto* tail_cmd = AddTailCommand(app, tail);

  KeysOptions keys;
  auto* keys_cmd = AddKeysCommand(app, keys);
  AgentOptions agent;
  auto* agent_cmd = AddAgentCommand(app, agent);

  std::string config_file;
  auto* check_cmd =
      app.add_subcommand("check-config", "Validate a config file and print what it sets up");
  check_cmd->add_option("file", config_file, "YAML config file")->required();

  std::string transform_config, transform_stream, transform_input;
  auto* transform_cmd = app.add_subcommand(
      "transform",
      "Dry-run a stream's processors on sample input: rows (CSV) on stdout, outcomes on stderr");
  transform_cmd->add_option("--config", transform_config, "YAML config file declaring the stream")
      ->required();
  transform_cmd->add_option("--stream", transform_stream, "Stream whose processors to run")
      ->required();
  transform_cmd->add_option("file", transform_input, "Newline-delimited records (default: stdin)");
  TransformCommandOptions transform_options;
  transform_options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  transform_cmd
      ->add_option("--threads", transform_options.threads,
                   "Batches processed in parallel (default: the number of cores); output stays "
                   "in input order")
      ->check(CLI::Range(1, 256));
  size_t transform_batch_mb = 4;
  transform_cmd
      ->add_option("--batch-mb", transform_batch_mb,
                   "Input MiB per batch (default 4); memory is about 2 x threads batches")
      ->check(CLI::Range(1, 1024));

  CLI11_PARSE(app, argc, argv);
  if (transform_cmd->parsed()) {
    transform_options.batch_bytes = transform_batch_mb << 20;
    return RunTransform(transform_config, transform_stream, transform_input, transform_options);
  }
  if (serve_cmd->parsed()) return RunServe(serve);
  if (put_cmd->parsed()) return RunPut(put, &std::cin, std::cerr);
  if (replay_cmd->parsed()) return RunReplay(replay, std::cerr);
  if (streams_cmd->parsed()) return RunStreams(streams, std::cout, std::cerr);
  if (tail_cmd->parsed()) return RunTail(tail, std::cout, std::cerr);
  if (keys_cmd->parsed()) return RunKeys(keys, std::cout, std::cerr);
  if (check_cmd->parsed()) return RunCheckConfig(config_file);
  if (agent_cmd->parsed()) {
    if (!agent.check_only) SetUpLogging("info", "text");
    return RunAgent(agent, std::cout, std::cerr);
  }
  return 2;
}
