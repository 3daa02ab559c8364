#include "providers/remote/remote_models.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <future>

#include "runtime/embed_dimensions.h"

namespace modelrt::remote {
namespace {

// Runs an asynchronous call and waits for it: the blocking forms of the model interfaces.
template <typename T, typename Start>
Result<T> Wait(Start start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> result) { promise.set_value(std::move(result)); });
  return future.get();
}

class RemoteBase {
 protected:
  explicit RemoteBase(RemoteModelParts parts) : parts_(std::move(parts)) {}
  ModelInfo BaseInfo() const {
    ModelInfo info;
    info.description = parts_.description;
    info.memory_bytes = 0;
    info.context_length = parts_.context_length;
    info.parallel = 64;
    return info;
  }
  // No network here (the pool asks on its timer): an open breaker is what says unhealthy.
  Status BreakerHealth() const {
    if (parts_.caller->breaker().state(Clock::now()) == net::CircuitBreaker::State::kOpen) {
      return UnavailableError("upstream circuit open after repeated failures");
    }
    return OkStatus();
  }
  const RemoteModelParts parts_;
};

class RemoteEmbedder : public EmbeddingModel, RemoteBase {
 public:
  explicit RemoteEmbedder(RemoteModelParts parts)
      : RemoteBase(std::move(parts)),
        dimensions_(std::make_shared<std::atomic<int>>(parts_.dimensions)) {}

  ModelInfo Info() const override {
    ModelInfo info = BaseInfo();
    info.dimensions = dimensions_->load(std::memory_order_relaxed);
    return info;
  }
  Status Warmup() override { return OkStatus(); }
  Status Health() const override { return BreakerHealth(); }

  Result<EmbedResult> Embed(const EmbedRequest& request, const CallContext& ctx) override {
    return Wait<EmbedResult>([&](EmbedDone done) { EmbedAsync(request, ctx, std::move(done)); });
  }

  void EmbedAsync(const EmbedRequest& request, const CallContext& ctx, EmbedDone done) override {
    if (request.inputs.empty()) return done(InvalidArgumentError("no input to embed"));
    auto upstream = parts_.format->Embed(parts_.upstream_model, request);
    if (!upstream) return done(upstream.error());
    auto sink = std::make_shared<CollectingSink>();
    const size_t inputs = request.inputs.size();
    const bool normalize = request.normalize.value_or(false);
    parts_.caller->Call(
        std::move(*upstream), ctx, CallKind::kWhole, sink,
        [format = parts_.format, learned = dimensions_, sink, inputs, normalize,
         done = std::move(done)](Status status, const CallInfo&) {
          if (!status.ok()) return done(status);
          Result<EmbedResult> result = format->ReadEmbed(sink->body(), inputs);
          if (result) {
            const int size = static_cast<int>(result->embeddings[0].size());
            for (const auto& e : result->embeddings) {
              if (static_cast<int>(e.size()) != size) {
                return done(UpstreamFailedError("upstream answer: embeddings of different sizes"));
              }
            }
            learned->store(size, std::memory_order_relaxed);
            if (normalize) {
              for (auto& e : result->embeddings) internal::TruncateAndNormalize(e, e.size());
            }
          }
          done(std::move(result));
        });
  }

 private:
  const std::shared_ptr<std::atomic<int>> dimensions_;
};

class RemoteReranker : public RerankerModel, RemoteBase {
 public:
  explicit RemoteReranker(RemoteModelParts parts) : RemoteBase(std::move(parts)) {}
  ModelInfo Info() const override { return BaseInfo(); }
  Status Warmup() override { return OkStatus(); }
  Status Health() const override { return BreakerHealth(); }

  Result<RerankResult> Rerank(const RerankRequest& request, const CallContext& ctx) override {
    return Wait<RerankResult>(
        [&](RerankDone done) { RerankAsync(request, ctx, std::move(done)); });
  }

  void RerankAsync(const RerankRequest& request, const CallContext& ctx,
                   RerankDone done) override {
    if (request.documents.empty()) return done(RerankResult{});
    auto upstream = parts_.format->Rerank(parts_.upstream_model, request);
    if (!upstream) return done(upstream.error());
    auto sink = std::make_shared<CollectingSink>();
    const size_t documents = request.documents.size();
    parts_.caller->Call(
        std::move(*upstream), ctx, CallKind::kWhole, sink,
        [format = parts_.format, sink, documents, done = std::move(done)](Status status,
                                                                          const CallInfo&) {
          if (!status.ok()) return done(status);
          done(format->ReadRerank(sink->body(), documents));
        });
  }
};

