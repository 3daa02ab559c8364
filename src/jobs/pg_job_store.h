// PgJobStore: the jobs of every replica in one PostgreSQL database, and their queue. A runner
// claims the oldest job nobody holds with FOR UPDATE SKIP LOCKED (so two runners never get the
// same job, and neither waits for the other), holds it under a lease on the database's clock,
// and renews it while the job runs. Saves by a runner that no longer holds the job change
// nothing, and a finished job is never reopened.
//
//   MODELRT_ASSIGN_OR_RETURN(auto store, PgJobStore::Open(url, "host-a:4242", 15000));
//   MODELRT_ASSIGN_OR_RETURN(std::optional<JobStore::Claimed> next, store->Claim(15000));
//
// Tables (created when absent): modelrt_jobs (one row a job: the JSON document beside the
// columns the queue needs) and modelrt_job_events.
//
// Thread-safety: thread-safe (one connection behind a mutex).
#pragma once

#include <memory>
#include <string>

#include "core/postgres.h"
#include "core/thread_annotations.h"
#include "jobs/job_store.h"

namespace modelrt::jobs {

class PgJobStore : public JobStore {
 public:
  // `owner` names this runner in the leases it takes; a running job's saves renew its lease
  // for `lease_ms`. Unavailable when the database cannot be reached.
  static Result<std::unique_ptr<PgJobStore>> Open(const std::string& url, std::string owner,
                                                  int64_t lease_ms);

  Status Save(const JobRecord& job) override;
  Status AppendEvent(const std::string& job_id, const JobEvent& event) override;
  Result<std::optional<JobRecord>> Load(const std::string& id) const override;
  Result<std::vector<JobRecord>> List(const JobFilter& filter) const override;
  Result<std::vector<JobRecord>> Unfinished() const override;
  Result<std::vector<JobEvent>> Events(const std::string& job_id, int64_t after_seq,
                                       int limit = 1000) const override;
  Result<int64_t> LastEventSeq(const std::string& job_id) const override;
  Result<std::vector<std::string>> Prune(int64_t keep_count, int64_t finished_before_ms) override;

  bool shared() const override { return true; }
  Result<std::optional<Claimed>> Claim(int64_t lease_ms) override;
  Result<Lease> Renew(const std::string& id, int64_t lease_ms) override;
  Result<std::optional<JobRecord>> RequestCancel(const std::string& id, int64_t now_ms) override;

 private:
  PgJobStore(std::unique_ptr<PgConnection> pg, std::string owner, int64_t lease_ms)
      : pg_(std::move(pg)), owner_(std::move(owner)), lease_ms_(lease_ms) {}
  // Rows of (doc, cancel_requested) as records.
  Result<std::vector<JobRecord>> Query(const std::string& sql,
                                       const std::vector<std::string>& params) const;
  Result<std::optional<JobRecord>> CancelLocked(const std::string& id, int64_t now_ms)
      REQUIRES(mu_);
  Result<int64_t> LastEventSeqLocked(const std::string& job_id) const REQUIRES(mu_);

  mutable Mutex mu_;
  std::unique_ptr<PgConnection> pg_ GUARDED_BY(mu_);
  const std::string owner_;
  const int64_t lease_ms_;
};

}  // namespace modelrt::jobs
