// Options of the `onnx` provider (ProviderConfig.options) and of its models (ModelSpec.options).
//
//   providers: [{id: onnx, type: onnx, options: {threads: 4}}]
//   models:
//     - {alias: embed, task: embed, provider: onnx, model: /models/bge-small-en-v1.5,
//        options: {pooling: cls, max_length: 512}}
//
// Thread-safety: plain values.
#pragma once

#include <string>

#include "core/json.h"
#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt::onnx {

struct OnnxProviderOptions {
  int threads = 0;  // intra-op threads of each model; 0 = the machine's cores
};
Result<OnnxProviderOptions> ParseOnnxProviderOptions(const Json& options);

struct OnnxModelOptions {
  // tokenizer.json, when `model` is an .onnx file (a directory has its own); "" = none.
  std::string tokenizer;
  int max_length = 0;         // tokens per sequence; 0 = the model's own (capped at 8192)
  int parallel = 32;          // sequences per ONNX Runtime Run, at most
  int batch_tokens = 16384;   // padded tokens per Run, at most (a longer input runs alone)
  int threads = 0;            // intra-op threads; 0 = the provider's
  std::string optimization = "all";  // graph optimisation: disable | basic | extended | all
  bool memory_arena = true;   // ONNX Runtime's CPU memory arena
  // embed: "" = sentence-transformers' 1_Pooling/config.json, else mean | cls | last. Unused
  // when the graph has a pooled `sentence_embedding` output.
  std::string pooling;
  bool normalize = true;      // embed: L2-normalize by default
  bool sigmoid = false;       // rerank: scores through a sigmoid (raw logits by default)
  bool truncate = false;      // over-long input: cut it (true) or InvalidArgument (false)
  int max_queue = 256;        // queued requests before ResourceExhausted
  int batch_wait_us = 500;    // how long a Run waits to gather more requests
};
Result<OnnxModelOptions> ParseOnnxModelOptions(const ModelSpec& spec,
                                               const OnnxProviderOptions& provider);

}  // namespace modelrt::onnx
