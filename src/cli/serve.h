// `modelrt serve`: loads the configuration (or the embedded demo catalog), builds the runtime,
// serves HTTP until SIGTERM or SIGINT, then drains in-flight requests for up to
// server.drain_grace_s and returns. A second signal during the drain exits at once. SIGHUP
// re-reads the config file (see server/serve_until_signal.h).
//
//   return modelrt::cli::RunServe({.config_path = "modelrt.yaml", .port = 9000});
//
// Thread-safety: call once, from the main thread, before starting other threads (it blocks
// SIGINT/SIGTERM for the threads it starts and takes them with sigwait).
#pragma once

#include <string>

#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::cli {

struct ServeArgs {
  std::string config_path;  // "" = the embedded demo catalog
  std::string host;         // "" = server.host from the config
  int port = -1;            // -1 = server.port from the config; 0 = any free port
};

// Blocks until a SIGTERM/SIGINT drain finishes. Returns the process exit code: 0 after a clean
// drain, 1 when the configuration, a required model or the listening socket fails.
int RunServe(const ServeArgs& args);

// The configuration `serve` runs: the file, or the demo catalog with its model files prepared
// under <data dir>/models (see core/paths.h), with the host/port overrides applied.
Result<Config> LoadServeConfig(const ServeArgs& args);

}  // namespace modelrt::cli
