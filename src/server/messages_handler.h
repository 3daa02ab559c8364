// Anthropic's Messages API: POST /v1/messages (whole, or streamed with Anthropic's events) and
// POST /v1/messages/count_tokens, over the same generators as /v1/chat/completions. The
// official @anthropic-ai/sdk client works against it unchanged (it sends its key as x-api-key,
// which the server accepts as it accepts a bearer token).
//
// As CompletionsHandler: no thread waits for the engine; a stream starts at the first piece,
// so errors before that are whole 4xx/5xx answers, in Anthropic's error shape.
//
//   router.Add("POST", "/v1/messages", MessagesHandler(deps, MessagesHandler::Action::kCreate));
//
// Thread-safety: stateless between calls; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class MessagesHandler {
 public:
  enum class Action { kCreate, kCountTokens };
  MessagesHandler(HandlerDeps deps, Action action) : deps_(std::move(deps)), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HttpResponse Create(const Json& body, RequestContext& ctx) const;
  HttpResponse CountTokens(const Json& body, RequestContext& ctx) const;

  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
