#include "providers/onnx/onnx_provider.h"

#include <chrono>
#include <filesystem>

#include "catalog/options_json.h"
#include "core/logging.h"
#include "providers/onnx/hf_model_files.h"
#include "providers/onnx/onnx_embedder.h"
#include "providers/onnx/onnx_reranker.h"

namespace modelrt::onnx {

Result<std::shared_ptr<OnnxProvider>> OnnxProvider::Create(const ProviderConfig& config) {
  const std::string where = config.origin.empty() ? "provider '" + config.id + "'" : config.origin;
  for (const auto& [field, value] : {std::pair{"base_url", &config.base_url},
                                     std::pair{"api_key_env", &config.api_key_env},
                                     std::pair{"api_key_file", &config.api_key_file}}) {
    if (!value->empty())
      return InvalidArgumentError(where + ": " + field + " is not used by the onnx provider");
  }
  auto options = ParseOnnxProviderOptions(OptionsJson(config.options));
  if (!options) return options.error().WithPrefix(where);
  return std::shared_ptr<OnnxProvider>(new OnnxProvider(config.id, *options));
}

Status OnnxProvider::Validate(const ModelSpec& spec) const {
  if (spec.model.empty())
    return InvalidArgumentError("model: a model directory or .onnx file is required by the onnx "
                                "provider");
  if (spec.task != Task::kEmbed && spec.task != Task::kRerank)
    return InvalidArgumentError("task " + std::string(ToString(spec.task)) +
                                ": not supported by the onnx provider (embed and rerank are)");
  return ParseOnnxModelOptions(spec, options_).status();
}

LoadEstimate OnnxProvider::Estimate(const ModelSpec& spec) const {
  LoadEstimate estimate;
  auto options = ParseOnnxModelOptions(spec, options_);
  auto files = ReadHfModel(spec.model, options ? options->tokenizer : std::string());
  if (!files) return estimate;
  std::error_code ec;
  const auto size = std::filesystem::file_size(files->graph, ec);
  estimate.memory_bytes = ec ? 0 : static_cast<int64_t>(size);
  return estimate;
}

Result<std::shared_ptr<Model>> OnnxProvider::Load(const ModelSpec& spec, const CallContext& ctx) {
  MODELRT_RETURN_IF_ERROR(Validate(spec));
  MODELRT_ASSIGN_OR_RETURN(OnnxModelOptions options, ParseOnnxModelOptions(spec, options_));
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  const auto start = std::chrono::steady_clock::now();
  Result<std::shared_ptr<Model>> model = UnimplementedError("task");
  if (spec.task == Task::kEmbed) {
    auto m = OnnxEmbedder::Create(spec, options, ctx);
    model = m ? Result<std::shared_ptr<Model>>(std::shared_ptr<Model>(*m)) : m.error();
  } else {
    auto m = OnnxReranker::Create(spec, options, ctx);
    model = m ? Result<std::shared_ptr<Model>>(std::shared_ptr<Model>(*m)) : m.error();
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start).count();
  if (model) {
    Log("onnx")->info("{}: loaded {} as {} in {} ms ({})", spec.alias, spec.model,
                      ToString(spec.task), ms, (*model)->Info().description);
  } else {
    Log("onnx")->warn("{}: loading {} failed after {} ms: {}", spec.alias, spec.model, ms,
                      model.error().ToString());
  }
  return model;
}

}  // namespace modelrt::onnx
