// InferenceGateway: how jobs (model-inference, model-batch-inference) send an API request into
// the same handlers and engines as the HTTP server, without a socket. The server implements it
// over its ApiService; `modelrt batch` over an ApiService of its own.
//
//   gateway.Call("/v1/embeddings", "embed", body, ctx, [](InferenceReply r) { ... r.status, r.body ... });
//
// Thread-safety: implementations are thread-safe; `done` runs once, on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "modelrt/model.h"

namespace modelrt::jobs {

struct InferenceReply {
  int status = 0;  // the HTTP status the request would have had
  std::string body;
  std::string request_id;
};

class InferenceGateway {
 public:
  virtual ~InferenceGateway() = default;
  // Runs `POST endpoint` with `body` (whose model is `model`) as the API would, but without its
  // key check: the job was authorised when it was submitted.
  virtual void Call(std::string endpoint, std::string model, std::string body, CallContext ctx,
                    std::function<void(InferenceReply)> done) = 0;
  // Requests for `model` now queued or running that are not this gateway's: while there are
  // any, batches keep fewer of their own in flight.
  virtual int64_t InteractiveLoad(std::string_view model) const = 0;
};

}  // namespace modelrt::jobs