// Feeds a streamed chat answer to its ChatStream and the caller's callback.
class StreamSink : public BodySink {
 public:
  StreamSink(std::shared_ptr<const WireFormat> format, TokenCallback on_piece)
      : format_(std::move(format)), on_piece_(std::move(on_piece)) {}
  void Begin(const net::HttpResponseHead&) override { stream_ = format_->NewChatStream(); }
  Status Data(std::string_view chunk) override {
    return stream_->Feed(chunk, [this](std::string_view piece) {
      committed_ = true;
      so_far_.append(piece);
      if (!on_piece_(piece)) cancelled_ = true;
      return !cancelled_;
    });
  }
  // Stop reading once the client is gone: closing the connection stops the upstream's work.
  bool Enough() const override { return cancelled_; }
  bool Committed() const override { return committed_; }
  Result<GenerateResult> Finish() {
    if (!stream_) return UpstreamFailedError("upstream stream: no answer");
    return stream_->Finish();
  }
  GenerateResult SoFar() const {
    GenerateResult result;
    result.text = so_far_;
    result.finish_reason = FinishReason::kCancelled;
    return result;
  }

 private:
  const std::shared_ptr<const WireFormat> format_;
  const TokenCallback on_piece_;
  std::unique_ptr<ChatStream> stream_;
  std::string so_far_;
  bool committed_ = false;
  bool cancelled_ = false;
};

// The answer as the caller asked for it where an upstream cannot be told exactly: `top_logprobs`
// alternatives per token (upstreams are asked for at least one, see openai_format.cc), and one
// call without parallel_tool_calls (Gemini, Ollama and Cohere have no such switch).
GenerateDone AsAsked(const GenerateRequest& request, GenerateDone done) {
  const size_t alternatives = static_cast<size_t>(std::max(0, request.top_logprobs));
  const size_t calls = request.parallel_tool_calls ? SIZE_MAX : 1;
  return [alternatives, calls, done = std::move(done)](Result<GenerateResult> result) {
    if (result) {
      for (TokenLogprob& token : result->logprobs) {
        if (token.top.size() > alternatives) token.top.resize(alternatives);
      }
      if (result->tool_calls.size() > calls) result->tool_calls.resize(calls);
    }
    done(std::move(result));
  };
}

class RemoteGenerator : public GeneratorModel, RemoteBase {
 public:
  explicit RemoteGenerator(RemoteModelParts parts) : RemoteBase(std::move(parts)) {}
  ModelInfo Info() const override { return BaseInfo(); }
  Status Warmup() override { return OkStatus(); }
  Status Health() const override { return BreakerHealth(); }

  Result<GenerateResult> Generate(const GenerateRequest& request, const TokenCallback& on_piece,
                                  const CallContext& ctx) override {
    return Wait<GenerateResult>(
        [&](GenerateDone done) { GenerateAsync(request, on_piece, ctx, std::move(done)); });
  }

  void GenerateAsync(const GenerateRequest& request, TokenCallback on_piece,
                     const CallContext& ctx, GenerateDone done) override {
    const bool stream = static_cast<bool>(on_piece);
    if (!request.sampling.grammar.empty()) {
      // A grammar is a local sampler; sending the request without it would drop the constraint.
      return done(InvalidArgumentError(
          "response_format json modes and 'grammar' are served by local models only"));
    }
    if (request.logprobs && !parts_.format->CarriesLogprobs()) {
      return done(InvalidArgumentError("'logprobs' are not offered by this provider type"));
    }
    done = AsAsked(request, std::move(done));
    if (!request.sampling.logit_bias.empty()) {
      return done(InvalidArgumentError("'logit_bias' is served by local models only"));
    }
    auto upstream = parts_.format->Chat(parts_.upstream_model, request, stream);
    if (!upstream) return done(upstream.error());
    if (!stream) {
      auto sink = std::make_shared<CollectingSink>();
      parts_.caller->Call(std::move(*upstream), ctx, CallKind::kWhole, sink,
                          [format = parts_.format, sink, done = std::move(done)](
                              Status status, const CallInfo&) {
                            if (status.code() == StatusCode::kCancelled) {
                              GenerateResult cancelled;
                              cancelled.finish_reason = FinishReason::kCancelled;
                              return done(std::move(cancelled));
                            }
                            if (!status.ok()) return done(status);
                            done(format->ReadChat(sink->body()));
                          });
      return;
    }
    auto sink = std::make_shared<StreamSink>(parts_.format, std::move(on_piece));
    parts_.caller->Call(std::move(*upstream), ctx, CallKind::kStream, sink,
                        [sink, done = std::move(done)](Status status, const CallInfo&) {
                          // A cancelled generation is the text so far, not an error.
                          if (status.code() == StatusCode::kCancelled) return done(sink->SoFar());
                          if (!status.ok()) return done(status);
                          done(sink->Finish());
                        });
  }
};

}  // namespace

std::shared_ptr<Model> MakeRemoteModel(Task task, RemoteModelParts parts) {
  switch (task) {
    case Task::kEmbed: return std::make_shared<RemoteEmbedder>(std::move(parts));
    case Task::kRerank: return std::make_shared<RemoteReranker>(std::move(parts));
    case Task::kGenerate: return std::make_shared<RemoteGenerator>(std::move(parts));
  }
  return nullptr;
}

}  // namespace modelrt::remote
