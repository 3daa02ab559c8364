// How an API request's model failure is told to the client when the model could not load. The
// load error (a missing file, a file that is not GGUF) names the server's file path and came as
// a 404 or 400: it is the server's fault, so the client gets a 503 naming the alias only. The
// cause stays in the log (the runtime logs every failed load) and in the admin API
// (GET /admin/models/{alias} shows last_error).
//
//   Result<EmbedResult> r = handle.Embed(request, ctx.call);
//   if (!r) return ForApiClient(*deps_.runtime, model.alias, r.error());
//
// Thread-safety: as the runtime (thread-safe).
#pragma once

#include <string>

#include "modelrt/runtime.h"
#include "modelrt/status.h"
#include "server/handler_deps.h"
#include "server/http_message.h"

namespace modelrt::server {

// `error` as is, unless it is the alias's failed load: then Unavailable naming only the alias.
Status ForApiClient(const ModelRuntime& runtime, const std::string& alias, const Status& error);

// A model call's failure as the API answers it: a call that found no time to start within its
// queue limit (CallContext::CheckStart) is a 503 "overloaded" with a Retry-After from the model's
// estimated wait; anything else is ForApiClient's answer.
HttpResponse CallFailureResponse(const HandlerDeps& deps, const std::string& alias,
                                 const Status& error);

}  // namespace modelrt::server
