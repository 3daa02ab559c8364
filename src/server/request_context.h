// Per-request state shared by the HTTP session and the handlers: the request id, the call
// context whose cancel flag the session trips when the client goes away, what the handler
// learned for logs and metrics (model, tokens), and the response stream for SSE.
//
//   HttpResponse Handle(const HttpRequest& req, RequestContext& ctx) {
//     ctx.model = alias;                        // for the access log and metrics
//     if (!ctx.stream->Begin(200, SseHeaders())) return {};
//     ctx.stream->Write("data: ...\n\n");        // false once the client is gone
//   }
//
// Thread-safety: a RequestContext belongs to one request; the handler fills it on a worker
// thread and the session reads it after the handler returned. ResponseStream implementations
// are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "modelrt/model.h"
#include "server/http_message.h"

namespace modelrt::server {

// Where a streaming handler writes its response. Implemented by the HTTP session.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends the status line and headers; the body follows as chunks. Call at most once, before
  // Write. Returns false when the client is gone.
  virtual bool Begin(int status, HttpHeaders headers) = 0;
  // Queues `data` as one chunk. Never blocks on the network. Returns false when the client is
  // gone or stopped reading: the handler should stop producing.
  virtual bool Write(std::string data) = 0;
  // Whether Begin was called: then the handler's returned HttpResponse is ignored.
  virtual bool started() const = 0;
};

struct RequestContext {
  std::string request_id;
  // Deadline and cancel flag for the model call; cancelled when the client disconnects or the
  // server stops waiting for in-flight requests.
  CallContext call;
  // Route pattern that matched ("/v1/models/{id}"), or "" when none did.
  std::string route;
  // Path parameters captured by the route ({id} -> value).
  std::map<std::string, std::string> params;
  // The catalog name the request resolved to (alias or profile); "" when none.
  std::string model;
  int64_t prompt_tokens = 0;
  // The engine generation that served the call (0 = none); sent as X-Model-Generation.
  uint64_t generation = 0;
  int64_t completion_tokens = 0;
  // Null when the transport cannot stream (then handlers answer in one piece).
  ResponseStream* stream = nullptr;
  // For a handler that answers later (returns HttpResponse::Later(), holding no thread while
  // the engine works): take it at once (std::move) and call it exactly once, from any thread,
  // with the response (ignored when the response was streamed). It keeps the session, and so
  // this context, alive until it is called; until then the context is the handler's.
  std::function<void(HttpResponse)> finish;
};

}  // namespace modelrt::server
