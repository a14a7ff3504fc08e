// Firehose dynamic-partitioning metadata extraction: the `MetadataExtraction` processor with
// `JsonParsingEngine` "JQ-1.6" (aws-wire-spec.md §3.6, §3.7), on Debian's libjq 1.6.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct jq_state;  // libjq's interpreter; <jq.h> stays out of our headers.

namespace sluice::jq {

// A compiled `MetadataExtractionQuery` such as
//   {customer_id:.customer_id,year:.ts|strftime("%Y")}
// Extract() runs it on one JSON record and returns the partition keys that
// `!{partitionKeyFromQuery:<key>}` prefix expressions read.
//
// Contract of a successful Extract(): the query produced exactly one output, a JSON object with
// 1..kMaxKeys keys whose values are strings, finite numbers or booleans. Strings are returned as
// they are (UTF-8, not escaped or trimmed; a '/' in a value is kept, exactly as Firehose does, so
// it adds a "folder" level to the S3 key; an empty string is kept too). Numbers are rendered the
// way jq 1.6 prints them (`100`, `1.5`, `1e+17`, `-0`), booleans as `true`/`false`.
// Every other outcome is an InvalidArgument whose message says what was wrong and, for a bad
// value, for which key; the caller sends that record to the error output (processing-failed).
//
// Sandbox: the query runs with `env` and `$ENV` bound to `{}` (server secrets must not leak into
// object keys), with `halt`/`halt_error` raising ordinary jq errors (libjq 1.6 double-frees after
// a halt), and with an empty module search path (`import`/`include` fail to compile). There is no
// execution time limit: queries are stream configuration, not record data.
//
// Thread safety: an extractor is used by one thread at a time (jq_state is not thread-safe).
// Distinct extractors may run concurrently on different threads.
class MetadataExtractor {
 public:
  // Firehose's limit on partition keys per query [FHDG:create-destination].
  static constexpr size_t kMaxKeys = 50;
  // jq messages quoted in errors are cut to this many bytes (runtime errors can embed record data).
  static constexpr size_t kMaxQuotedMessageBytes = 512;

  // Compiles `query` (jq 1.6 syntax). A syntax or compile error is an InvalidArgument carrying
  // jq's own message and the query.
  static Result<std::unique_ptr<MetadataExtractor>> Compile(std::string_view query);

  ~MetadataExtractor();
  MetadataExtractor(const MetadataExtractor&) = delete;
  MetadataExtractor& operator=(const MetadataExtractor&) = delete;

  // Parses `json_record` with jq's own parser and runs the query on it; see the class contract.
  Result<std::map<std::string, std::string>> Extract(std::string_view json_record);

  const std::string& query() const { return query_; }

 private:
  explicit MetadataExtractor(std::string query);

  std::string query_;
  jq_state* jq_ = nullptr;  // owned; torn down in the destructor
  // Messages libjq reported through its error callback since they were last cleared.
  std::vector<std::string> reported_;
  // NUL-terminated copy of the record being parsed (jq's parser error path reads it as a C string).
  std::string scratch_;
};

}  // namespace sluice::jq
