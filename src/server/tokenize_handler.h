// llama-server's tokenizer endpoints, by model: POST /tokenize {model, content, add_special,
// with_pieces} -> {tokens}, POST /detokenize {model, tokens} -> {content}, and POST
// /apply-template {model, messages, tools...} -> {prompt} (the exact prompt a chat completion
// would generate from). They load the model if needed, so they run on the blocking executor.
//
//   router.Add("POST", "/tokenize", TokenizeHandler(deps, TokenizeHandler::Action::kTokenize),
//              blocking);
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class TokenizeHandler {
 public:
  enum class Action { kTokenize, kDetokenize, kApplyTemplate };
  TokenizeHandler(HandlerDeps deps, Action action) : deps_(std::move(deps)), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
