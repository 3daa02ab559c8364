// POST /v1/embeddings, as OpenAI: `input` is a string, an array of strings, an array of token
// ids or an array of token-id arrays; `encoding_format` float (default) or base64 (little-endian
// float32); `dimensions` keeps the first N values and L2-renormalizes them (EmbedRequest's
// semantics, applied and checked by the library; this handler only parses and formats).
//
//   router.Add("POST", "/v1/embeddings", EmbeddingsHandler(deps));
//
// Thread-safety: stateless between calls; safe from many threads.
#pragma once

#include <string>
#include <vector>

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

 private:
  Result<HttpResponse> Handle(const HttpRequest& request, RequestContext& ctx) const;
  HandlerDeps deps_;
};

}  // namespace modelrt::server
