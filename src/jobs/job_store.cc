#include "jobs/job_store.h"

namespace modelrt::jobs {

namespace {
Status NotShared() { return UnimplementedError("this job store is not shared"); }
}  // namespace

Result<std::optional<JobStore::Claimed>> JobStore::Claim(int64_t) { return NotShared(); }
Result<JobStore::Lease> JobStore::Renew(const std::string&, int64_t) { return NotShared(); }
Result<std::optional<JobRecord>> JobStore::RequestCancel(const std::string&, int64_t) {
  return NotShared();
}

}  // namespace modelrt::jobs
