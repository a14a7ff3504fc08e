#include "cli/cmd_transform.h"

#include <istream>
#include <ostream>

#include "common/json_writer.h"
#include "transform/pipeline.h"

namespace sluice::cli {

int RunTransformCommand(const std::vector<config::ProcessorSpec>& processors,
                        const transform::FormatSpec& format, const std::string& stream_name,
                        std::istream& in, std::ostream& out, std::ostream& err) {
  const transform::FormatSpec* spec = &format;
  transform::ChainOptions options;
  options.stream_name = stream_name;
  auto chain = transform::Chain::Build(processors, *spec, options);
  if (!chain.ok()) {
    err << "sluice transform: stream " << stream_name << ": " << chain.status().message() << "\n";
    return 2;
  }
  std::vector<std::string> lines;
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    lines.push_back(line);
  }
  std::vector<transform::SourceRecord> batch;
  ids.reserve(lines.size());
  const int64_t now = Clock::System().NowMs();
  for (size_t i = 0; i < lines.size(); ++i) ids.push_back("line-" + std::to_string(i + 1));
  for (size_t i = 0; i < lines.size(); ++i) {
    // Newline-delimited input: in raw mode each record keeps its newline, as a producer
    // sending JSON lines would.
    if (spec->kind == transform::FormatSpec::Kind::kRaw) lines[i] += '\n';
    batch.push_back(transform::SourceRecord{lines[i], now, ids[i]});
  }
  transform::BatchResult result = (*chain)->Process(batch);
  for (const auto& group : result.groups) {
    if (!group.partition_keys.empty()) {
      json::Writer w;
      w.BeginObject();
      for (const auto& [k, v] : group.partition_keys) {
        w.Key(k);
        w.String(v);
      }
      w.EndObject();
      out << "# partitionKeys: " << w.str() << "\n";
    }
    out << group.data;
  }
  out.flush();
  for (size_t i = 0; i < result.records.size(); ++i) {
    const auto& r = result.records[i];
    if (r.outcome != transform::Outcome::kProcessingFailed) continue;
    err << "line " << (i + 1) << ": " << r.error_code << ": " << r.error_message << "\n";
  }
  size_t failed = result.CountOutcome(transform::Outcome::kProcessingFailed);
  err << result.records.size() << " records: " << result.CountOutcome(transform::Outcome::kOk)
      << " Ok, " << result.CountOutcome(transform::Outcome::kDropped) << " Dropped, " << failed
      << " ProcessingFailed\n";
  return failed > 0 ? 1 : 0;
}

}  // namespace sluice::cli
