#include "providers/llama/test_model_writer.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <unistd.h>

#include <ggml.h>
#include <gguf.h>

#include "core/embedded_assets.h"

namespace modelrt::llama {
namespace {

constexpr float kStddev = 0.02f;

// splitmix64: tiny, fast and defined bit for bit, so the weights do not depend on the standard
// library's distributions (which differ between implementations).
class NormalGenerator {
 public:
  explicit NormalGenerator(uint64_t seed) : state_(seed) {}

  // N(0, 1) by Box-Muller from two uniforms in (0, 1].
  float Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = Uniform();
    double u2 = Uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    double theta = 2.0 * M_PI * u2;
    spare_ = static_cast<float>(r * std::sin(theta));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(theta));
  }

 private:
  uint64_t NextU64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // In (0, 1]: never 0, so log() stays finite.
  double Uniform() { return (static_cast<double>(NextU64() >> 11) + 1.0) * 0x1.0p-53; }

  uint64_t state_;
  bool has_spare_ = false;
  float spare_ = 0;
};

// FNV-1a: each tensor gets its own stream (seed ^ hash(name)), so adding a tensor to a kind
// does not change the weights of the others.
uint64_t HashName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

enum class Init { kRandom, kOnes, kZeros };

struct TensorDef {
  std::string name;
  int64_t ne0;
  int64_t ne1;  // 1 for vectors
  Init init;
  float stddev = kStddev;  // of kRandom
};

