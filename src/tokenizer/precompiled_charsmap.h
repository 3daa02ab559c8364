// SentencePiece's compiled normalization rules: the `precompiled_charsmap` of a .model file,
// which tokenizer.json's Precompiled normalizer carries (base64) for XLM-R, T5, mBART, ALBERT and
// the other SentencePiece Unigram models. Each rule maps a byte string (a character, or a short
// sequence such as "e" + U+0301) to its replacement ("é"); the rules of nmt_nfkc are NFKC plus
// SentencePiece's whitespace and control-character cleanup.
//
//   MODELRT_ASSIGN_OR_RETURN(PrecompiledCharsmap map, PrecompiledCharsmap::Parse(bytes));
//   std::string normalized = map.Normalize(text);
//
// The blob: a uint32 (little-endian) size in bytes of the trie, the trie (uint32 units of a
// darts-clone double array, "XCDA"), then the replacements, each NUL-terminated; a key's value in
// the trie is the offset of its replacement.
//
// Two ways of applying the rules are in use, and they disagree on some texts:
//  - Hugging Face `tokenizers` (Normalize; the spec for tokenizer.json): text is cut into
//    extended grapheme clusters; a cluster under 6 bytes is looked up whole, and when some prefix
//    of it has a rule the whole cluster becomes the *shortest* such prefix's replacement (the
//    rest of the cluster is dropped); otherwise each character is looked up alone.
//  - SentencePiece itself, and llama.cpp's UGM tokenizer after it: at each byte the *longest*
//    key that starts there is replaced, across cluster boundaries, and the walk goes on after it.
// They agree wherever no rule's key is a proper prefix of a cluster under 6 bytes and no
// multi-character key spans a cluster boundary or lies in a cluster of 6 bytes or more.
// LongestMatch is here so the second can be checked against llama.cpp too.
// Thread-safety: immutable once parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/status.h"

namespace modelrt::tokenizer {

class PrecompiledCharsmap {
 public:
  struct Match {
    size_t length = 0;             // bytes of the key, from the start of the text looked up
    std::string_view replacement;  // valid UTF-8, into this map
  };

  // `blob`: the decoded bytes. InvalidArgument when the sizes do not add up, the replacements are
  // not UTF-8, or any rule the trie can reach points outside the trie or the replacements (all
  // of them are walked once here, so no text can later make a lookup read out of bounds).
  static Result<PrecompiledCharsmap> Parse(std::string blob);

  // The rule of the shortest prefix of `text` that has one (what `tokenizers` takes).
  std::optional<Match> FirstMatch(std::string_view text) const;
  // The rule of the longest prefix of `text` that has one (what SentencePiece takes).
  std::optional<Match> LongestMatch(std::string_view text) const;

  // `text` normalized as `tokenizers`' Precompiled normalizer does (see above). Invalid UTF-8
  // is read as U+FFFD per bad byte first.
  std::string Normalize(std::string_view text) const;

 private:
  PrecompiledCharsmap(std::vector<uint32_t> units, std::string strings)
      : units_(std::move(units)), strings_(std::move(strings)) {}
  // Calls `on_match(length, value)` for each prefix of `key` with a rule, shortest first, while
  // it returns true.
  template <typename OnMatch>
  void Walk(std::string_view key, OnMatch on_match) const;
  Match MatchAt(size_t length, uint32_t value) const;
  Status Validate() const;

  std::vector<uint32_t> units_;
  std::string strings_;
};

}  // namespace modelrt::tokenizer
