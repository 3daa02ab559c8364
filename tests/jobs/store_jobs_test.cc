// model-download, model-materialize-bundle and model-validate-bundle through the job runner,
// against the local hub (tests/support/hub_server.h): progress in bytes, the bundle artifact
// with its model.* metadata, cancel of a slow download within a second (and its resume from the
// bytes on disk), a local folder materialised, and a corrupted bundle found by validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "jobs/job_kinds.h"
#include "jobs/job_runner.h"
#include "store/model_store.h"
#include "support/hub_server.h"
#include "support/llama_test_models.h"

namespace modelrt::jobs {
namespace {

// Cancels stop work within a second; the bound leaves room for a loaded 2-core CI machine.
constexpr std::chrono::seconds kCancelBound{3};

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class StoreJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TestTempDir() + "/store-jobs-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    weights_ = RandomBytes(2'000'000, 7);
    hub_.AddRepo("acme/tiny", "0123456789abcdef0123456789abcdef01234567",
                 {{"config.json", R"({"hidden_size": 8})"}, {"model.gguf", weights_}});
    store::StoreOptions options;
    options.root = dir_ + "/store";
    options.hub.endpoint = hub_.url();
    options.download.initial_backoff = std::chrono::milliseconds(10);
    options.download.stall_timeout = std::chrono::milliseconds(5000);
    Result<std::shared_ptr<store::ModelStore>> model_store = store::ModelStore::Open(options);
    ASSERT_TRUE(model_store.ok());
    JobDeps deps;
    deps.store = *model_store;
    deps.hub_endpoint = hub_.url();
    Result<std::unique_ptr<JobRunner>> runner =
        JobRunner::Open({.dir = dir_ + "/jobs"}, StandardJobKinds(deps));
    ASSERT_TRUE(runner.ok()) << runner.error().ToString();
    runner_ = *std::move(runner);
    runner_->Start();
  }

  JobRecord Run(std::string_view kind, Json params) {
    Result<JobRecord> job = runner_->Submit({.kind = std::string(kind), .params = params});
    EXPECT_TRUE(job.ok()) << job.error().ToString();
    if (!job.ok()) return {};
    return *runner_->Wait(job->id, std::chrono::seconds(60));
  }

  std::string dir_;
  std::string weights_;
  testing::HubServer hub_;
  std::unique_ptr<JobRunner> runner_;
};

TEST_F(StoreJobsTest, DownloadPlansThenFetchesIntoTheStore) {
  Result<JobPlan> plan = runner_->Plan(
      {.kind = "model-download", .params = {{"source", "hf://acme/tiny"}, {"files", {"*.gguf"}}}});
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_EQ(plan->progress_unit, "bytes");
  EXPECT_TRUE(plan->resumable);
  EXPECT_EQ(plan->requirements[0], "network: " + hub_.url());
  EXPECT_TRUE(hub_.hub_requests().empty());  // planning touched nothing
  EXPECT_FALSE(fs::exists(dir_ + "/store/acme--tiny"));

  JobRecord job = Run("model-download", {{"source", "hf://acme/tiny"}, {"files", {"*.gguf"}},
                                         {"task", "generate"}});
  ASSERT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_EQ(job.progress.done, static_cast<int64_t>(weights_.size()));
  EXPECT_EQ(job.progress.unit, "bytes");
  ASSERT_EQ(job.artifacts.size(), 1u);
  const Artifact& bundle = job.artifacts[0];
  EXPECT_EQ(bundle.kind, "bundle");
  EXPECT_EQ(bundle.metadata["model.name"], "acme/tiny");
  EXPECT_EQ(bundle.metadata["model.task"], "generate");
  EXPECT_EQ(bundle.metadata["model.runtime"], "llama.cpp");
  EXPECT_EQ(bundle.metadata["model.revision"], "main");
  EXPECT_EQ(bundle.metadata["model.source"], "hf://acme/tiny@main");
  EXPECT_TRUE(fs::exists(bundle.path));
  EXPECT_EQ(job.output["store_ref"], "store://acme/tiny@main");

  JobRecord valid = Run("model-validate-bundle", {{"ref", "store://acme/tiny@main"}});
  EXPECT_EQ(valid.state, JobState::kSucceeded) << valid.error;
  EXPECT_EQ(valid.output["files_checked"], 1);

  // A blob changed behind the store's back: validation names the file.
  const std::string file = dir_ + "/store/acme--tiny/main/files/model.gguf";
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  { std::fstream(file, std::ios::in | std::ios::out | std::ios::binary).write("XXXX", 4); }
  JobRecord broken = Run("model-validate-bundle", {{"name", "acme/tiny"}});
  EXPECT_EQ(broken.state, JobState::kFailed);
  EXPECT_THAT(broken.error, HasSubstr("model.gguf"));
}