struct GgufDeleter {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
using GgmlPtr = std::unique_ptr<ggml_context, GgmlDeleter>;

// Copies every tokenizer.* key of `src` into `dst`.
void CopyTokenizerKeys(const gguf_context* src, gguf_context* dst) {
  const int64_t n = gguf_get_n_kv(src);
  for (int64_t i = 0; i < n; ++i) {
    const char* key = gguf_get_key(src, i);
    if (std::string_view(key).rfind("tokenizer.", 0) != 0) continue;
    switch (gguf_get_kv_type(src, i)) {
      case GGUF_TYPE_UINT8: gguf_set_val_u8(dst, key, gguf_get_val_u8(src, i)); break;
      case GGUF_TYPE_INT8: gguf_set_val_i8(dst, key, gguf_get_val_i8(src, i)); break;
      case GGUF_TYPE_UINT16: gguf_set_val_u16(dst, key, gguf_get_val_u16(src, i)); break;
      case GGUF_TYPE_INT16: gguf_set_val_i16(dst, key, gguf_get_val_i16(src, i)); break;
      case GGUF_TYPE_UINT32: gguf_set_val_u32(dst, key, gguf_get_val_u32(src, i)); break;
      case GGUF_TYPE_INT32: gguf_set_val_i32(dst, key, gguf_get_val_i32(src, i)); break;
      case GGUF_TYPE_FLOAT32: gguf_set_val_f32(dst, key, gguf_get_val_f32(src, i)); break;
      case GGUF_TYPE_UINT64: gguf_set_val_u64(dst, key, gguf_get_val_u64(src, i)); break;
      case GGUF_TYPE_INT64: gguf_set_val_i64(dst, key, gguf_get_val_i64(src, i)); break;
      case GGUF_TYPE_FLOAT64: gguf_set_val_f64(dst, key, gguf_get_val_f64(src, i)); break;
      case GGUF_TYPE_BOOL: gguf_set_val_bool(dst, key, gguf_get_val_bool(src, i)); break;
      case GGUF_TYPE_STRING: gguf_set_val_str(dst, key, gguf_get_val_str(src, i)); break;
      case GGUF_TYPE_ARRAY: {
        const size_t count = gguf_get_arr_n(src, i);
        const gguf_type type = gguf_get_arr_type(src, i);
        if (type == GGUF_TYPE_STRING) {
          std::vector<const char*> strings(count);
          for (size_t j = 0; j < count; ++j) strings[j] = gguf_get_arr_str(src, i, j);
          gguf_set_arr_str(dst, key, strings.data(), count);
        } else {
          gguf_set_arr_data(dst, key, type, gguf_get_arr_data(src, i), count);
        }
        break;
      }
      default: break;  // GGUF_TYPE_COUNT: not a real value
    }
  }
}

std::vector<TensorDef> BertTensors(const TestModelSpec& s, int64_t vocab) {
  const int64_t e = s.embd, f = s.ff;
  std::vector<TensorDef> t = {
      {"token_embd.weight", e, vocab, Init::kRandom},
      {"token_types.weight", e, 2, Init::kRandom},
      {"position_embd.weight", e, s.ctx, Init::kRandom},
      {"token_embd_norm.weight", e, 1, Init::kOnes},
      {"token_embd_norm.bias", e, 1, Init::kZeros},
  };
  for (int i = 0; i < s.layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (const char* p : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      t.push_back({b + p + ".weight", e, e, Init::kRandom});
      t.push_back({b + p + ".bias", e, 1, Init::kZeros});
    }
    t.push_back({b + "attn_output_norm.weight", e, 1, Init::kOnes});
    t.push_back({b + "attn_output_norm.bias", e, 1, Init::kZeros});
    t.push_back({b + "ffn_up.weight", e, f, Init::kRandom});
    t.push_back({b + "ffn_up.bias", f, 1, Init::kZeros});
    t.push_back({b + "ffn_down.weight", f, e, Init::kRandom});
    t.push_back({b + "ffn_down.bias", e, 1, Init::kZeros});
    t.push_back({b + "layer_output_norm.weight", e, 1, Init::kOnes});
    t.push_back({b + "layer_output_norm.bias", e, 1, Init::kZeros});
  }
  if (s.kind == TestModelKind::kBertRerank) {
    // The classifier head gets 1/sqrt(E) instead of 0.02 so that scores spread (about N(0, 0.5))
    // instead of all sitting within 1e-3 of each other.
    const float head = 1.0f / std::sqrt(static_cast<float>(e));
    t.push_back({"cls.weight", e, e, Init::kRandom, head});
    t.push_back({"cls.bias", e, 1, Init::kZeros});
    t.push_back({"cls.output.weight", e, 1, Init::kRandom, head});
    t.push_back({"cls.output.bias", 1, 1, Init::kZeros});
  }
  return t;
}

std::vector<TensorDef> LlamaTensors(const TestModelSpec& s, int64_t vocab) {
  const int64_t e = s.embd, f = s.ff;
  std::vector<TensorDef> t = {
      {"token_embd.weight", e, vocab, Init::kRandom},
      {"output_norm.weight", e, 1, Init::kOnes},
      {"output.weight", e, vocab, Init::kRandom},
  };
  for (int i = 0; i < s.layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    t.push_back({b + "attn_norm.weight", e, 1, Init::kOnes});
    // kv heads == heads, so k and v are [E, E] too.
    for (const char* p : {"attn_q", "attn_k", "attn_v", "attn_output"})
      t.push_back({b + p + ".weight", e, e, Init::kRandom});
    t.push_back({b + "ffn_norm.weight", e, 1, Init::kOnes});
    t.push_back({b + "ffn_gate.weight", e, f, Init::kRandom});
    t.push_back({b + "ffn_up.weight", e, f, Init::kRandom});
    t.push_back({b + "ffn_down.weight", f, e, Init::kRandom});
  }
  return t;
}

void SetBertMetadata(const TestModelSpec& s, gguf_context* g) {
  gguf_set_val_str(g, "general.architecture", "bert");
  gguf_set_val_u32(g, "bert.context_length", s.ctx);
  gguf_set_val_u32(g, "bert.embedding_length", s.embd);
  gguf_set_val_u32(g, "bert.feed_forward_length", s.ff);
  gguf_set_val_u32(g, "bert.block_count", s.layers);
  gguf_set_val_u32(g, "bert.attention.head_count", s.heads);
  gguf_set_val_f32(g, "bert.attention.layer_norm_epsilon", 1e-12f);
  gguf_set_val_bool(g, "bert.attention.causal", false);
  gguf_set_val_u32(g, "tokenizer.ggml.token_type_count", 2);
  int pooling = s.pooling;
  if (pooling < 0) pooling = s.kind == TestModelKind::kBertRerank ? 4 : 2;  // RANK : CLS
  gguf_set_val_u32(g, "bert.pooling_type", pooling);
}

void SetLlamaMetadata(const TestModelSpec& s, gguf_context* g) {
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_set_val_u32(g, "llama.context_length", s.ctx);
  gguf_set_val_u32(g, "llama.embedding_length", s.embd);
  gguf_set_val_u32(g, "llama.feed_forward_length", s.ff);
  gguf_set_val_u32(g, "llama.block_count", s.layers);
  gguf_set_val_u32(g, "llama.attention.head_count", s.heads);
  gguf_set_val_u32(g, "llama.attention.head_count_kv", s.heads);
  gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_f32(g, "llama.rope.freq_base", 10000.0f);
  gguf_set_val_u32(g, "llama.rope.dimension_count", s.embd / s.heads);
  if (s.pooling >= 0) gguf_set_val_u32(g, "llama.pooling_type", s.pooling);
  if (!s.chat_template.empty()) gguf_set_val_str(g, "tokenizer.chat_template", s.chat_template.c_str());
}

Status CheckSpec(const TestModelSpec& s) {
  if (s.path.empty()) return InvalidArgumentError("test model: empty output path");
  if (s.embd < 1 || s.layers < 1 || s.heads < 1 || s.ff < 1 || s.ctx < 1)
    return InvalidArgumentError("test model: embd, layers, heads, ff and ctx must be positive");
  if (s.embd > 8192 || s.layers > 64 || s.ff > 32768 || s.ctx > 1 << 20)
    return InvalidArgumentError("test model: sizes too large for a test model");
  if (s.embd % s.heads != 0)
    return InvalidArgumentError("test model: embd (" + std::to_string(s.embd) +
                                ") must be a multiple of heads (" + std::to_string(s.heads) + ")");
  if (s.pooling < -1 || s.pooling > 4)
    return InvalidArgumentError("test model: pooling must be -1 or 0..4");
  if (s.pooling == 4 && s.kind != TestModelKind::kBertRerank)
    return InvalidArgumentError("test model: rank pooling needs the rerank kind (a classifier head)");
  return OkStatus();
}

}  // namespace

