#include "runtime/version_history.h"

namespace modelrt::internal {

void VersionHistory::Add(VersionRecord record) {
  MutexLock lock(mu_);
  auto& records = records_[record.alias];
  records.push_back(std::move(record));
  while (records.size() > capacity_) records.pop_front();
}

std::vector<VersionRecord> VersionHistory::Of(std::string_view alias) const {
  MutexLock lock(mu_);
  auto it = records_.find(alias);
  if (it == records_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<VersionRecord> VersionHistory::All() const {
  MutexLock lock(mu_);
  std::vector<VersionRecord> out;
  for (const auto& [alias, records] : records_)
    out.insert(out.end(), records.begin(), records.end());
  return out;
}

}  // namespace modelrt::internal
