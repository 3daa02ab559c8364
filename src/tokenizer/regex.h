// The regexes of tokenizer.json (Split pre-tokenizers, ByteLevel's GPT-2 pattern): Unicode-aware
// (\p{L}, \p{N}, \s as Unicode whitespace) with lookahead, as the Oniguruma engine `tokenizers`
// uses reads them; PCRE2 from Debian underneath (UTF and UCP mode).
//
//   MODELRT_ASSIGN_OR_RETURN(Regex re, Regex::Compile(R"( ?\p{L}+| ?\p{N}+)"));
//   for (auto [begin, end] : re.FindAll(text)) ...   // byte offsets
//
// Thread-safety: a compiled pattern is shared read-only; each FindAll uses its own match data.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modelrt/status.h"

namespace modelrt::tokenizer {

class Regex {
 public:
  // InvalidArgument naming the pattern and PCRE2's reason when it does not compile.
  static Result<Regex> Compile(const std::string& pattern);

  // Every non-overlapping match, left to right, as [begin, end) byte offsets.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

 private:
  struct Code;
  explicit Regex(std::shared_ptr<const Code> code) : code_(std::move(code)) {}
  std::shared_ptr<const Code> code_;
};

}  // namespace modelrt::tokenizer
