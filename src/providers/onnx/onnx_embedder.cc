#include "providers/onnx/onnx_embedder.h"


namespace modelrt::onnx {

Result<std::shared_ptr<OnnxEmbedder>> OnnxEmbedder::Create(const ModelSpec& spec,
                                                           const OnnxModelOptions& options,
                                                           const CallContext& ctx) {
  MODELRT_ASSIGN_OR_RETURN(OnnxParts parts,
                           LoadOnnxParts(spec, options, EncoderHead::kEmbedding, ctx));
  return std::shared_ptr<OnnxEmbedder>(new OnnxEmbedder(std::move(parts), options));
}

Result<EmbedSequences> OnnxEmbedder::ToSequences(const EmbedRequest& request) const {
  if (request.inputs.empty()) return InvalidArgumentError("no inputs to embed");
  const bool truncate = request.truncate.value_or(options_.truncate);
  const auto limit = static_cast<size_t>(parts_.max_length);
  EmbedSequences out;
  out.normalize = request.normalize.value_or(options_.normalize);
  out.sequences.reserve(request.inputs.size());
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const EmbedInput& input = request.inputs[i];
    const std::string name = "input " + std::to_string(i);
    OnnxEncoder::Sequence sequence;
    if (!input.tokens.empty()) {
      const auto vocab = static_cast<int64_t>(parts_.tokenizer->VocabSize());
      for (int32_t id : input.tokens) {
        if (id < 0 || id >= vocab)
          return InvalidArgumentError(name + ": token id " + std::to_string(id) +
                                      " is out of range [0, " + std::to_string(vocab) + ")");
      }
      sequence.ids = input.tokens;
      if (sequence.ids.size() > limit) {
        if (!truncate)
          return InvalidArgumentError(name + " has " + std::to_string(sequence.ids.size()) +
                                      " tokens, more than the model's " + std::to_string(limit));
        sequence.ids.resize(limit);
      }
    } else {
      if (input.text.empty()) return InvalidArgumentError(name + " is empty");
      auto encoded = parts_.tokenizer->Encode(input.text, {.max_length = limit, .truncate = truncate});
      if (!encoded) return encoded.error().WithPrefix(name);
      if (encoded->ids.empty()) return InvalidArgumentError(name + " has no tokens");
      sequence.ids = std::move(encoded->ids);
      sequence.type_ids = std::move(encoded->type_ids);
    }
    out.prompt_tokens += static_cast<int64_t>(sequence.ids.size());
    out.sequences.push_back(std::move(sequence));
  }
  return out;
}

Result<EmbedResult> OnnxEmbedder::Embed(const EmbedRequest& request, const CallContext& ctx) {
  return RunEmbed(parts_.encoder->batcher(), ToSequences(request), ctx);
}

void OnnxEmbedder::EmbedAsync(const EmbedRequest& request, const CallContext& ctx, EmbedDone done) {
  RunEmbedAsync(parts_.encoder->batcher(), ToSequences(request), ctx, std::move(done));
}

ModelInfo OnnxEmbedder::Info() const {
  ModelInfo info;
  info.description = parts_.description;
  info.memory_bytes = parts_.encoder->memory_bytes();
  info.context_length = parts_.max_length;
  info.dimensions = parts_.encoder->output_size();
  info.parallel = parts_.encoder->options().parallel;
  return info;
}

Status OnnxEmbedder::Warmup() {
  EmbedRequest request;
  request.inputs.push_back({.text = "warmup"});
  return Embed(request, CallContext{}).status();
}

Status OnnxEmbedder::Health() const {
  return parts_.encoder->alive() ? OkStatus() : UnavailableError("onnx worker stopped");
}

}  // namespace modelrt::onnx
