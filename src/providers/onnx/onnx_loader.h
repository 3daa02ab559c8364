// What the onnx embedder and reranker load alike: the model's files (hf_model_files.h), its
// tokenizer and its encoder (onnx_encoder.h), with the input length settled from the options,
// the tokenizer and the model's configs.
//
//   MODELRT_ASSIGN_OR_RETURN(OnnxParts parts, LoadOnnxParts(spec, options, EncoderHead::kScores));
//
// Thread-safety: pure function; the parts it returns are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "modelrt/catalog.h"
#include "providers/onnx/onnx_encoder.h"
#include "providers/onnx/onnx_options.h"
#include "tokenizer/tokenizer.h"

namespace modelrt::onnx {

struct OnnxParts {
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer;
  std::unique_ptr<OnnxEncoder> encoder;
  int max_length = 0;       // tokens per sequence, special tokens included
  std::string description;  // "model.onnx (last_hidden_state, cls pooling), 512 tokens, 384 dims"
};

// Errors name the file: NotFound (model, graph, tokenizer.json), InvalidArgument (an
// unsupported tokenizer component or pooling mode, a graph without the expected inputs or
// outputs), Cancelled / DeadlineExceeded (ctx, between the steps).
Result<OnnxParts> LoadOnnxParts(const ModelSpec& spec, const OnnxModelOptions& options,
                                EncoderHead head, const CallContext& ctx);

}  // namespace modelrt::onnx
