#include "jobs/job_runner.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "core/logging.h"
#include "core/postgres_url.h"
#include "core/sha256.h"
#include "jobs/pg_job_store.h"
#include "jobs/sqlite_job_store.h"

namespace modelrt::jobs {

namespace fs = std::filesystem;

namespace {

// Progress is stored and sent at most this often (the last one of a job always is).
constexpr int64_t kProgressEveryMs = 250;

// How often a runner looks in a shared store for an event of a job another runner holds.
constexpr auto kSharedPoll = std::chrono::milliseconds(100);

std::string RandomHex(int digits) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < digits; ++i) hex += kHex[rng() % 16];
  return hex;
}

std::string NewJobId() { return "job_" + RandomHex(24); }

// This runner in a shared store's leases: which machine and process holds a job, for people.
std::string RunnerName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + RandomHex(6);
}

Status NotCancellable(const JobRecord& job) {
  return FailedPreconditionError(job.kind + " jobs cannot be cancelled once running");
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
    // A job whose lease went elsewhere is no longer this runner's to record.
    auto it = runner_.active_.find(id_);
    return it == runner_.active_.end() || it->second.lost ? nullptr : &it->second;
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

JobRunner::JobRunner(Options options, std::unique_ptr<JobStore> store,
                     std::vector<std::unique_ptr<JobKind>> kinds)
    : options_(std::move(options)), store_(std::move(store)), kinds_(std::move(kinds)) {}

Result<std::unique_ptr<JobRunner>> JobRunner::Open(Options options,
                                                   std::vector<std::unique_ptr<JobKind>> kinds) {
  if (options.dir.empty()) return InvalidArgumentError("jobs: no directory");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return UnavailableError("jobs: cannot create " + options.dir + ": " + ec.message());
  std::unique_ptr<JobStore> store;
  const std::string name = RunnerName();
  if (options.store_url.empty()) {
    MODELRT_ASSIGN_OR_RETURN(store, SqliteJobStore::Open(options.dir + "/jobs.db"));
  } else {
    MODELRT_ASSIGN_OR_RETURN(store,
                             PgJobStore::Open(options.store_url, name, options.lease_ms));
    Log("jobs")->info("jobs shared on {} (lease {} ms)", RedactUrl(options.store_url),
                      options.lease_ms);
  }
  std::unique_ptr<JobRunner> runner(
      new JobRunner(std::move(options), std::move(store), std::move(kinds)));
  runner->name_ = name;
  MODELRT_RETURN_IF_ERROR(runner->Recover());
  return runner;
}

void JobRunner::Start() {
  MutexLock lock(mu_);
  if (stopping_ || !workers_.empty()) return;
  const int workers = std::max(1, options_.workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  if (store_->shared()) renewer_ = std::thread([this] { RenewLoop(); });
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

bool JobRunner::ResumeOrEnd(Active& a, const std::string& who_stopped) {
  if (a.record.plan.resumable && !a.record.cancel_requested) {
    a.record.diagnostics.push_back(who_stopped + " while the job ran; it resumes");
    return true;
  }
  a.record.state = a.record.cancel_requested ? JobState::kCancelled : JobState::kFailed;
  a.record.error = a.record.cancel_requested
                       ? "cancelled"
                       : "interrupted: " + who_stopped + " while the job ran, and " +
                             a.record.kind + " jobs do not resume (submit it again)";
  a.record.finished_ms = Now();
  SaveWithEvent(a, "state", {{"state", ToString(a.record.state)}, {"error", a.record.error}});
  return false;
}

Status JobRunner::Recover() {
  if (store_->shared()) {
    // Nothing here is this runner's yet: what a previous process held, a claim takes over
    // once its lease runs out.
    MutexLock lock(mu_);
    Prune();
    return OkStatus();
  }
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
    if (ResumeOrEnd(a, "the server stopped")) {
      a.record.state = JobState::kQueued;
      SaveWithEvent(a, "state", {{"state", "queued"}, {"reason", "resumed after a restart"}});
      queue_.push_back(id);
      continue;
    }
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
  if (store_->shared()) {
    // Its event first, then the one write that makes it claimable: from then on a worker (ours
    // too) may hold the row, and a second save of it as queued here would let the claim go.
    const JobEvent queued{1, Now(), "state", {{"state", "queued"}}};
    MODELRT_RETURN_IF_ERROR(store_->AppendEvent(r.id, queued));
    MODELRT_RETURN_IF_ERROR(store_->Save(r));
    work_cv_.notify_one();
    return r;
  }
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
      if (store_->shared()) return CancelElsewhere(id);
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
    if (!a.record.plan.cancellable) return NotCancellable(a.record);
    a.record.cancel_requested = true;
    SaveWithEvent(a, "state", {{"state", "running"}, {"cancel_requested", true}});
    signal = a.cancel;
    result = a.record;
  }
  signal->Cancel();  // its callbacks (a download's, a process kill) run outside the lock
  return result;
}

Result<JobRecord> JobRunner::CancelElsewhere(const std::string& id) {
  MODELRT_ASSIGN_OR_RETURN(JobRecord job, Get(id));
  if (job.state == JobState::kRunning && !job.plan.cancellable) return NotCancellable(job);
  MODELRT_ASSIGN_OR_RETURN(std::optional<JobRecord> after, store_->RequestCancel(id, Now()));
  if (!after) return NotFoundError("no job '" + id + "'");
  MutexLock lock(mu_);
  events_cv_.notify_all();
  return *std::move(after);
}

Result<JobRunner::EventPage> JobRunner::Events(const std::string& id, int64_t after_seq,
                                               std::chrono::milliseconds wait) const {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    {
      MutexLock lock(mu_);
      auto it = active_.find(id);
      while (it != active_.end() && it->second.last_seq <= after_seq &&
             events_cv_.wait_until(lock.native(), deadline) != std::cv_status::timeout) {
        it = active_.find(id);
      }
      if (it != active_.end() || !store_->shared()) break;
    }
    // Not running here: with a shared store another runner may be appending its events.
    MODELRT_ASSIGN_OR_RETURN(int64_t last, store_->LastEventSeq(id));
    MODELRT_ASSIGN_OR_RETURN(JobRecord job, Get(id));
    const auto now = std::chrono::steady_clock::now();
    if (last > after_seq || IsFinished(job.state) || now >= deadline) break;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(kSharedPoll, deadline - now));
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
  while (true) {
    {
      MutexLock lock(mu_);
      while (active_.contains(id) &&
             events_cv_.wait_until(lock.native(), deadline) != std::cv_status::timeout) {
      }
    }
    MODELRT_ASSIGN_OR_RETURN(JobRecord job, Get(id));
    const auto now = std::chrono::steady_clock::now();
    // With a shared store the job may run elsewhere: its state is in the store.
    if (!store_->shared() || IsFinished(job.state) || now >= deadline) return job;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(kSharedPoll, deadline - now));
  }
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
  {
    // The leases are held until the last job here has been saved as it ended (or queued).
    MutexLock lock(mu_);
    renewing_ = false;
    renew_cv_.notify_all();
  }
  if (renewer_.joinable()) renewer_.join();
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
  const bool shared = store_->shared();
  while (true) {
    std::string id;
    {
      MutexLock lock(mu_);
      while (!shared && !stopping_ && queue_.empty()) work_cv_.wait(lock.native());
      if (stopping_) return;
      if (!shared) {
        id = queue_.front();
        queue_.pop_front();
      }
    }
    if (shared) {
      Claimed claimed = ClaimNext(&id);
      if (claimed == Claimed::kEnded) continue;
      if (claimed == Claimed::kNothing) {
        MutexLock lock(mu_);
        if (!stopping_) {
          work_cv_.wait_for(lock.native(), std::chrono::milliseconds(options_.poll_ms));
        }
        continue;
      }
    }
    RunOne(id);
  }
}

