#include "providers/llama/sampler_chain.h"

#include <cmath>
#include <string>

namespace modelrt::llama {

Status ValidateSampling(const SamplingParams& p, int32_t n_vocab) {
  auto bad = [](const std::string& field, const std::string& rule) {
    return InvalidArgumentError("sampling." + field + ": " + rule);
  };
  if (!std::isfinite(p.temperature) || p.temperature < 0) return bad("temperature", "must be >= 0");
  if (p.top_k < 0) return bad("top_k", "must be >= 0");
  if (!(p.top_p > 0 && p.top_p <= 1)) return bad("top_p", "must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) return bad("min_p", "must be in [0, 1]");
  if (!(p.repeat_penalty > 0) || !std::isfinite(p.repeat_penalty))
    return bad("repeat_penalty", "must be > 0");
  if (p.repeat_last_n < 0) return bad("repeat_last_n", "must be >= 0");
  if (!std::isfinite(p.presence_penalty)) return bad("presence_penalty", "must be finite");
  if (!std::isfinite(p.frequency_penalty)) return bad("frequency_penalty", "must be finite");
  for (const auto& [token, bias] : p.logit_bias) {
    if (token < 0 || token >= n_vocab)
      return bad("logit_bias", "token " + std::to_string(token) + " is not in the vocabulary (" +
                                   std::to_string(n_vocab) + " tokens)");
    if (std::isnan(bias)) return bad("logit_bias", "a bias must be a number");
  }
  return OkStatus();
}

namespace {

bool HasPenalties(const SamplingParams& p) {
  return p.repeat_last_n != 0 &&
         (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f);
}

}  // namespace

bool IsPlainGreedy(const SamplingParams& p) {
  return p.temperature <= 0 && !HasPenalties(p) && p.grammar.empty() && p.logit_bias.empty();
}

Status ValidateGrammar(const std::string& grammar, const llama_vocab* vocab) {
  if (grammar.empty()) return OkStatus();
  llama_sampler* parsed = llama_sampler_init_grammar(vocab, grammar.c_str(), "root");
  if (parsed == nullptr) {
    return InvalidArgumentError("grammar: not a GBNF grammar with a 'root' rule llama.cpp accepts");
  }
  llama_sampler_free(parsed);
  return OkStatus();
}

llama_token GreedyToken(const float* logits, int32_t n_vocab,
                        const std::vector<uint8_t>& banned_mask) {
  if (banned_mask.empty()) {
    llama_token best = 0;
    for (llama_token t = 1; t < n_vocab; ++t)
      if (logits[t] > logits[best]) best = t;
    return best;
  }
  // Same arithmetic as llama_sampler_logit_bias (logit + -inf), same comparison as greedy.
  auto value = [&](llama_token t) { return banned_mask[t] ? logits[t] + -INFINITY : logits[t]; };
  llama_token best = 0;
  float best_value = value(0);
  for (llama_token t = 1; t < n_vocab; ++t) {
    const float v = value(t);
    if (v > best_value) {
      best = t;
      best_value = v;
    }
  }
  return best;
}

LlamaSamplerPtr MakeGrammarSampler(const SamplingParams& p, const llama_vocab* vocab,
                                   const GrammarTriggers* lazy) {
  if (p.grammar.empty()) return nullptr;
  // Checked before (see ValidateGrammar): a grammar that does not parse never reaches here.
  if (lazy != nullptr) {
    std::vector<const char*> patterns;
    for (const std::string& pattern : lazy->patterns) patterns.push_back(pattern.c_str());
    return LlamaSamplerPtr(llama_sampler_init_grammar_lazy_patterns(
        vocab, p.grammar.c_str(), "root", patterns.data(), patterns.size(), lazy->tokens.data(),
        lazy->tokens.size()));
  }
  return LlamaSamplerPtr(llama_sampler_init_grammar(vocab, p.grammar.c_str(), "root"));
}

llama_token SampleWithGrammar(llama_sampler* chain, llama_sampler* grammar, const float* logits,
                              int32_t n_vocab, std::vector<llama_token_data>* scratch) {
  auto candidates = [&]() {
    scratch->resize(n_vocab);
    for (llama_token t = 0; t < n_vocab; ++t) (*scratch)[t] = {t, logits[t], 0.0f};
    return llama_token_data_array{scratch->data(), scratch->size(), -1, false};
  };
  llama_token_data_array cur = candidates();
  llama_sampler_apply(chain, &cur);
  llama_token token = cur.data[cur.selected].id;
  if (grammar != nullptr) {
    llama_token_data single{token, 1.0f, 0.0f};
    llama_token_data_array one{&single, 1, -1, false};
    llama_sampler_apply(grammar, &one);
    if (std::isinf(single.logit) && single.logit < 0) {  // refused: sample what it allows
      cur = candidates();
      llama_sampler_apply(grammar, &cur);
      llama_sampler_apply(chain, &cur);
      token = cur.data[cur.selected].id;
    }
    llama_sampler_accept(grammar, token);
  }
  llama_sampler_accept(chain, token);
  return token;
}

LlamaSamplerPtr MakeSamplerChain(const SamplingParams& p, const llama_vocab* vocab,
                                 const std::vector<llama_token>& banned) {
  llama_sampler_chain_params chain_params = llama_sampler_chain_default_params();
  chain_params.no_perf = true;
  LlamaSamplerPtr chain(llama_sampler_chain_init(chain_params));
  const int32_t n_vocab = llama_vocab_n_tokens(vocab);
  if (!banned.empty() || !p.logit_bias.empty()) {
    std::vector<llama_logit_bias> bias;
    bias.reserve(banned.size() + p.logit_bias.size());
    for (const auto& [token, value] : p.logit_bias) bias.push_back({token, value});
    for (llama_token t : banned) bias.push_back({t, -INFINITY});
    llama_sampler_chain_add(chain.get(), llama_sampler_init_logit_bias(
                                             n_vocab, static_cast<int32_t>(bias.size()), bias.data()));
  }
  if (HasPenalties(p)) {
    llama_sampler_chain_add(chain.get(),
                            llama_sampler_init_penalties(n_vocab, p.repeat_last_n, p.repeat_penalty,
                                                         p.frequency_penalty, p.presence_penalty));
  }
  if (p.temperature <= 0) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(p.top_k));
  if (p.top_p < 1) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(p.top_p, 1));
  if (p.min_p > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(p.temperature));
  // LLAMA_DEFAULT_SEED asks llama.cpp for a random seed.
  llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(p.seed.value_or(LLAMA_DEFAULT_SEED)));
  return chain;
}

}  // namespace modelrt::llama
