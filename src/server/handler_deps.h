// What the API handlers share: the runtime, the server limits, the model-name resolver and the
// per-model admission queues. Owned by HttpServer; handlers keep a copy of this struct.
//
//   EmbeddingsHandler embeddings(deps);
//
// Thread-safety: every member is thread-safe and outlives the handlers.
#pragma once

#include "modelrt/catalog.h"
#include "modelrt/runtime.h"
#include "server/admission_control.h"
#include "server/model_resolver.h"

namespace modelrt::server {

struct HandlerDeps {
  ModelRuntime* runtime = nullptr;
  const ServerConfig* limits = nullptr;
  const ModelResolver* resolver = nullptr;
  AdmissionControl* admission = nullptr;
};

}  // namespace modelrt::server
