// JobRunner: runs jobs of the registered kinds on a bounded pool of workers, keeps them (their
// events and artifacts) in a JobStore, and after a restart resumes what can resume and fails the
// rest, saying why (see job_types.h for the states).
//
// With a shared store (PostgreSQL, options.store_url) the runners of several replicas take jobs
// from one queue: a worker claims the oldest job nobody holds and renews its lease while it
// runs; a job whose runner died (its lease ran out) is taken over by the next claim and resumes
// or fails as after a restart. Any runner answers for any job: a cancel of a job another
// replica runs reaches it through the store within a third of the lease.
//
//   MODELRT_ASSIGN_OR_RETURN(auto runner, JobRunner::Open({.dir = data_dir + "/jobs"},
//                                                         StandardJobKinds(deps)));
//   runner->Start();
//   MODELRT_ASSIGN_OR_RETURN(JobPlan plan, runner->Plan({.kind = "model-download", .params = p}));
//   MODELRT_ASSIGN_OR_RETURN(JobRecord job, runner->Submit({.kind = "model-download", .params = p}));
//   runner->Cancel(job.id);
//
// Jobs run oldest first. A cancel stops a queued job at once and asks a running one to stop (its
// kind watches job.cancelled()). Shutdown stops the workers: a running job is cancelled, and one
// whose kind resumes goes back to queued for the next start instead of ending.
// Finished jobs past `keep_finished`, or older than `keep_days`, are dropped with their folders.
//
// Thread-safety: thread-safe. Kinds run on the workers, outside the runner's lock.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "jobs/job_kind.h"
#include "jobs/job_store.h"
#include "jobs/job_types.h"
#include "modelrt/status.h"

namespace modelrt::jobs {

struct JobSubmission {
  std::string kind;
  Json params = Json::object();
  Json metadata = Json::object();  // the caller's, kept as given
};

class JobRunner {
 public:
  struct Options {
    std::string dir;              // jobs.db and a folder per job
    int workers = 2;              // jobs running at once
    int64_t keep_finished = 1000;
    int64_t keep_days = 7;
    std::function<int64_t()> now_ms;  // Unix ms; empty = the system clock (tests set it)
    // A PostgreSQL URL: the store and queue this runner shares with others (`dir` is then a
    // folder every one of them mounts); "" = SQLite in `dir`, this runner's alone.
    std::string store_url;
    int64_t lease_ms = 15000;  // a claimed job's lease (shared store), renewed every third
    int64_t poll_ms = 500;     // how often an idle worker looks for jobs others queued
  };

  // Opens (or creates) the store and recovers the jobs a previous process left unfinished
  // (queued again, or failed). Errors: the store's (Unavailable).
  static Result<std::unique_ptr<JobRunner>> Open(Options options,
                                                 std::vector<std::unique_ptr<JobKind>> kinds);
  // Starts the workers (once what the kinds call is ready). Idempotent.
  void Start();
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // The kind's plan for these parameters, nothing run. InvalidArgument for an unknown kind or a
  // bad parameter.
  Result<JobPlan> Plan(const JobSubmission& submission) const;
  // Plans, stores and queues the job. Errors as Plan; Unavailable once shutting down.
  Result<JobRecord> Submit(JobSubmission submission);

  // NotFound for an unknown (or pruned) id.
  Result<JobRecord> Get(const std::string& id) const;
  Result<std::vector<JobRecord>> List(const JobFilter& filter) const;
  // The job after the request: cancelled when it was queued, still running (cancel_requested)
  // when it was running, unchanged when it had finished. NotFound for an unknown id.
  Result<JobRecord> Cancel(const std::string& id);

  struct EventPage {
    std::vector<JobEvent> events;
    bool finished = false;  // the job has ended: no event will follow these
  };
  // Events after `after_seq`; when there are none yet and the job runs, waits up to `wait` for
  // one. NotFound for an unknown id.
  Result<EventPage> Events(const std::string& id, int64_t after_seq,
                           std::chrono::milliseconds wait) const;
  // Waits until the job has ended (or `timeout`, then the job as it is).
  Result<JobRecord> Wait(const std::string& id, std::chrono::milliseconds timeout) const;

  // Stops taking jobs, cancels the running ones and joins the workers. Idempotent.
  void Shutdown();

  const std::string& dir() const { return options_.dir; }
  std::string JobDir(const std::string& id) const { return options_.dir + "/" + id; }

 private:
  class Context;
  struct Active {
    JobRecord record;
    std::shared_ptr<CancelSignal> cancel = std::make_shared<CancelSignal>();
    int64_t last_seq = 0;
    int64_t last_progress_save_ms = 0;
    bool lost = false;  // its lease went to another runner: nothing more of it is saved here
  };
  enum class Claimed { kNothing, kRun, kEnded };

  JobRunner(Options options, std::unique_ptr<JobStore> store,
            std::vector<std::unique_ptr<JobKind>> kinds);
  Status Recover();
  void WorkerLoop();
  // Shared store: claims the next job into active_ (its id in *id when it is to run).
  Claimed ClaimNext(std::string* id);
  // Renews the leases of the jobs running here, and passes on cancels asked elsewhere.
  void RenewLoop();
  Result<JobRecord> CancelElsewhere(const std::string& id);
  // A job found running that nobody runs any more (a restart, a runner that died): true when
  // its kind resumes it; otherwise it ends (failed, or cancelled when asked) and false.
  bool ResumeOrEnd(Active& active, const std::string& who_stopped) REQUIRES(mu_);
  void RunOne(const std::string& id);
  JobKind* FindKind(std::string_view name) const;
  int64_t Now() const;
  // Stores the job and appends a "state" event; call with mu_ held.
  void SaveWithEvent(Active& active, std::string type, Json data) REQUIRES(mu_);
  void Prune() REQUIRES(mu_);

  Options options_;
  std::string name_;  // in a shared store's leases and the jobs it runs
  std::unique_ptr<JobStore> store_;
  std::vector<std::unique_ptr<JobKind>> kinds_;

  mutable Mutex mu_;
  mutable CondVar work_cv_;    // a job queued, or stopping
  mutable CondVar events_cv_;  // an event appended or a job ended
  std::map<std::string, Active> active_ GUARDED_BY(mu_);  // queued and running jobs
  std::deque<std::string> queue_ GUARDED_BY(mu_);  // not with a shared store: it is the queue
  bool stopping_ GUARDED_BY(mu_) = false;
  bool renewing_ GUARDED_BY(mu_) = true;  // until the workers are gone
  mutable CondVar renew_cv_;
  std::vector<std::thread> workers_;
  std::thread renewer_;
};

}  // namespace modelrt::jobs
