// Must not build: this target declares only sluice::common, so journal/ is not on its include path.
#include "common/status.h"
#include "journal/journal.h"

namespace sluice::layering_probe {
Status Undeclared() {
  return Status::Ok();
}
}  // namespace sluice::layering_probe
