// Authorization of one API call and its audit line.
//
// Authorize decides whether `identity` may perform `action` ("kinesis:PutRecords") on `resource`
// (a stream or consumer ARN, "*" when the call names none) under its policy: nullopt when allowed,
// else AccessDeniedException with IAM's wording. A null identity (no `auth:` block, loopback
// listener) is always allowed.
//
// Audit: every denied call and every control-plane call (IsControlPlane) writes one line through
// the logger, marked `audit`:
//   audit key=AKID… principal=arn:aws:iam::…:user/… action=kinesis:CreateStream
//         resource=arn:aws:kinesis:…:stream/orders outcome=allowed|denied|<error type>
// Never a secret: the line holds only the key id, names and ARNs.
// Thread safety: stateless; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/sigv4.h"

namespace sluice::auth {

std::optional<AuthError> Authorize(const Identity* identity, std::string_view action,
                                   std::string_view resource);

// True for operations that change or create resources: Create*, Delete*, Update*, Tag*, Untag*,
// AddTags*, RemoveTags*, Register*, Deregister*, Split*, Merge*, Increase*, Decrease*, Start*,
// Stop*, Enable*, Disable*. `operation` is the bare name ("CreateStream").
bool IsControlPlane(std::string_view operation);

// Writes the audit line (see above). `identity` may be null (anonymous).
void Audit(const Identity* identity, std::string_view action, std::string_view resource,
           std::string_view outcome);

}  // namespace sluice::auth
