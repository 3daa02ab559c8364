// OnnxEncoder: an encoder graph (BERT, XLM-R, MiniLM, ...) in ONNX Runtime behind the same
// dynamic batching as the llama.cpp engine (providers/sequence_batcher.h). Each batch is sorted
// by length and cut into groups whose padding stays small, each group padded into one
// [n, length] Run; the result per sequence is its pooled embedding (cls, mean or last over
// `last_hidden_state` / `token_embeddings`, or the graph's own `sentence_embedding`) or its
// `logits` row (a cross-encoder's scores).
//
//   MODELRT_ASSIGN_OR_RETURN(auto encoder, OnnxEncoder::Create(options));
//   MODELRT_ASSIGN_OR_RETURN(auto outputs, encoder->batcher().Run({{.ids = {101, 7592, 102}}}, ctx));
//
// Inputs are found by name in the graph: input_ids and attention_mask (required),
// token_type_ids and position_ids (filled in when present); int64 or int32. ONNX Runtime types
// stay in the .cc file.
//
// Thread-safety: Run, RunAsync and the accessors from any thread; the session runs on the
// batcher's worker thread alone, with the cores it takes from the CpuBudget for each Run.
#pragma once

#include <memory>
#include <string>

#include "modelrt/status.h"
#include "providers/sequence_batcher.h"

namespace modelrt::onnx {

enum class EncoderHead {
  kEmbedding,  // a pooled vector per sequence
  kScores,     // the `logits` row per sequence
};

struct OnnxEncoderOptions {
  std::string name;   // for logs (the alias)
  std::string graph;  // the .onnx file
  EncoderHead head = EncoderHead::kEmbedding;
  std::string pooling = "mean";  // kEmbedding over token states: cls | mean | last
  int max_length = 512;          // tokens per sequence (checked by the caller)
  int parallel = 32;             // sequences per Run
  int batch_tokens = 16384;      // padded tokens per Run
  int threads = 1;               // intra-op threads (and cores taken per Run)
  std::string optimization = "all";
  bool memory_arena = true;
  int max_queue = 256;
  int batch_wait_us = 500;
  int32_t pad_id = 0;
  int hidden_size = 0;  // config.json's, for the memory estimate; 0 = unknown
};

class OnnxEncoder {
 public:
  // Opens the session and runs a two-token probe through it, so a graph that cannot serve is
  // refused at load. InvalidArgument names what is wrong: no such inputs or outputs (the graph's
  // own are listed), not an ONNX model, a Run that fails.
  static Result<std::unique_ptr<OnnxEncoder>> Create(OnnxEncoderOptions options);
  ~OnnxEncoder();
  OnnxEncoder(const OnnxEncoder&) = delete;
  OnnxEncoder& operator=(const OnnxEncoder&) = delete;

  using Sequence = SequenceBatcher::Sequence;
  using Outputs = SequenceBatcher::Outputs;
  // Where requests go (providers/batched_calls.h runs them).
  SequenceBatcher& batcher() { return *batcher_; }

  bool alive() const { return batcher_->alive(); }
  SequenceBatcher::Stats stats() const { return batcher_->stats(); }
  // ONNX Runtime calls (a batch may take several: one per length group).
  int64_t runs() const;
  // Floats per output: the embedding size, or the number of logits.
  int output_size() const { return output_size_; }
  const OnnxEncoderOptions& options() const { return options_; }
  // What the graph is: "last_hidden_state, cls pooling" or "logits".
  const std::string& output_description() const { return output_description_; }
  // The graph file plus the activations of a full batch, estimated.
  int64_t memory_bytes() const { return memory_bytes_; }

 private:
  struct Session;
  OnnxEncoder(OnnxEncoderOptions options, std::unique_ptr<Session> session);
  // The batcher's engine: the batch in length groups, on the worker thread.
  Result<Outputs> RunBatch(const SequenceBatcher::Batch& batch);
  // One padded Run of `group` (indices into `batch`, shortest first), its outputs into `outputs`.
  Status RunGroup(const SequenceBatcher::Batch& batch, const std::vector<size_t>& group,
                  Outputs* outputs);

  const OnnxEncoderOptions options_;
  std::unique_ptr<Session> session_;
  int output_size_ = 0;
  std::string output_description_;
  int64_t memory_bytes_ = 0;
  // Last: its thread stops before the session goes.
  std::unique_ptr<SequenceBatcher> batcher_;
};

}  // namespace modelrt::onnx