JobRunner::Claimed JobRunner::ClaimNext(std::string* id) {
  Result<std::optional<JobStore::Claimed>> next = store_->Claim(options_.lease_ms);
  if (!next.ok()) {
    // Each worker retries every poll while the database is away: said once a minute.
    static thread_local int64_t last_said_ms = 0;
    if (Now() - last_said_ms >= 60'000) {
      last_said_ms = Now();
      Log("jobs")->warn("claiming a job: {}", next.error().message());
    }
    return Claimed::kNothing;
  }
  if (!next->has_value()) return Claimed::kNothing;
  JobStore::Claimed& claimed = **next;
  Active active;
  active.record = std::move(claimed.record);
  active.record.cancel_requested = active.record.cancel_requested || claimed.cancel_requested;
  Result<int64_t> last_seq = store_->LastEventSeq(active.record.id);
  active.last_seq = last_seq.ok() ? *last_seq : 0;
  const std::string job_id = active.record.id;
  MutexLock lock(mu_);
  auto [it, inserted] = active_.emplace(job_id, std::move(active));
  Active& a = it->second;
  if (stopping_ && !claimed.taken_over) {
    // Claimed as this runner stops: saved as queued, it is free for the others again.
    a.record.state = JobState::kQueued;
    if (Status s = store_->Save(a.record); !s.ok()) Log("jobs")->warn("job {}: {}", job_id, s.message());
    active_.erase(it);
    return Claimed::kEnded;
  }
  if (stopping_) {
    active_.erase(it);  // left to its lease, as its last runner left it
    return Claimed::kEnded;
  }
  if (claimed.taken_over) {
    Log("jobs")->info("job {} ({}): taken over, its runner stopped renewing the lease", job_id,
                      a.record.kind);
    if (!ResumeOrEnd(a, "the replica running it stopped renewing its lease")) {
      active_.erase(it);
      events_cv_.notify_all();
      return Claimed::kEnded;
    }
  } else if (a.record.cancel_requested) {
    a.record.state = JobState::kCancelled;
    a.record.error = "cancelled before it started";
    a.record.finished_ms = Now();
    SaveWithEvent(a, "state", {{"state", "cancelled"}});
    active_.erase(it);
    return Claimed::kEnded;
  }
  a.record.runner = name_;
  *id = job_id;
  return Claimed::kRun;
}

