// The models of a remote provider: an embedder, a reranker and a generator over one upstream
// model, each a thin pairing of a WireFormat (what to send, how to read it) with an
// UpstreamCaller (attempts, deadline, breaker). The asynchronous forms hold no thread while the
// upstream works; the blocking forms wait on them.
//
// Thread-safety: thread-safe.
#pragma once

#include <memory>
#include <string>

#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "providers/remote/upstream_caller.h"

namespace modelrt::remote {

struct RemoteModelParts {
  std::shared_ptr<const WireFormat> format;
  std::shared_ptr<UpstreamCaller> caller;
  std::string upstream_model;  // the spec's `model`: the name the upstream knows it by
  std::string description;     // "openai gpt-4o-mini at https://api.openai.com/v1"
  int dimensions = 0;          // embedders: from the options, else learned from the first answer
  int context_length = 0;      // from the options, when given
};

std::shared_ptr<Model> MakeRemoteModel(Task task, RemoteModelParts parts);

}  // namespace modelrt::remote
