// The embedded default warehouse: a SQLite database file in WAL mode.
#pragma once

#include <memory>

#include "common/status.h"
#include "secrets/redactor.h"
#include "warehouse/config.h"
#include "warehouse/loader.h"

namespace sluice::warehouse {

// REQUIRES: config validated, engine sqlite, dsn resolved. `redactor` outlives the loader.
Result<std::unique_ptr<Loader>> OpenSqliteLoader(const WarehouseConfig& config,
                                                 LoaderOptions options,
                                                 const secrets::Redactor* redactor);

}  // namespace sluice::warehouse
