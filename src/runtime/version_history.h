// VersionHistory: the engines each alias has had (generation, description, source, time), the
// newest `capacity` per alias.
//
//   VersionHistory history(32);
//   history.Add({.alias = "chat", .generation = 3, .source = "models/chat.gguf"});
//   std::vector<VersionRecord> versions = history.Of("chat");   // oldest first
//
// Thread-safety: thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/reload.h"

namespace modelrt::internal {

class VersionHistory {
 public:
  explicit VersionHistory(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  VersionHistory(const VersionHistory&) = delete;
  VersionHistory& operator=(const VersionHistory&) = delete;

  void Add(VersionRecord record);
  // The alias's records, oldest first; empty for an alias never loaded.
  std::vector<VersionRecord> Of(std::string_view alias) const;
  // Every alias's records, by alias then oldest first.
  std::vector<VersionRecord> All() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::map<std::string, std::deque<VersionRecord>, std::less<>> records_ GUARDED_BY(mu_);
};

}  // namespace modelrt::internal