TEST_F(StoreJobsTest, BadParametersAreRefusedByThePlan) {
  for (const Json& params : {Json{{"source", "hf://acme/tiny"}, {"files", {"../x"}}},
                             Json{{"source", "https://example.test/m.gguf"}},
                             Json{{"source", "hf://acme/tiny"}, {"colour", "red"}},
                             Json{{"source", "/tmp/x"}}}) {
    Result<JobPlan> plan = runner_->Plan({.kind = "model-download", .params = params});
    EXPECT_FALSE(plan.ok()) << params.dump();
    if (!plan.ok()) {
      EXPECT_EQ(plan.error().code(), StatusCode::kInvalidArgument) << params.dump();
    }
  }
  EXPECT_FALSE(runner_->Plan({.kind = "model-validate-bundle", .params = {{"name", "../../etc"}}}).ok());
}

TEST_F(StoreJobsTest, CancelStopsASlowDownloadAndASecondJobResumesIt) {
  hub_.SetSlow(16 * 1024, std::chrono::milliseconds(20));
  Result<JobRecord> job = runner_->Submit(
      {.kind = "model-download", .params = {{"source", "hf://acme/tiny"}, {"files", {"model.gguf"}}}});
  ASSERT_TRUE(job.ok());
  while (runner_->Get(job->id)->progress.done < 100'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(runner_->Cancel(job->id).ok());
  Result<JobRecord> cancelled = runner_->Wait(job->id, std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - asked, kCancelBound);
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_FALSE(fs::exists(dir_ + "/store/acme--tiny/main/manifest.json"));

  hub_.SetSlow(0, std::chrono::milliseconds(0));
  JobRecord again = Run("model-download", {{"source", "hf://acme/tiny"}, {"files", {"model.gguf"}}});
  ASSERT_EQ(again.state, JobState::kSucceeded) << again.error;
  EXPECT_GT(again.output["bytes_resumed"].get<int64_t>(), 0);
  EXPECT_THAT(again.diagnostics, ::testing::Contains(HasSubstr("resumed")));
}

TEST_F(StoreJobsTest, MaterializesALocalFolder) {
  const std::string src = dir_ + "/local-model";
  fs::create_directories(src);
  std::ofstream(src + "/model.onnx") << "onnx bytes";
  std::ofstream(src + "/tokenizer.json") << "{}";
  JobRecord job = Run("model-materialize-bundle",
                      {{"source", src}, {"name", "local/thing"}, {"task", "embed"}});
  ASSERT_EQ(job.state, JobState::kSucceeded) << job.error;
  EXPECT_EQ(job.artifacts[0].metadata["model.runtime"], "onnxruntime");
  EXPECT_EQ(job.output["files"], 2);
  EXPECT_TRUE(fs::exists(dir_ + "/store/local--thing/main/files/model.onnx"));
  EXPECT_FALSE(runner_->Plan({.kind = "model-materialize-bundle",
                              .params = {{"source", "hf://acme/tiny"}}}).ok());
}

}  // namespace
}  // namespace modelrt::jobs
