// The command-line flags of the producer (client::SendOptions), shared by `sluice put` and
// `sluice replay` so that both spell and check them the same way.
#pragma once

#include "client/record_sender.h"

namespace CLI {
class App;
}

namespace sluice::cli {

// Adds --endpoint, --region, the retry flags and --progress/--no-progress to `cmd`.
void AddSendFlags(CLI::App* cmd, client::SendOptions& options);

}  // namespace sluice::cli
