// ReloadLog: the newest `capacity` reload attempts of a runtime (all aliases), with ids.
//
//   ReloadLog log(256);
//   ReloadRecord r = log.Add({.alias = "chat", .ok = true});   // r.id assigned
//   for (const ReloadRecord& rec : log.Snapshot()) ...          // oldest first
//
// Thread-safety: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/reload.h"

namespace modelrt::internal {

class ReloadLog {
 public:
  explicit ReloadLog(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  ReloadLog(const ReloadLog&) = delete;
  ReloadLog& operator=(const ReloadLog&) = delete;

  // Assigns the next id, appends (dropping the oldest past capacity) and returns the record.
  ReloadRecord Add(ReloadRecord record);
  std::vector<ReloadRecord> Snapshot() const;
  // Records ever added (ids run 1..total).
  uint64_t total() const;

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::deque<ReloadRecord> records_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 0;
};

}  // namespace modelrt::internal
