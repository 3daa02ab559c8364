#include "providers/llama/llama_generator.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/logging.h"
#include "providers/llama/chat_prompt.h"
#include "providers/llama/generation_engine.h"
#include "providers/llama/sampler_chain.h"

namespace modelrt::llama {
namespace {

// Context tokens per sequence when the options leave it to the model.
constexpr int kDefaultMaxCtx = 4096;
// Default n_batch cap (options.batch = 0).
constexpr int kDefaultMaxBatch = 8192;

// GeneratorModel on a GenerationEngine. Generate runs on the caller's thread: it validates and
// tokenizes, queues the request, then delivers the text pieces the engine's worker produces,
// calling `on_piece` on the caller's own thread.
//
// Thread-safety: thread-safe.
class LlamaGenerator final : public GeneratorModel {
 public:
  LlamaGenerator(LlamaModelPtr model, std::unique_ptr<GenerationEngine> engine,
                 std::string chat_template, int ctx, int parallel)
      : model_(std::move(model)),
        vocab_(llama_model_get_vocab(model_.get())),
        chat_(model_.get(), std::move(chat_template)),
        engine_(std::move(engine)),
        ctx_(ctx),
        parallel_(parallel) {}

  ~LlamaGenerator() override {
    engine_.reset();  // stops the worker before the model it uses goes away
  }

  Status ValidateChatTemplate() const { return chat_.Validate(); }

  ModelInfo Info() const override {
    ModelInfo info;
    char desc[256] = {0};
    llama_model_desc(model_.get(), desc, sizeof(desc));
    info.description = std::string(desc) + ", ctx " + std::to_string(ctx_) + " x " +
                       std::to_string(parallel_) + " sequences";
    info.memory_bytes = static_cast<int64_t>(llama_model_size(model_.get())) + engine_->kv_bytes();
    info.context_length = ctx_;
    info.parallel = parallel_;
    return info;
  }

  Status Warmup() override {
    GenerateRequest request;
    request.prompt = "Hello";
    request.max_tokens = 1;
    request.sampling.temperature = 0;
    auto result = Generate(request, nullptr, CallContext{});
    return result.ok() ? OkStatus() : result.error();
  }

  Status Health() const override { return engine_->health(); }

  Result<GenerateResult> Generate(const GenerateRequest& request, const TokenCallback& on_piece,
                                  const CallContext& ctx) override {
    if (ctx.expired()) return DeadlineExceededError("deadline exceeded before generation started");
    MODELRT_ASSIGN_OR_RETURN(GenerationInput input, MakeInput(request, ctx));
    input.stream = static_cast<bool>(on_piece);
    GenerateResult result;
    result.prompt_tokens = static_cast<int64_t>(input.prompt.size());
    if (ctx.cancelled()) {
      result.finish_reason = FinishReason::kCancelled;
      return result;
    }
    auto pending = std::make_shared<GenerationRequest>(std::move(input));
    MODELRT_RETURN_IF_ERROR(engine_->Submit(pending));
    return Deliver(*pending, on_piece, ctx, std::move(result));
  }

  void GenerateAsync(const GenerateRequest& request, TokenCallback on_piece,
                     const CallContext& ctx, GenerateDone done) override {
    if (ctx.expired()) return done(DeadlineExceededError("deadline exceeded before generation started"));
    Result<GenerationInput> input = MakeInput(request, ctx);
    if (!input) return done(input.error());
    input->stream = static_cast<bool>(on_piece);
    GenerateResult result;
    result.prompt_tokens = static_cast<int64_t>(input->prompt.size());
    if (ctx.cancelled()) {
      result.finish_reason = FinishReason::kCancelled;
      return done(std::move(result));
    }
    GenerationRequest::Listener listener;
    listener.on_piece = std::move(on_piece);
    listener.on_finish = [result, done](GenerationOutcome outcome, std::string text) mutable {
      if (!outcome.status.ok()) return done(std::move(outcome.status));
      result.text = std::move(text);
      result.finish_reason = outcome.finish_reason;
      result.completion_tokens = outcome.completion_tokens;
      done(std::move(result));
    };
    auto pending = std::make_shared<GenerationRequest>(*std::move(input), std::move(listener));
    // Not queued: the listener was never called, so `done` is ours to call.
    if (Status submitted = engine_->Submit(pending); !submitted.ok()) done(std::move(submitted));
  }

