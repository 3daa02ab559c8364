// What the API handlers share: the runtime, the server limits, the model-name resolver, the
// per-model admission queues and, for the admin API, the control plane. Owned by HttpServer;
// handlers keep a copy of this struct.
//
//   EmbeddingsHandler embeddings(deps);
//
// Thread-safety: every member is thread-safe and outlives the handlers.
#pragma once

#include <atomic>
#include <memory>

#include "control/control_plane.h"
#include "modelrt/catalog.h"
#include "modelrt/model_names.h"
#include "modelrt/runtime.h"
#include "server/admission_control.h"

namespace modelrt::store {
class ModelStore;
}
namespace modelrt::jobs {
class JobRunner;
class FileStore;
}

namespace modelrt::server {

struct HandlerDeps {
  ModelRuntime* runtime = nullptr;
  const ServerConfig* limits = nullptr;
  const ModelNames* resolver = nullptr;
  AdmissionControl* admission = nullptr;
  // The registry, runtime writes and config re-reads; null when the server was built over a bare
  // runtime (then there is no admin API).
  control::ControlPlane* control = nullptr;
  // The model store of the server's config (GET/DELETE /admin/store); may be null.
  std::shared_ptr<store::ModelStore> store;
  // Jobs (/admin/jobs, /v1/batches) and uploaded files (/v1/files); null without a data
  // directory for them.
  jobs::JobRunner* jobs = nullptr;
  jobs::FileStore* files = nullptr;
  // Set once the server begins to drain (SIGTERM): GET /ready answers 503 from then on.
  const std::atomic<bool>* draining = nullptr;
};

}  // namespace modelrt::server
