#include "providers/llama/prompt_cache.h"

#include <algorithm>

namespace modelrt::llama {

size_t CommonPrefix(std::span<const llama_token> a, std::span<const llama_token> b) {
  const size_t n = std::min(a.size(), b.size());
  return static_cast<size_t>(std::mismatch(a.begin(), a.begin() + n, b.begin()).first - a.begin());
}

PromptCache::Match PromptCache::Find(std::span<const llama_token> prompt) {
  auto best = entries_.end();
  size_t best_common = 0;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const size_t common = CommonPrefix(it->tokens, prompt);
    if (common > best_common) {
      best = it;
      best_common = common;
    }
  }
  if (best == entries_.end()) return {};
  entries_.splice(entries_.begin(), entries_, best);
  return {&entries_.front(), best_common};
}

bool PromptCache::Covers(std::span<const llama_token> tokens) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return CommonPrefix(e.tokens, tokens) == tokens.size();
  });
}

void PromptCache::Put(std::vector<llama_token> tokens, std::vector<uint8_t> state) {
  const int64_t size = static_cast<int64_t>(state.size());
  if (size > capacity_) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (CommonPrefix(it->tokens, tokens) == it->tokens.size()) {  // a prefix of the new one
      bytes_ -= static_cast<int64_t>(it->state.size());
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  while (!entries_.empty() && bytes_ + size > capacity_) {
    bytes_ -= static_cast<int64_t>(entries_.back().state.size());
    entries_.pop_back();
  }
  bytes_ += size;
  entries_.push_front({std::move(tokens), std::move(state)});
}

}  // namespace modelrt::llama
