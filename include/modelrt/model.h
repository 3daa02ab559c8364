// Model interfaces: what a loaded model can do, whatever runs it (llama.cpp, a remote API).
//
//   auto result = embedder->Embed({.inputs = {{.text = "hello"}}}, CallContext{});
//   if (result) use(result->embeddings[0]);
//
// Thread-safety: every implementation must accept calls from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <map>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modelrt/status.h"

namespace modelrt {

enum class Task { kEmbed, kRerank, kGenerate };
std::string_view ToString(Task task);

using Clock = std::chrono::steady_clock;

// What the copies of one CallContext share to be cancelled: a flag, and callbacks that run once
// when it is set, so a waiter is woken instead of polling the flag.
class CancelSignal {
 public:
  bool cancelled() const { return flag_.load(std::memory_order_relaxed); }
  // Sets the flag and runs the callbacks (on this thread, outside the signal's lock).
  void Cancel();
  // Runs `fn` once when cancelled (at once, here, if it already is). Returns a key for Forget.
  uint64_t OnCancel(std::function<void()> fn);
  // Drops a callback that has not run. Callbacks own what they touch (shared_ptr), so one that
  // is running while Forget returns does no harm.
  void Forget(uint64_t key);

 private:
  std::atomic<bool> flag_{false};
  std::mutex mu_;
  std::map<uint64_t, std::function<void()>> callbacks_;  // under mu_
  uint64_t next_key_ = 1;                                 // under mu_
};

// Deadline and cancellation for one call (or one load). Cheap to copy; copies share the signal.
struct CallContext {
  Clock::time_point deadline = Clock::time_point::max();
  // The queue deadline: work that has not started by then is refused (Unavailable, "overloaded")
  // rather than started late. The server sets it from server.max_queue_wait_ms; max() = none.
  Clock::time_point start_by = Clock::time_point::max();
  std::shared_ptr<CancelSignal> cancel = std::make_shared<CancelSignal>();
  // Request id, for logs.
  std::string request_id;

