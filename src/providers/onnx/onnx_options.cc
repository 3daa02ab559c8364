#include "providers/onnx/onnx_options.h"

#include "catalog/options_json.h"
#include "core/cpu_budget.h"
#include "providers/option_readers.h"

namespace modelrt::onnx {

Result<OnnxProviderOptions> ParseOnnxProviderOptions(const Json& options) {
  OnnxProviderOptions out;
  MODELRT_RETURN_IF_ERROR(CheckKnownKeys(options, {"threads"}, "onnx"));
  MODELRT_RETURN_IF_ERROR(ReadInt(options, "threads", 0, 1024, &out.threads));
  return out;
}

Result<OnnxModelOptions> ParseOnnxModelOptions(const ModelSpec& spec,
                                               const OnnxProviderOptions& provider) {
  OnnxModelOptions out;
  const Json& o = OptionsJson(spec.options);
  std::set<std::string> known = {"tokenizer", "max_length", "parallel",  "batch_tokens",
                                 "threads",   "optimization", "memory_arena", "truncate",
                                 "max_queue", "batch_wait_us"};
  if (spec.task == Task::kEmbed) known.insert({"pooling", "normalize"});
  if (spec.task == Task::kRerank) known.insert("sigmoid");
  MODELRT_RETURN_IF_ERROR(CheckKnownKeys(o, known, "onnx"));
  MODELRT_RETURN_IF_ERROR(ReadString(o, "tokenizer", &out.tokenizer));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "max_length", 0, 1 << 16, &out.max_length));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "parallel", 1, 1024, &out.parallel));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "batch_tokens", 1, 1 << 22, &out.batch_tokens));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "threads", 0, 1024, &out.threads));
  MODELRT_RETURN_IF_ERROR(
      ReadChoice(o, "optimization", {"disable", "basic", "extended", "all"}, &out.optimization));
  MODELRT_RETURN_IF_ERROR(ReadBool(o, "memory_arena", &out.memory_arena));
  MODELRT_RETURN_IF_ERROR(ReadChoice(o, "pooling", {"mean", "cls", "last"}, &out.pooling));
  MODELRT_RETURN_IF_ERROR(ReadBool(o, "normalize", &out.normalize));
  MODELRT_RETURN_IF_ERROR(ReadBool(o, "sigmoid", &out.sigmoid));
  MODELRT_RETURN_IF_ERROR(ReadBool(o, "truncate", &out.truncate));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "max_queue", 1, 1 << 20, &out.max_queue));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "batch_wait_us", 0, 1000000, &out.batch_wait_us));
  if (out.threads == 0) out.threads = provider.threads;
  if (out.threads == 0) out.threads = CpuBudget::MachineCores();
  return out;
}

}  // namespace modelrt::onnx
