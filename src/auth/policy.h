// IAM-style permissions: a subset of IAM policy JSON. A policy is a list of statements, each
// Allow or Deny, with actions ("firehose:PutRecord*", "kinesis:Get*", "*") and resources (stream
// ARNs, "*"), both with the wildcards '*' (any run of characters) and '?' (one character),
// matched as IAM does: actions case-insensitively, resources case-sensitively.
//
// Evaluation (IAM's for one identity-based policy): an explicit Deny matching the action and
// resource wins; otherwise an Allow matching both allows; otherwise the request is denied
// (default deny). Thread safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::auth {

struct Statement {
  bool allow = true;  // Effect: Allow (true) or Deny (false)
  std::vector<std::string> actions;
  std::vector<std::string> resources;
};

struct Policy {
  std::vector<Statement> statements;
};

enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

// True if `text` matches `pattern` ('*' any run, '?' one character). `ignore_case` for actions.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

// The decision for `action` ("kinesis:PutRecords") on `resource` (a stream ARN, or "*" when the
// call names no stream).
Decision Evaluate(const Policy& policy, std::string_view action, std::string_view resource);

}  // namespace sluice::auth
