#include "providers/remote/wire_format.h"

namespace modelrt::remote {
namespace {

Status NotOffered(std::string_view what) {
  return CapabilityMismatchError(std::string(what) + " is not offered by this provider type");
}

}  // namespace

Result<UpstreamRequest> WireFormat::Embed(const std::string&, const EmbedRequest&) const {
  return NotOffered("embedding");
}
Result<EmbedResult> WireFormat::ReadEmbed(std::string_view, size_t) const {
  return NotOffered("embedding");
}
Result<UpstreamRequest> WireFormat::Rerank(const std::string&, const RerankRequest&) const {
  return NotOffered("reranking");
}
Result<RerankResult> WireFormat::ReadRerank(std::string_view, size_t) const {
  return NotOffered("reranking");
}
Result<UpstreamRequest> WireFormat::Chat(const std::string&, const GenerateRequest&, bool) const {
  return NotOffered("generation");
}
Result<GenerateResult> WireFormat::ReadChat(std::string_view) const {
  return NotOffered("generation");
}
std::unique_ptr<ChatStream> WireFormat::NewChatStream() const { return nullptr; }

}  // namespace modelrt::remote
