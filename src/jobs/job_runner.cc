#include "jobs/job_runner.h"

#include <chrono>
#include <filesystem>
#include <random>

#include "core/logging.h"
#include "core/sha256.h"

namespace modelrt::jobs {

namespace fs = std::filesystem;

namespace {

// Progress is stored and sent at most this often (the last one of a job always is).
constexpr int64_t kProgressEveryMs = 250;

std::string NewJobId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "job_";
  for (int i = 0; i < 24; ++i) id += kHex[rng() % 16];
  return id;
}

}  // namespace

// The runner's side of a running job: what the kind calls, under the runner's lock.
class JobRunner::Context : public JobContext {
 public:
  Context(JobRunner& runner, const JobRecord& record, std::shared_ptr<CancelSignal> cancel,
          bool resumed)
      : runner_(runner),
        id_(record.id),
        params_(record.params),
        plan_(record.plan),
        dir_(runner.JobDir(record.id)),
        cancel_(std::move(cancel)),
        checkpoint_(record.checkpoint),
        resumed_(resumed) {}

  const std::string& id() const override { return id_; }
  const Json& params() const override { return params_; }
  const JobPlan& plan() const override { return plan_; }
  const std::string& dir() const override { return dir_; }
  const std::shared_ptr<CancelSignal>& cancel() const override { return cancel_; }
  const Json& checkpoint() const override { return checkpoint_; }
  bool resumed() const override { return resumed_; }

  void Progress(int64_t done, int64_t total, std::string message) override {
    MutexLock lock(runner_.mu_);
    Active* active = Find();
    if (active == nullptr) return;
    JobProgress& p = active->record.progress;
    p.done = done;
    p.total = total;
    p.message = std::move(message);
    const int64_t now = runner_.Now();
    if (now - active->last_progress_save_ms < kProgressEveryMs && done != total) return;
    active->last_progress_save_ms = now;
    runner_.SaveWithEvent(*active, "progress", ToJson(p));
  }

  void Note(std::string message) override {
    MutexLock lock(runner_.mu_);
    Active* active = Find();
    if (active == nullptr) return;
    active->record.diagnostics.push_back(message);
    runner_.SaveWithEvent(*active, "log", {{"message", message}});
  }

  Status AddArtifact(Artifact artifact) override {
    std::error_code ec;
    if (artifact.bytes == 0) artifact.bytes = static_cast<int64_t>(fs::file_size(artifact.path, ec));
    if (ec) return NotFoundError("artifact " + artifact.path + ": " + ec.message());
    if (artifact.sha256.empty()) {
      MODELRT_ASSIGN_OR_RETURN(artifact.sha256, Sha256File(artifact.path));
    }
    MutexLock lock(runner_.mu_);
    Active* active = Find();
    if (active == nullptr) return OkStatus();
    if (artifact.id.empty()) artifact.id = "artifact-" + std::to_string(active->record.artifacts.size() + 1);
    Json data = {{"artifact", ToJson(artifact)}};
    std::erase_if(active->record.artifacts, [&](const Artifact& a) { return a.id == artifact.id; });
    active->record.artifacts.push_back(std::move(artifact));
    runner_.SaveWithEvent(*active, "artifact", std::move(data));
    return OkStatus();
  }

  void SetOutput(const Json& fields) override {
    MutexLock lock(runner_.mu_);
    Active* active = Find();
    if (active == nullptr || !fields.is_object()) return;
    for (const auto& [key, value] : fields.items()) active->record.output[key] = value;
    // Stored with the job's next save (a checkpoint, progress, its end): readers see the live
    // copy meanwhile, and a crash before then re-runs the step that set it.
  }

  Json output() const override {
    MutexLock lock(runner_.mu_);
    const Active* active = Find();
    return active == nullptr ? Json::object() : active->record.output;
  }

  Status SaveCheckpoint(Json checkpoint) override {
    MutexLock lock(runner_.mu_);
    Active* active = Find();
    if (active == nullptr) return OkStatus();
    active->record.checkpoint = checkpoint;
    checkpoint_ = std::move(checkpoint);
    return runner_.store_->Save(active->record);
  }

