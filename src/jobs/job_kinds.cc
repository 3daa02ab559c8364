#include "jobs/job_kinds.h"

namespace modelrt::jobs {

std::vector<std::unique_ptr<JobKind>> StandardJobKinds(const JobDeps& deps) {
  std::vector<std::unique_ptr<JobKind>> kinds;
  kinds.push_back(MakeDownloadJob(deps));
  kinds.push_back(MakeMaterializeJob(deps));
  kinds.push_back(MakeValidateJob(deps));
  kinds.push_back(MakeWarmupJob(deps));
  kinds.push_back(MakeInferenceJob(deps));
  kinds.push_back(MakeBatchJob(deps));
  kinds.push_back(MakeExternalCommandJob(deps));
  return kinds;
}

}  // namespace modelrt::jobs
