// ServeUntilSignal: the body of `modelrt serve` once its configuration is loaded — open the
// registry in the data directory, build the runtime from it, serve HTTP (with the admin API)
// until SIGTERM or SIGINT, drain in-flight requests for up to server.drain_grace_s, return.
// SIGHUP re-reads the config file and applies the difference (as POST /admin/config/reload does)
// and keeps serving. A second SIGTERM/SIGINT during the drain exits at once (status 1).
//
//   return modelrt::server::ServeUntilSignal(config, "modelrt.yaml");   // 0 after a clean drain
//
// The registry journal is <data dir>/registry.jsonl (server.data_dir, else $MODELRT_DATA_DIR, else
// ~/.local/share/modelrt); two servers cannot share one data directory.
//
// Thread-safety: call once, from the main thread, before starting other threads: it blocks
// SIGINT/SIGTERM/SIGHUP for every thread it starts and takes them with sigwait.
#pragma once

#include <string>

#include "modelrt/catalog.h"

namespace modelrt::server {

// `config_path` is the file `config` came from ("" = the embedded catalog: SIGHUP has nothing to
// re-read). Returns the process exit code: 0 after a clean drain, 1 when the registry, the
// runtime (a required model) or the listening socket fails.
int ServeUntilSignal(const Config& config, const std::string& config_path = "");

}  // namespace modelrt::server
