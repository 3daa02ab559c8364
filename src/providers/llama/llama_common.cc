#include "providers/llama/llama_common.h"

#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "catalog/options_json.h"
#include "core/json.h"
#include "core/logging.h"
#include "providers/option_readers.h"
#include "providers/llama/llama_log_filter.h"

namespace modelrt::llama {
namespace {

// Routes llama.cpp's own logging into ours at debug level (it is chatty at load time).
void LogCallback(ggml_log_level level, const char* text, void*) {
  static auto log = Log("llama.cpp");
  std::string_view line(text);
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (line.empty()) return;
  // What the GGUF reader quotes from a bad file stays out of our log (llama_log_filter.h).
  const std::string shown = RedactLlamaLogLine(line);
  if (level == GGML_LOG_LEVEL_ERROR) log->error("{}", shown);
  else if (level == GGML_LOG_LEVEL_WARN) log->debug("{}", shown);
  else log->trace("{}", shown);
}

struct ProgressState {
  const CallContext* ctx;
};

bool ProgressCallback(float, void* user_data) {
  auto* state = static_cast<ProgressState*>(user_data);
  return state->ctx->Check().ok();
}

}  // namespace

Result<LlamaProviderOptions> ParseLlamaProviderOptions(const Json& options) {
  LlamaProviderOptions out;
  MODELRT_RETURN_IF_ERROR(CheckKnownKeys(options, {"threads", "gpu_layers"}, "llama"));
  MODELRT_RETURN_IF_ERROR(ReadInt(options, "threads", 0, 1024, &out.threads));
  MODELRT_RETURN_IF_ERROR(ReadInt(options, "gpu_layers", -1, 100000, &out.gpu_layers));
  return out;
}

Result<LlamaModelOptions> ParseLlamaModelOptions(const ModelSpec& spec,
                                                 const LlamaProviderOptions& provider) {
  LlamaModelOptions out;
  const Json& o = OptionsJson(spec.options);
  std::set<std::string> known = {"ctx", "batch", "parallel", "threads", "gpu_layers", "max_queue", "truncate"};
  if (spec.task == Task::kEmbed) known.insert({"pooling", "normalize", "batch_wait_us"});
  if (spec.task == Task::kRerank) known.insert("batch_wait_us");
  if (spec.task == Task::kGenerate) known.insert({"chat_template", "prompt_cache_mb"});
  MODELRT_RETURN_IF_ERROR(CheckKnownKeys(o, known, "llama"));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "ctx", 0, 1 << 20, &out.ctx));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "batch", 0, 1 << 20, &out.batch));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "parallel", 1, 256, &out.parallel));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "threads", 0, 1024, &out.threads));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "gpu_layers", -1, 100000, &out.gpu_layers));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "max_queue", 1, 1 << 20, &out.max_queue));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "batch_wait_us", 0, 1000000, &out.batch_wait_us));
  MODELRT_RETURN_IF_ERROR(ReadBool(o, "normalize", &out.normalize));
  MODELRT_RETURN_IF_ERROR(ReadBool(o, "truncate", &out.truncate));
  MODELRT_RETURN_IF_ERROR(ReadChoice(o, "pooling", {"mean", "cls", "last"}, &out.pooling));
  MODELRT_RETURN_IF_ERROR(ReadString(o, "chat_template", &out.chat_template));
  MODELRT_RETURN_IF_ERROR(ReadInt(o, "prompt_cache_mb", -1, 1 << 20, &out.prompt_cache_mb));
  if (out.threads == 0) out.threads = provider.threads;
  if (out.threads == 0) out.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (out.gpu_layers < 0) out.gpu_layers = provider.gpu_layers;
  return out;
}

void EnsureLlamaBackend() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(LogCallback, nullptr);
    llama_backend_init();
  });
}

Result<LlamaModelPtr> LoadLlamaModel(const std::string& path, const LlamaModelOptions& options,
                                     const CallContext& ctx) {
  EnsureLlamaBackend();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return NotFoundError("model file not found: " + path);
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = options.gpu_layers;
  ProgressState state{&ctx};
  params.progress_callback = ProgressCallback;
  params.progress_callback_user_data = &state;
  llama_model* model = llama_model_load_from_file(path.c_str(), params);
  if (!model) {
    MODELRT_RETURN_IF_ERROR(ctx.Check());  // aborted through the progress callback
    return InvalidArgumentError("llama.cpp could not load " + path + " (not a valid GGUF model?)");
  }
  return LlamaModelPtr(model);
}

std::vector<llama_token> Tokenize(const llama_vocab* vocab, std::string_view text,
                                  bool add_special, bool parse_special) {
  std::vector<llama_token> tokens(text.size() + 8);
  int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                             static_cast<int32_t>(tokens.size()), add_special, parse_special);
  if (n < 0) {
    if (n == INT32_MIN) return {};
    tokens.resize(-n);
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                       static_cast<int32_t>(tokens.size()), add_special, parse_special);
  }
  tokens.resize(std::max(n, 0));
  return tokens;
}

std::string TokenToPiece(const llama_vocab* vocab, llama_token token, bool special) {
  char buf[128];
  int32_t n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, special);
  if (n >= 0) return std::string(buf, n);
  std::string out(-n, '\0');
  n = llama_token_to_piece(vocab, token, out.data(), static_cast<int32_t>(out.size()), 0, special);
  out.resize(std::max(n, 0));
  return out;
}

}  // namespace modelrt::llama
