// Builds: replay/ is declared, journal/ and common/ are replay's PUBLIC dependencies.
#include "common/status.h"
#include "journal/journal.h"
#include "replay/bound.h"

namespace sluice::layering_probe {
Status Declared() {
  return Status::Ok();
}
}  // namespace sluice::layering_probe
