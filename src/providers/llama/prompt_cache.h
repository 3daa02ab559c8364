// PromptCache: the KV of sequences that ended, kept in host memory under the tokens it holds, so
// that a later prompt starting with the same tokens (a shared system prompt, a chat grown by one
// turn, the same prompt sampled again) restores that KV instead of decoding it again, whichever
// slot it lands in. Entries are llama_state_seq_get_data images: the used cells only, so an
// entry costs its tokens' KV, not a whole context. Least recently used entries go first once the
// capacity is reached; an entry whose tokens start a newer one is superseded by it.
//
//   PromptCache cache(256 << 20);
//   if (!cache.Covers(tokens)) cache.Put(tokens, std::move(state));  // a sequence ends
//   PromptCache::Match hit = cache.Find(prompt);                      // a prompt is admitted
//   if (hit.common > 0) llama_state_seq_set_data(ctx, hit.entry->state.data(), ..., id);
//
// Thread-safety: not thread-safe; owned by the engine's worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <span>
#include <vector>

#include <llama.h>

namespace modelrt::llama {

// How many leading tokens `a` and `b` share.
size_t CommonPrefix(std::span<const llama_token> a, std::span<const llama_token> b);

class PromptCache {
 public:
  struct Entry {
    std::vector<llama_token> tokens;  // what the KV image holds, position 0 first
    std::vector<uint8_t> state;       // llama_state_seq_get_data of those tokens
  };
  struct Match {
    const Entry* entry = nullptr;  // valid until the next Put
    size_t common = 0;             // leading tokens the prompt shares with entry->tokens
  };

  explicit PromptCache(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

  bool enabled() const { return capacity_ > 0; }
  int64_t capacity() const { return capacity_; }
  int64_t bytes() const { return bytes_; }
  size_t size() const { return entries_.size(); }

  // The entry sharing the longest prefix with `prompt` (common = 0: none); it becomes the most
  // recently used.
  Match Find(std::span<const llama_token> prompt);
  // Whether an entry already holds `tokens` (or more tokens that start with them): storing them
  // again would add nothing.
  bool Covers(std::span<const llama_token> tokens) const;
  // Stores an image, dropping the entries it supersedes and then the least recently used ones
  // until it fits. An image larger than the whole capacity is not stored.
  void Put(std::vector<llama_token> tokens, std::vector<uint8_t> state);

 private:
  const int64_t capacity_;
  int64_t bytes_ = 0;
  std::list<Entry> entries_;  // most recently used first
};

}  // namespace modelrt::llama
