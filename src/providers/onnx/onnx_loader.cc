#include "providers/onnx/onnx_loader.h"

#include <algorithm>
#include <filesystem>

#include "providers/onnx/hf_model_files.h"

namespace modelrt::onnx {
namespace {

constexpr int kDefaultMaxLength = 512;  // BERT's; used when nothing says otherwise
constexpr int kMaxLength = 8192;

int32_t PadId(const tokenizer::Tokenizer& tok) {
  for (const char* name : {"[PAD]", "<pad>", "<|endoftext|>"}) {
    if (auto id = tok.TokenToId(name)) return *id;
  }
  return 0;  // masked out anyway; only `last` pooling could see it, and it reads real tokens
}

}  // namespace

Result<OnnxParts> LoadOnnxParts(const ModelSpec& spec, const OnnxModelOptions& options,
                                EncoderHead head, const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(HfModel files, ReadHfModel(spec.model, options.tokenizer));
  OnnxParts parts;
  MODELRT_ASSIGN_OR_RETURN(parts.tokenizer, tokenizer::Tokenizer::FromFile(files.tokenizer));
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  const int model_max = files.max_length > 0 ? std::min(files.max_length, kMaxLength) : kDefaultMaxLength;
  parts.max_length = options.max_length > 0 ? options.max_length : model_max;
  if (files.max_length > 0 && parts.max_length > files.max_length)
    return InvalidArgumentError("options.max_length: " + std::to_string(parts.max_length) +
                                " is past the model's " + std::to_string(files.max_length) +
                                " positions");

  OnnxEncoderOptions encoder;
  encoder.name = spec.alias;
  encoder.graph = files.graph;
  encoder.head = head;
  encoder.pooling = !options.pooling.empty() ? options.pooling
                    : !files.pooling.empty() ? files.pooling
                                             : "mean";  // sentence-transformers' default
  encoder.max_length = parts.max_length;
  encoder.parallel = options.parallel;
  encoder.batch_tokens = std::max(options.batch_tokens, parts.max_length);
  encoder.threads = options.threads;
  encoder.optimization = options.optimization;
  encoder.memory_arena = options.memory_arena;
  encoder.max_queue = options.max_queue;
  encoder.batch_wait_us = options.batch_wait_us;
  encoder.pad_id = PadId(*parts.tokenizer);
  encoder.hidden_size = files.hidden_size;
  MODELRT_ASSIGN_OR_RETURN(parts.encoder, OnnxEncoder::Create(std::move(encoder)));
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  parts.description = std::filesystem::path(files.graph).filename().string() + " (" +
                      parts.encoder->output_description() + "), " +
                      std::to_string(parts.max_length) + " tokens";
  if (head == EncoderHead::kEmbedding)
    parts.description += ", " + std::to_string(parts.encoder->output_size()) + " dims";
  return parts;
}

}  // namespace modelrt::onnx