void JobRunner::RenewLoop() {
  const auto every = std::chrono::milliseconds(std::max<int64_t>(50, options_.lease_ms / 3));
  MutexLock lock(mu_);
  while (renewing_) {
    renew_cv_.wait_for(lock.native(), every);
    if (!renewing_) break;
    std::vector<std::string> ids;
    for (const auto& [id, a] : active_) {
      if (a.record.state == JobState::kRunning && !a.lost) ids.push_back(id);
    }
    lock.Unlock();
    std::vector<std::pair<std::string, JobStore::Lease>> leases;
    for (const std::string& id : ids) {
      Result<JobStore::Lease> lease = store_->Renew(id, options_.lease_ms);
      if (lease.ok()) {
        leases.emplace_back(id, *lease);
      } else {
        // The database is away: the job runs on, and is lost to a claim only if this lasts.
        Log("jobs")->warn("job {}: renewing its lease: {}", id, lease.error().message());
      }
    }
    std::vector<std::shared_ptr<CancelSignal>> stop;
    lock.Lock();
    for (const auto& [id, lease] : leases) {
      auto it = active_.find(id);
      if (it == active_.end()) continue;
      Active& a = it->second;
      if (!lease.held) {
        Log("jobs")->warn("job {}: its lease went to another runner; stopping it here", id);
        a.lost = true;
        stop.push_back(a.cancel);
      } else if (lease.cancel_requested && !a.record.cancel_requested &&
                 a.record.plan.cancellable) {
        a.record.cancel_requested = true;
        SaveWithEvent(a, "state", {{"state", "running"}, {"cancel_requested", true}});
        stop.push_back(a.cancel);
      }
    }
    if (stop.empty()) continue;
    lock.Unlock();
    for (const auto& signal : stop) signal->Cancel();
    lock.Lock();
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
  if (a.lost) {
    // Its new runner carries on (or has finished it): this one's ending is not the job's.
    active_.erase(it);
    events_cv_.notify_all();
    return;
  }
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
