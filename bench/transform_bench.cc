// transform_bench: flatten -> CSV throughput (alone, with schema, explode, rules, lua) on two
// generated corpora (narrow orders; wide webhook documents, bench/wide_corpus.h) and any --input
// JSON-lines file, against simdjson parse-only as the ceiling and peers in the same run: Miller,
// jq, a Python json+flatten+csv.DictWriter script and pandas.json_normalize (bench/flatten_csv.py).
//   transform_bench [--mb N] [--corpus narrow,wide|none] [--input FILE.jsonl]... [--seed S]
//                   [--write FILE] [--no-peers] [--only flatten|csv|rules|lua] [--dump FILE]
//                   [--repeat N] [--format FORMAT_JSON]
//   --mb N: size of each generated corpus (default 100); --write FILE writes the generated
//   corpora there and exits (inputs for `sluice transform`); --only runs one chain, for perf
//   record (csv = the schema chain); --repeat N reports the fastest of N runs of flatten->csv and
//   of the schema chain; --dump writes the narrow schema chain's output (or, without narrow, the
//   flatten->csv output) to FILE, to diff it across builds. A peer that is not installed is
//   reported as such, not as a failure.
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "transform/flatten.h"
#include "transform/pipeline.h"
#include "wide_corpus.h"

namespace {

using sluice::transform::Chain;
using sluice::transform::FormatSpec;
using sluice::transform::SourceRecord;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Generate(size_t target_bytes) {
  std::mt19937_64 rng(42);
  const char* statuses[] = {"paid", "shipped", "test", "refunded"};
  const char* cities[] = {"Oslo", "Bergen", "Zürich", "São Paulo", "Kyiv"};
  std::string out;
  out.reserve(target_bytes + 1024);
  for (uint64_t id = 1; out.size() < target_bytes; ++id) {
    int items = 1 + static_cast<int>(rng() % 4);
    char buf[512];
    int n = std::snprintf(
        buf, sizeof buf,
        "{\"order_id\":%llu,\"status\":\"%s\",\"created\":\"2024-0%d-1%dT1%d:2%d:3%dZ\","
        "\"customer\":{\"id\":%llu,\"name\":\"Customer \\\"%llu\\\"\",\"address\":{\"city\":\"%s\","
        "\"zip\":\"%05d\"}},\"total\":%llu.%02d,\"items\":[",
        static_cast<unsigned long long>(id), statuses[rng() % 4], 1 + static_cast<int>(rng() % 9),
        static_cast<int>(rng() % 9), static_cast<int>(rng() % 9), static_cast<int>(rng() % 6),
        static_cast<int>(rng() % 6), static_cast<unsigned long long>(rng() % 100000),
        static_cast<unsigned long long>(id), cities[rng() % 5], static_cast<int>(rng() % 99999),
        static_cast<unsigned long long>(rng() % 1000), static_cast<int>(rng() % 100));
    out.append(buf, static_cast<size_t>(n));
    for (int i = 0; i < items; ++i) {
      n = std::snprintf(
          buf, sizeof buf,
          "%s{\"sku\":\"SKU-%04d\",\"qty\":%d,\"price\":%d.%02d,\"tags\":[\"a\",\"b\"]}",
          i ? "," : "", static_cast<int>(rng() % 10000), 1 + static_cast<int>(rng() % 5),
          static_cast<int>(rng() % 500), static_cast<int>(rng() % 100));
      out.append(buf, static_cast<size_t>(n));
    }
    out += "],\"note\":\"line with, comma\"}\n";
  }
  return out;
}

std::vector<std::string_view> Lines(const std::string& data) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    lines.emplace_back(data.data() + start, end - start);
    start = end + 1;
  }
  return lines;
}