 private:
  Result<GenerationInput> MakeInput(const GenerateRequest& request, const CallContext& ctx) const {
    MODELRT_RETURN_IF_ERROR(ValidateSampling(request.sampling));
    MODELRT_RETURN_IF_ERROR(ValidateGrammar(request.sampling.grammar, vocab_));
    if (!request.sampling.grammar.empty() && request.ignore_eos) {
      // A finished grammar allows only end-of-generation tokens, which ignore_eos bans.
      return InvalidArgumentError("ignore_eos cannot be combined with a grammar or a JSON "
                                  "response_format");
    }
    GenerationInput input;
    bool templated = false;
    std::string text;
    if (!request.messages.empty()) {
      text = chat_.Render(request.messages);
      templated = chat_.uses_template();
    } else {
      text = request.prompt;
    }
    if (text.empty()) return InvalidArgumentError("prompt is empty");
    // Templates spell special tokens (<|im_start|>, <s>) as text: parse them, and drop the
    // BOS added by the tokenizer when the template already starts with one.
    input.prompt = Tokenize(vocab_, text, /*add_special=*/true, /*parse_special=*/templated);
    llama_token bos = llama_vocab_bos(vocab_);
    if (templated && input.prompt.size() >= 2 && input.prompt[0] == bos && input.prompt[1] == bos)
      input.prompt.erase(input.prompt.begin());
    if (input.prompt.empty()) return InvalidArgumentError("prompt is empty after tokenization");
    const int limit = engine_->ctx_limit();
    if (static_cast<int>(input.prompt.size()) > limit - 1)
      return InvalidArgumentError("prompt is " + std::to_string(input.prompt.size()) +
                                  " tokens; the context holds " + std::to_string(limit) +
                                  " tokens per sequence, so at most " + std::to_string(limit - 1) +
                                  " prompt tokens leave room for a reply");
    input.sampling = request.sampling;
    input.max_tokens = request.max_tokens;
    input.stop = request.stop;
    input.ignore_eos = request.ignore_eos;
    input.ctx = ctx;
    return input;
  }

  // Hands queued text to `on_piece` until the engine finishes. A callback returning false, a
  // cancelled context or a passed deadline abandons the request; the engine frees its slot at
  // its next step and we wait for that, so the slot is free when Generate returns.
  static Result<GenerateResult> Deliver(GenerationRequest& pending, const TokenCallback& on_piece,
                                        const CallContext& ctx, GenerateResult result) {
    bool cancelled = false;
    bool expired = false;
    std::vector<std::string> pieces;
    while (true) {
      bool finished = pending.Wait(&pieces, ctx.deadline);
      for (auto& piece : pieces) {
        if (ctx.cancelled()) cancelled = true;
        else if (ctx.expired()) expired = true;
        if (cancelled || expired) break;
        result.text += piece;
        if (on_piece && !on_piece(piece)) {
          cancelled = true;
          break;
        }
      }
      if (!cancelled && !expired) {
        if (ctx.cancelled()) cancelled = true;
        else if (!finished && ctx.expired()) expired = true;
      }
      if (cancelled || expired) {
        pending.Abandon();
        pending.WaitFinished();
        break;
      }
      if (finished) break;
    }
    GenerationOutcome outcome = pending.outcome();
    if (expired) return DeadlineExceededError("deadline exceeded during generation");
    if (!outcome.status.ok()) return outcome.status;
    result.finish_reason = cancelled ? FinishReason::kCancelled : outcome.finish_reason;
    result.completion_tokens = outcome.completion_tokens;
    return result;
  }

  LlamaModelPtr model_;
  const llama_vocab* vocab_;
  ChatPrompt chat_;
  std::unique_ptr<GenerationEngine> engine_;
  const int ctx_;
  const int parallel_;
};

}  // namespace

Result<std::shared_ptr<GeneratorModel>> CreateLlamaGenerator(const ModelSpec& spec,
                                                             const LlamaModelOptions& options,
                                                             const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(LlamaModelPtr model, LoadLlamaModel(spec.model, options, ctx));
  if (llama_model_has_encoder(model.get()) || !llama_model_has_decoder(model.get()))
    return InvalidArgumentError(spec.model + ": not a decoder-only model; cannot generate text");
  GenerationEngine::Options engine_options;
  engine_options.parallel = std::max(1, options.parallel);
  engine_options.ctx = options.ctx > 0
                           ? options.ctx
                           : std::min(kDefaultMaxCtx, llama_model_n_ctx_train(model.get()));
  engine_options.batch =
      options.batch > 0 ? options.batch
                        : std::min(kDefaultMaxBatch, engine_options.ctx * engine_options.parallel);
  engine_options.max_queue = std::max(1, options.max_queue);
  const int threads = options.threads > 0 ? options.threads : 1;
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<GenerationEngine> engine,
                           GenerationEngine::Create(model.get(), engine_options, threads));
  auto generator = std::make_shared<LlamaGenerator>(std::move(model), std::move(engine),
                                                    options.chat_template, engine_options.ctx,
                                                    engine_options.parallel);
  MODELRT_RETURN_IF_ERROR(generator->ValidateChatTemplate());
  Log("llama")->info("generator {}: {}", spec.alias.empty() ? spec.model : spec.alias,
                     generator->Info().description);
  return std::shared_ptr<GeneratorModel>(std::move(generator));
}

}  // namespace modelrt::llama
