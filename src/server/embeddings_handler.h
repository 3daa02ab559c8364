// POST /v1/embeddings, as OpenAI: `input` is a string, an array of strings, an array of token
// ids or an array of token-id arrays; `encoding_format` float (default) or base64 (little-endian
// float32); `dimensions` keeps the first N values and L2-renormalizes them (EmbedRequest's
// semantics, applied and checked by the library; this handler only parses and formats). It
// answers later (RouteOptions::answers_later): once admitted, the request waits in the engine's
// queue, not on a thread, and the engine's thread formats and finishes the response.
//
//   router.Add("POST", "/v1/embeddings", EmbeddingsHandler(deps));
//
// Thread-safety: stateless between calls; safe from many threads.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "modelrt/model.h"
#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class EmbeddingsHandler {
 public:
  explicit EmbeddingsHandler(HandlerDeps deps) : deps_(deps) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

  // Parses OpenAI's `input` field. InvalidArgument for wrong shapes, empty items or more than
  // `max_inputs` items.
  static Result<std::vector<EmbedInput>> ParseInput(const Json& input, size_t max_inputs);
  // Little-endian float32 bytes, base64-encoded.
  static std::string EncodeBase64(const std::vector<float>& v);

  // The response body for `result`, served as `model`.
  static std::string Format(const EmbedResult& result, const std::string& model, bool base64);

 private:
  // What the body asks for, its model resolved.
  struct Call {
    ResolvedModel model;
    EmbedRequest request;
    bool base64 = false;
  };
  Result<Call> Parse(const HttpRequest& request) const;
  HandlerDeps deps_;
};

}  // namespace modelrt::server
