// WireFormat: what one provider's API looks like on the wire. It writes the requests for an
// embedding, a ranking or a chat, and reads the answers (streams included), and nothing else:
// sending, retries, deadlines and breakers are UpstreamCaller's. One file pair per format
// (openai_format, ...), so a new provider type is a new pair and a row in the factory.
//
//   MODELRT_ASSIGN_OR_RETURN(UpstreamRequest request, format.Embed("text-embedding-3-small", r));
//   ... send request.path under the base URL ...
//   MODELRT_ASSIGN_OR_RETURN(EmbedResult result, format.ReadEmbed(body, r.inputs.size()));
//
// Answers that do not have the documented shape are UpstreamFailed naming what is missing.
// Thread-safety: immutable; safe from any thread. A ChatStream is one stream's, one thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "net/http_client.h"

namespace modelrt::remote {

struct UpstreamRequest {
  std::string method = "POST";
  std::string path;  // joined onto the provider's base URL; may carry a query
  std::vector<net::HttpHeader> headers;
  std::string body;
};

// Reads one streamed chat answer as its chunks arrive.
class ChatStream {
 public:
  virtual ~ChatStream() = default;
  // Reads `chunk`, calling `on_piece` with each piece of text. A false from `on_piece` stops the
  // stream (Finish then reports kCancelled). Errors: an error event in the stream (UpstreamFailed
  // with the upstream's message), malformed data.
  virtual Status Feed(std::string_view chunk,
                      const std::function<bool(std::string_view)>& on_piece) = 0;
  // The stream has reached its last event; the rest of the body can be ignored.
  virtual bool ended() const = 0;
  // The answer once the body ended: text, finish reason, usage. UpstreamFailed when the stream
  // stopped before its last event (truncated).
  virtual Result<GenerateResult> Finish() = 0;
};

class WireFormat {
 public:
  virtual ~WireFormat() = default;
  virtual bool Supports(Task task) const = 0;
  // How requests carry the key ("authorization: Bearer ...", "x-api-key", ...) and the headers
  // every request of this API needs. An empty key adds no credential.
  virtual std::vector<net::HttpHeader> BaseHeaders(const std::string& api_key) const = 0;
  // A cheap request that checks the upstream is there and takes the key (a models list);
  // nullopt when the API has none.
  virtual std::optional<UpstreamRequest> Probe(const std::string& model) const = 0;

  virtual Result<UpstreamRequest> Embed(const std::string& model,
                                        const EmbedRequest& request) const;
  virtual Result<EmbedResult> ReadEmbed(std::string_view body, size_t inputs) const;
  virtual Result<UpstreamRequest> Rerank(const std::string& model,
                                         const RerankRequest& request) const;
  virtual Result<RerankResult> ReadRerank(std::string_view body, size_t documents) const;
  virtual Result<UpstreamRequest> Chat(const std::string& model, const GenerateRequest& request,
                                       bool stream) const;
  virtual Result<GenerateResult> ReadChat(std::string_view body) const;
  virtual std::unique_ptr<ChatStream> NewChatStream() const;
  // Whether Chat carries GenerateRequest::logprobs and the answers bring them back (OpenAI's
  // shape only). Tools every generating format carries, each in its own shape.
  virtual bool CarriesLogprobs() const { return false; }
};

}  // namespace modelrt::remote
