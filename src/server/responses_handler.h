// OpenAI's Responses API: POST /v1/responses, whole or streamed with the Responses events, over
// the same generators as /v1/chat/completions (responses_api.h maps the request and the
// answer). The official `openai` client's responses.create and responses.stream work against
// it unchanged, text and function calls.
//
// As CompletionsHandler: no thread waits for the engine; a stream starts at the first piece,
// so errors before that are whole 4xx/5xx answers.
//
//   router.Add("POST", "/v1/responses", ResponsesHandler(deps));
//
// Thread-safety: stateless between calls; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class ResponsesHandler {
 public:
  explicit ResponsesHandler(HandlerDeps deps) : deps_(std::move(deps)) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
};

}  // namespace modelrt::server
