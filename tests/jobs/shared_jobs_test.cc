// Job runners sharing one queue on a real PostgreSQL server (tests/support/postgres_server.sh),
// as replicas do: 300 jobs submitted through three runners each run exactly once; a runner that
// is killed (-9, a real forked process) mid-job loses its lease and another runner resumes the
// job from its checkpoint; a cancel asked of one runner stops the job another runs; any runner
// answers for any job (state, events, wait). The kinds are small real ones written for these
// tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/postgres.h"
#include "jobs/job_runner.h"
#include "support/llama_test_models.h"
#include "support/postgres_server.h"

namespace modelrt::jobs {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr int64_t kLeaseMs = 1000;
constexpr auto kBound = std::chrono::seconds(60);  // for a whole phase on a loaded CI machine

// Which runner ran which job, how many times.
struct Ledger {
  std::mutex mu;
  std::map<std::string, std::vector<int>> runs;
};

// Records the run in the ledger; a job of `step_ms` steps checkpoints after each (resumable and
// cancellable), so a runner taking it over continues where the last checkpoint was.
class LedgerKind : public JobKind {
 public:
  LedgerKind(Ledger* ledger, int runner) : ledger_(ledger), runner_(runner) {}
  std::string_view name() const override { return "test-ledger"; }
  Result<JobPlan> Plan(const Json& params) const override {
    JobPlan plan;
    plan.progress_unit = "steps";
    plan.resumable = params.value("resumable", true);
    return plan;
  }
  Status Run(JobContext& job) override {
    if (ledger_ != nullptr) {
      std::lock_guard<std::mutex> lock(ledger_->mu);
      ledger_->runs[job.id()].push_back(runner_);
    }
    const int steps = job.params().value("steps", 1);
    const int step_ms = job.params().value("step_ms", 1);
    const int from = job.checkpoint().is_object() ? job.checkpoint().value("step", 0) : 0;
    for (int i = from; i < steps; ++i) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(step_ms);
      while (std::chrono::steady_clock::now() < until) {
        if (job.cancelled()) return CancelledError("stopped");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      job.Progress(i + 1, steps);
      MODELRT_RETURN_IF_ERROR(job.SaveCheckpoint({{"step", i + 1}}));
    }
    job.SetOutput({{"from_step", from}, {"resumed", job.resumed()}, {"runner", runner_}});
    return OkStatus();
  }

 private:
  Ledger* ledger_;
  int runner_;
};

class SharedJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<modelrt::testing::PostgresServer>> pg =
        modelrt::testing::PostgresServer::Start();
    if (!pg.ok() && pg.error().code() == StatusCode::kNotFound) GTEST_SKIP() << pg.error().message();
    ASSERT_TRUE(pg.ok()) << pg.error().ToString();
    pg_ = std::move(pg).value();
    dir_ = modelrt::testing::TestTempDir() + "/shared-jobs-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
  }
  std::unique_ptr<JobRunner> Open(int runner, Ledger* ledger, int workers = 2, bool start = true) {
    std::vector<std::unique_ptr<JobKind>> kinds;
    kinds.push_back(std::make_unique<LedgerKind>(ledger, runner));
    Result<std::unique_ptr<JobRunner>> opened =
        JobRunner::Open({.dir = dir_, .workers = workers, .store_url = pg_->url(),
                         .lease_ms = kLeaseMs, .poll_ms = 50},
                        std::move(kinds));
    EXPECT_TRUE(opened.ok()) << opened.error().ToString();
    if (!opened.ok()) return nullptr;
    if (start) (*opened)->Start();
    return std::move(opened).value();
  }
  std::unique_ptr<modelrt::testing::PostgresServer> pg_;
  std::string dir_;
};

