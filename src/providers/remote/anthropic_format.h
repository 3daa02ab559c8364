// Anthropic's Messages API (https://docs.anthropic.com/en/api/messages): POST /v1/messages with
// `x-api-key` and `anthropic-version: 2023-06-01`; `max_tokens` is required (the request's, or
// 1024); system messages go to the top-level `system`; stop strings are `stop_sequences`.
// Streams are SSE events message_start (input usage), content_block_start/delta/stop (text in
// text_delta), message_delta (stop_reason, output usage), message_stop, ping, and error.
// Generation only (Anthropic serves no embeddings or ranking). The base URL is the SDK's,
// https://api.anthropic.com; GET /v1/models is the probe.
//
// Thread-safety: immutable.
#pragma once

#include "providers/remote/wire_format.h"

namespace modelrt::remote {

class AnthropicFormat : public WireFormat {
 public:
  bool Supports(Task task) const override { return task == Task::kGenerate; }
  std::vector<net::HttpHeader> BaseHeaders(const std::string& api_key) const override;
  std::optional<UpstreamRequest> Probe(const std::string& model) const override;
  Result<UpstreamRequest> Chat(const std::string& model, const GenerateRequest& request,
                               bool stream) const override;
  Result<GenerateResult> ReadChat(std::string_view body) const override;
  std::unique_ptr<ChatStream> NewChatStream() const override;
};

}  // namespace modelrt::remote