// Runs the chain over `lines` in ~5 MB batches; returns seconds and output bytes.
// With `dump`, every group's bytes are also written there (to diff outputs across builds).
double RunChain(Chain& chain, const std::vector<std::string_view>& lines, size_t& out_bytes,
                size_t& ok, std::FILE* dump = nullptr) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < lines.size(); ++i) ids.push_back(std::to_string(i));
  auto start = std::chrono::steady_clock::now();
  std::vector<SourceRecord> batch;
  size_t batch_bytes = 0;
  out_bytes = ok = 0;
  auto flush = [&] {
    auto result = chain.Process(batch);
    for (const auto& g : result.groups) {
      out_bytes += g.data.size();
      if (dump != nullptr) std::fwrite(g.data.data(), 1, g.data.size(), dump);
    }
    ok += result.CountOutcome(sluice::transform::Outcome::kOk);
    batch.clear();
    batch_bytes = 0;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    batch.push_back(SourceRecord{lines[i], 0, ids[i]});
    batch_bytes += lines[i].size();
    if (batch_bytes >= 5 * 1024 * 1024) flush();
  }
  if (!batch.empty()) flush();
  return Seconds(start);
}

// The output format of every chain (--format).
std::string g_format = R"({"csv":{"header":true}})";

// A processor as the bench writes it: its type and its parameters as JSON text.
struct JsonSpec {
  std::string type;
  std::string params;
};

