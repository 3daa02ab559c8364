#include "runtime/reload_log.h"

namespace modelrt {

std::string_view ToString(ReloadTrigger trigger) {
  switch (trigger) {
    case ReloadTrigger::kApi:
      return "api";
    case ReloadTrigger::kFileChange:
      return "file_change";
    case ReloadTrigger::kConfig:
      return "config";
  }
  return "unknown";
}

namespace internal {

ReloadRecord ReloadLog::Add(ReloadRecord record) {
  MutexLock lock(mu_);
  record.id = ++next_id_;
  records_.push_back(record);
  while (records_.size() > capacity_) records_.pop_front();
  return record;
}

std::vector<ReloadRecord> ReloadLog::Snapshot() const {
  MutexLock lock(mu_);
  return {records_.begin(), records_.end()};
}

uint64_t ReloadLog::total() const {
  MutexLock lock(mu_);
  return next_id_;
}

}  // namespace internal
}  // namespace modelrt
