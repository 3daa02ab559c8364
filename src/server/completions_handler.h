// POST /v1/chat/completions and POST /v1/completions, whole or streamed as SSE.
//
// A streamed response starts (200 + headers) when the first piece of text is ready, so errors
// found before that — a prompt over the context, a full queue — are still proper 4xx/5xx JSON
// answers. An error after that point is sent as an SSE `data: {"error": ...}` event followed by
// `data: [DONE]`, which the OpenAI clients surface as an APIError.
//
// If the client goes away mid-stream, the next write fails, the token callback returns false and
// the engine ends the sequence at once (freeing its slot); the session also trips the call's
// cancel flag when it sees the socket close.
//
// No thread waits for the engine: the handler parses, admits and hands the request to the
// engine (GeneratorHandle::GenerateAsync), then returns HttpResponse::Later(); the engine's
// thread formats each piece into the response stream and finishes the response through
// RequestContext::finish. Thousands of open streams cost queue entries, not threads.
//
//   router.Add("POST", "/v1/chat/completions", CompletionsHandler(deps, CompletionKind::kChat));
//
// Thread-safety: stateless between calls; safe from many threads.
#pragma once

#include "server/completion_format.h"
#include "server/generation_request.h"
#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class CompletionsHandler {
 public:
  CompletionsHandler(HandlerDeps deps, CompletionKind kind) : deps_(deps), kind_(kind) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
  CompletionKind kind_;
};

}  // namespace modelrt::server
