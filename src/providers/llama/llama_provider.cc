#include "providers/llama/llama_provider.h"

#include <chrono>
#include <filesystem>

#include "catalog/options_json.h"
#include "core/logging.h"
#include "providers/llama/llama_embedder.h"
#include "providers/llama/llama_generator.h"
#include "providers/llama/llama_reranker.h"

namespace modelrt::llama {

Result<std::shared_ptr<LlamaProvider>> LlamaProvider::Create(const ProviderConfig& config) {
  const std::string where = config.origin.empty() ? "provider '" + config.id + "'" : config.origin;
  if (!config.base_url.empty())
    return InvalidArgumentError(where + ": base_url is not used by the llama provider");
  if (!config.api_key_env.empty())
    return InvalidArgumentError(where + ": api_key_env is not used by the llama provider");
  if (!config.api_key_file.empty())
    return InvalidArgumentError(where + ": api_key_file is not used by the llama provider");
  auto options = ParseLlamaProviderOptions(OptionsJson(config.options));
  if (!options) return options.error().WithPrefix(where);
  return std::shared_ptr<LlamaProvider>(new LlamaProvider(config.id, *options));
}

Status LlamaProvider::Validate(const ModelSpec& spec) const {
  if (spec.model.empty())
    return InvalidArgumentError("model: a GGUF file path is required by the llama provider");
  switch (spec.task) {
    case Task::kEmbed:
    case Task::kRerank:
    case Task::kGenerate: break;
    default: return InvalidArgumentError("task: not supported by the llama provider");
  }
  return ParseLlamaModelOptions(spec, options_).status();
}

LoadEstimate LlamaProvider::Estimate(const ModelSpec& spec) const {
  LoadEstimate estimate;
  std::error_code ec;
  const auto size = std::filesystem::file_size(spec.model, ec);
  estimate.memory_bytes = ec ? 0 : static_cast<int64_t>(size);
  // The provider's gpu_layers count as well as the model's (ParseLlamaModelOptions merges them).
  auto options = ParseLlamaModelOptions(spec, options_);
  if (options && options->gpu_layers > 0) estimate.device = "gpu";
  return estimate;
}

Status LlamaProvider::Warmup() {
  EnsureLlamaBackend();
  return OkStatus();
}

Result<std::shared_ptr<Model>> LlamaProvider::Load(const ModelSpec& spec, const CallContext& ctx) {
  MODELRT_RETURN_IF_ERROR(Validate(spec));
  MODELRT_ASSIGN_OR_RETURN(LlamaModelOptions options, ParseLlamaModelOptions(spec, options_));
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  EnsureLlamaBackend();
  const auto start = std::chrono::steady_clock::now();
  Result<std::shared_ptr<Model>> model = UnimplementedError("task");
  switch (spec.task) {
    case Task::kEmbed: {
      auto m = CreateLlamaEmbedder(spec, options, ctx);
      model = m ? Result<std::shared_ptr<Model>>(std::shared_ptr<Model>(*m)) : m.error();
      break;
    }
    case Task::kRerank: {
      auto m = CreateLlamaReranker(spec, options, ctx);
      model = m ? Result<std::shared_ptr<Model>>(std::shared_ptr<Model>(*m)) : m.error();
      break;
    }
    case Task::kGenerate: {
      auto m = CreateLlamaGenerator(spec, options, ctx);
      model = m ? Result<std::shared_ptr<Model>>(std::shared_ptr<Model>(*m)) : m.error();
      break;
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start).count();
  if (model) {
    Log("llama")->info("{}: loaded {} as {} in {} ms ({})", spec.alias, spec.model,
                       ToString(spec.task), ms, (*model)->Info().description);
  } else {
    Log("llama")->warn("{}: loading {} failed after {} ms: {}", spec.alias, spec.model, ms,
                       model.error().ToString());
  }
  return model;
}

}  // namespace modelrt::llama
