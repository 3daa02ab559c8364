// The job runner over its real SQLite store: plans without side effects, states and events,
// cancel, artifacts, restart recovery (resumable jobs continue from their checkpoint, the others
// fail with the reason) and pruning by count and age. The kind here, StepKind, is a small real
// kind written for these tests: it takes `steps` steps of `step_ms`, checkpointing after each.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "jobs/job_runner.h"
#include "jobs/sqlite_job_store.h"
#include "support/llama_test_models.h"

namespace modelrt::jobs {
namespace {

// Cancels stop work within a second; the bound leaves room for a loaded 2-core CI machine.
constexpr std::chrono::seconds kCancelBound{3};

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::atomic<int> g_steps_run{0};

class StepKind : public JobKind {
 public:
  std::string_view name() const override { return "test-steps"; }
  Result<JobPlan> Plan(const Json& params) const override {
    if (!params.value("steps", Json(1)).is_number_integer()) {
      return InvalidArgumentError("params.steps must be an integer");
    }
    JobPlan plan;
    plan.side_effects = {"writes_files"};
    plan.progress_unit = "steps";
    plan.resumable = params.value("resumable", false);
    plan.artifacts = {{"output", "text/plain", "the steps taken"}};
    return plan;
  }
  Status Run(JobContext& job) override {
    const int steps = job.params().value("steps", 1);
    const int step_ms = job.params().value("step_ms", 0);
    int from = job.checkpoint().is_object() ? job.checkpoint().value("step", 0) : 0;
    for (int i = from; i < steps; ++i) {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(step_ms);
      while (std::chrono::steady_clock::now() < until) {
        if (job.cancelled()) return CancelledError("stopped");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      ++g_steps_run;
      job.Progress(i + 1, steps, "step " + std::to_string(i + 1));
      MODELRT_RETURN_IF_ERROR(job.SaveCheckpoint({{"step", i + 1}}));
    }
    if (job.params().value("fail", false)) return FailedPreconditionError("asked to fail");
    const std::string path = job.dir() + "/out.txt";
    std::ofstream(path) << "took " << steps << " steps\n";
    MODELRT_RETURN_IF_ERROR(
        job.AddArtifact({.id = "out", .kind = "output", .media_type = "text/plain", .path = path}));
    job.SetOutput({{"steps", steps}, {"resumed", job.resumed()}});
    return OkStatus();
  }
};

std::vector<std::unique_ptr<JobKind>> Kinds() {
  std::vector<std::unique_ptr<JobKind>> kinds;
  kinds.push_back(std::make_unique<StepKind>());
  return kinds;
}

std::string FreshDir(const std::string& name) {
  std::string dir = testing::TestTempDir() + "/jobs-" + name;
  fs::remove_all(dir);
  return dir;
}

std::unique_ptr<JobRunner> OpenRunner(const std::string& dir, JobRunner::Options options = {}) {
  options.dir = dir;
  Result<std::unique_ptr<JobRunner>> runner = JobRunner::Open(options, Kinds());
  EXPECT_TRUE(runner.ok()) << runner.error().ToString();
  (*runner)->Start();
  return *std::move(runner);
}

TEST(JobRunnerTest, PlanHasNoSideEffectsAndBadInputIsRefused) {
  auto runner = OpenRunner(FreshDir("plan"));
  Result<JobPlan> plan = runner->Plan({.kind = "test-steps", .params = {{"steps", 3}}});
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_EQ(plan->kind, "test-steps");
  EXPECT_EQ(plan->progress_unit, "steps");
  EXPECT_THAT(plan->side_effects, ElementsAre("writes_files"));
  Result<std::vector<JobRecord>> jobs = runner->List({});
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE(jobs->empty());

  Result<JobRecord> unknown = runner->Submit({.kind = "no-such-kind"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.error().message(), HasSubstr("known: test-steps"));
  Result<JobRecord> bad = runner->Submit({.kind = "test-steps", .params = {{"steps", "x"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("params.steps"));
}

TEST(JobRunnerTest, RunsToSuccessWithEventsArtifactsAndMetadata) {
  const std::string dir = FreshDir("success");
  auto runner = OpenRunner(dir);
  Result<JobRecord> job = runner->Submit(
      {.kind = "test-steps", .params = {{"steps", 3}}, .metadata = {{"ticket", "T-1"}}});
  ASSERT_TRUE(job.ok()) << job.error().ToString();
  EXPECT_EQ(job->state, JobState::kQueued);
  Result<JobRecord> done = runner->Wait(job->id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, JobState::kSucceeded) << done->error;
  EXPECT_EQ(done->metadata["ticket"], "T-1");
  EXPECT_EQ(done->output["steps"], 3);
  EXPECT_EQ(done->progress.done, 3);
  EXPECT_EQ(done->progress.total, 3);
  ASSERT_EQ(done->artifacts.size(), 1u);
  EXPECT_EQ(done->artifacts[0].bytes, 13);  // "took 3 steps\n"
  EXPECT_EQ(done->artifacts[0].sha256.size(), 64u);
  EXPECT_EQ(done->artifacts[0].path, runner->JobDir(job->id) + "/out.txt");

  Result<JobRunner::EventPage> page = runner->Events(job->id, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->finished);
  std::vector<std::string> states;
  for (const JobEvent& e : page->events) {
    if (e.type == "state") states.push_back(e.data["state"]);
  }
  EXPECT_THAT(states, ElementsAre("queued", "running", "succeeded"));
  for (size_t i = 0; i < page->events.size(); ++i) EXPECT_EQ(page->events[i].seq, int64_t(i + 1));

  // Everything is in the store: a new runner over the same directory sees the same job.
  runner.reset();
  auto reopened = OpenRunner(dir);
  Result<JobRecord> again = reopened->Get(job->id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, JobState::kSucceeded);
  EXPECT_EQ(again->artifacts.size(), 1u);
  EXPECT_EQ(again->metadata["ticket"], "T-1");
}

TEST(JobRunnerTest, FailureKeepsTheReason) {
  auto runner = OpenRunner(FreshDir("fail"));
  Result<JobRecord> job = runner->Submit({.kind = "test-steps", .params = {{"fail", true}}});
  ASSERT_TRUE(job.ok());
  Result<JobRecord> done = runner->Wait(job->id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, JobState::kFailed);
  EXPECT_EQ(done->error, "asked to fail");
}

TEST(JobRunnerTest, CancelStopsQueuedAndRunningJobsWithinASecond) {
  auto runner = OpenRunner(FreshDir("cancel"), {.workers = 1});
  Result<JobRecord> running =
      runner->Submit({.kind = "test-steps", .params = {{"steps", 1000}, {"step_ms", 50}}});
  Result<JobRecord> queued = runner->Submit({.kind = "test-steps", .params = {{"steps", 1}}});
  ASSERT_TRUE(running.ok() && queued.ok());
  while (runner->Get(running->id)->state != JobState::kRunning) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Result<JobRecord> q = runner->Cancel(queued->id);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->state, JobState::kCancelled);

  const auto asked = std::chrono::steady_clock::now();
  Result<JobRecord> r = runner->Cancel(running->id);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancel_requested);
  Result<JobRecord> done = runner->Wait(running->id, std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - asked, kCancelBound);
  EXPECT_EQ(done->state, JobState::kCancelled);
  // Cancelling a finished job changes nothing; an unknown one is NotFound.
  EXPECT_EQ(runner->Cancel(running->id)->state, JobState::kCancelled);
  EXPECT_EQ(runner->Cancel("job_nope").error().code(), StatusCode::kNotFound);
}

// What a crash (kill -9) leaves in the store: jobs marked running. A resumable one continues
// from its checkpoint; another is failed with the reason. Nothing runs twice unannounced.
TEST(JobRunnerTest, RestartResumesResumableJobsAndFailsTheRest) {
  const std::string dir = FreshDir("restart");
  fs::create_directories(dir);
  {
    Result<std::unique_ptr<SqliteJobStore>> store = SqliteJobStore::Open(dir + "/jobs.db");
    ASSERT_TRUE(store.ok());
    JobRecord resumable;
    resumable.id = "job_resumable";
    resumable.kind = "test-steps";
    resumable.state = JobState::kRunning;
    resumable.params = {{"steps", 5}, {"resumable", true}};
    resumable.plan.resumable = true;
    resumable.checkpoint = {{"step", 3}};
    resumable.attempts = 1;
    resumable.created_ms = 1;
    ASSERT_TRUE((*store)->Save(resumable).ok());
    JobRecord plain = resumable;
    plain.id = "job_plain";
    plain.params = {{"steps", 5}};
    plain.plan.resumable = false;
    plain.created_ms = 2;
    ASSERT_TRUE((*store)->Save(plain).ok());
  }
  g_steps_run = 0;
  auto runner = OpenRunner(dir);
  Result<JobRecord> plain = runner->Get("job_plain");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->state, JobState::kFailed);
  EXPECT_THAT(plain->error, HasSubstr("the server stopped while the job ran"));
  Result<JobRecord> resumed = runner->Wait("job_resumable", std::chrono::seconds(30));
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state, JobState::kSucceeded) << resumed->error;
  EXPECT_EQ(resumed->output["resumed"], true);
  EXPECT_EQ(resumed->attempts, 2);
  EXPECT_EQ(g_steps_run.load(), 2);  // steps 4 and 5 only
  EXPECT_THAT(resumed->diagnostics, ::testing::Contains(HasSubstr("resumes")));
}

TEST(JobRunnerTest, ShutdownPutsResumableRunningJobsBackInTheQueue) {
  const std::string dir = FreshDir("shutdown");
  std::string id;
  {
    auto runner = OpenRunner(dir);
    Result<JobRecord> job = runner->Submit(
        {.kind = "test-steps", .params = {{"steps", 1000}, {"step_ms", 20}, {"resumable", true}}});
    ASSERT_TRUE(job.ok());
    id = job->id;
    while (runner->Get(id)->progress.done < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    runner->Shutdown();
    EXPECT_EQ(runner->Get(id)->state, JobState::kQueued);
  }
  Result<std::unique_ptr<SqliteJobStore>> store = SqliteJobStore::Open(dir + "/jobs.db");
  Result<std::optional<JobRecord>> kept = (*store)->Load(id);
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->state, JobState::kQueued);
  EXPECT_GE((*kept)->checkpoint.value("step", 0), 2);
}

TEST(JobRunnerTest, FinishedJobsArePrunedByCountAndAge) {
  const std::string dir = FreshDir("prune");
  std::atomic<int64_t> now{10LL * 24 * 3600 * 1000};
  JobRunner::Options options{.workers = 1, .keep_finished = 3, .keep_days = 1};
  options.now_ms = [&] { return now.load(); };
  auto runner = OpenRunner(dir, options);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    Result<JobRecord> job = runner->Submit({.kind = "test-steps"});
    ASSERT_TRUE(job.ok());
    runner->Wait(job->id, std::chrono::seconds(30));
    ids.push_back(job->id);
    now += 1000;
  }
  EXPECT_EQ(runner->List({})->size(), 3u);
  EXPECT_EQ(runner->Get(ids[0]).error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(runner->JobDir(ids[0])));
  EXPECT_TRUE(runner->Get(ids[4]).ok());
  // Two days later every one of them is past keep_days: the next finish drops them all.
  now += 2LL * 24 * 3600 * 1000;
  Result<JobRecord> last = runner->Submit({.kind = "test-steps"});
  runner->Wait(last->id, std::chrono::seconds(30));
  Result<std::vector<JobRecord>> left = runner->List({});
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().id, last->id);
}

}  // namespace
}  // namespace modelrt::jobs
