#include "providers/llama/token_logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace modelrt::llama {

TokenLogprob LogprobOf(const float* logits, int32_t n_vocab, llama_token token, int top,
                       const llama_vocab* vocab) {
  // log softmax(x)_i = x_i - max - log(sum_j exp(x_j - max)), in double for the sum.
  const float max = *std::max_element(logits, logits + n_vocab);
  double sum = 0;
  for (int32_t t = 0; t < n_vocab; ++t) sum += std::exp(static_cast<double>(logits[t]) - max);
  const double log_sum = std::log(sum);
  auto logprob = [&](llama_token t) {
    return static_cast<float>(static_cast<double>(logits[t]) - max - log_sum);
  };
  TokenLogprob out;
  out.logprob = logprob(token);
  top = std::min<int>(std::max(top, 0), n_vocab);
  if (top > 0) {
    std::vector<llama_token> ids(n_vocab);
    std::iota(ids.begin(), ids.end(), 0);
    auto better = [&](llama_token a, llama_token b) {
      return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
    };
    std::partial_sort(ids.begin(), ids.begin() + top, ids.end(), better);
    for (int i = 0; i < top; ++i)
      out.top.emplace_back(TokenToPiece(vocab, ids[i], /*special=*/false), logprob(ids[i]));
  }
  return out;
}

}  // namespace modelrt::llama