std::string_view ToString(TestModelKind kind) {
  switch (kind) {
    case TestModelKind::kBertEmbed: return "embed";
    case TestModelKind::kBertRerank: return "rerank";
    case TestModelKind::kLlama: return "llama";
  }
  return "unknown";
}

Status WriteTestModel(const TestModelSpec& spec) {
  MODELRT_RETURN_IF_ERROR(CheckSpec(spec));
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(spec.path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
    return NotFoundError("test model: directory " + parent.string() + " does not exist");
  const bool bert = spec.kind != TestModelKind::kLlama;
  std::string_view vocab_bytes = EmbeddedAsset(bert ? Asset::kVocabBert : Asset::kVocabLlama);
  GgufPtr vocab(gguf_init_from_buffer(vocab_bytes.data(), vocab_bytes.size(),
                                      gguf_init_params{/*no_alloc=*/true, /*ctx=*/nullptr}));
  if (!vocab) return InternalError("test model: the embedded vocabulary is not valid GGUF");
  const int64_t tokens_key = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
  if (tokens_key < 0) return InternalError("test model: the embedded vocabulary has no tokens");
  const int64_t n_vocab = static_cast<int64_t>(gguf_get_arr_n(vocab.get(), tokens_key));

  GgufPtr out(gguf_init_empty());
  const std::string name = std::string("modelrt-test-") + std::string(ToString(spec.kind));
  gguf_set_val_str(out.get(), "general.name", name.c_str());
  gguf_set_val_u32(out.get(), "general.file_type", 0);  // all F32
  if (bert) SetBertMetadata(spec, out.get());
  else SetLlamaMetadata(spec, out.get());
  CopyTokenizerKeys(vocab.get(), out.get());
  if (bert) gguf_set_val_u32(out.get(), "tokenizer.ggml.token_type_count", 2);

  std::vector<TensorDef> defs = bert ? BertTensors(spec, n_vocab) : LlamaTensors(spec, n_vocab);
  // Tensor headers only (no_alloc): the data lives in `data` and is attached by pointer.
  ggml_init_params params{ggml_tensor_overhead() * (defs.size() + 1), nullptr, /*no_alloc=*/true};
  GgmlPtr meta(ggml_init(params));
  if (!meta) return InternalError("test model: ggml_init failed");
  std::vector<std::vector<float>> data(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    const TensorDef& d = defs[i];
    ggml_tensor* t = d.ne1 == 1 ? ggml_new_tensor_1d(meta.get(), GGML_TYPE_F32, d.ne0)
                                : ggml_new_tensor_2d(meta.get(), GGML_TYPE_F32, d.ne0, d.ne1);
    ggml_set_name(t, d.name.c_str());
    std::vector<float>& values = data[i];
    values.assign(static_cast<size_t>(d.ne0 * d.ne1), d.init == Init::kOnes ? 1.0f : 0.0f);
    if (d.init == Init::kRandom) {
      NormalGenerator gen(spec.seed ^ HashName(d.name));
      for (float& v : values) v = gen.Next() * d.stddev;
    }
    gguf_add_tensor(out.get(), t);
    gguf_set_tensor_data(out.get(), d.name.c_str(), values.data());
  }

  // Atomic replace: a reader never sees a half-written model.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = spec.path + ".tmp." + std::to_string(getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  if (!gguf_write_to_file(out.get(), tmp.c_str(), /*only_meta=*/false)) {
    std::remove(tmp.c_str());
    return InternalError("test model: cannot write " + tmp);
  }
  std::filesystem::rename(tmp, spec.path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return InternalError("test model: cannot rename to " + spec.path + ": " + ec.message());
  }
  return OkStatus();
}

}  // namespace modelrt::llama
