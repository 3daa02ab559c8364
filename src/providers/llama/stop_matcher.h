// Finds stop strings in streamed text and holds back text that may be the start of one, so a
// stop string is never emitted, even when it arrives split across token pieces.
//
//   StopMatcher stops({"\n\n", "User:"});
//   std::string out = stops.Push(piece);   // text that is safe to emit now
//   if (stops.stopped()) finish();          // a stop string matched; nothing after it is emitted
//   out = stops.Flush();                    // at the end: what was held back
//
// Thread-safety: not thread-safe (one generation slot owns one).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modelrt::llama {

class StopMatcher {
 public:
  // Empty strings in `stops` are ignored.
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends `text` and returns the part that can no longer be part of a stop string. Once a
  // stop string has matched, returns the text before it and then only empty strings.
  std::string Push(std::string_view text);

  // Returns the held-back text (call when generation ends without a stop string).
  std::string Flush();

  bool stopped() const { return stopped_; }
  // The stop string that matched; empty while none has.
  const std::string& matched() const { return matched_; }

 private:
  // Length of the longest suffix of held_ that is a proper prefix of some stop string.
  size_t LongestPartialSuffix() const;

  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace modelrt::llama
