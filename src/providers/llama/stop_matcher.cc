#include "providers/llama/stop_matcher.h"

#include <algorithm>

namespace modelrt::llama {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
}

std::string StopMatcher::Push(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);
  // The earliest match wins: text before it is output, the rest never is.
  size_t best = std::string::npos;
  for (const auto& stop : stops_) {
    size_t pos = held_.find(stop);
    if (pos != std::string::npos && pos < best) {
      best = pos;
      matched_ = stop;
    }
  }
  if (best != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, best);
    held_.clear();
    return out;
  }
  size_t keep = LongestPartialSuffix();
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::Flush() {
  if (stopped_) return {};
  std::string out;
  out.swap(held_);
  return out;
}

size_t StopMatcher::LongestPartialSuffix() const {
  size_t best = 0;
  for (const auto& stop : stops_) {
    // A full match was handled by Push, so only proper prefixes (shorter than stop) matter.
    size_t max_len = std::min(held_.size(), stop.size() - 1);
    for (size_t len = max_len; len > best; --len) {
      if (std::string_view(held_).substr(held_.size() - len) == std::string_view(stop).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

}  // namespace modelrt::llama
