// Text generation on llama.cpp: a GeneratorModel that serves many callers at once with
// continuous batching (llama-server's slot model) on one llama_context.
//
//   MODELRT_ASSIGN_OR_RETURN(auto gen, llama::CreateLlamaGenerator(spec, options, ctx));
//   auto result = gen->Generate({.prompt = "Once upon a time", .max_tokens = 32},
//                               [](std::string_view piece) { std::cout << piece; return true; },
//                               CallContext{});
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
