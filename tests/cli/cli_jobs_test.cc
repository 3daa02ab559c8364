// Jobs across a crash: the real `modelrt serve` killed with SIGKILL while a download and while a
// batch runs, then started again over the same data directory. The download resumes from the
// bytes on disk and verifies; the batch finishes with every line exactly once. Also the built
// binary's `modelrt jobs` and `modelrt batch` verbs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "cli/admin_client.h"
#include "core/sha256.h"
#include "serve_process.h"
#include "support/http_fetch.h"
#include "support/hub_server.h"
#include "support/llama_test_models.h"
#include "support/run_command.h"

namespace modelrt::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kKey = "jobs-test-admin-key";

std::string StoriesPath() { return std::string(MODELRT_SOURCE_DIR) + "/models/stories260K.gguf"; }

class CliJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestTempDir() + "/cli-jobs-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/data");
    std::mt19937_64 rng(3);
    weights_.resize(12'000'000);
    for (char& c : weights_) c = static_cast<char>(rng());
    hub_.AddRepo("acme/big", "feedfacefeedfacefeedfacefeedfacefeedface",
                 {{"model.gguf", weights_}});
    config_ = dir_ + "/modelrt.yaml";
    std::ofstream(config_) << "server:\n  drain_grace_s: 1\n"
                           << "store:\n  hf_endpoint: " << hub_.url() << "\n  stall_timeout_s: 5\n"
                           << "jobs:\n  batch_in_flight: 4\n"
                           << "providers:\n  - {id: local, type: llama, options: {threads: 1}}\n"
                           << "models:\n  - {alias: chat, task: generate, provider: local, model: "
                           << StoriesPath() << ", options: {ctx: 256, parallel: 2}}\n";
  }

  std::unique_ptr<ServeProcess> Serve(int n) {
    auto server = std::make_unique<ServeProcess>(
        config_, std::vector<std::string>{"MODELRT_DATA_DIR=" + dir_ + "/data",
                                          std::string("MODELRT_ADMIN_KEY=") + kKey},
        dir_ + "/serve-" + std::to_string(n) + ".log");
    EXPECT_TRUE(server->Start()) << server->log();
    return server;
  }

  static cli::AdminClient Client(const ServeProcess& server) {
    return cli::AdminClient({.server = *cli::ParseServerUrl(server.url()), .admin_key = kKey});
  }

  static Json Job(const ServeProcess& server, const std::string& id) {
    Result<cli::HttpAnswer> a = Client(server).Call("GET", "/admin/jobs/" + id);
    return a.ok() ? a->json : Json();
  }

  static Json WaitForEnd(const ServeProcess& server, const std::string& id) {
    for (int i = 0; i < 6000; ++i) {
      Json job = Job(server, id);
      const std::string state = job.value("state", "");
      if (state == "succeeded" || state == "failed" || state == "cancelled") return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Job(server, id);
  }

  std::string dir_;
  std::string config_;
  std::string weights_;
  HubServer hub_;
};

