// JobKind: one kind of job (model-download, model-external-command, ...): it checks a job's
// parameters and says what the job will do (Plan: no side effects, so dry_run shows it), then
// does it (Run, on a runner's worker) through a JobContext.
//
//   class WarmupJob : public JobKind {
//     std::string_view name() const override { return kModelWarmup; }
//     Result<JobPlan> Plan(const Json& params) const override { ... }
//     Status Run(JobContext& job) override {
//       job.Progress(0, 1, "loading " + alias);
//       ...
//       job.SetOutput({{"model", info}});
//       return OkStatus();
//     }
//   };
//
// Run returns OK (succeeded), an error (failed, its message the job's error), or any error once
// job.cancelled() is set (cancelled). A resumable kind reads job.checkpoint() and saves its own
// with SaveCheckpoint as it goes.
//
// Thread-safety: Plan may run on any thread at any time; Run runs on one worker per job, several
// jobs of a kind at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "jobs/job_types.h"
#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::jobs {

// A running job as its kind sees it. Implemented by the runner.
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual const std::string& id() const = 0;
  virtual const Json& params() const = 0;
  virtual const JobPlan& plan() const = 0;
  // The job's own folder (created): logs, outputs, a command's working directory.
  virtual const std::string& dir() const = 0;
  // Set by a cancel (or the server stopping); long work checks it or registers on it.
  virtual const std::shared_ptr<CancelSignal>& cancel() const = 0;
  bool cancelled() const { return cancel()->cancelled(); }
  // Where the job is; stored and sent as an event at most a few times a second.
  virtual void Progress(int64_t done, int64_t total, std::string message = "") = 0;
  // A diagnostic line (a retry, a resume): kept with the job and sent as an event.
  virtual void Note(std::string message) = 0;
  // Records an artifact; its sha256 and size are filled in from the file when empty.
  virtual Status AddArtifact(Artifact artifact) = 0;
  // Merges `fields` into the job's output (top-level keys replace); stored with the job's next
  // save (SaveCheckpoint, Progress, its end).
  virtual void SetOutput(const Json& fields) = 0;
  virtual Json output() const = 0;
  // What SaveCheckpoint last stored (null for a fresh job), and whether this run is a resume.
  virtual const Json& checkpoint() const = 0;
  virtual bool resumed() const = 0;
  // Stored at once: after a crash the job resumes from the last one saved.
  virtual Status SaveCheckpoint(Json checkpoint) = 0;
};

class JobKind {
 public:
  virtual ~JobKind() = default;
  virtual std::string_view name() const = 0;
  // InvalidArgument naming the bad parameter; otherwise the plan (plan.kind is filled in).
  virtual Result<JobPlan> Plan(const Json& params) const = 0;
  virtual Status Run(JobContext& job) = 0;
};

}  // namespace modelrt::jobs
