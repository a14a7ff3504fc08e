#include "agent/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include "common/file_util.h"

namespace sluice::agent {
namespace {

// The keys each block accepts (the config's schema: one table per block).
const std::map<std::string, std::vector<std::string>>& KeyTables() {
  static const auto* tables = new std::map<std::string, std::vector<std::string>>{
      {"top", {"state_dir", "spool", "drain_timeout_s", "inputs", "outputs"}},
      {"spool", {"max_mb"}},
      {"input.file",
       {"name", "type", "outputs", "paths", "start_at", "multiline_start", "flush_partial_ms",
        "poll_interval_ms", "close_inactive_ms", "copy_truncate", "max_record_bytes"}},
      {"output",
       {"name", "type", "stream", "endpoint", "region", "partition_key_field", "max_batch_records",
        "request_timeout_s", "backoff_base_ms", "backoff_max_ms"}},
  };
  return *tables;
}

class Walker {
 public:
  explicit Walker(std::string source) : source_(std::move(source)) {}

  static int Line(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }
  Status Error(const YAML::Node& n, const std::string& message) const {
    return Status::InvalidArgument(source_ + ":" + std::to_string(Line(n)) + ": " + message);
  }

  // `node` is a map whose keys all appear in table `table`.
  Status CheckKeys(const YAML::Node& node, const std::string& table,
                   const std::string& what) const {
    if (!node.IsMap()) return Error(node, what + " must be a mapping");
    const auto& allowed = KeyTables().at(table);
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
        return Error(kv.first, "unknown key '" + key + "' in " + what + " (allowed: " + list + ")");
      }
    }
    return Status::Ok();
  }

  Result<std::string> String(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) return Error(n, key + " must be a string");
    return n.as<std::string>();
  }
  Result<int64_t> Int(const YAML::Node& n, const std::string& key, int64_t lo, int64_t hi) const {
    int64_t v = 0;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v) || v < lo || v > hi) {
      return Error(n, key + " must be an integer in [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
    }
    return v;
  }
  Result<double> Double(const YAML::Node& n, const std::string& key, double lo, double hi) const {
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v >= lo) || !(v <= hi)) {
      return Error(
          n, key + " must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v;
  }
  Result<bool> Bool(const YAML::Node& n, const std::string& key) const {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
      return Error(n, key + " must be true or false");
    return v;
  }
  Result<std::vector<std::string>> Strings(const YAML::Node& n, const std::string& key) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.as<std::string>());
      return out;
    }
    if (!n.IsSequence()) return Error(n, key + " must be a string or a list of strings");
    for (const auto& item : n) {
      if (!item.IsScalar()) return Error(item, key + " entries must be strings");
      out.push_back(item.as<std::string>());
    }
    return out;
  }

 private:
  std::string source_;
};

bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= 48 &&
         std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