 private:
  Active* Find() const REQUIRES(runner_.mu_) {
    auto it = runner_.active_.find(id_);
    return it == runner_.active_.end() ? nullptr : &it->second;
  }

  JobRunner& runner_;
  const std::string id_;
  const Json params_;
  const JobPlan plan_;
  const std::string dir_;
  const std::shared_ptr<CancelSignal> cancel_;
  Json checkpoint_;
  const bool resumed_;
};

JobRunner::JobRunner(Options options, std::unique_ptr<SqliteJobStore> store,
                     std::vector<std::unique_ptr<JobKind>> kinds)
    : options_(std::move(options)), store_(std::move(store)), kinds_(std::move(kinds)) {}

Result<std::unique_ptr<JobRunner>> JobRunner::Open(Options options,
                                                   std::vector<std::unique_ptr<JobKind>> kinds) {
  if (options.dir.empty()) return InvalidArgumentError("jobs: no directory");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return UnavailableError("jobs: cannot create " + options.dir + ": " + ec.message());
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<SqliteJobStore> store,
                           SqliteJobStore::Open(options.dir + "/jobs.db"));
  std::unique_ptr<JobRunner> runner(
      new JobRunner(std::move(options), std::move(store), std::move(kinds)));
  MODELRT_RETURN_IF_ERROR(runner->Recover());
  return runner;
}