TEST_F(SharedJobsTest, ThreeRunnersRunThreeHundredJobsEachExactlyOnce) {
  Ledger ledger;
  std::vector<std::unique_ptr<JobRunner>> runners;
  for (int i = 0; i < 3; ++i) runners.push_back(Open(i, &ledger));
  ASSERT_TRUE(runners[0] && runners[1] && runners[2]);
  std::vector<std::string> ids;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    Result<JobRecord> job = runners[static_cast<size_t>(i % 3)]->Submit(
        {.kind = "test-ledger", .params = {{"steps", 2}, {"step_ms", 2}}});
    ASSERT_TRUE(job.ok()) << job.error().ToString();
    ids.push_back(job->id);
  }
  std::map<int, int> per_runner;
  for (size_t i = 0; i < ids.size(); ++i) {
    // Asked of a runner that may not be the one that ran it: the store answers.
    Result<JobRecord> done = runners[(i + 1) % 3]->Wait(ids[i], kBound);
    ASSERT_TRUE(done.ok()) << done.error().ToString();
    ASSERT_EQ(done->state, JobState::kSucceeded) << ids[i] << ": " << done->error;
    EXPECT_EQ(done->attempts, 1);
    ++per_runner[done->output.value("runner", -1)];
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::lock_guard<std::mutex> lock(ledger.mu);
  ASSERT_EQ(ledger.runs.size(), 300u);
  for (const auto& [id, runs] : ledger.runs) EXPECT_EQ(runs.size(), 1u) << id << " ran twice";
  std::printf("[ measured ] 300 jobs on 3 runners in %lld ms: %d / %d / %d\n",
              static_cast<long long>(took.count()), per_runner[0], per_runner[1], per_runner[2]);
  for (int r = 0; r < 3; ++r) EXPECT_GT(per_runner[r], 0) << "runner " << r << " ran none";
}

TEST_F(SharedJobsTest, ARunnerKilledMidJobLosesItAndAnotherResumesIt) {
  // The doomed runner is a real process of its own (forked before this process has threads or
  // connections), killed with SIGKILL: no shutdown, no release, only its lease running out.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto runner = Open(7, nullptr, 1);
    if (runner == nullptr) _exit(2);
    Result<JobRecord> job = runner->Submit(
        {.kind = "test-ledger", .params = {{"steps", 40}, {"step_ms", 50}}});
    if (!job.ok()) _exit(3);
    const std::string id = job->id + "\n";
    if (write(ready[1], id.data(), id.size()) < 0) _exit(4);
    pause();  // until killed
    _exit(0);
  }
  close(ready[1]);
  char buffer[128] = {};
  ASSERT_GT(read(ready[0], buffer, sizeof(buffer) - 1), 0);
  close(ready[0]);
  const std::string id = std::string(buffer).substr(0, std::string(buffer).find('\n'));

  Ledger ledger;
  auto observer = Open(1, &ledger, 1, /*start=*/false);  // reads; runs nothing yet
  ASSERT_NE(observer, nullptr);
  // Let the child get some steps in, then kill it.
  const auto deadline = std::chrono::steady_clock::now() + kBound;
  int64_t step_at_kill = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<JobRecord> job = observer->Get(id);
    ASSERT_TRUE(job.ok());
    if (job->checkpoint.is_object() && job->checkpoint.value("step", 0) >= 5) {
      step_at_kill = job->checkpoint.value("step", 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(step_at_kill, 5) << "the child runner never got going";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);

  auto rescuer = Open(2, &ledger, 1);
  ASSERT_NE(rescuer, nullptr);
  Result<JobRecord> done = rescuer->Wait(id, kBound);
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  ASSERT_EQ(done->state, JobState::kSucceeded) << done->error;
  EXPECT_EQ(done->attempts, 2);
  EXPECT_EQ(done->output["runner"], 2);
  EXPECT_EQ(done->output["resumed"], true);
  // It went on from a checkpoint the killed runner saved, not from the start.
  EXPECT_GE(done->output.value("from_step", 0), step_at_kill);
  EXPECT_THAT(done->diagnostics,
              ::testing::Contains(HasSubstr("stopped renewing its lease while the job ran")));
  std::printf("[ measured ] killed at step %lld; resumed from step %d\n",
              static_cast<long long>(step_at_kill), done->output.value("from_step", 0));
}

