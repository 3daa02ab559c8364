#include "server/work_estimate.h"

namespace modelrt::server {

int64_t EstimateTokens(std::string_view text) { return static_cast<int64_t>(text.size() / 4) + 1; }

int64_t EstimateWork(const EmbedRequest& request) {
  int64_t work = 0;
  for (const EmbedInput& input : request.inputs) {
    work += input.tokens.empty() ? EstimateTokens(input.text)
                                 : static_cast<int64_t>(input.tokens.size());
  }
  return work;
}

int64_t EstimateWork(std::string_view query, const std::vector<std::string>& documents) {
  int64_t work = 0;
  for (const std::string& document : documents) {
    work += EstimateTokens(query) + EstimateTokens(document);
  }
  return work;
}

int64_t EstimateWork(const GenerateRequest& request) {
  int64_t work = request.messages.empty() ? EstimateTokens(request.prompt) : 0;
  for (const ChatMessage& message : request.messages) work += EstimateTokens(message.content);
  // max_tokens <= 0 runs to the end of the context: count it as a typical answer.
  return work + (request.max_tokens > 0 ? request.max_tokens : 256);
}

}  // namespace modelrt::server
