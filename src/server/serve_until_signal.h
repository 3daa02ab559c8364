// ServeUntilSignal: the body of `modelrt serve` once its configuration is loaded — build the
// runtime, serve HTTP until SIGTERM or SIGINT, drain in-flight requests for up to
// server.drain_grace_s, return. A second signal during the drain exits at once (status 1).
//
//   return modelrt::server::ServeUntilSignal(config);   // 0 after a clean drain
//
// Thread-safety: call once, from the main thread, before starting other threads: it blocks
// SIGINT/SIGTERM for every thread it starts and takes them with sigwait.
#pragma once

#include "modelrt/catalog.h"

namespace modelrt::server {

// Returns the process exit code: 0 after a clean drain, 1 when the runtime (a required model)
// or the listening socket fails.
int ServeUntilSignal(const Config& config);

}  // namespace modelrt::server
