// PostgreSQL and Redshift loaders over libpq.
#pragma once

#include <memory>

#include "common/status.h"
#include "secrets/redactor.h"
#include "warehouse/config.h"
#include "warehouse/loader.h"

namespace sluice::warehouse {

// REQUIRES: config validated, engine postgres or redshift, secrets in config already resolved
// and known to `redactor` (which must outlive the loader).
Result<std::unique_ptr<Loader>> OpenPgLoader(const WarehouseConfig& config, LoaderOptions options,
                                             const secrets::Redactor* redactor);

}  // namespace sluice::warehouse
