#include "providers/onnx/onnx_encoder.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <numeric>

#include <onnxruntime_cxx_api.h>

#include "core/cpu_budget.h"
#include "core/logging.h"

namespace modelrt::onnx {
namespace {

void ORT_API_CALL LogFromOrt(void*, OrtLoggingLevel severity, const char* category, const char*,
                             const char*, const char* message) {
  static auto log = Log("onnxruntime");
  if (severity >= ORT_LOGGING_LEVEL_ERROR) log->error("{}: {}", category, message);
  else log->debug("{}: {}", category, message);
}

// One ONNX Runtime environment per process, as its documentation asks. Never destroyed: a
// session released during static destruction would otherwise outlive it.
Ort::Env& Environment() {
  static Ort::Env* env = new Ort::Env(ORT_LOGGING_LEVEL_WARNING, "modelrt", LogFromOrt, nullptr);
  return *env;
}

GraphOptimizationLevel OptimizationLevel(const std::string& name) {
  if (name == "disable") return ORT_DISABLE_ALL;
  if (name == "basic") return ORT_ENABLE_BASIC;
  if (name == "extended") return ORT_ENABLE_EXTENDED;
  return ORT_ENABLE_ALL;
}

enum class InputKind { kIds, kMask, kTypes, kPositions };

// One sequence's vector from its `tokens` real rows of `width` floats (padding rows follow).
std::vector<float> Pool(const float* rows, int64_t tokens, int64_t width, const std::string& pooling) {
  if (pooling == "cls") return std::vector<float>(rows, rows + width);
  if (pooling == "last") return std::vector<float>(rows + (tokens - 1) * width, rows + tokens * width);
  // mean over the real tokens, as sentence-transformers does with the mask
  std::vector<double> sum(static_cast<size_t>(width), 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t e = 0; e < width; ++e) sum[static_cast<size_t>(e)] += rows[t * width + e];
  std::vector<float> out(static_cast<size_t>(width));
  for (size_t e = 0; e < out.size(); ++e) out[e] = static_cast<float>(sum[e] / static_cast<double>(tokens));
  return out;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

struct OnnxEncoder::Session {
  struct Input {
    std::string name;
    InputKind kind;
    bool int32 = false;
  };
  Ort::Session session{nullptr};
  std::vector<Input> inputs;
  std::string output;
  bool token_states = false;  // output is [n, length, E] (pooled here), else [n, E]
  Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::shared_ptr<CpuBudget> budget = CpuBudget::Shared();
  CpuShare share;  // this model's core-time (core/cpu_budget.h)
  std::atomic<int64_t> runs{0};
  // Worker thread only: the padded inputs of the group being run, reused between Runs.
  std::vector<int64_t> values64[4];
  std::vector<int32_t> values32[4];
};

Result<std::unique_ptr<OnnxEncoder>> OnnxEncoder::Create(OnnxEncoderOptions options) {
  options.max_length = std::max(options.max_length, 1);
  options.threads = std::clamp(options.threads, 1, CpuBudget::MachineCores());
  auto session = std::make_unique<Session>();
  const std::string& path = options.graph;
  try {
    Ort::SessionOptions so;
    so.SetIntraOpNumThreads(options.threads);
    so.SetInterOpNumThreads(1);
    so.SetGraphOptimizationLevel(OptimizationLevel(options.optimization));
    if (!options.memory_arena) so.DisableCpuMemArena();
    // Its pool threads must not spin between Runs: the cores are shared with every other local
    // engine through the CpuBudget, and a spinning pool would take them while idle.
    so.AddConfigEntry("session.intra_op.allow_spinning", "0");
    session->session = Ort::Session(Environment(), path.c_str(), so);
  } catch (const Ort::Exception& e) {
    return InvalidArgumentError(path + ": ONNX Runtime cannot load it: " + e.what());
  }

  Ort::AllocatorWithDefaultOptions allocator;
  std::vector<std::string> input_names, output_names;
  for (size_t i = 0; i < session->session.GetInputCount(); ++i) {
    std::string name = session->session.GetInputNameAllocated(i, allocator).get();
    input_names.push_back(name);
    const auto type = session->session.GetInputTypeInfo(i).GetTensorTypeAndShapeInfo().GetElementType();
    const bool int32 = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    if (!int32 && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64)
      return InvalidArgumentError(path + ": input '" + name + "' is not int64 or int32");
    InputKind kind;
    if (name == "input_ids") kind = InputKind::kIds;
    else if (name == "attention_mask") kind = InputKind::kMask;
    else if (name == "token_type_ids") kind = InputKind::kTypes;
    else if (name == "position_ids") kind = InputKind::kPositions;
    else return InvalidArgumentError(path + ": the graph has an input '" + name +
                                     "' this engine cannot fill (it fills input_ids, "
                                     "attention_mask, token_type_ids, position_ids)");
    session->inputs.push_back({name, kind, int32});
  }
  for (InputKind required : {InputKind::kIds, InputKind::kMask}) {
    if (std::none_of(session->inputs.begin(), session->inputs.end(),
                     [&](const Session::Input& in) { return in.kind == required; }))
      return InvalidArgumentError(path + ": the graph has no '" +
                                  (required == InputKind::kIds ? "input_ids" : "attention_mask") +
                                  "' input (its inputs: " + Join(input_names) + ")");
  }
  for (size_t i = 0; i < session->session.GetOutputCount(); ++i)
    output_names.push_back(session->session.GetOutputNameAllocated(i, allocator).get());
  auto has = [&](const char* name) {
    return std::find(output_names.begin(), output_names.end(), name) != output_names.end();
  };
  std::string description;
  if (options.head == EncoderHead::kScores) {
    if (!has("logits"))
      return InvalidArgumentError(path + ": a cross-encoder needs a 'logits' output (the graph's "
                                  "outputs: " + Join(output_names) + ")");
    session->output = "logits";
    description = "logits";
  } else if (has("sentence_embedding")) {
    session->output = "sentence_embedding";
    description = "sentence_embedding";
  } else {
    for (const char* name : {"last_hidden_state", "token_embeddings"}) {
      if (has(name)) {
        session->output = name;
        break;
      }
    }
    if (session->output.empty())
      return InvalidArgumentError(path + ": an embedding model needs a 'sentence_embedding', "
                                  "'last_hidden_state' or 'token_embeddings' output (the graph's "
                                  "outputs: " + Join(output_names) + ")");
    session->token_states = true;
    description = session->output + ", " + options.pooling + " pooling";
  }

  auto encoder = std::unique_ptr<OnnxEncoder>(new OnnxEncoder(std::move(options), std::move(session)));
  encoder->output_description_ = std::move(description);
  // The probe: learns the output size and proves the graph runs before any request depends on it.
  const Sequence probe{.ids = {encoder->options_.pad_id, encoder->options_.pad_id}};
  Result<Outputs> out = encoder->RunBatch({&probe});
  if (!out) return InvalidArgumentError(path + ": a test run failed: " + out.error().message());
  encoder->output_size_ = static_cast<int>((*out)[0].size());
  if (encoder->output_size_ == 0) return InvalidArgumentError(path + ": the output is empty");
  encoder->session_->runs = 0;
  std::error_code ec;
  const auto file = std::filesystem::file_size(encoder->options_.graph, ec);
  // The arena grows to the largest Run: about a dozen [tokens, E] float buffers (Q, K, V, the
  // feed-forward's 4E). E is config.json's hidden size; without one, the output's width (a
  // cross-encoder's is its logits, so at least 384, the narrowest common encoder).
  const int64_t width = encoder->options_.hidden_size > 0
                            ? encoder->options_.hidden_size
                            : std::max<int64_t>(encoder->output_size_, 384);
  encoder->memory_bytes_ = (ec ? 0 : static_cast<int64_t>(file)) +
                           int64_t{encoder->options_.batch_tokens} * width * 4 * 12;
  encoder->batcher_ = std::make_unique<SequenceBatcher>(
      SequenceBatcherOptions{.name = encoder->options_.name,
                             .max_sequences = encoder->options_.parallel,
                             .max_tokens = encoder->options_.batch_tokens,
                             .max_queue = encoder->options_.max_queue,
                             .batch_wait_us = encoder->options_.batch_wait_us},
      [raw = encoder.get()](const SequenceBatcher::Batch& batch) { return raw->RunBatch(batch); });
  return encoder;
}

OnnxEncoder::OnnxEncoder(OnnxEncoderOptions options, std::unique_ptr<Session> session)
    : options_(std::move(options)), session_(std::move(session)) {}

OnnxEncoder::~OnnxEncoder() { batcher_.reset(); }  // the worker stops before the session goes

int64_t OnnxEncoder::runs() const { return session_->runs.load(); }

Result<OnnxEncoder::Outputs> OnnxEncoder::RunBatch(const SequenceBatcher::Batch& batch) {
  // Shortest first, then cut where padding would waste more than a quarter of a group's work:
  // a 500-token text does not make thirty 10-token texts run at 500.
  std::vector<size_t> order(batch.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return batch[a]->ids.size() < batch[b]->ids.size();
  });
  Outputs outputs(batch.size());
  size_t start = 0;
  while (start < order.size()) {
    size_t end = start + 1;
    int64_t real = static_cast<int64_t>(batch[order[start]]->ids.size());
    while (end < order.size()) {
      const auto length = static_cast<int64_t>(batch[order[end]]->ids.size());
      const int64_t n = static_cast<int64_t>(end - start + 1);
      const int64_t padded = n * length;
      if (padded > options_.batch_tokens || (padded * 4 > (real + length) * 5 && padded > real + length + 32))
        break;
      real += length;
      ++end;
    }
    MODELRT_RETURN_IF_ERROR(RunGroup(batch, std::vector<size_t>(order.begin() + static_cast<std::ptrdiff_t>(start),
                                                               order.begin() + static_cast<std::ptrdiff_t>(end)),
                                     &outputs));
    start = end;
  }
  return outputs;
}

Status OnnxEncoder::RunGroup(const SequenceBatcher::Batch& batch, const std::vector<size_t>& group,
                             Outputs* outputs_ptr) {
  Session& s = *session_;
  Outputs& outputs = *outputs_ptr;
  const auto n = static_cast<int64_t>(group.size());
  const auto length = static_cast<int64_t>(batch[group.back()]->ids.size());  // the longest
  const size_t count = static_cast<size_t>(n * length);
  // The padded inputs, each in the type the graph takes.
  std::vector<Ort::Value> values;
  std::vector<const char*> names;
  for (size_t k = 0; k < s.inputs.size(); ++k) {
    const Session::Input& input = s.inputs[k];
    auto fill = [&](auto& v) {
      v.assign(count, 0);
      for (int64_t r = 0; r < n; ++r) {
        const Sequence& seq = *batch[group[static_cast<size_t>(r)]];
        for (size_t j = 0; j < seq.ids.size(); ++j) {
          auto& slot = v[static_cast<size_t>(r * length) + j];
          switch (input.kind) {
            case InputKind::kIds: slot = seq.ids[j]; break;
            case InputKind::kMask: slot = 1; break;
            case InputKind::kTypes: slot = seq.type_ids.empty() ? 0 : seq.type_ids[j]; break;
            case InputKind::kPositions: slot = static_cast<int32_t>(j); break;
          }
        }
        if (input.kind == InputKind::kIds) {
          for (auto j = static_cast<int64_t>(seq.ids.size()); j < length; ++j)
            v[static_cast<size_t>(r * length + j)] = options_.pad_id;
        }
      }
    };
    const int64_t shape[2] = {n, length};
    const auto slot = static_cast<size_t>(input.kind);
    if (input.int32) {
      fill(s.values32[slot]);
      values.push_back(Ort::Value::CreateTensor<int32_t>(s.memory, s.values32[slot].data(), count, shape, 2));
    } else {
      fill(s.values64[slot]);
      values.push_back(Ort::Value::CreateTensor<int64_t>(s.memory, s.values64[slot].data(), count, shape, 2));
    }
    names.push_back(input.name.c_str());
  }
  const char* output_name = s.output.c_str();
  std::vector<Ort::Value> result;
  try {
    CpuLease lease = s.budget->Acquire(options_.threads, &s.share);
    result = s.session.Run(Ort::RunOptions{nullptr}, names.data(), values.data(), values.size(),
                           &output_name, 1);
  } catch (const Ort::Exception& e) {
    return InternalError(std::string("ONNX Runtime Run failed: ") + e.what());
  }
  s.runs.fetch_add(1);
  const auto info = result[0].GetTensorTypeAndShapeInfo();
  const std::vector<int64_t> shape = info.GetShape();
  if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
    return InternalError("output '" + s.output + "' is not float32");
  const size_t rank_wanted = s.token_states ? 3 : 2;
  if (shape.size() != rank_wanted || shape[0] != n || (s.token_states && shape[1] != length))
    return InternalError("output '" + s.output + "' has an unexpected shape");
  const float* data = result[0].GetTensorData<float>();
  const int64_t width = shape.back();
  for (int64_t r = 0; r < n; ++r) {
    const size_t index = group[static_cast<size_t>(r)];
    std::vector<float>& out = outputs[index];
    if (!s.token_states) {
      out.assign(data + r * width, data + (r + 1) * width);
      continue;
    }
    out = Pool(data + r * length * width, static_cast<int64_t>(batch[index]->ids.size()), width,
               options_.pooling);
  }
  return OkStatus();
}

}  // namespace modelrt::onnx
