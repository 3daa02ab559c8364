// What an upstream's error answer says, whatever its wire format: the message, the error type,
// whether it is worth a retry and how long the upstream asked us to wait. Each provider's body
// shape is recognised:
//   OpenAI, Azure, Mistral, llama-server, vLLM  {"error": {"message", "type", "code"}}
//   Anthropic                                   {"type": "error", "error": {"type", "message"}}
//   Gemini, Vertex                              {"error": {"code", "message", "status",
//                                                "details": [{"@type": ".../google.rpc.RetryInfo",
//                                                             "retryDelay": "1.5s"}]}}
//   Cohere, Voyage, Jina                        {"message": ...} or {"detail": ...}
//   Ollama                                      {"error": "..."}
//   TEI                                         {"error": "...", "error_type": "..."}
// A body that is none of these (an HTML page from a proxy, a truncated body) gives its first
// line, cut short, so the caller still says something useful.
//
//   UpstreamError e = ParseUpstreamError(429, body, headers, system_clock::now());
//   if (e.retryable && e.retry_after && Fits(*e.retry_after)) { ... wait, try again ... }
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace modelrt::net {

struct UpstreamError {
  int http_status = 0;
  std::string message;     // the upstream's own words, at most 500 bytes; never the request
  std::string type;        // "rate_limit_error", "overloaded_error", "RESOURCE_EXHAUSTED", ...
  bool retryable = false;  // IsRetryableStatus(http_status)
  std::optional<std::chrono::milliseconds> retry_after;  // headers first, then Gemini's body
  // 401 or 403: our key for the upstream is wrong or lacks access. The caller answers 502
  // (`upstream_auth_failed`): the client's own credentials were fine.
  bool auth_failed = false;
};

UpstreamError ParseUpstreamError(
    int http_status, std::string_view body,
    const std::function<std::optional<std::string_view>(std::string_view name)>& header,
    std::chrono::system_clock::time_point now);

}  // namespace modelrt::net
