#include "auth/authorize.h"

#include <spdlog/spdlog.h>

#include <array>

namespace sluice::auth {

std::optional<AuthError> Authorize(const Identity* identity, std::string_view action,
                                   std::string_view resource) {
  if (identity == nullptr) return std::nullopt;
  Decision d =
      identity->policy ? Evaluate(*identity->policy, action, resource) : Decision::kImplicitDeny;
  if (d == Decision::kAllow) return std::nullopt;
  std::string message = "User: " + identity->principal_arn +
                        " is not authorized to perform: " + std::string(action) +
                        " on resource: " + std::string(resource);
  if (d == Decision::kExplicitDeny) {
    message += " with an explicit deny in an identity-based policy";
  } else {
    message += " because no identity-based policy allows the " + std::string(action) + " action";
  }
  Audit(identity, action, resource, "denied");
  return AuthError{"AccessDeniedException", std::move(message), 400};
}

bool IsControlPlane(std::string_view op) {
  static constexpr std::array<std::string_view, 17> kPrefixes = {
      "Create",     "Delete",   "Update",     "Tag",    "Untag",  "AddTags",
      "RemoveTags", "Register", "Deregister", "Split",  "Merge",  "Increase",
      "Decrease",   "Start",    "Stop",       "Enable", "Disable"};
  for (std::string_view p : kPrefixes) {
    if (op.substr(0, p.size()) == p) return true;
  }
  return false;
}

void Audit(const Identity* identity, std::string_view action, std::string_view resource,
           std::string_view outcome) {
  spdlog::info("audit key={} principal={} action={} resource={} outcome={}",
               identity ? identity->key_id : "-", identity ? identity->principal_arn : "anonymous",
               action, resource, outcome);
}

}  // namespace sluice::auth
