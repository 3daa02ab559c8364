// The files of a model in the Hugging Face layout, as sentence-transformers, BGE, E5, GTE and
// the ms-marco cross-encoders publish them:
//
//   <dir>/model.onnx or <dir>/onnx/model.onnx   the graph
//   <dir>/tokenizer.json                          the tokenizer (tokenizer/tokenizer.h)
//   <dir>/config.json                             max_position_embeddings, hidden_size
//   <dir>/tokenizer_config.json                   model_max_length
//   <dir>/1_Pooling/config.json                   sentence-transformers' pooling mode
//
// or a single .onnx file with the tokenizer named by an option.
//
//   MODELRT_ASSIGN_OR_RETURN(HfModel model, ReadHfModel(spec.model, options.tokenizer));
//
// Thread-safety: pure functions over the file system.
#pragma once

#include <string>

#include "modelrt/status.h"

namespace modelrt::onnx {

struct HfModel {
  std::string graph;      // the .onnx file
  std::string tokenizer;  // tokenizer.json
  // The longest input the model takes: the smaller of tokenizer_config's model_max_length and
  // config's max_position_embeddings (minus the offset of RoBERTa-style position ids); 0 when
  // neither says.
  int max_length = 0;
  int hidden_size = 0;  // config.json's, 0 when not given (memory estimates only)
  // sentence-transformers' pooling (1_Pooling/config.json): "cls", "mean", "last" or "" (none).
  std::string pooling;
};

// NotFound when the path, the graph or tokenizer.json is missing (each named); InvalidArgument
// when a config file is not valid JSON or names an unsupported pooling mode.
Result<HfModel> ReadHfModel(const std::string& model, const std::string& tokenizer_option);

}  // namespace modelrt::onnx
