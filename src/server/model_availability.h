// Loads the model behind a handle before an API request uses it, so that a model that cannot
// load answers as the server's fault: 503 naming the alias. The cause (a missing file, a file
// that is not GGUF) names the server's file path; it goes to the log (the runtime logs every
// failed load) and stays visible in the admin API (GET /admin/models/{alias}), never in an API
// client's error, which used to be a 404 or 400 with the path in it.
//
//   MODELRT_RETURN_IF_ERROR(EnsureLoaded(handle));
//
// Thread-safety: as the runtime (thread-safe).
#pragma once

#include "modelrt/runtime.h"
#include "modelrt/status.h"

namespace modelrt::server {

// OK once loaded (at once when it already is); Unavailable naming only the alias otherwise.
Status EnsureLoaded(const ModelHandle& handle);

}  // namespace modelrt::server
