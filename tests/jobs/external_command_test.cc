// model-external-command with real child processes: the allowlist, the environment allowlist,
// bounded logs, the exit code, and that a timeout or a cancel leaves no process of the job's
// group behind (a shell's background children included).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "jobs/job_kinds.h"
#include "jobs/job_runner.h"
#include "support/llama_test_models.h"

namespace modelrt::jobs {
namespace {

// Cancels stop work within a second; the bound leaves room for a loaded 2-core CI machine.
constexpr std::chrono::seconds kCancelBound{3};

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

class ExternalCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestTempDir() + "/ext-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    JobDeps deps;
    deps.config.allowed_programs = {"/bin/sh", "/usr/bin/env"};
    deps.config.env_allowlist = {"MODELRT_TEST_PASSED"};
    deps.config.max_log_bytes = 1000;
    deps.config.command_timeout_s = 60;
    Result<std::unique_ptr<JobRunner>> runner =
        JobRunner::Open({.dir = dir_}, StandardJobKinds(deps));
    ASSERT_TRUE(runner.ok()) << runner.error().ToString();
    runner_ = *std::move(runner);
    runner_->Start();
  }

  JobRecord RunToEnd(Json params) {
    Result<JobRecord> job = runner_->Submit({.kind = "model-external-command", .params = params});
    EXPECT_TRUE(job.ok()) << job.error().ToString();
    if (!job.ok()) return {};
    return *runner_->Wait(job->id, std::chrono::seconds(60));
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Whether a live (not zombie: an orphan waits for whoever reaps it) process is in the group.
  static bool GroupAlive(int pgid) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after its ')'.
      std::istringstream rest(line.substr(line.rfind(')') + 1));
      std::string state;
      int ppid = 0, pgrp = 0;
      rest >> state >> ppid >> pgrp;
      if (pgrp == pgid && state != "Z") return true;
    }
    return false;
  }

  std::string dir_;
  std::unique_ptr<JobRunner> runner_;
};

TEST_F(ExternalCommandTest, RunsTheProgramWithItsArgsAndKeepsLogsAndExitCode) {
  JobRecord job = RunToEnd({{"program", "/bin/sh"},
                            {"args", {"-c", "pwd; echo oops >&2; exit 3"}}});
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_THAT(job.error, HasSubstr("exited with code 3"));
  EXPECT_EQ(job.output["exit_code"], 3);
  ASSERT_EQ(job.artifacts.size(), 2u);
  EXPECT_EQ(Slurp(job.artifacts[0].path), runner_->JobDir(job.id) + "/work\n");
  EXPECT_EQ(Slurp(job.artifacts[1].path), "oops\n");
  EXPECT_EQ(job.artifacts[0].media_type, "text/plain");
}

TEST_F(ExternalCommandTest, OnlyAllowedProgramsAndVariables) {
  Result<JobPlan> plan = runner_->Plan({.kind = "model-external-command",
                                        .params = {{"program", "/bin/bash"}}});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(plan.error().message(), HasSubstr("jobs.allowed_programs"));
  Result<JobPlan> env = runner_->Plan({.kind = "model-external-command",
                                       .params = {{"program", "/usr/bin/env"},
                                                  {"env", {{"LD_PRELOAD", "/x.so"}}}}});
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.error().message(), HasSubstr("LD_PRELOAD is not in jobs.env_allowlist"));
  Result<JobPlan> escape = runner_->Plan({.kind = "model-external-command",
                                          .params = {{"program", "/bin/sh"}, {"cwd", "../.."}}});
  ASSERT_FALSE(escape.ok());
  EXPECT_THAT(escape.error().message(), HasSubstr("params.cwd"));

  setenv("MODELRT_TEST_PASSED", "yes", 1);
  setenv("MODELRT_TEST_SECRET", "no", 1);
  JobRecord job = RunToEnd({{"program", "/usr/bin/env"}, {"env", {{"LANG", "C"}}}});
  EXPECT_EQ(job.state, JobState::kSucceeded) << job.error;
  const std::string out = Slurp(job.artifacts[0].path);
  EXPECT_THAT(out, HasSubstr("MODELRT_TEST_PASSED=yes"));
  EXPECT_THAT(out, HasSubstr("LANG=C"));
  EXPECT_THAT(out, Not(HasSubstr("MODELRT_TEST_SECRET")));
}

TEST_F(ExternalCommandTest, LogsAreBounded) {
  JobRecord job = RunToEnd({{"program", "/bin/sh"},
                            {"args", {"-c", "i=0; while [ $i -lt 500 ]; do echo 0123456789; "
                                            "i=$((i+1)); done"}}});
  EXPECT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_EQ(fs::file_size(job.artifacts[0].path), 1000u);
  EXPECT_EQ(job.output["stdout_truncated"], true);
}

TEST_F(ExternalCommandTest, TimeoutKillsTheWholeProcessGroup) {
  const auto start = std::chrono::steady_clock::now();
  // The shell starts a background sleeper that outlives it unless its group is killed.
  JobRecord job = RunToEnd({{"program", "/bin/sh"},
                            {"args", {"-c", "sleep 300 & sleep 300"}},
                            {"timeout_s", 1}});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_THAT(job.error, HasSubstr("timeout of 1 s"));
  EXPECT_EQ(job.output["timed_out"], true);
  EXPECT_FALSE(GroupAlive(job.output["pid"].get<int>()));
}

TEST_F(ExternalCommandTest, CancelKillsTheWholeProcessGroupWithinASecond) {
  Result<JobRecord> job = runner_->Submit(
      {.kind = "model-external-command",
       .params = {{"program", "/bin/sh"}, {"args", {"-c", "sleep 300 & sleep 300"}}}});
  ASSERT_TRUE(job.ok());
  while (runner_->Get(job->id)->state != JobState::kRunning) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the shell has its children
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(runner_->Cancel(job->id).ok());
  Result<JobRecord> done = runner_->Wait(job->id, std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - asked, kCancelBound);
  EXPECT_EQ(done->state, JobState::kCancelled);
  EXPECT_FALSE(GroupAlive(done->output["pid"].get<int>()));
}

}  // namespace
}  // namespace modelrt::jobs
