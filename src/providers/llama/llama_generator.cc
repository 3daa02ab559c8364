#include "providers/llama/llama_generator.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>
#include <string>
#include <utility>

#include "core/logging.h"
#include "providers/llama/chat_prompt.h"
#include "providers/llama/generation_engine.h"
#include "providers/llama/jinja_chat.h"
#include "providers/llama/reply_shaper.h"
#include "providers/llama/sampler_chain.h"

namespace modelrt::llama {
namespace {

// Context tokens per sequence when the options leave it to the model.
constexpr int kDefaultMaxCtx = 4096;
// Default n_batch cap (options.batch = 0).
constexpr int kDefaultMaxBatch = 8192;
// OpenAI's limit for top_logprobs.
constexpr int kMaxTopLogprobs = 20;

// Whether `name` is one of llama.cpp's built-in template names ("chatml", "llama3", ...),
// which its llama_chat_apply_template knows but a Jinja engine would print as text.
bool IsBuiltinTemplateName(const std::string& name) {
  std::vector<const char*> names(llama_chat_builtin_templates(nullptr, 0));
  llama_chat_builtin_templates(names.data(), names.size());
  return std::find_if(names.begin(), names.end(), [&](const char* n) { return name == n; }) !=
         names.end();
}

// The model's Jinja template (or the override's), through llama.cpp's chat support; null when
// it has none of its own or names a built-in template (ChatPrompt renders those). A template
// of the model's own that llama.cpp cannot parse falls back the same way; an override that
// does not parse is an error.
Result<std::shared_ptr<const JinjaChat>> LoadJinjaChat(const llama_model* model,
                                                       const std::string& override_template) {
  if (!override_template.empty() && IsBuiltinTemplateName(override_template))
    return std::shared_ptr<const JinjaChat>();
  if (!override_template.empty() && override_template.find("{{") == std::string::npos &&
      override_template.find("{%") == std::string::npos) {
    // Text without a single Jinja tag prints itself for every chat: a misspelt name.
    return InvalidArgumentError("options.chat_template: '" + override_template.substr(0, 40) +
                                "' is neither a built-in template name (chatml, llama3, "
                                "mistral-v7, ...) nor a Jinja template");
  }
  Result<std::shared_ptr<const JinjaChat>> chat = JinjaChat::Create(model, override_template);
  if (!chat) {
    if (!override_template.empty())
      return InvalidArgumentError("options.chat_template: " + chat.error().message());
    Log("llama")->warn("the model's chat template does not parse as Jinja ({}); using llama.cpp's "
                       "built-in templates without tool support",
                       chat.error().message());
    return std::shared_ptr<const JinjaChat>();
  }
  if (!(*chat)->has_own_template()) return std::shared_ptr<const JinjaChat>();
  return chat;
}

// GeneratorModel on a GenerationEngine. Generate runs on the caller's thread: it validates and
// tokenizes, queues the request, then delivers the text pieces the engine's worker produces,
// calling `on_piece` on the caller's own thread.
//
// Thread-safety: thread-safe.
class LlamaGenerator final : public GeneratorModel {
 public:
  LlamaGenerator(LlamaModelPtr model, std::unique_ptr<GenerationEngine> engine,
                 std::string chat_template, std::shared_ptr<const JinjaChat> jinja, int ctx,
                 int parallel)
      : model_(std::move(model)),
        vocab_(llama_model_get_vocab(model_.get())),
        chat_(model_.get(), std::move(chat_template)),
        jinja_(std::move(jinja)),
        engine_(std::move(engine)),
        ctx_(ctx),
        parallel_(parallel) {}

  ~LlamaGenerator() override {
    engine_.reset();  // stops the worker before the model it uses goes away
  }

  Status ValidateChatTemplate() const { return jinja_ ? OkStatus() : chat_.Validate(); }

