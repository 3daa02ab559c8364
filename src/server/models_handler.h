// GET /v1/models and GET /v1/models/{id}: every alias and profile, in OpenAI's model-object
// shape plus two extensions: `task` (embed | rerank | generate) and, for profiles, `parent`
// (the alias the profile points at).
//
//   router.Add("GET", "/v1/models", ModelsHandler(deps, ModelsHandler::Mode::kList));
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class ModelsHandler {
 public:
  enum class Mode { kList, kGet };
  ModelsHandler(HandlerDeps deps, Mode mode, int64_t created);
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
  Mode mode_;
  int64_t created_;  // unix seconds reported as `created` (the server's start)
};

}  // namespace modelrt::server