void JobRunner::Start() {
  MutexLock lock(mu_);
  if (stopping_ || !workers_.empty()) return;
  const int workers = std::max(1, options_.workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

JobRunner::~JobRunner() { Shutdown(); }

int64_t JobRunner::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

JobKind* JobRunner::FindKind(std::string_view name) const {
  for (const auto& kind : kinds_) {
    if (kind->name() == name) return kind.get();
  }
  return nullptr;
}

Status JobRunner::Recover() {
  MODELRT_ASSIGN_OR_RETURN(std::vector<JobRecord> left, store_->Unfinished());
  MutexLock lock(mu_);
  for (JobRecord& record : left) {
    Active active;
    MODELRT_ASSIGN_OR_RETURN(active.last_seq, store_->LastEventSeq(record.id));
    const bool was_running = record.state == JobState::kRunning;
    const std::string id = record.id;
    active.record = std::move(record);
    auto [it, inserted] = active_.emplace(id, std::move(active));
    Active& a = it->second;
    if (!was_running) {
      queue_.push_back(id);
      continue;
    }
    if (a.record.plan.resumable && !a.record.cancel_requested) {
      a.record.state = JobState::kQueued;
      a.record.diagnostics.push_back("the server stopped while the job ran; it resumes");
      SaveWithEvent(a, "state", {{"state", "queued"}, {"reason", "resumed after a restart"}});
      queue_.push_back(id);
      continue;
    }
    a.record.state = a.record.cancel_requested ? JobState::kCancelled : JobState::kFailed;
    a.record.error = a.record.cancel_requested
                         ? "cancelled"
                         : "interrupted: the server stopped while the job ran, and " +
                               a.record.kind + " jobs do not resume (submit it again)";
    a.record.finished_ms = Now();
    SaveWithEvent(a, "state", {{"state", ToString(a.record.state)}, {"error", a.record.error}});
    active_.erase(it);
  }
  Prune();
  return OkStatus();
}

Result<JobPlan> JobRunner::Plan(const JobSubmission& submission) const {
  JobKind* kind = FindKind(submission.kind);
  if (kind == nullptr) {
    std::string known;
    for (const auto& k : kinds_) known += (known.empty() ? "" : ", ") + std::string(k->name());
    return InvalidArgumentError("unknown job kind '" + submission.kind + "' (known: " + known + ")");
  }
  if (!submission.params.is_object()) return InvalidArgumentError("params must be an object");
  MODELRT_ASSIGN_OR_RETURN(JobPlan plan, kind->Plan(submission.params));
  plan.kind = std::string(kind->name());
  return plan;
}

Result<JobRecord> JobRunner::Submit(JobSubmission submission) {
  MODELRT_ASSIGN_OR_RETURN(JobPlan plan, Plan(submission));
  Active active;
  JobRecord& r = active.record;
  r.id = NewJobId();
  r.kind = submission.kind;
  r.params = std::move(submission.params);
  r.metadata = submission.metadata.is_object() ? std::move(submission.metadata) : Json::object();
  r.progress.unit = plan.progress_unit;
  r.plan = std::move(plan);
  r.created_ms = Now();
  MutexLock lock(mu_);
  if (stopping_) return UnavailableError("the job runner is shutting down");
  MODELRT_RETURN_IF_ERROR(store_->Save(r));
  const std::string id = r.id;
  auto [it, inserted] = active_.emplace(id, std::move(active));
  SaveWithEvent(it->second, "state", {{"state", "queued"}});
  queue_.push_back(id);
  work_cv_.notify_one();
  return it->second.record;
}

Result<JobRecord> JobRunner::Get(const std::string& id) const {
  {
    MutexLock lock(mu_);
    if (auto it = active_.find(id); it != active_.end()) return it->second.record;
  }
  MODELRT_ASSIGN_OR_RETURN(std::optional<JobRecord> job, store_->Load(id));
  if (!job) return NotFoundError("no job '" + id + "'");
  return *std::move(job);
}

Result<std::vector<JobRecord>> JobRunner::List(const JobFilter& filter) const {
  MODELRT_ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, store_->List(filter));
  MutexLock lock(mu_);
  // The live copies carry the latest progress (the stored one lags by up to kProgressEveryMs).
  for (JobRecord& job : jobs) {
    if (auto it = active_.find(job.id); it != active_.end()) job = it->second.record;
  }
  return jobs;
}

Result<JobRecord> JobRunner::Cancel(const std::string& id) {
  std::shared_ptr<CancelSignal> signal;
  JobRecord result;
  {
    MutexLock lock(mu_);
    auto it = active_.find(id);
    if (it == active_.end()) {
      lock.Unlock();
      return Get(id);  // finished (unchanged) or unknown (NotFound)
    }
    Active& a = it->second;
    if (a.record.state == JobState::kQueued) {
      a.record.cancel_requested = true;
      std::erase(queue_, id);
      a.record.state = JobState::kCancelled;
      a.record.error = "cancelled before it started";
      a.record.finished_ms = Now();
      SaveWithEvent(a, "state", {{"state", "cancelled"}});
      result = a.record;
      active_.erase(it);
      events_cv_.notify_all();
      return result;
    }
    if (!a.record.plan.cancellable) {
      return FailedPreconditionError(a.record.kind + " jobs cannot be cancelled once running");
    }
    a.record.cancel_requested = true;
    SaveWithEvent(a, "state", {{"state", "running"}, {"cancel_requested", true}});
    signal = a.cancel;
    result = a.record;
  }
  signal->Cancel();  // its callbacks (a download's, a process kill) run outside the lock
  return result;
}

Result<JobRunner::EventPage> JobRunner::Events(const std::string& id, int64_t after_seq,
                                               std::chrono::milliseconds wait) const {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  {
    MutexLock lock(mu_);
    auto it = active_.find(id);
    while (it != active_.end() && it->second.last_seq <= after_seq &&
           events_cv_.wait_until(lock.native(), deadline) != std::cv_status::timeout) {
      it = active_.find(id);
    }
  }
  MODELRT_ASSIGN_OR_RETURN(JobRecord job, Get(id));
  MODELRT_ASSIGN_OR_RETURN(std::vector<JobEvent> events, store_->Events(id, after_seq));
  EventPage page;
  page.events = std::move(events);
  // Finished and nothing more stored past these: the stream may end.
  page.finished = IsFinished(job.state);
  if (page.finished) {
    MODELRT_ASSIGN_OR_RETURN(int64_t last, store_->LastEventSeq(id));
    if (!page.events.empty() && page.events.back().seq < last) page.finished = false;
  }
  return page;
}

Result<JobRecord> JobRunner::Wait(const std::string& id, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(mu_);
  while (active_.contains(id) &&
         events_cv_.wait_until(lock.native(), deadline) != std::cv_status::timeout) {
  }
  lock.Unlock();
  return Get(id);
}

void JobRunner::Shutdown() {
  std::vector<std::shared_ptr<CancelSignal>> running;
  {
    MutexLock lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    for (auto& [id, a] : active_) {
      if (a.record.state == JobState::kRunning) running.push_back(a.cancel);
    }
    work_cv_.notify_all();
  }
  for (const auto& signal : running) signal->Cancel();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void JobRunner::SaveWithEvent(Active& active, std::string type, Json data) {
  if (Status s = store_->Save(active.record); !s.ok()) {
    Log("jobs")->warn("job {}: {}", active.record.id, s.message());
  }
  JobEvent event{++active.last_seq, Now(), std::move(type), std::move(data)};
  if (Status s = store_->AppendEvent(active.record.id, event); !s.ok()) {
    Log("jobs")->warn("job {}: {}", active.record.id, s.message());
  }
  events_cv_.notify_all();
}

void JobRunner::Prune() {
  const int64_t cutoff = Now() - options_.keep_days * 24 * 3600 * 1000;
  Result<std::vector<std::string>> dropped = store_->Prune(options_.keep_finished, cutoff);
  if (!dropped.ok()) {
    Log("jobs")->warn("pruning finished jobs: {}", dropped.error().message());
    return;
  }
  for (const std::string& id : *dropped) {
    std::error_code ec;
    fs::remove_all(JobDir(id), ec);
  }
}

void JobRunner::WorkerLoop() {
  while (true) {
    std::string id;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) work_cv_.wait(lock.native());
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
    }
    RunOne(id);
  }
}

