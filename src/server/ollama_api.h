// Ollama's API over modelrt's models, so apps (and the `ollama` npm client) that speak it work
// unchanged: POST /api/chat and /api/generate (NDJSON streams by default, as Ollama; whole with
// "stream": false), POST /api/embed, GET /api/tags, POST /api/show, GET /api/ps and
// GET /api/version. Models are modelrt aliases and profiles. Errors are Ollama's {"error": ...}.
//
// Request mapping: options.temperature, top_p, top_k, min_p, seed, num_predict, stop,
// repeat_penalty, repeat_last_n, presence_penalty and frequency_penalty are sampling; num_ctx,
// num_batch, num_gpu, num_thread, use_mmap and keep_alive are engine settings, which come from
// the catalog here and are ignored; other options are a 400 naming them. `format` ("json" or a
// JSON schema) constrains the reply; `tools` and tool messages work as on /v1/chat/completions.
//
//   router.Add("POST", "/api/chat", OllamaHandler(deps, OllamaHandler::Action::kChat), later);
//
// Thread-safety: stateless between calls; safe from many threads.
#pragma once

#include "server/generation_request.h"
#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

// /api/chat (`chat`) or /api/generate's body as the library call it asks for, up to admission:
// messages or prompt, the model, options, format, tools and stream.
Result<GenerationCall> ParseOllamaGenerate(const Json& body, bool chat, const ModelNames& resolver,
                                           const ServerConfig& limits);

// /api/embed's body: the request into `request`, and the model it names.
Result<ResolvedModel> ParseOllamaEmbed(const Json& body, const ModelNames& resolver,
                                       const ServerConfig& limits, EmbedRequest* request);

class OllamaHandler {
 public:
  enum class Action { kChat, kGenerate, kEmbed, kTags, kShow, kPs, kVersion };
  OllamaHandler(HandlerDeps deps, Action action) : deps_(std::move(deps)), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HttpResponse Generate(const Json& body, RequestContext& ctx) const;
  HttpResponse Embed(const Json& body, RequestContext& ctx) const;
  HttpResponse Tags() const;
  HttpResponse Show(const Json& body) const;
  HttpResponse Ps() const;

  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