  static CallContext WithTimeout(std::chrono::milliseconds timeout);
  bool cancelled() const { return cancel && cancel->cancelled(); }
  bool expired() const { return Clock::now() >= deadline; }
  void Cancel() const { if (cancel) cancel->Cancel(); }
  // OK, Cancelled or DeadlineExceeded: what a long-running loop checks between steps.
  Status Check() const;
  // Check(), then Unavailable once start_by has passed: what an engine asks before it starts a
  // request it took from its queue.
  Status CheckStart() const;
  // Whether `status` is CheckStart's refusal (not retried: a retry would be later still).
  static bool IsLateStart(const Status& status);
};

// What a loaded model reports about itself.
struct ModelInfo {
  std::string description;       // e.g. "llama 260K params, ctx 512"
  int64_t memory_bytes = 0;      // weights + context + KV cache, as the engine reports them
  int context_length = 0;        // tokens per sequence
  int dimensions = 0;            // embedding size (embed models)
  int parallel = 1;              // sequences served at once
};

// What a model's engine holds right now: the signals load balancers and autoscalers route and
// scale on (the Kubernetes Gateway API inference extension reads queue and KV-cache use).
struct ModelOccupancy {
  bool reported = false;            // false: the engine keeps no queue of its own to report
  int64_t waiting = 0;              // requests queued in the engine, not started
  int64_t running = 0;              // requests being served (sequences in slots)
  int64_t kv_used_tokens = 0;       // KV-cache cells holding tokens, all sequences together
  int64_t kv_capacity_tokens = 0;   // 0 = no KV cache
};

class Model {
 public:
  virtual ~Model() = default;
  virtual Task task() const = 0;
  virtual ModelInfo Info() const = 0;
  // Runs a tiny request so the first real call does not pay for lazy setup.
  virtual Status Warmup() = 0;
  // Cheap liveness probe; a broken engine answers non-OK.
  virtual Status Health() const { return OkStatus(); }
  // Cheap (a lock and a few loads): read on every /metrics scrape.
  virtual ModelOccupancy Occupancy() const { return {}; }
};

// ---- Embeddings -------------------------------------------------------------------------------

// One input: text, or pre-tokenized ids when `tokens` is non-empty.
struct EmbedInput {
  std::string text;
  std::vector<int32_t> tokens;
};

// What the texts of an embedding request are, for the models and APIs that embed queries and
// documents differently (Cohere, Voyage, Jina, Gemini, E5-style prompts). Others ignore it.
enum class EmbedInputType { kUnspecified, kQuery, kDocument };

struct EmbedRequest {
  std::vector<EmbedInput> inputs;
  EmbedInputType input_type = EmbedInputType::kUnspecified;
  std::optional<bool> normalize;  // L2-normalize; default from the model's options
  std::optional<bool> truncate;   // cut over-long inputs instead of failing; default from options
  // OpenAI's `dimensions`: keep the first N values of each embedding and scale them back to unit
  // length (unless `normalize` is false). EmbeddingHandle applies it and checks it before the
  // model runs: InvalidArgument unless 1 <= N <= the model's dimensions. Models ignore it.
  std::optional<int> dimensions;
};

struct EmbedResult {
  std::vector<std::vector<float>> embeddings;  // one per input, in input order
  int64_t prompt_tokens = 0;
  uint64_t generation = 0;  // the alias's engine generation that served it (set by the runtime)
  std::string served_by;    // the alias that answered: the one called or a fallback (runtime)
};

class EmbeddingModel : public Model {
 public:
  Task task() const override { return Task::kEmbed; }
  // Errors: InvalidArgument (empty input, over-long input without truncation),
  // ResourceExhausted (queue full), Cancelled, DeadlineExceeded.
  virtual Result<EmbedResult> Embed(const EmbedRequest& request, const CallContext& ctx) = 0;
  // The same call without a thread waiting for it: `done` runs exactly once, later on the
  // engine's thread (so it must be short), or here for what fails before the engine has it.
  // `request` is read before this returns. This default runs Embed on the caller's thread;
  // batching engines (llama) override it.
  virtual void EmbedAsync(const EmbedRequest& request, const CallContext& ctx,
                          std::function<void(Result<EmbedResult>)> done) {
    done(Embed(request, ctx));
  }
};
using EmbedDone = std::function<void(Result<EmbedResult>)>;

// ---- Reranking --------------------------------------------------------------------------------

struct RerankRequest {
  std::string query;
  std::vector<std::string> documents;
  std::optional<bool> truncate;
  // Read by RerankerHandle, not by models: how many of the best results to rank (unset = every
  // document; InvalidArgument when < 1, before the model runs) and whether each ranked result
  // carries its document's text.
  std::optional<int> top_n;
  bool return_documents = false;
};

// One document of a ranking.
struct RankedDocument {
  size_t index = 0;      // into RerankRequest::documents
  float score = 0;       // the model's score; higher is more relevant
  std::string document;  // the text when RerankRequest::return_documents, else empty
};

struct RerankResult {
  std::vector<float> scores;  // one per document, in document order
  int64_t prompt_tokens = 0;
  uint64_t generation = 0;  // the alias's engine generation that served it (set by the runtime)
  std::string served_by;    // the alias that answered: the one called or a fallback (runtime)
  // Best first (equal scores keep document order), at most top_n (set by the runtime).
  std::vector<RankedDocument> ranked;
};

class RerankerModel : public Model {
 public:
  Task task() const override { return Task::kRerank; }
  virtual Result<RerankResult> Rerank(const RerankRequest& request, const CallContext& ctx) = 0;
  // As EmbeddingModel::EmbedAsync.
  virtual void RerankAsync(const RerankRequest& request, const CallContext& ctx,
                           std::function<void(Result<RerankResult>)> done) {
    done(Rerank(request, ctx));
  }
};
using RerankDone = std::function<void(Result<RerankResult>)>;

// ---- Generation -------------------------------------------------------------------------------

// A function call the model made (assistant messages, results). `arguments` is JSON text.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

struct ChatMessage {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant: the calls it made
  std::string tool_call_id;          // tool: the call this message answers
  std::string name;                  // tool: the function's name, when the caller gave it
  std::string reasoning_content;     // assistant: its thinking, for templates that show it
};

// A function the model may call: OpenAI's tools[].function. `parameters` is a JSON Schema text.
struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters = R"({"type":"object"})";
};

// kNamed: `GenerateRequest::tool_name` must be called.
enum class ToolChoice { kAuto, kNone, kRequired, kNamed };

struct SamplingParams {
  float temperature = 0.8f;  // 0 = greedy
  int top_k = 40;            // 0 = off
  float top_p = 0.95f;       // 1 = off
  float min_p = 0.05f;       // 0 = off
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;
  std::optional<uint32_t> seed;  // unset = random
  // OpenAI's penalties: subtract presence_penalty from every token already generated and
  // frequency_penalty times its count (over the last repeat_last_n tokens). 0 = off.
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  // Added to a token's logit before sampling (OpenAI's logit_bias; -100 bans it in effect).
  std::vector<std::pair<int32_t, float>> logit_bias;
  // A GBNF grammar (root rule "root") the output must match, as llama.cpp's grammar sampler
  // enforces it: structured outputs. "" = none. Local engines only.
  std::string grammar;
};