TEST_F(CliJobsTest, DownloadResumesAfterKill9) {
  // ~3 MB/s: seconds to kill it in, past the 4 MiB at which the download first records where it
  // is (a resume re-fetches at most that much).
  hub_.SetSlow(64 * 1024, std::chrono::milliseconds(20));
  std::string id;
  {
    auto server = Serve(1);
    const Json body = {{"kind", "model-download"},
                       {"params", {{"source", "hf://acme/big"}, {"files", {"model.gguf"}}}}};
    Result<cli::HttpAnswer> submitted = Client(*server).Call("POST", "/admin/jobs", &body);
    ASSERT_TRUE(submitted.ok()) << submitted.error().ToString();
    id = submitted->json["id"];
    for (int i = 0; i < 3000 && Job(*server, id)["progress"].value("done", 0) < 5'500'000; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const int64_t done = Job(*server, id)["progress"].value("done", int64_t{0});
    ASSERT_GE(done, 5'500'000);
    ASSERT_LT(done, static_cast<int64_t>(weights_.size())) << "finished before the kill";
    server->Kill();  // SIGKILL: no drain, no shutdown hook
  }
  hub_.SetSlow(0, std::chrono::milliseconds(0));
  auto server = Serve(2);
  Json job = WaitForEnd(*server, id);
  ASSERT_EQ(job["state"], "succeeded") << job.dump(2) << server->log();
  EXPECT_EQ(job["attempts"], 2);
  EXPECT_GE(job["output"]["bytes_resumed"].get<int64_t>(), int64_t{4} << 20);
  EXPECT_LT(job["output"]["bytes_downloaded"].get<int64_t>(), static_cast<int64_t>(weights_.size()));
  EXPECT_THAT(job["diagnostics"].dump(), HasSubstr("resumes"));
  const std::string installed = dir_ + "/data/store/acme--big/main/files/model.gguf";
  EXPECT_EQ(*Sha256File(installed), Sha256Hex(weights_));
}

TEST_F(CliJobsTest, BatchFinishesEveryLineExactlyOnceAfterKill9) {
  std::string input;
  const int kLines = 200;
  for (int i = 0; i < kLines; ++i) {
    input += Json{{"custom_id", "c" + std::to_string(i)}, {"method", "POST"},
                  {"url", "/v1/completions"},
                  {"body", {{"model", "chat"}, {"prompt", "Tom had a dog"}, {"max_tokens", 48},
                            {"temperature", 0}}}}.dump() + "\n";
  }
  std::string batch_id;
  {
    auto server = Serve(1);
    const std::string boundary = "b0undary";
    net::HttpRequest upload;
    upload.url = *net::ParseUrl(server->url() + "/v1/files");
    upload.headers = {{"Content-Type", "multipart/form-data; boundary=" + boundary}};
    upload.body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--" +
                  boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jsonl\"\r\n\r\n" +
                  input + "\r\n--" + boundary + "--\r\n";
    Result<net::HttpResponse> file = FetchAndWait(upload);
    ASSERT_TRUE(file.ok() && file->head.status == 200) << (file.ok() ? file->body : file.error().ToString());
    const Json create = {{"input_file_id", Json::parse(file->body)["id"]},
                         {"endpoint", "/v1/completions"},
                         {"completion_window", "24h"}};
    Result<cli::HttpAnswer> batch = Client(*server).Call("POST", "/v1/batches", &create);
    ASSERT_TRUE(batch.ok()) << batch.error().ToString();
    batch_id = batch->json["id"];
    auto completed = [&] {
      Result<cli::HttpAnswer> b = Client(*server).Call("GET", "/v1/batches/" + batch_id);
      return b.ok() ? b->json["request_counts"].value("completed", 0) : 0;
    };
    for (int i = 0; i < 3000 && completed() < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_GE(completed(), 20);
    ASSERT_LT(completed(), kLines) << "the batch ran too fast to be interrupted";
    server->Kill();
  }
  auto server = Serve(2);
  Json batch;
  for (int i = 0; i < 6000; ++i) {
    Result<cli::HttpAnswer> b = Client(*server).Call("GET", "/v1/batches/" + batch_id);
    ASSERT_TRUE(b.ok()) << b.error().ToString();
    batch = b->json;
    if (batch["status"] == "completed" || batch["status"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(batch["status"], "completed") << batch.dump(2) << server->log();
  EXPECT_EQ(batch["request_counts"]["completed"], kLines);
  Result<cli::HttpAnswer> content = Client(*server).Exchange(
      "GET", "/v1/files/" + batch["output_file_id"].get<std::string>() + "/content", "");
  ASSERT_TRUE(content.ok());
  std::map<std::string, int> seen;
  std::istringstream lines(content->body);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    Json j = Json::parse(line);
    EXPECT_EQ(j["custom_id"], "c" + std::to_string(n)) << "in input order";
    EXPECT_EQ(j["response"]["status_code"], 200);
    ++seen[j["custom_id"]];
    ++n;
  }
  EXPECT_EQ(n, kLines);
  for (const auto& [custom_id, count] : seen) EXPECT_EQ(count, 1) << custom_id;
  // The job says it was resumed.
  Result<cli::HttpAnswer> job = Client(*server).Call("GET", "/admin/jobs/job_" + batch_id.substr(6));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->json["attempts"], 2);
  EXPECT_THAT(job->json["diagnostics"].dump(), HasSubstr("resuming at request"));
}

TEST_F(CliJobsTest, JobsVerbsPlanSubmitWatchAndBatchInProcess) {
  auto server = Serve(1);
  const std::string bin = std::string(MODELRT_BIN_DIR) + "/modelrt";
  const std::string env = std::string("env MODELRT_ADMIN_KEY=") + kKey + " ";
  const std::string at = " --server " + server->url();
  CommandResult plan = RunCommand(env + bin + " jobs plan model-download --params "
                                  "'{\"source\": \"hf://acme/big\"}'" + at);
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("side effects:  network, writes_files"));
  EXPECT_THAT(plan.out, HasSubstr("resumable:     yes"));
  CommandResult bad = RunCommand(env + bin + " jobs plan model-nope" + at);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("unknown job kind"));
  CommandResult run = RunCommand(env + bin + " jobs submit model-warmup --params "
                                 "'{\"model\": \"chat\"}' --watch" + at);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("succeeded"));
  CommandResult list = RunCommand(env + bin + " jobs list" + at);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("model-warmup"));

  // modelrt batch, in its own process over the same config.
  std::ofstream(dir_ + "/in.jsonl")
      << Json{{"custom_id", "a"}, {"method", "POST"}, {"url", "/v1/completions"},
              {"body", {{"model", "chat"}, {"prompt", "Hi"}, {"max_tokens", 4}}}}.dump() << "\n"
      << Json{{"custom_id", "b"}, {"method", "POST"}, {"url", "/v1/completions"},
              {"body", {{"model", "nope"}, {"prompt", "Hi"}}}}.dump() << "\n";
  CommandResult batch = RunCommand("env MODELRT_DATA_DIR=" + dir_ + "/data " + bin + " batch " +
                                   dir_ + "/in.jsonl -o " + dir_ + "/out.jsonl -c " + config_);
  EXPECT_EQ(batch.exit_code, 1) << batch.err;
  EXPECT_THAT(batch.err, HasSubstr("1 of 2 requests failed"));
  EXPECT_THAT(batch.err, HasSubstr("2/2 requests"));
  std::ifstream out(dir_ + "/out.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(out, line));
  EXPECT_EQ(Json::parse(line)["custom_id"], "a");
  std::ifstream errors(dir_ + "/out.jsonl.errors.jsonl");
  ASSERT_TRUE(std::getline(errors, line));
  EXPECT_EQ(Json::parse(line)["response"]["status_code"], 404);
  CommandResult invalid = RunCommand(bin + " batch " + config_ + " -o " + dir_ + "/x.jsonl -c " + config_);
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_THAT(invalid.err, HasSubstr("endpoint must be one of"));
}

}  // namespace
}  // namespace modelrt::testing
