// The jobs API (/admin/jobs), the Files API and the Batch API on the real server over real
// llama.cpp models: plans without side effects, jobs with SSE events, inference artifacts, a
// 1,000-line embeddings batch against the same requests sent one by one, per-line validation
// errors, cancel, and uploads with their limits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "admin/admin_test_util.h"

namespace modelrt::testing {
namespace {

// Cancels stop work within a second; the bound leaves room for a loaded 2-core CI machine.
constexpr std::chrono::seconds kCancelBound{3};

using ::testing::HasSubstr;

Config JobsConfig() {
  Config config = AdminConfig();
  config.server.data_dir = FreshDir("jobs-data");
  config.jobs.batch_in_flight = 16;
  config.jobs.batch_max_lines = 2000;
  return config;
}

Json ParseBody(const HttpResult& r) { return Json::parse(r.body, nullptr, false); }

// POST /v1/files as the SDKs send it.
HttpResult Upload(int port, const std::string& purpose, const std::string& filename,
                  const std::string& content) {
  const std::string boundary = "----modelrt-test-7d1f";
  std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" +
                     purpose + "\r\n--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
                     "\"\r\nContent-Type: application/jsonl\r\n\r\n" + content + "\r\n--" +
                     boundary + "--\r\n";
  return HttpCall(port, "POST", "/v1/files", body,
                  {{"Content-Type", "multipart/form-data; boundary=" + boundary}});
}

Json WaitForJob(int port, const std::string& id) {
  for (int i = 0; i < 3000; ++i) {
    Json job = ParseBody(AdminCall(port, "GET", "/admin/jobs/" + id));
    const std::string state = job.value("state", "");
    if (state == "succeeded" || state == "failed" || state == "cancelled") return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return nullptr;
}

Json WaitForBatch(int port, const std::string& id) {
  for (int i = 0; i < 6000; ++i) {
    Json batch = ParseBody(HttpCall(port, "GET", "/v1/batches/" + id));
    const std::string status = batch.value("status", "");
    if (status == "completed" || status == "failed" || status == "cancelled") return batch;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return nullptr;
}

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(Json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return lines;
}

TEST(AdminJobsTest, PlanSubmitWatchAndErrors) {
  AdminServer server({.config = JobsConfig()});
  HttpResult plan = AdminJson(server.port(), "POST", "/admin/jobs?dry_run=true",
                              {{"kind", "model-warmup"}, {"params", {{"model", "embed"}}}});
  ASSERT_EQ(plan.status, 200) << plan.body;
  Json p = ParseBody(plan)["plan"];
  EXPECT_EQ(p["kind"], "model-warmup");
  EXPECT_EQ(p["progress_unit"], "steps");
  EXPECT_EQ(p["requirements"][0], "model: embed");
  EXPECT_EQ(p["cancellable"], false);
  // A dry run stores nothing and loads nothing.
  EXPECT_TRUE(ParseBody(AdminCall(server.port(), "GET", "/admin/jobs"))["data"].empty());
  EXPECT_EQ(server.runtime().Describe("embed")->state, ModelState::kUnloaded);

  HttpResult submitted = AdminJson(server.port(), "POST", "/admin/jobs",
                                   {{"kind", "model-warmup"}, {"params", {{"model", "embed"}}},
                                    {"metadata", {{"who", "test"}}}});
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const std::string id = ParseBody(submitted)["id"];
  Json job = WaitForJob(server.port(), id);
  EXPECT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["metadata"]["who"], "test");
  EXPECT_GT(job["output"]["dimensions"].get<int>(), 0);
  EXPECT_EQ(server.runtime().Describe("embed")->state, ModelState::kLoaded);

  HttpResult events = AdminCall(server.port(), "GET", "/admin/jobs/" + id + "/events");
  ASSERT_EQ(events.status, 200);
  EXPECT_EQ(events.Header("Content-Type"), "text/event-stream");
  EXPECT_THAT(events.body, HasSubstr("id: 1\nevent: state\ndata: "));
  EXPECT_THAT(events.body, HasSubstr("\"state\":\"succeeded\""));
  HttpResult later = AdminCall(server.port(), "GET", "/admin/jobs/" + id + "/events?after=1");
  EXPECT_THAT(later.body, ::testing::Not(HasSubstr("id: 1\n")));

  HttpResult unknown = AdminJson(server.port(), "POST", "/admin/jobs", {{"kind", "model-nope"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(ParseBody(unknown)["error"]["message"].get<std::string>(), HasSubstr("model-download"));
  HttpResult bad = AdminJson(server.port(), "POST", "/admin/jobs",
                             {{"kind", "model-warmup"}, {"params", {{"model", "nope"}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(AdminCall(server.port(), "GET", "/admin/jobs/job_nope").status, 404);
  EXPECT_EQ(AdminCall(server.port(), "GET", "/admin/jobs", "", "").status, 403);
  EXPECT_EQ(AdminCall(server.port(), "GET", "/admin/jobs?state=done").status, 400);
}

TEST(AdminJobsTest, InferenceJobKeepsTheResponseAsAnArtifact) {
  AdminServer server({.config = JobsConfig()});
  HttpResult submitted = AdminJson(
      server.port(), "POST", "/admin/jobs",
      {{"kind", "model-inference"},
       {"params", {{"endpoint", "/v1/embeddings"}, {"body", {{"model", "embed"}, {"input", "hi"}}}}}});
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  Json job = WaitForJob(server.port(), ParseBody(submitted)["id"]);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  ASSERT_EQ(job["artifacts"].size(), 1u);
  std::ifstream in(job["artifacts"][0]["path"].get<std::string>());
  Json output = Json::parse(in);
  EXPECT_FALSE(output["data"][0]["embedding"].empty());
  EXPECT_EQ(job["output"]["status_code"], 200);
  EXPECT_EQ(job["artifacts"][0]["metadata"]["model.name"], "embed");
}

TEST(BatchApiTest, ThousandLineEmbeddingsBatchEqualsTheRequestsOneByOne) {
  AdminServer server({.config = JobsConfig()});
  std::string input;
  for (int i = 0; i < 1000; ++i) {
    input += Json{{"custom_id", "req-" + std::to_string(i)},
                  {"method", "POST"},
                  {"url", "/v1/embeddings"},
                  {"body", {{"model", "embed"}, {"input", "line " + std::to_string(i) + " of the batch"}}}}
                 .dump() +
             "\n";
  }
  HttpResult uploaded = Upload(server.port(), "batch", "in.jsonl", input);
  ASSERT_EQ(uploaded.status, 200) << uploaded.body;
  Json file = ParseBody(uploaded);
  EXPECT_EQ(file["object"], "file");
  EXPECT_EQ(file["bytes"], input.size());
  EXPECT_EQ(HttpCall(server.port(), "GET", "/v1/files/" + file["id"].get<std::string>() + "/content").body,
            input);

  HttpResult created = HttpCall(server.port(), "POST", "/v1/batches",
                                Json{{"input_file_id", file["id"]},
                                     {"endpoint", "/v1/embeddings"},
                                     {"completion_window", "24h"},
                                     {"metadata", {{"run", "test"}}}}
                                    .dump());
  ASSERT_EQ(created.status, 200) << created.body;
  Json batch = ParseBody(created);
  EXPECT_EQ(batch["object"], "batch");
  EXPECT_EQ(batch["status"], "validating");
  batch = WaitForBatch(server.port(), batch["id"]);
  ASSERT_EQ(batch["status"], "completed") << batch.dump();
  EXPECT_EQ(batch["request_counts"]["total"], 1000);
  EXPECT_EQ(batch["request_counts"]["completed"], 1000);
  EXPECT_EQ(batch["request_counts"]["failed"], 0);
  EXPECT_TRUE(batch["error_file_id"].is_null());
  EXPECT_EQ(batch["metadata"]["run"], "test");

  HttpResult output = HttpCall(server.port(), "GET",
                               "/v1/files/" + batch["output_file_id"].get<std::string>() + "/content");
  ASSERT_EQ(output.status, 200);
  std::vector<Json> lines = JsonLines(output.body);
  ASSERT_EQ(lines.size(), 1000u);
  std::map<std::string, int> seen;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Json& line = lines[i];
    const std::string custom_id = line["custom_id"];
    ++seen[custom_id];
    EXPECT_EQ(custom_id, "req-" + std::to_string(i));  // in input order
    EXPECT_EQ(line["response"]["status_code"], 200);
    EXPECT_TRUE(line["error"].is_null());
    HttpResult alone = HttpCall(server.port(), "POST", "/v1/embeddings",
                                Json{{"model", "embed"},
                                     {"input", "line " + std::to_string(i) + " of the batch"}}
                                    .dump());
    ASSERT_EQ(alone.status, 200);
    const Json a = ParseBody(alone)["data"][0]["embedding"];
    const Json b = line["response"]["body"]["data"][0]["embedding"];
    ASSERT_EQ(a.size(), b.size());
    // The same model on the same input; batched with other sequences the sums may round
    // differently in the last bits, never more.
    for (size_t d = 0; d < a.size(); ++d) {
      ASSERT_NEAR(a[d].get<double>(), b[d].get<double>(), 1e-4) << custom_id << " dim " << d;
    }
  }
  EXPECT_EQ(seen.size(), 1000u);

  Json list = ParseBody(HttpCall(server.port(), "GET", "/v1/batches?limit=5"));
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], batch["id"]);
}

TEST(BatchApiTest, InvalidLinesFailTheBatchWithTheirLineNumbers) {
  AdminServer server({.config = JobsConfig()});
  std::string input =
      Json{{"custom_id", "a"}, {"method", "POST"}, {"url", "/v1/embeddings"},
           {"body", {{"model", "embed"}, {"input", "x"}}}}.dump() + "\n" +
      "not json\n" +
      Json{{"custom_id", "a"}, {"method", "POST"}, {"url", "/v1/embeddings"},
           {"body", {{"model", "embed"}, {"input", "x"}}}}.dump() + "\n" +
      Json{{"custom_id", "c"}, {"method", "POST"}, {"url", "/v1/chat/completions"},
           {"body", {{"model", "embed"}}}}.dump() + "\n";
  Json file = ParseBody(Upload(server.port(), "batch", "bad.jsonl", input));
  HttpResult created = HttpCall(server.port(), "POST", "/v1/batches",
                                Json{{"input_file_id", file["id"]},
                                     {"endpoint", "/v1/embeddings"},
                                     {"completion_window", "24h"}}.dump());
  ASSERT_EQ(created.status, 200) << created.body;
  Json batch = WaitForBatch(server.port(), ParseBody(created)["id"]);
  ASSERT_EQ(batch["status"], "failed") << batch.dump();
  const Json& errors = batch["errors"]["data"];
  ASSERT_EQ(errors.size(), 3u) << batch.dump();
  EXPECT_EQ(errors[0]["code"], "invalid_json");
  EXPECT_EQ(errors[0]["line"], 2);
  EXPECT_EQ(errors[1]["code"], "duplicate_custom_id");
  EXPECT_EQ(errors[1]["line"], 3);
  EXPECT_EQ(errors[2]["code"], "mismatched_endpoint");
  EXPECT_EQ(errors[2]["line"], 4);

  // Requests the API itself refuses.
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/batches",
                     Json{{"input_file_id", file["id"]}, {"endpoint", "/v1/models"}}.dump()).status,
            400);
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/batches",
                     Json{{"input_file_id", "file-000000000000000000000000"},
                          {"endpoint", "/v1/embeddings"}}.dump()).status,
            404);
  EXPECT_EQ(HttpCall(server.port(), "GET", "/v1/batches/batch_nope").status, 404);
}

TEST(BatchApiTest, CancelStopsARunningBatchAndKeepsWhatItFinished) {
  AdminServer server({.config = JobsConfig()});
  std::string input;
  for (int i = 0; i < 400; ++i) {
    input += Json{{"custom_id", "g" + std::to_string(i)}, {"method", "POST"},
                  {"url", "/v1/completions"},
                  {"body", {{"model", "chat1"}, {"prompt", "Once upon a time"}, {"max_tokens", 64},
                            {"temperature", 0}}}}.dump() + "\n";
  }
  Json file = ParseBody(Upload(server.port(), "batch", "gen.jsonl", input));
  Json batch = ParseBody(HttpCall(server.port(), "POST", "/v1/batches",
                                  Json{{"input_file_id", file["id"]},
                                       {"endpoint", "/v1/completions"},
                                       {"completion_window", "24h"}}.dump()));
  const std::string id = batch["id"];
  for (int i = 0; i < 3000; ++i) {
    batch = ParseBody(HttpCall(server.port(), "GET", "/v1/batches/" + id));
    if (batch["request_counts"]["completed"].get<int>() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto asked = std::chrono::steady_clock::now();
  Json cancelling = ParseBody(HttpCall(server.port(), "POST", "/v1/batches/" + id + "/cancel"));
  EXPECT_EQ(cancelling["status"], "cancelling") << cancelling.dump();
  batch = WaitForBatch(server.port(), id);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, kCancelBound);
  ASSERT_EQ(batch["status"], "cancelled") << batch.dump();
  const int completed = batch["request_counts"]["completed"];
  EXPECT_GE(completed, 2);
  EXPECT_LT(completed, 400);
  std::vector<Json> lines = JsonLines(
      HttpCall(server.port(), "GET", "/v1/files/" + batch["output_file_id"].get<std::string>() + "/content").body);
  EXPECT_EQ(static_cast<int>(lines.size()), completed);
}

TEST(FilesApiTest, UploadsAreCheckedListedAndDeleted) {
  Config config = JobsConfig();
  config.jobs.batch_max_file_bytes = 1000;
  AdminServer server({.config = config});
  HttpResult purpose = Upload(server.port(), "fine-tune", "x.jsonl", "{}");
  EXPECT_EQ(purpose.status, 400);
  EXPECT_THAT(ParseBody(purpose)["error"]["message"].get<std::string>(), HasSubstr("purpose"));
  HttpResult big = Upload(server.port(), "batch", "big.jsonl", std::string(5000, 'x'));
  EXPECT_EQ(big.status, 400);
  EXPECT_THAT(ParseBody(big)["error"]["message"].get<std::string>(), HasSubstr("batch_max_file_bytes"));
  // Past the route's body limit (the file limit + 1 MiB for the form) the server answers 413
  // from the headers alone, before any body arrives.
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    ASSERT_FALSE(Connect(socket, server.port()));
    SetReceiveTimeout(socket, std::chrono::seconds(10));
    const std::string head =
        "POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
        "boundary=x\r\nContent-Length: 5000000\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(head));
    std::string answer;
    boost::system::error_code ec;
    boost::asio::read_until(socket, boost::asio::dynamic_buffer(answer), "\r\n\r\n", ec);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 413") << answer << ec.message();
  }
  // Just under it, the form is read and the file limit is what refuses it.
  HttpResult under = Upload(server.port(), "batch", "under.jsonl", std::string(600 << 10, 'x'));
  EXPECT_EQ(under.status, 400) << under.body;
  EXPECT_EQ(HttpCall(server.port(), "POST", "/v1/files", "{}", {{"Content-Type", "application/json"}}).status,
            400);

  Json file = ParseBody(Upload(server.port(), "batch", "ok.jsonl", "{\"a\":1}\n"));
  const std::string id = file["id"];
  EXPECT_EQ(ParseBody(HttpCall(server.port(), "GET", "/v1/files"))["data"][0]["id"], id);
  EXPECT_EQ(ParseBody(HttpCall(server.port(), "GET", "/v1/files/" + id))["filename"], "ok.jsonl");
  HttpResult deleted = HttpCall(server.port(), "DELETE", "/v1/files/" + id);
  EXPECT_EQ(ParseBody(deleted)["deleted"], true);
  EXPECT_EQ(HttpCall(server.port(), "GET", "/v1/files/" + id).status, 404);
  EXPECT_EQ(HttpCall(server.port(), "GET", "/v1/files/..%2F..%2Fetc%2Fpasswd").status, 404);
}

}  // namespace
}  // namespace modelrt::testing
