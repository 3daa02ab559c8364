#include "providers/llama/llama_generator.h"

namespace modelrt::llama {

Result<std::shared_ptr<GeneratorModel>> CreateLlamaGenerator(const ModelSpec& spec,
                                                             const LlamaModelOptions& options,
                                                             const CallContext& ctx) {
  return UnimplementedError("llama generator: engine not written yet");
}

}  // namespace modelrt::llama
