// Shared pieces of the llama.cpp provider: parsed options, backend init, RAII model/context
// pointers and a model loader that honors a deadline. Nothing outside src/providers/llama
// includes this file (it pulls in llama.h).
//
//   MODELRT_ASSIGN_OR_RETURN(LlamaModelOptions opts, ParseLlamaModelOptions(spec, provider_opts));
//   MODELRT_ASSIGN_OR_RETURN(LlamaModelPtr model, LoadLlamaModel(spec.model, opts, ctx));
//
// Thread-safety: free functions are thread-safe; llama_context objects are not (one thread each).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <llama.h>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::llama {

// Provider-level options (ProviderConfig.options of a `type: llama` provider).
struct LlamaProviderOptions {
  int threads = 0;     // decode threads; 0 = hardware concurrency
  int gpu_layers = 0;  // layers offloaded to a GPU backend, when one is built in
};
Result<LlamaProviderOptions> ParseLlamaProviderOptions(const Json& options);

// Per-model options (ModelSpec.options). Unknown keys are InvalidArgument.
struct LlamaModelOptions {
  int ctx = 0;          // context tokens per sequence; 0 = the model's own (capped at 4096)
  int batch = 0;        // max tokens per decode (n_batch); 0 = ctx * parallel, capped at 8192
  int parallel = 4;     // sequences decoded together: generation slots / embedding inputs
  int threads = 0;      // overrides the provider's threads; 0 = provider's
  int gpu_layers = -1;  // -1 = provider's
  std::string pooling;  // embed: "" (model's own) | mean | cls | last; rerank always rank
  bool normalize = true;   // embed: L2-normalize by default
  bool truncate = false;   // over-long input: cut it (true) or InvalidArgument (false)
  int max_queue = 256;     // queued requests before ResourceExhausted
  int batch_wait_us = 500; // embed/rerank: how long a decode waits to gather more requests
  std::string chat_template;  // generate: override the model's template ("" = model's)
  // generate: MiB of host memory for the KV of ended requests, reused by later prompts that start
  // the same way (GenerationEngine's "Prompt cache"); -1 = as large as the KV cache, 0 = off.
  int prompt_cache_mb = -1;
};
Result<LlamaModelOptions> ParseLlamaModelOptions(const ModelSpec& spec,
                                                 const LlamaProviderOptions& provider);

// llama_backend_init once per process; safe from any thread.
void EnsureLlamaBackend();

struct LlamaModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct LlamaContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
struct LlamaSamplerDeleter {
  void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};
using LlamaModelPtr = std::unique_ptr<llama_model, LlamaModelDeleter>;
using LlamaContextPtr = std::unique_ptr<llama_context, LlamaContextDeleter>;
using LlamaSamplerPtr = std::unique_ptr<llama_sampler, LlamaSamplerDeleter>;

// Loads a GGUF file. NotFound when the file is missing, InvalidArgument when llama.cpp rejects
// it, DeadlineExceeded / Cancelled through the progress callback when ctx says so.
Result<LlamaModelPtr> LoadLlamaModel(const std::string& path, const LlamaModelOptions& options,
                                     const CallContext& ctx);

// Tokenizes text (adding BOS/EOS/CLS/SEP as the model's vocab wants when add_special).
std::vector<llama_token> Tokenize(const llama_vocab* vocab, std::string_view text,
                                  bool add_special, bool parse_special);

// The text of one token (with special tokens rendered as text only when `special`).
std::string TokenToPiece(const llama_vocab* vocab, llama_token token, bool special = false);

}  // namespace modelrt::llama