  ModelInfo Info() const override {
    ModelInfo info;
    char desc[256] = {0};
    llama_model_desc(model_.get(), desc, sizeof(desc));
    info.description = std::string(desc) + ", ctx " + std::to_string(ctx_) + " x " +
                       std::to_string(parallel_) + " sequences";
    // The prompt cache counts at its capacity: the pool must find room for it when full.
    info.memory_bytes = static_cast<int64_t>(llama_model_size(model_.get())) + engine_->kv_bytes() +
                        engine_->prompt_cache_capacity();
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
  ModelOccupancy Occupancy() const override { return engine_->occupancy(); }

  Result<std::vector<int32_t>> Tokenize(std::string_view text, bool add_special) const override {
    return llama::Tokenize(vocab_, text, add_special, /*parse_special=*/true);
  }

  Result<std::string> Detokenize(const std::vector<int32_t>& tokens) const override {
    const int32_t n_vocab = llama_vocab_n_tokens(vocab_);
    std::string text;
    for (int32_t t : tokens) {
      if (t < 0 || t >= n_vocab)
        return InvalidArgumentError("token " + std::to_string(t) + " is not in the vocabulary (" +
                                    std::to_string(n_vocab) + " tokens)");
      text += TokenToPiece(vocab_, t, /*special=*/true);
    }
    return text;
  }

  Result<std::string> RenderPrompt(const GenerateRequest& request) const override {
    MODELRT_ASSIGN_OR_RETURN(PromptText prompt, RenderText(request));
    return prompt.text;
  }

  Result<GenerateResult> Generate(const GenerateRequest& request, const TokenCallback& on_piece,
                                  const CallContext& ctx) override {
    if (ctx.expired()) return DeadlineExceededError("deadline exceeded before generation started");
    MODELRT_ASSIGN_OR_RETURN(Prepared prepared, MakeInput(request, ctx));
    GenerationInput& input = prepared.input;
    input.stream = static_cast<bool>(on_piece);
    GenerateResult result;
    result.prompt_tokens = static_cast<int64_t>(input.prompt.size());
    if (ctx.cancelled()) {
      result.finish_reason = FinishReason::kCancelled;
      return result;
    }
    auto pending = std::make_shared<GenerationRequest>(std::move(input));
    MODELRT_RETURN_IF_ERROR(engine_->Submit(pending));
    if (!prepared.shaper) return Deliver(*pending, on_piece, ctx, std::move(result));
    ReplyShaper& shaper = *prepared.shaper;
    TokenCallback shaped;
    if (on_piece) {
      shaped = [&](std::string_view piece) {
        std::string content = shaper.Push(piece);
        return content.empty() || on_piece(content);
      };
    }
    MODELRT_ASSIGN_OR_RETURN(result, Deliver(*pending, shaped, ctx, std::move(result)));
    if (!on_piece) shaper.Push(result.text);
    Shape(shaper, &result);
    return result;
  }

  void GenerateAsync(const GenerateRequest& request, TokenCallback on_piece,
                     const CallContext& ctx, GenerateDone done) override {
    if (ctx.expired()) return done(DeadlineExceededError("deadline exceeded before generation started"));
    Result<Prepared> prepared = MakeInput(request, ctx);
    if (!prepared) return done(prepared.error());
    GenerationInput& input = prepared->input;
    input.stream = static_cast<bool>(on_piece);
    GenerateResult result;
    result.prompt_tokens = static_cast<int64_t>(input.prompt.size());
    if (ctx.cancelled()) {
      result.finish_reason = FinishReason::kCancelled;
      return done(std::move(result));
    }
    std::shared_ptr<ReplyShaper> shaper = std::move(prepared->shaper);
    GenerationRequest::Listener listener;
    if (shaper && on_piece) {
      listener.on_piece = [shaper, on_piece = std::move(on_piece)](std::string_view piece) {
        std::string content = shaper->Push(piece);
        return content.empty() || on_piece(content);
      };
    } else {
      listener.on_piece = std::move(on_piece);
    }
    const bool streamed = static_cast<bool>(listener.on_piece);
    listener.on_finish = [result, done, shaper, streamed](GenerationOutcome outcome,
                                                          std::string text) mutable {
      if (!outcome.status.ok()) return done(std::move(outcome.status));
      result.text = std::move(text);
      result.finish_reason = outcome.finish_reason;
      result.completion_tokens = outcome.completion_tokens;
      result.cached_tokens = outcome.cached_tokens;
      result.stop_sequence = std::move(outcome.stop_sequence);
      result.logprobs = std::move(outcome.logprobs);
      if (shaper) {
        if (!streamed) shaper->Push(result.text);
        Shape(*shaper, &result);
      }
      done(std::move(result));
    };
    auto pending = std::make_shared<GenerationRequest>(std::move(input), std::move(listener));
    // Not queued: the listener was never called, so `done` is ours to call.
    if (Status submitted = engine_->Submit(pending); !submitted.ok()) done(std::move(submitted));
  }

 private:
  // A validated, tokenized request, and how its reply is parsed (null: the text as written).
  struct Prepared {
    GenerationInput input;
    std::shared_ptr<ReplyShaper> shaper;
  };

  // The prompt text for `request`, and what the template adds to it (tools, grammars, stops).
  struct PromptText {
    std::string text;
    bool templated = false;  // special tokens in the text are tokens
    std::optional<ChatRendering> rendering;
  };

  Result<PromptText> RenderText(const GenerateRequest& request) const {
    PromptText out;
    const bool with_tools = !request.tools.empty() && request.tool_choice != ToolChoice::kNone;
    if (request.messages.empty()) {
      if (with_tools) return InvalidArgumentError("'tools' need chat messages, not a prompt");
      out.text = request.prompt;
      return out;
    }
    if (!jinja_) {
      if (with_tools) {
        return InvalidArgumentError("'tools': this model has no chat template that renders tools "
                                    "(set the alias's options.chat_template to a Jinja template "
                                    "with tool support)");
      }
      out.text = chat_.Render(request.messages);
      out.templated = chat_.uses_template();
      return out;
    }
    MODELRT_ASSIGN_OR_RETURN(ChatRendering rendering, jinja_->Render(request));
    out.text = rendering.prompt;
    out.templated = true;
    out.rendering = std::move(rendering);
    return out;
  }

  Result<Prepared> MakeInput(const GenerateRequest& request, const CallContext& ctx) const {
    MODELRT_RETURN_IF_ERROR(ValidateSampling(request.sampling, llama_vocab_n_tokens(vocab_)));
    MODELRT_RETURN_IF_ERROR(ValidateGrammar(request.sampling.grammar, vocab_));
    if (!request.sampling.grammar.empty() && request.ignore_eos) {
      // A finished grammar allows only end-of-generation tokens, which ignore_eos bans.
      return InvalidArgumentError("ignore_eos cannot be combined with a grammar or a JSON "
                                  "response_format");
    }
    if (request.top_logprobs < 0 || request.top_logprobs > kMaxTopLogprobs)
      return InvalidArgumentError("'top_logprobs' must be between 0 and " +
                                  std::to_string(kMaxTopLogprobs));
    Prepared prepared;
    GenerationInput& input = prepared.input;
    MODELRT_ASSIGN_OR_RETURN(PromptText prompt, RenderText(request));
    if (prompt.text.empty()) return InvalidArgumentError("prompt is empty");
    // Templates spell special tokens (<|im_start|>, <s>) as text: parse them, and drop the
    // BOS added by the tokenizer when the template already starts with one.
    input.prompt = llama::Tokenize(vocab_, prompt.text, /*add_special=*/true, /*parse_special=*/prompt.templated);
    llama_token bos = llama_vocab_bos(vocab_);
    if (prompt.templated && input.prompt.size() >= 2 && input.prompt[0] == bos && input.prompt[1] == bos)
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
    input.logprobs = request.logprobs;
    input.top_logprobs = request.logprobs ? request.top_logprobs : 0;
    input.ctx = ctx;
    if (prompt.rendering) MODELRT_RETURN_IF_ERROR(ApplyRendering(request, *prompt.rendering, &prepared));
    return prepared;
  }

  // What the chat template asks of the generation: its stop strings, the tool-call grammar and
  // the special tokens a call is written with; and the parser for the reply.
  Status ApplyRendering(const GenerateRequest& request, const ChatRendering& rendering,
                        Prepared* prepared) const {
    GenerationInput& input = prepared->input;
    for (const std::string& stop : rendering.additional_stops) {
      if (std::find(input.stop.begin(), input.stop.end(), stop) == input.stop.end())
        input.stop.push_back(stop);
    }
    if (!rendering.grammar.empty()) {
      if (!input.sampling.grammar.empty())
        return InvalidArgumentError("'tools' cannot be combined with a grammar or a JSON "
                                    "response_format");
      if (input.ignore_eos) return InvalidArgumentError("'tools' cannot be combined with ignore_eos");
      MODELRT_RETURN_IF_ERROR(ValidateGrammar(rendering.grammar, vocab_));
      input.sampling.grammar = rendering.grammar;
      if (rendering.grammar_lazy) {
        input.lazy_grammar = GrammarTriggers{rendering.trigger_patterns, {}};
        for (int32_t t : rendering.trigger_tokens) input.lazy_grammar->tokens.push_back(t);
      } else if (!rendering.grammar_prefill.empty()) {
        // As llama.cpp's common sampler: a leading space some tokenizers add is not the text's.
        std::vector<llama_token> tokens =
            llama::Tokenize(vocab_, rendering.grammar_prefill, /*add_special=*/false, /*parse_special=*/true);
        for (size_t i = 0; i < tokens.size(); ++i) {
          std::string piece = TokenToPiece(vocab_, tokens[i], /*special=*/true);
          if (i == 0 && !piece.empty() && std::isspace(static_cast<unsigned char>(piece[0])) &&
              !std::isspace(static_cast<unsigned char>(rendering.grammar_prefill[0])))
            continue;
          input.grammar_prefill.push_back(tokens[i]);
        }
      }
    }
    for (const std::string& text : rendering.preserved_tokens) {
      std::vector<llama_token> tokens =
          llama::Tokenize(vocab_, text, /*add_special=*/false, /*parse_special=*/true);
      if (tokens.size() == 1) input.shown_special.push_back(tokens[0]);
    }
    std::sort(input.shown_special.begin(), input.shown_special.end());
    if (rendering.parser)
      prepared->shaper = std::make_shared<ReplyShaper>(rendering.parser, request.parallel_tool_calls);
    return OkStatus();
  }

  // Content, reasoning and tool calls from the reply the shaper has seen.
  static void Shape(ReplyShaper& shaper, GenerateResult* result) {
    ParsedReply reply = shaper.Finish(result->finish_reason == FinishReason::kLength);
    result->text = std::move(reply.content);
    result->reasoning_content = std::move(reply.reasoning);
    result->tool_calls = std::move(reply.tool_calls);
    if (!result->tool_calls.empty() && result->finish_reason != FinishReason::kCancelled)
      result->finish_reason = FinishReason::kToolCalls;
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
    result.cached_tokens = outcome.cached_tokens;
    result.stop_sequence = std::move(outcome.stop_sequence);
    result.logprobs = std::move(outcome.logprobs);
    return result;
  }

  LlamaModelPtr model_;
  const llama_vocab* vocab_;
  ChatPrompt chat_;  // when the model has no Jinja template of its own (or a built-in name)
  std::shared_ptr<const JinjaChat> jinja_;
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
  engine_options.prompt_cache_bytes =
      options.prompt_cache_mb < 0 ? -1 : static_cast<int64_t>(options.prompt_cache_mb) << 20;
  const int threads = options.threads > 0 ? options.threads : 1;
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<GenerationEngine> engine,
                           GenerationEngine::Create(model.get(), engine_options, threads));
  MODELRT_ASSIGN_OR_RETURN(std::shared_ptr<const JinjaChat> jinja,
                           LoadJinjaChat(model.get(), options.chat_template));
  auto generator = std::make_shared<LlamaGenerator>(std::move(model), std::move(engine),
                                                    options.chat_template, std::move(jinja),
                                                    engine_options.ctx, engine_options.parallel);
  MODELRT_RETURN_IF_ERROR(generator->ValidateChatTemplate());
  Log("llama")->info("generator {}: {}", spec.alias.empty() ? spec.model : spec.alias,
                     generator->Info().description);
  return std::shared_ptr<GeneratorModel>(std::move(generator));
}

}  // namespace modelrt::llama
