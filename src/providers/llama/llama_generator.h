// Text generation on llama.cpp: a GeneratorModel that serves many callers at once with
// continuous batching (llama-server's slot model) on one llama_context.
//
//   MODELRT_ASSIGN_OR_RETURN(auto gen, llama::CreateLlamaGenerator(spec, options, ctx));
//   auto result = gen->Generate({.prompt = "Once upon a time", .max_tokens = 32},
//                               [](std::string_view piece) { std::cout << piece; return true; },
//                               CallContext{});
//
// Generate blocks until its generation ends. `on_piece` runs on the thread that called
// Generate (never on the engine's worker), so a slow callback delays only its own delivery;
// the sequence keeps decoding meanwhile and its text waits in a per-request queue.
// Same seed + same request = same text, also while other requests share the batch (on CPU;
// see generation_engine.h). Errors: InvalidArgument (empty or over-long prompt, bad sampling),
// ResourceExhausted (queue full), DeadlineExceeded, Unavailable (generator shutting down).
//
// Thread-safety: the returned model is thread-safe (Generate may be called from many threads).
#pragma once

#include <memory>

#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/status.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

// Loads spec.model and starts the generation engine.
Result<std::shared_ptr<GeneratorModel>> CreateLlamaGenerator(const ModelSpec& spec,
                                                             const LlamaModelOptions& options,
                                                             const CallContext& ctx);

}  // namespace modelrt::llama
