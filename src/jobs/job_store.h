// JobStore: where the job runner keeps jobs, their artifacts and their events. Two stores:
// SqliteJobStore (one process, the default) and PgJobStore (PostgreSQL, shared by replicas).
//
// A shared store is also the queue: each runner claims jobs from it (one job goes to one
// runner, under a lease the runner renews), instead of queueing its own submissions in memory.
// A runner that stops renewing (killed, cut off) loses the job to the next claim, which resumes
// or fails it as a restart would.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job_types.h"
#include "modelrt/status.h"

namespace modelrt::jobs {

struct JobFilter {
  std::string kind;                // "" = any
  std::optional<JobState> state;   // none = any
  int limit = 100;                 // newest first
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Inserts or replaces the job (artifacts included). In a shared store, a save by a runner
  // that lost the job's lease changes nothing.
  virtual Status Save(const JobRecord& job) = 0;
  virtual Status AppendEvent(const std::string& job_id, const JobEvent& event) = 0;

  virtual Result<std::optional<JobRecord>> Load(const std::string& id) const = 0;
  virtual Result<std::vector<JobRecord>> List(const JobFilter& filter) const = 0;
  // Queued and running jobs, oldest first: what a restart must resume or fail.
  virtual Result<std::vector<JobRecord>> Unfinished() const = 0;
  // Events with seq > after_seq, in order, at most `limit`.
  virtual Result<std::vector<JobEvent>> Events(const std::string& job_id, int64_t after_seq,
                                               int limit = 1000) const = 0;
  // The highest event seq of the job (0 = none).
  virtual Result<int64_t> LastEventSeq(const std::string& job_id) const = 0;

  // Drops finished jobs past the newest `keep_count`, and finished jobs that ended before
  // `finished_before_ms`, with their events. Returns the ids dropped.
  virtual Result<std::vector<std::string>> Prune(int64_t keep_count,
                                                 int64_t finished_before_ms) = 0;

  // --- The shared queue (shared() stores only; the others answer Unimplemented). ---
  virtual bool shared() const { return false; }

  struct Claimed {
    JobRecord record;
    bool taken_over = false;  // it was running under a lease that ran out
    bool cancel_requested = false;
  };
  // The oldest job nobody holds (queued, or running under an expired lease), now held by this
  // runner for `lease_ms`; none when there is no such job.
  virtual Result<std::optional<Claimed>> Claim(int64_t lease_ms);

  struct Lease {
    bool held = false;              // false: another runner has the job now
    bool cancel_requested = false;  // a cancel came through another runner
  };
  virtual Result<Lease> Renew(const std::string& id, int64_t lease_ms);

  // A cancel asked of a job this runner does not hold: a queued one is cancelled at once (with
  // its event), a running one is flagged for its runner; a finished one is left. The job after
  // it; none for an unknown id.
  virtual Result<std::optional<JobRecord>> RequestCancel(const std::string& id, int64_t now_ms);
};

}  // namespace modelrt::jobs