Result<InputConfig> ParseInput(const Walker& w, const YAML::Node& n) {
  InputConfig in;
  in.line = Walker::Line(n);
  if (!n.IsMap()) return w.Error(n, "an input must be a mapping");
  if (!n["type"]) return w.Error(n, "input needs 'type' (file)");
  SLUICE_ASSIGN_OR_RETURN(in.type, w.String(n["type"], "type"));
  if (in.type != "file")
    return w.Error(n["type"], "unknown input type '" + in.type + "' (types: file)");
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(n, "input.file", "a file input"));
  if (!n["name"]) return w.Error(n, "input needs 'name'");
  SLUICE_ASSIGN_OR_RETURN(in.name, w.String(n["name"], "name"));
  if (!ValidName(in.name)) return w.Error(n["name"], "input name must match [a-zA-Z0-9_-]{1,48}");
  if (n["outputs"]) {
    SLUICE_ASSIGN_OR_RETURN(in.outputs, w.Strings(n["outputs"], "outputs"));
  }
  FileInputConfig& f = in.file;
  if (!n["paths"]) return w.Error(n, "a file input needs 'paths' (glob patterns)");
  SLUICE_ASSIGN_OR_RETURN(f.paths, w.Strings(n["paths"], "paths"));
  if (f.paths.empty()) return w.Error(n["paths"], "paths must list at least one glob pattern");
  if (n["start_at"]) {
    SLUICE_ASSIGN_OR_RETURN(std::string s, w.String(n["start_at"], "start_at"));
    if (s != "beginning" && s != "end")
      return w.Error(n["start_at"], "start_at must be beginning or end");
    f.start_at_end = s == "end";
  }
  if (n["multiline_start"]) {
    SLUICE_ASSIGN_OR_RETURN(f.multiline_start, w.String(n["multiline_start"], "multiline_start"));
    try {
      std::regex re(f.multiline_start);
    } catch (const std::regex_error& e) {
      return w.Error(n["multiline_start"],
                     std::string("multiline_start is not a valid regex: ") + e.what());
    }
    f.flush_partial_ms = 1000;
  }
  if (n["flush_partial_ms"]) {
    SLUICE_ASSIGN_OR_RETURN(f.flush_partial_ms,
                            w.Int(n["flush_partial_ms"], "flush_partial_ms", 0, 3'600'000));
  }
  if (n["poll_interval_ms"]) {
    SLUICE_ASSIGN_OR_RETURN(f.poll_interval_ms,
                            w.Int(n["poll_interval_ms"], "poll_interval_ms", 10, 60'000));
  }
  if (n["close_inactive_ms"]) {
    SLUICE_ASSIGN_OR_RETURN(f.close_inactive_ms,
                            w.Int(n["close_inactive_ms"], "close_inactive_ms", 0, 86'400'000));
  }
  if (n["copy_truncate"]) {
    SLUICE_ASSIGN_OR_RETURN(f.copy_truncate, w.Bool(n["copy_truncate"], "copy_truncate"));
  }
  if (n["max_record_bytes"]) {
    SLUICE_ASSIGN_OR_RETURN(int64_t v,
                            w.Int(n["max_record_bytes"], "max_record_bytes", 1, 1'000'000));
    f.max_record_bytes = static_cast<uint64_t>(v);
  }
  return in;
}

Result<OutputConfig> ParseOutput(const Walker& w, const YAML::Node& n) {
  OutputConfig out;
  out.line = Walker::Line(n);
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(n, "output", "an output"));
  if (!n["name"]) return w.Error(n, "output needs 'name'");
  SLUICE_ASSIGN_OR_RETURN(out.name, w.String(n["name"], "name"));
  if (!ValidName(out.name)) return w.Error(n["name"], "output name must match [a-zA-Z0-9_-]{1,48}");
  if (!n["type"]) return w.Error(n, "output needs 'type' (kinesis or firehose)");
  SLUICE_ASSIGN_OR_RETURN(std::string type, w.String(n["type"], "type"));
  if (type == "kinesis") {
    out.api = client::AwsApi::kKinesis;
  } else if (type == "firehose") {
    out.api = client::AwsApi::kFirehose;
  } else {
    return w.Error(n["type"], "unknown output type '" + type + "' (types: kinesis, firehose)");
  }
  if (!n["stream"]) return w.Error(n, "output needs 'stream'");
  SLUICE_ASSIGN_OR_RETURN(out.stream, w.String(n["stream"], "stream"));
  if (n["endpoint"]) {
    SLUICE_ASSIGN_OR_RETURN(out.endpoint, w.String(n["endpoint"], "endpoint"));
    if (out.endpoint.rfind("http://", 0) != 0 && out.endpoint.rfind("https://", 0) != 0) {
      return w.Error(n["endpoint"], "endpoint must be an http:// or https:// URL");
    }
  }
  if (n["region"]) {
    SLUICE_ASSIGN_OR_RETURN(out.region, w.String(n["region"], "region"));
  }
  if (n["partition_key_field"]) {
    if (out.api != client::AwsApi::kKinesis) {
      return w.Error(n["partition_key_field"],
                     "partition_key_field applies to kinesis outputs only");
    }
    SLUICE_ASSIGN_OR_RETURN(out.partition_key_field,
                            w.String(n["partition_key_field"], "partition_key_field"));
  }
  if (n["max_batch_records"]) {
    SLUICE_ASSIGN_OR_RETURN(int64_t v, w.Int(n["max_batch_records"], "max_batch_records", 1, 500));
    out.max_batch_records = static_cast<uint32_t>(v);
  }
  if (n["request_timeout_s"]) {
    SLUICE_ASSIGN_OR_RETURN(out.request_timeout_s,
                            w.Double(n["request_timeout_s"], "request_timeout_s", 0.1, 600));
  }
  if (n["backoff_base_ms"]) {
    SLUICE_ASSIGN_OR_RETURN(out.backoff_base_ms,
                            w.Int(n["backoff_base_ms"], "backoff_base_ms", 1, 60'000));
  }
  if (n["backoff_max_ms"]) {
    SLUICE_ASSIGN_OR_RETURN(out.backoff_max_ms,
                            w.Int(n["backoff_max_ms"], "backoff_max_ms", 1, 600'000));
  }
  if (out.backoff_max_ms < out.backoff_base_ms) {
    return w.Error(n, "backoff_max_ms must be at least backoff_base_ms");
  }
  return out;
}

Result<AgentConfig> Parse(const Walker& w, const YAML::Node& root, const std::string& source) {
  AgentConfig cfg;
  cfg.source_name = source;
  SLUICE_RETURN_IF_ERROR(w.CheckKeys(root, "top", "the agent config"));
  if (root["state_dir"]) {
    SLUICE_ASSIGN_OR_RETURN(cfg.state_dir, w.String(root["state_dir"], "state_dir"));
  }
  if (root["spool"]) {
    SLUICE_RETURN_IF_ERROR(w.CheckKeys(root["spool"], "spool", "spool"));
    if (root["spool"]["max_mb"]) {
      SLUICE_ASSIGN_OR_RETURN(int64_t v,
                              w.Int(root["spool"]["max_mb"], "spool.max_mb", 1, 1 << 22));
      cfg.spool_max_mb = static_cast<uint64_t>(v);
    }
  }
  if (root["drain_timeout_s"]) {
    SLUICE_ASSIGN_OR_RETURN(cfg.drain_timeout_s,
                            w.Double(root["drain_timeout_s"], "drain_timeout_s", 0, 3600));
  }
  if (!root["outputs"] || !root["outputs"].IsSequence() || root["outputs"].size() == 0) {
    return w.Error(root["outputs"] ? root["outputs"] : root,
                   "the agent config needs 'outputs' (a non-empty list)");
  }
  if (!root["inputs"] || !root["inputs"].IsSequence() || root["inputs"].size() == 0) {
    return w.Error(root["inputs"] ? root["inputs"] : root,
                   "the agent config needs 'inputs' (a non-empty list)");
  }
  std::set<std::string> names;
  for (const auto& n : root["outputs"]) {
    SLUICE_ASSIGN_OR_RETURN(OutputConfig out, ParseOutput(w, n));
    if (!names.insert(out.name).second)
      return w.Error(n, "duplicate output name '" + out.name + "'");
    cfg.outputs.push_back(std::move(out));
  }
  std::set<std::string> input_names;
  for (const auto& n : root["inputs"]) {
    SLUICE_ASSIGN_OR_RETURN(InputConfig in, ParseInput(w, n));
    if (!input_names.insert(in.name).second)
      return w.Error(n, "duplicate input name '" + in.name + "'");
    for (const auto& o : in.outputs) {
      if (!names.count(o))
        return w.Error(n["outputs"], "input '" + in.name + "' names unknown output '" + o + "'");
    }
    cfg.inputs.push_back(std::move(in));
  }
  return cfg;
}

}  // namespace

Result<AgentConfig> ParseAgentConfig(const std::string& yaml_text, const std::string& source_name) {
  Walker w(source_name);
  try {
    YAML::Node root = YAML::Load(yaml_text);
    return Parse(w, root, source_name);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    return Status::InvalidArgument(source_name + ":" + std::to_string(line) + ": " + e.msg);
  }
}

Result<AgentConfig> LoadAgentConfigFile(const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
  return ParseAgentConfig(text, path);
}

}  // namespace sluice::agent
