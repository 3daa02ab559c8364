// The response headers of a Server-Sent Events stream (completions, job events).
//
//   if (!ctx.stream->Begin(200, SseHeaders())) return {};
//
// Thread-safety: a function over values.
#pragma once

#include "server/http_message.h"

namespace modelrt::server {

inline HttpHeaders SseHeaders() {
  HttpHeaders headers;
  headers.Set("Content-Type", "text/event-stream");
  headers.Set("Cache-Control", "no-cache");
  headers.Set("X-Accel-Buffering", "no");  // tell nginx-style proxies not to buffer
  return headers;
}

}  // namespace modelrt::server