TEST_F(SharedJobsTest, AJobThatCannotResumeFailsWithTheReasonWhenTakenOver) {
  auto writer = Open(0, nullptr, 1, /*start=*/false);
  ASSERT_NE(writer, nullptr);
  Result<JobRecord> job = writer->Submit(
      {.kind = "test-ledger", .params = {{"resumable", false}, {"steps", 1}}});
  ASSERT_TRUE(job.ok());
  // A runner that died holding it: the fault is written as such into the row (a process that
  // claims and never renews), since a claim by a live runner would go on to run it.
  Result<std::unique_ptr<PgConnection>> pg = PgConnection::Connect(pg_->url());
  ASSERT_TRUE(pg.ok());
  JobRecord running = *job;
  running.state = JobState::kRunning;
  running.attempts = 1;
  ASSERT_TRUE((*pg)->Run("UPDATE modelrt_jobs SET state = 'running', owner = 'dead:1:x',"
                         " lease_until_ms = 0, doc = $2 WHERE id = $1",
                         {job->id, ToJson(running).dump()})
                  .ok());
  Ledger ledger;
  auto rescuer = Open(1, &ledger, 1);
  ASSERT_NE(rescuer, nullptr);
  Result<JobRecord> done = rescuer->Wait(job->id, kBound);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, JobState::kFailed);
  EXPECT_THAT(done->error, HasSubstr("do not resume (submit it again)"));
  std::lock_guard<std::mutex> lock(ledger.mu);
  EXPECT_TRUE(ledger.runs.empty()) << "it ran again";
}

TEST_F(SharedJobsTest, ACancelAskedOfOneRunnerStopsTheJobAnotherRuns) {
  Ledger ledger;
  auto a = Open(0, &ledger, 1);
  auto b = Open(1, &ledger, 1, /*start=*/false);  // never runs anything
  ASSERT_TRUE(a && b);
  Result<JobRecord> job =
      a->Submit({.kind = "test-ledger", .params = {{"steps", 600}, {"step_ms", 50}}});
  ASSERT_TRUE(job.ok());
  // B follows it through the store: the first events arrive.
  Result<JobRunner::EventPage> page = b->Events(job->id, 0, std::chrono::seconds(10));
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->events.empty());
  const auto deadline = std::chrono::steady_clock::now() + kBound;
  while (a->Get(job->id)->state != JobState::kRunning &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Result<JobRecord> asked = b->Cancel(job->id);
  ASSERT_TRUE(asked.ok()) << asked.error().ToString();
  EXPECT_TRUE(asked->cancel_requested);
  Result<JobRecord> done = b->Wait(job->id, kBound);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, JobState::kCancelled);
  EXPECT_LT(done->checkpoint.value("step", 0), 600);
}

TEST_F(SharedJobsTest, ARunnerRidesOutADatabaseRestart) {
  Ledger ledger;
  auto a = Open(0, &ledger, 1);
  ASSERT_NE(a, nullptr);
  Result<JobRecord> before = a->Submit({.kind = "test-ledger"});
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(a->Wait(before->id, kBound)->state, JobState::kSucceeded);
  ASSERT_TRUE(pg_->Restart().ok());
  // Its connection died with the server: the next call reconnects.
  Result<JobRecord> after = a->Submit({.kind = "test-ledger"});
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  Result<JobRecord> done = a->Wait(after->id, kBound);
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  EXPECT_EQ(done->state, JobState::kSucceeded);
}

TEST_F(SharedJobsTest, AQueuedJobCancelledElsewhereNeverRuns) {
  Ledger ledger;
  auto a = Open(0, &ledger, 1, /*start=*/false);
  auto b = Open(1, &ledger, 1, /*start=*/false);
  ASSERT_TRUE(a && b);
  Result<JobRecord> job = a->Submit({.kind = "test-ledger"});
  ASSERT_TRUE(job.ok());
  Result<JobRecord> cancelled = b->Cancel(job->id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().ToString();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  a->Start();
  b->Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few claim rounds
  EXPECT_EQ(a->Get(job->id)->state, JobState::kCancelled);
  Result<JobRunner::EventPage> page = a->Events(job->id, 0, std::chrono::milliseconds(0));
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->events.empty());
  EXPECT_EQ(page->events.back().data["state"], "cancelled");
  EXPECT_TRUE(page->finished);
  std::lock_guard<std::mutex> lock(ledger.mu);
  EXPECT_TRUE(ledger.runs.empty());
  EXPECT_EQ(b->Cancel("job_nope").error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace modelrt::jobs
