#include "providers/onnx/hf_model_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json.h"

namespace modelrt::onnx {
namespace {

namespace fs = std::filesystem;

bool IsFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// The parsed file, null when it does not exist.
Result<Json> ReadJsonFile(const fs::path& path) {
  if (!IsFile(path)) return Json();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  Json json = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    return InvalidArgumentError(path.string() + ": not a JSON object");
  return json;
}

int PositiveInt(const Json& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end() || !it->is_number()) return 0;
  const double v = it->get<double>();
  return v >= 1 && v < 1e9 ? static_cast<int>(v) : 0;  // model_max_length is 1e30 when unset
}

Result<std::string> ReadPooling(const fs::path& path) {
  MODELRT_ASSIGN_OR_RETURN(Json config, ReadJsonFile(path));
  if (config.is_null()) return std::string();
  auto on = [&](const char* key) { return config.value(key, false); };
  if (on("pooling_mode_cls_token")) return std::string("cls");
  if (on("pooling_mode_mean_tokens")) return std::string("mean");
  if (on("pooling_mode_lasttoken")) return std::string("last");
  for (const char* key : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                          "pooling_mode_weightedmean_tokens"}) {
    if (on(key))
      return InvalidArgumentError(path.string() + ": " + key +
                                  " is not supported (cls, mean and lasttoken are)");
  }
  return std::string();
}

}  // namespace

Result<HfModel> ReadHfModel(const std::string& model, const std::string& tokenizer_option) {
  HfModel out;
  std::error_code ec;
  const fs::path path(model);
  fs::path dir;
  if (fs::is_directory(path, ec)) {
    dir = path;
    for (const char* name : {"model.onnx", "onnx/model.onnx"}) {
      if (IsFile(dir / name)) {
        out.graph = (dir / name).string();
        break;
      }
    }
    if (out.graph.empty())
      return NotFoundError(model + ": no model.onnx or onnx/model.onnx in the directory");
  } else if (IsFile(path)) {
    out.graph = path.string();
    dir = path.parent_path();
  } else {
    return NotFoundError("model not found: " + model);
  }
  if (!tokenizer_option.empty()) {
    out.tokenizer = tokenizer_option;
  } else if (fs::is_directory(path, ec)) {
    out.tokenizer = (dir / "tokenizer.json").string();
  } else {
    return InvalidArgumentError(model + ": an .onnx file needs options.tokenizer (the path of its "
                                "tokenizer.json)");
  }
  if (!IsFile(out.tokenizer)) return NotFoundError("tokenizer.json not found: " + out.tokenizer);

  if (!fs::is_directory(path, ec)) return out;  // a lone file: the options say the rest
  MODELRT_ASSIGN_OR_RETURN(Json config, ReadJsonFile(dir / "config.json"));
  MODELRT_ASSIGN_OR_RETURN(Json tokenizer_config, ReadJsonFile(dir / "tokenizer_config.json"));
  int positions = config.is_null() ? 0 : PositiveInt(config, "max_position_embeddings");
  // RoBERTa/XLM-R number positions from padding_idx + 1: two rows of the table are never used.
  if (positions > 0 && !config.is_null() && config.value("model_type", "") != "bert" &&
      config.contains("pad_token_id") && config["pad_token_id"].is_number_integer()) {
    const int pad = config["pad_token_id"].get<int>();
    if (pad >= 0 && pad + 1 < positions) positions -= pad + 1;
  }
  const int declared = tokenizer_config.is_null() ? 0 : PositiveInt(tokenizer_config, "model_max_length");
  if (positions > 0 && declared > 0) out.max_length = std::min(positions, declared);
  else out.max_length = std::max(positions, declared);
  if (!config.is_null()) out.hidden_size = PositiveInt(config, "hidden_size");
  MODELRT_ASSIGN_OR_RETURN(out.pooling, ReadPooling(dir / "1_Pooling" / "config.json"));
  return out;
}

}  // namespace modelrt::onnx