std::unique_ptr<Chain> Build(const std::vector<JsonSpec>& json_specs) {
  auto format = FormatSpec::Parse(g_format);
  if (!format.ok()) {
    std::fprintf(stderr, "format: %s\n", format.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<sluice::transform::ProcessorSpec> specs;
  for (const JsonSpec& j : json_specs) {
    auto params = sluice::transform::ParamValue::FromJson(j.params);
    auto spec = params.ok() ? sluice::transform::ParseProcessorSpec(j.type, *params, j.type)
                            : sluice::Result<sluice::transform::ProcessorSpec>(params.status());
    if (!spec.ok()) {
      std::fprintf(stderr, "%s: %s\n", j.type.c_str(), spec.status().ToString().c_str());
      std::exit(1);
    }
    specs.push_back(std::move(spec).value());
  }
  auto chain = Chain::Build(specs, *format);
  if (!chain.ok()) {
    std::fprintf(stderr, "chain: %s\n", chain.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(chain).value();
}

}  // namespace

namespace {

// Seconds the shell command took, or -1 when it failed (a missing peer: see PeerAvailable).
double TimeCommand(const std::string& cmd) {
  auto start = std::chrono::steady_clock::now();
  int rc = std::system(cmd.c_str());
  double s = Seconds(start);
  if (rc != 0) {
    std::fprintf(stderr, "command failed (%d): %s\n", rc, cmd.c_str());
    return -1;
  }
  return s;
}

bool PeerAvailable(const std::string& check) {
  return std::system((check + " >/dev/null 2>&1").c_str()) == 0;
}

struct Corpus {
  std::string name;         // "narrow", "wide" or the --input path
  std::string description;  // for the report
  std::string data;
  bool narrow = false;  // the orders corpus: its own schema/explode/rules/lua chains
  bool wide = false;
};

void ReportPeer(const char* label, double seconds, double total_mb, double ours_s) {
  if (seconds < 0) {
    std::printf("  %-34s failed (see stderr)\n", label);
    return;
  }
  std::printf("  %-34s %8.1f MB/s (%.2f s); sluice flatten->csv = %.1fx\n", label,
              total_mb / seconds, seconds, seconds / ours_s);
}

struct Options {
  bool peers = true;
  std::string only;  // empty = everything
  std::string dump_path;
  int repeat = 1;
};

// One corpus: parse-only, the chains, then the peers on the same bytes.
void RunCorpus(const Corpus& corpus, const Options& opt) {
  const std::string& data = corpus.data;
  const double total_mb = static_cast<double>(data.size()) / (1024 * 1024);
  auto lines = Lines(data);
  std::printf("== corpus %s: %.1f MB, %zu records (%s)\n", corpus.name.c_str(), total_mb,
              lines.size(), corpus.description.c_str());

  // Ceiling: simdjson parse-only (DOM, runtime-dispatched kernel) over the same lines.
  simdjson::padded_string padded(data);
  simdjson::dom::parser dom;
  auto start = std::chrono::steady_clock::now();
  size_t docs = 0;
  simdjson::dom::document_stream stream;
  if (dom.parse_many(padded, 16u << 20).get(stream)) std::exit(1);
  simdjson::error_code first_error = simdjson::SUCCESS;
  for (auto doc : stream) {
    docs += doc.error() ? 0 : 1;
    if (doc.error() && first_error == simdjson::SUCCESS) first_error = doc.error();
  }
  if (first_error != simdjson::SUCCESS) {
    std::printf("  simdjson parse-only: %zu documents did not parse: %s\n", lines.size() - docs,
                simdjson::error_message(first_error));
  }
  const double parse_s = Seconds(start);
  const double parse_mbs = total_mb / parse_s;
  std::printf("  %-34s %8.0f MB/s (%s, %zu docs)\n", "simdjson parse-only (parse_many)", parse_mbs,
              simdjson::get_active_implementation()->name().c_str(), docs);

  auto report = [&](const char* label, double seconds, size_t ok, size_t out_bytes) {
    const double mbs = total_mb / seconds;
    std::printf(
        "  %-34s %8.0f MB/s (%.2f s, %zu Ok, %.1f MB out, %.0f records/s) = %.2fx parse-only\n",
        label, mbs, seconds, ok, static_cast<double>(out_bytes) / (1024 * 1024),
        static_cast<double>(lines.size()) / seconds, mbs / parse_mbs);
  };
  const bool all = opt.only.empty();
  size_t out_bytes = 0, ok = 0;
  double flat_s = 0;
  if (all || opt.only == "flatten") {
    auto chain = Build({{"flatten", "{}"}});
    std::FILE* dump =
        opt.dump_path.empty() || corpus.narrow ? nullptr : std::fopen(opt.dump_path.c_str(), "wb");
    flat_s = RunChain(*chain, lines, out_bytes, ok, dump);
    if (dump != nullptr) std::fclose(dump);
    for (int r = 1; r < opt.repeat; ++r)
      flat_s = std::min(flat_s, RunChain(*chain, lines, out_bytes, ok));
    report("sluice flatten->csv", flat_s, ok, out_bytes);
  }
  std::vector<JsonSpec> schema_chain, explode_chain, rules_chain, lua_chain;
  if (corpus.narrow) {
    schema_chain = {{"flatten", R"({"explode":"items"})"}, {"schema", R"J({"columns":[
        {"name":"order_id","type":"bigint","required":true},
        {"name":"status","type":"text"},
        {"name":"created","type":"timestamp"},
        {"name":"customer_id","source":"customer.id","type":"bigint"},
        {"name":"customer_name","source":"customer.name","type":"text"},
        {"name":"city","source":"customer.address.city","type":"text"},
        {"name":"total","type":"numeric(12,2)"},
        {"name":"sku","source":"items.sku","type":"text"},
        {"name":"qty","source":"items.qty","type":"integer"},
        {"name":"price","source":"items.price","type":"numeric(10,2)"},
        {"name":"tags","source":"items.tags","type":"json"}]})J"}};
    explode_chain = {{"flatten", R"({"explode":"items"})"}};
    rules_chain = {{"flatten", R"({"explode":"items"})"},
                   {"rules", R"([{"drop_if":"status == 'test'"},
                                {"fail_if":"items_qty < 0","message":"negative qty"},
                                {"set":"line_total","expr":"items_qty * items_price"}])"}};
    lua_chain = {
        {"flatten", R"({"explode":"items"})"},
        {"lua",
         R"({"script":"function process(r, meta)\n if r.status == 'test' then return 'Dropped' end\n r.line_total = r.items_qty * r.items_price\n meta.partitionKeys.status = r.status\n return 'Ok', r\nend"})"}};
  } else if (corpus.wide) {
    schema_chain = {{"flatten", "{}"}, {"schema", R"J({"columns":[
        {"name":"id","type":"text","required":true},
        {"name":"type","type":"text"},
        {"name":"created","type":"bigint"},
        {"name":"livemode","type":"boolean"},
        {"name":"api_version","type":"text"},
        {"name":"billing_status","source":"data.object.billing.status","type":"text"},
        {"name":"billing_description","source":"data.object.billing.description","type":"text"},
        {"name":"device_region","source":"data.object.device.region","type":"text"},
        {"name":"line_items","type":"json"},
        {"name":"message","type":"text"}]})J"}};
    explode_chain = {{"flatten", R"({"explode":"line_items"})"}};
    rules_chain = {{"flatten", "{}"}, {"rules", R"([{"drop_if":"type == 'review.posted'"},
                                {"set":"created_ms","expr":"created * 1000"}])"}};
    lua_chain = {
        {"flatten", "{}"},
        {"lua",
         R"({"script":"function process(r, meta)\n if r.type == 'review.posted' then return 'Dropped' end\n r.created_ms = r.created * 1000\n return 'Ok', r\nend"})"}};
  }
  if (!schema_chain.empty() && (all || opt.only == "csv")) {
    auto chain = Build(schema_chain);
    std::FILE* dump =
        opt.dump_path.empty() || !corpus.narrow ? nullptr : std::fopen(opt.dump_path.c_str(), "wb");
    double s = RunChain(*chain, lines, out_bytes, ok, dump);
    if (dump != nullptr) std::fclose(dump);
    // On a shared machine the best of several runs is the least disturbed one.
    for (int r = 1; r < opt.repeat; ++r) s = std::min(s, RunChain(*chain, lines, out_bytes, ok));
    report(corpus.narrow ? "sluice flatten(explode)+schema+csv" : "sluice flatten+schema+csv", s,
           ok, out_bytes);
  }
  if (!explode_chain.empty() && all) {
    auto chain = Build(explode_chain);
    report("sluice flatten(explode)->csv", RunChain(*chain, lines, out_bytes, ok), ok, out_bytes);
  }
  if (!rules_chain.empty() && (all || opt.only == "rules")) {
    auto chain = Build(rules_chain);
    report("sluice flatten+rules->csv", RunChain(*chain, lines, out_bytes, ok), ok, out_bytes);
  }
  if (!lua_chain.empty() && (all || opt.only == "lua")) {
    auto chain = Build(lua_chain);
    report("sluice flatten+lua->csv", RunChain(*chain, lines, out_bytes, ok), ok, out_bytes);
  }

  if (!opt.peers || !all) return;
  const std::string path = "/tmp/sluice_transform_bench." + std::to_string(getpid()) + ".jsonl";
  {
    std::ofstream f(path, std::ios::binary);
    f << data;
  }
  if (PeerAvailable("command -v mlr")) {
    ReportPeer(
        "miller (flatten then unsparsify)",
        TimeCommand("mlr --ijsonl --ocsv flatten -s _ then unsparsify " + path + " > /dev/null"),
        total_mb, flat_s);
  } else {
    std::printf("  %-34s not installed (Debian package miller)\n", "miller");
  }
  if (PeerAvailable("command -v jq")) {
    if (corpus.narrow) {
      ReportPeer(
          "jq @csv (fixed columns, explode)",
          TimeCommand("jq -r '. as $o | .items[] | [$o.order_id, $o.status, $o.created, "
                      "$o.customer.id, $o.customer.name, $o.customer.address.city, $o.total, "
                      ".sku, .qty, .price, (.tags|tojson)] | @csv' " +
                      path + " > /dev/null"),
          total_mb, flat_s);
    }
    ReportPeer("jq flatten (objects, no csv)",
               TimeCommand("jq -c '[paths(scalars) as $p | {key: ($p|map(tostring)|join(\"_\")), "
                           "value: getpath($p)}] | from_entries' " +
                           path + " > /dev/null"),
               total_mb, flat_s);
  } else {
    std::printf("  %-34s not installed (Debian package jq)\n", "jq");
  }
  const std::string script = std::string(SLUICE_SOURCE_DIR) + "/bench/flatten_csv.py";
  if (PeerAvailable("test -x /usr/bin/python3")) {
    ReportPeer("python json+flatten+DictWriter",
               TimeCommand("/usr/bin/python3 " + script + " " + path + " /dev/null"), total_mb,
               flat_s);
  } else {
    std::printf("  %-34s not installed (/usr/bin/python3)\n", "python");
  }
  if (PeerAvailable("/usr/bin/python3 -c 'import pandas'")) {
    ReportPeer("pandas json_normalize+to_csv",
               TimeCommand("/usr/bin/python3 " + script + " --pandas " + path + " /dev/null"),
               total_mb, flat_s);
  } else {
    std::printf("  %-34s not installed (Debian package python3-pandas)\n", "pandas");
  }
  std::remove(path.c_str());
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::ostringstream s;
  s << f.rdbuf();
  std::string data = s.str();
  if (!data.empty() && data.back() != '\n') data += '\n';
  return data;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mb = 100;
  std::string corpora = "narrow,wide";
  std::vector<std::string> inputs;
  std::string write_path;
  uint64_t seed = 15;
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--mb") {
      mb = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--corpus") {
      corpora = next();
    } else if (a == "--input") {
      inputs.push_back(next());
    } else if (a == "--seed") {
      seed = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--write") {
      write_path = next();
    } else if (a == "--no-peers") {
      opt.peers = false;
    } else if (a == "--only") {
      opt.only = next();
    } else if (a == "--dump") {
      opt.dump_path = next();
    } else if (a == "--format") {
      g_format = next();
    } else if (a == "--repeat") {
      opt.repeat = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--seconds") {
      next();  // bench/run-all convention; this benchmark sizes its work with --mb
    } else {
      std::fprintf(
          stderr,
          "usage: transform_bench [--mb N] [--corpus narrow,wide|none] [--input F.jsonl]... "
          "[--seed S] [--write FILE] [--no-peers] [--only flatten|csv|rules|lua] "
          "[--dump FILE] [--repeat N] [--format JSON]\n");
      return 2;
    }
  }
  if (!opt.only.empty() && opt.only != "flatten" && opt.only != "csv" && opt.only != "rules" &&
      opt.only != "lua") {
    std::fprintf(stderr, "--only must be flatten, csv, rules or lua\n");
    return 2;
  }
  std::vector<Corpus> list;
  for (const std::string& name : {std::string("narrow"), std::string("wide")}) {
    if (corpora.find(name) == std::string::npos) continue;
    Corpus c;
    c.name = name;
    if (name == "narrow") {
      c.narrow = true;
      c.description = "orders with customer object and 1-4 items";
      c.data = Generate(mb * 1024 * 1024);
    } else {
      c.wide = true;
      c.description =
          "webhook documents, hundreds of key paths, 6 levels, seed " + std::to_string(seed);
      c.data = sluice::bench::GenerateWideCorpus(mb * 1024 * 1024, seed);
    }
    list.push_back(std::move(c));
  }
  if (!write_path.empty()) {
    // Writes the generated corpora (one after the other) instead of benchmarking.
    std::ofstream f(write_path, std::ios::binary);
    for (const Corpus& c : list) f << c.data;
    return f ? 0 : 1;
  }
  for (const std::string& path : inputs) list.push_back(Corpus{path, "--input", ReadFile(path)});
  std::printf("simdjson On-Demand kernel compiled into flatten: %s\n",
              sluice::transform::FlattenKernelName());
  for (const Corpus& c : list) RunCorpus(c, opt);
  return 0;
}