// One generated token with its log-probability under the model (log-softmax of its logits),
// and the most likely alternatives at that position, best first.
struct TokenLogprob {
  std::string token;
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
};

struct GenerateRequest {
  std::string prompt;                 // used when `messages` is empty
  std::vector<ChatMessage> messages;  // rendered with the model's chat template
  SamplingParams sampling;
  int max_tokens = 256;               // <= 0: until the context is full
  std::vector<std::string> stop;      // stop strings; never part of the output
  bool ignore_eos = false;            // keep going past end-of-generation tokens (benchmarks)
  // Functions the model may call (chat only), rendered by the model's chat template; a local
  // engine constrains a call to the template's tool-call syntax and the function's schema.
  std::vector<ToolSpec> tools;
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_name;             // with ToolChoice::kNamed
  bool parallel_tool_calls = true;   // several calls in one reply
  // Report each generated token's log-probability, and this many alternatives (0..20).
  bool logprobs = false;
  int top_logprobs = 0;
};

enum class FinishReason { kStop, kLength, kCancelled, kToolCalls };
std::string_view ToString(FinishReason reason);  // "stop", "length", "cancelled", "tool_calls"

struct GenerateResult {
  // The reply's text; with tools, without the tool-call syntax (the calls are in tool_calls).
  std::string text;
  std::vector<ToolCall> tool_calls;
  std::string reasoning_content;  // thinking split out of the text, for templates that have it
  std::vector<TokenLogprob> logprobs;  // when GenerateRequest::logprobs
  FinishReason finish_reason = FinishReason::kStop;
  std::string stop_sequence;  // the stop string that ended it; "" when the model ended it
  int64_t prompt_tokens = 0;
  // Of prompt_tokens, those whose KV an earlier request had computed (prompt cache, or an
  // upstream's reported cached tokens).
  int64_t cached_tokens = 0;
  int64_t completion_tokens = 0;
  uint64_t generation = 0;  // the alias's engine generation that served it (set by the runtime)
  std::string served_by;    // the alias that answered: the one called or a fallback (runtime)
};

// Receives each piece of text as it is produced (already cleared of stop strings).
// Returns false to cancel the generation.
using TokenCallback = std::function<bool(std::string_view piece)>;
// Receives an asynchronous generation's result, exactly once (errors included).
using GenerateDone = std::function<void(Result<GenerateResult>)>;

class GeneratorModel : public Model {
 public:
  Task task() const override { return Task::kGenerate; }
  // `on_piece` may be empty. A callback returning false or a cancelled context ends the
  // generation with FinishReason::kCancelled and the text produced so far (not an error);
  // an expired deadline is DeadlineExceeded.
  virtual Result<GenerateResult> Generate(const GenerateRequest& request,
                                          const TokenCallback& on_piece,
                                          const CallContext& ctx) = 0;
  // The same generation without a thread waiting for it: returns at once, and `on_piece` and
  // then `done` run later on the engine's thread, so both must be short (format and queue).
  // Models with an engine loop of their own (llama) override it; this default runs Generate on
  // the caller's thread and calls `done` before returning.
  virtual void GenerateAsync(const GenerateRequest& request, TokenCallback on_piece,
                             const CallContext& ctx, GenerateDone done) {
    done(Generate(request, on_piece, ctx));
  }

  // The model's tokenizer and chat template (llama-server's /tokenize, /detokenize and
  // /apply-template). Unimplemented for models without a local tokenizer (remote ones).
  virtual Result<std::vector<int32_t>> Tokenize(std::string_view text, bool add_special) const {
    (void)text, (void)add_special;
    return UnimplementedError("this model has no local tokenizer");
  }
  virtual Result<std::string> Detokenize(const std::vector<int32_t>& tokens) const {
    (void)tokens;
    return UnimplementedError("this model has no local tokenizer");
  }
  // The prompt `request` would be generated from (messages through the chat template, tools
  // included), without generating.
  virtual Result<std::string> RenderPrompt(const GenerateRequest& request) const {
    (void)request;
    return UnimplementedError("this model has no local chat template");
  }
};

}  // namespace modelrt
