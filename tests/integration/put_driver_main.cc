// Test driver for `sluice put`: the same flags and RunPut as the real binary, built from
// src/cli/cmd_put.cc without the rest of the server, so the put tests in tests/compat can run
// even when `sluice` itself is not built.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cmd_put.h"

int main(int argc, char** argv) {
  CLI::App app{"sluice (put only; test driver)"};
  app.require_subcommand(1);
  sluice::cli::PutOptions options;
  sluice::cli::AddPutCommand(app, options);
  CLI11_PARSE(app, argc, argv);
  return sluice::cli::RunPut(options, &std::cin, std::cerr);
}