void JobRunner::RunOne(const std::string& id) {
  std::unique_ptr<Context> context;
  JobKind* kind = nullptr;
  std::string kind_name;
  {
    MutexLock lock(mu_);
    auto it = active_.find(id);
    if (it == active_.end()) return;
    Active& a = it->second;
    kind = FindKind(a.record.kind);
    kind_name = a.record.kind;
    const bool resumed = a.record.attempts > 0;
    a.record.state = JobState::kRunning;
    if (a.record.started_ms == 0) a.record.started_ms = Now();
    ++a.record.attempts;
    if (kind != nullptr) context = std::make_unique<Context>(*this, a.record, a.cancel, resumed);
    SaveWithEvent(a, "state", {{"state", "running"}, {"attempt", a.record.attempts}});
  }
  Status status = kind == nullptr
                      ? FailedPreconditionError("this server has no job kind '" + kind_name + "'")
                      : OkStatus();
  if (kind != nullptr) {
    std::error_code ec;
    fs::create_directories(JobDir(id), ec);
    if (ec) {
      status = UnavailableError("cannot create " + JobDir(id) + ": " + ec.message());
    } else {
      try {
        status = kind->Run(*context);
      } catch (const std::exception& e) {
        status = InternalError(std::string("the job threw: ") + e.what());
      }
    }
  }
  MutexLock lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Active& a = it->second;
  if (stopping_ && a.record.plan.resumable && !a.record.cancel_requested && !status.ok()) {
    // Stopped by the shutdown, not by its own failure: it continues at the next start.
    a.record.state = JobState::kQueued;
    SaveWithEvent(a, "state", {{"state", "queued"}, {"reason", "the server is stopping"}});
    return;
  }
  if (status.ok()) {
    a.record.state = JobState::kSucceeded;
  } else if (a.record.cancel_requested) {
    a.record.state = JobState::kCancelled;
    a.record.error = "cancelled";
  } else {
    a.record.state = JobState::kFailed;
    a.record.error = stopping_ ? "interrupted: the server stopped while the job ran (" +
                                     status.message() + ")"
                               : status.message();
  }
  a.record.finished_ms = Now();
  Json data = {{"state", ToString(a.record.state)}};
  if (!a.record.error.empty()) data["error"] = a.record.error;
  // The final progress, whatever the throttle held back.
  SaveWithEvent(a, "progress", ToJson(a.record.progress));
  SaveWithEvent(a, "state", std::move(data));
  Log("jobs")->info("job {} ({}) {}{}{}", id, a.record.kind, ToString(a.record.state),
                    a.record.error.empty() ? "" : ": ", a.record.error);
  active_.erase(it);
  Prune();
}

}  // namespace modelrt::jobs
