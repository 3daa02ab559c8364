// End to end: the `modelrt` admin verbs as child processes against a real `modelrt serve` child
// (real llama.cpp models: stories260K and generated BERT embedder/reranker), checking their
// output, their exit codes and that the server's state really changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cli/admin_client.h"
#include "core/json.h"
#include "serve_process.h"
#include "support/llama_test_models.h"
#include "support/run_command.h"

namespace modelrt::testing {
namespace {

using Json = nlohmann::json;

std::string StoriesPath() { return std::string(MODELRT_SOURCE_DIR) + "/models/stories260K.gguf"; }

Json E2eConfig() {
  auto model = [](const char* alias, const char* task, const std::string& path) {
    return Json{{"alias", alias},
                {"task", task},
                {"provider", "local"},
                {"model", path},
                {"options", {{"ctx", 256}, {"parallel", 1}}}};
  };
  return {{"server",
           {{"host", "127.0.0.1"},
            {"port", 0},
            {"threads", 2},
            {"api_keys_env", "MODELRT_CLI_E2E_UNSET_KEYS"},
            {"drain_grace_s", 5}}},
          {"providers", {{{"id", "local"}, {"type", "llama"}, {"options", {{"threads", 1}}}}}},
          {"models",
           {model("chat", "generate", StoriesPath()),
            model("embed", "embed", TestModel(llama::TestModelKind::kBertEmbed)),
            model("rerank", "rerank", TestModel(llama::TestModelKind::kBertRerank))}}};
}

class CliE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = TestTempDir() + "/e2e-" + std::to_string(counter.fetch_add(1));
    std::filesystem::create_directories(dir_ + "/data");
    config_path_ = dir_ + "/config.json";
    WriteConfig(E2eConfig());
    server_ = std::make_unique<ServeProcess>(
        config_path_,
        std::vector<std::string>{"MODELRT_ADMIN_KEY=" + key_, "MODELRT_DATA_DIR=" + dir_ + "/data"},
        dir_ + "/server.log");
    ASSERT_TRUE(server_->Start()) << "the server did not start:\n" << server_->log();
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << server_->log();
    }
  }

  cli::AdminClient Admin() const {
    cli::AdminClientOptions options;
    options.server = cli::ParseServerUrl(server_->url()).value();
    options.admin_key = key_;
    options.timeout = std::chrono::seconds(120);
    return cli::AdminClient(std::move(options));
  }

  void WriteConfig(const Json& config) { std::ofstream(config_path_) << config.dump(2); }

  // `modelrt ARGS` pointed at the server through $MODELRT_SERVER, with the admin key.
  CommandResult Cli(const std::string& args) const {
    return RunCommand("env -u MODELRT_ADMIN_KEY MODELRT_SERVER=" + server_->url() +
                      " MODELRT_ADMIN_KEY=" + key_ + " " + std::string(MODELRT_BIN_DIR) +
                      "/modelrt " + args);
  }

  // A verb that must succeed; its stdout.
  std::string Ok(const std::string& args) const {
    CommandResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << "modelrt " << args << "\nstderr: " << r.err << "\nserver log:\n"
                              << server_->log();
    return r.out;
  }

  // `ps --json`, the entry for `alias` (null when absent).
  Json PsEntry(const std::string& alias) const {
    Json answer = Json::parse(Ok("ps --json"), nullptr, false);
    EXPECT_TRUE(answer.is_object()) << "ps --json is not JSON";
    if (!answer.is_object()) return nullptr;
    for (const Json& m : answer["data"]) {
      if (m.value("alias", "") == alias) return m;
    }
    return nullptr;
  }

  std::string dir_;
  std::string config_path_;
  const std::string key_ = "e2e-admin-" + std::to_string(::getpid());
  std::unique_ptr<ServeProcess> server_;
};

// The row of `alias` in a table (the line starting with "alias ").
std::string Row(const std::string& table, const std::string& alias) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(alias + " ", 0) == 0) return line;
  }
  return "";
}

TEST_F(CliE2eTest, PsListsTheCatalogUnloadedAtFirst) {
  std::string out = Ok("ps");
  EXPECT_EQ(out.rfind("ALIAS ", 0), 0u) << out;
  for (const char* column : {"TASK", "STATE", "GEN", "IN-FLIGHT", "MEMORY", "LAST-USED"}) {
    EXPECT_NE(out.substr(0, out.find('\n')).find(column), std::string::npos) << column;
  }
  for (const char* alias : {"chat", "embed", "rerank"}) {
    EXPECT_NE(Row(out, alias).find("unloaded"), std::string::npos) << out;
  }
  EXPECT_NE(Row(out, "chat").find("generate"), std::string::npos) << out;
  // --server beats $MODELRT_SERVER, which here points nowhere.
  CommandResult r = RunCommand("MODELRT_SERVER=http://127.0.0.1:1 MODELRT_ADMIN_KEY=" + key_ + " " +
                               MODELRT_BIN_DIR + "/modelrt ps --server " + server_->url());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, out);
}

TEST_F(CliE2eTest, LoadReloadUnloadChangeStateAndGeneration) {
  std::string loaded = Ok("load chat");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      loaded, m, std::regex(R"(^chat: loaded \(generation (\d+), [0-9.]+ MiB\)\n$)")))
      << loaded;
  const int g1 = std::stoi(m[1]);
  Json entry = PsEntry("chat");
  EXPECT_EQ(entry["state"], "loaded");
  EXPECT_EQ(entry["generation"], g1);
  EXPECT_GT(entry["memory_bytes"].get<int64_t>(), 0);
  std::string row = Row(Ok("ps"), "chat");
  EXPECT_NE(row.find(" loaded "), std::string::npos) << row;
  EXPECT_NE(row.find(" MiB"), std::string::npos) << row;

  std::string reloaded = Ok("reload chat");
  ASSERT_TRUE(std::regex_search(
      reloaded, m, std::regex(R"(^chat: reloaded, generation (\d+) -> (\d+) \(.+\)\n$)")))
      << reloaded;
  EXPECT_EQ(std::stoi(m[1]), g1);
  const int g2 = std::stoi(m[2]);
  EXPECT_GT(g2, g1);
  EXPECT_EQ(PsEntry("chat")["generation"], g2);

  std::string log = Ok("reloads");
  EXPECT_EQ(log.rfind("global generation ", 0), 0u) << log;
  std::string reload_row;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" chat ") != std::string::npos) reload_row = line;
  }
  EXPECT_NE(reload_row.find("succeeded"), std::string::npos) << log;
  EXPECT_NE(reload_row.find("api"), std::string::npos) << log;
  Json reloads = Json::parse(Ok("reloads --json"), nullptr, false);
  ASSERT_TRUE(reloads.is_object());
  ASSERT_FALSE(reloads["reloads"].empty());
  EXPECT_EQ(reloads["reloads"].back()["new_generation"], g2);

  EXPECT_EQ(Ok("unload chat").rfind("chat: unloaded (generation ", 0), 0u);
  EXPECT_EQ(PsEntry("chat")["state"], "unloaded");
}

TEST_F(CliE2eTest, ReloadOntoANewFileAndAFailedReloadKeepsTheOldEngine) {
  Ok("load chat");
  const int g1 = PsEntry("chat")["generation"].get<int>();
  const std::string copy = dir_ + "/stories-copy.gguf";
  std::filesystem::copy_file(StoriesPath(), copy);
  std::string out = Ok("reload chat --model " + copy);
  EXPECT_NE(out.find("chat: reloaded, generation "), std::string::npos) << out;
  Json entry = PsEntry("chat");
  EXPECT_EQ(entry["model"], copy);
  const int g2 = entry["generation"].get<int>();
  EXPECT_GT(g2, g1);

  const std::string junk = dir_ + "/junk.gguf";
  std::ofstream(junk) << "this is not a gguf file";
  CommandResult r = Cli("reload chat --model " + junk);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(std::regex_match(r.err, std::regex(R"(modelrt: error: .+ \(HTTP [45]\d\d\)\n)")))
      << r.err;
  entry = PsEntry("chat");
  EXPECT_EQ(entry["state"], "loaded");
  EXPECT_EQ(entry["generation"], g2);
  EXPECT_EQ(entry["model"], copy);
}

TEST_F(CliE2eTest, ErrorsAreOneLineWithTheHttpStatus) {
  CommandResult r = Cli("load no-such-alias");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(
      std::regex_match(r.err, std::regex(R"(modelrt: error: .*no-such-alias.* \(HTTP 404\)\n)")))
      << r.err;

  r = RunCommand("env -u MODELRT_ADMIN_KEY " + std::string(MODELRT_BIN_DIR) +
                 "/modelrt ps --server " + server_->url());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(std::regex_match(
      r.err, std::regex(R"(modelrt: error: .+ \(HTTP 403\); no admin key was given: .+\n)")))
      << r.err;

  const std::string wrong = dir_ + "/wrong.key";
  std::ofstream(wrong) << "not-the-key\n";
  r = Cli("ps --admin-key-file " + wrong);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "modelrt: error: admin key required (HTTP 403)\n");

  r = Cli("providers preview no-such-provider");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("(HTTP 404)"), std::string::npos) << r.err;
}

TEST_F(CliE2eTest, ProvidersListShowPreviewRemovePut) {
  std::string list = Ok("providers list");
  EXPECT_EQ(list.rfind("registry version ", 0), 0u) << list;
  EXPECT_NE(Row(list, "local").find("llama"), std::string::npos) << list;
  EXPECT_EQ(Ok("providers"), list);

  std::string shown = Ok("providers show local");
  EXPECT_NE(shown.find("type:      llama"), std::string::npos) << shown;
  for (const char* alias : {"chat", "embed", "rerank"}) {
    EXPECT_NE(shown.substr(shown.find("used by:")).find(alias), std::string::npos) << shown;
  }

  std::string preview = Ok("providers preview local");
  EXPECT_NE(preview.find("block:     refused"), std::string::npos) << preview;
  EXPECT_NE(preview.find("cascade:   allowed"), std::string::npos) << preview;
  EXPECT_NE(preview.find("chat"), std::string::npos) << preview;

  CommandResult r = Cli("providers remove local");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(std::regex_match(r.err, std::regex(R"(modelrt: error: .+ \(HTTP 409\)\n)"))) << r.err;
  EXPECT_NE(Row(Ok("providers"), "local").find("llama"), std::string::npos);  // still there

  const std::string file = dir_ + "/extra.yaml";
  std::ofstream(file) << "type: llama\noptions:\n  threads: 1\n";
  EXPECT_EQ(Ok("providers put extra --file " + file).rfind("created provider extra", 0), 0u);
  EXPECT_EQ(Ok("providers put extra --file " + file).rfind("replaced provider extra", 0), 0u);
  EXPECT_NE(Row(Ok("providers list"), "extra").find("llama"), std::string::npos);
  std::string extra_preview = Ok("providers preview extra");
  EXPECT_NE(extra_preview.find("block:     allowed"), std::string::npos) << extra_preview;
  EXPECT_EQ(Ok("providers remove extra").rfind("removed provider extra", 0), 0u);
  EXPECT_EQ(Row(Ok("providers list"), "extra"), "");
  r = Cli("providers show extra");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "modelrt: error: provider 'extra' is not in the registry\n");
}

TEST_F(CliE2eTest, CascadeRemovalTakesTheBoundAliasesWithIt) {
  const std::string file = dir_ + "/second.json";
  std::ofstream(file) << R"({"id":"second","type":"llama","options":{"threads":1}})";
  Ok("providers put second --file " + file);
  // The CLI has no verb to add an alias: POST /admin/models directly.
  Json spec = {{"alias", "chat2"},
               {"task", "generate"},
               {"provider", "second"},
               {"model", StoriesPath()},
               {"options", {{"ctx", 256}}}};
  Result<cli::HttpAnswer> added = Admin().Call("POST", "/admin/models", &spec);
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  EXPECT_FALSE(PsEntry("chat2").is_null());

  std::string out = Ok("providers remove second --policy cascade");
  EXPECT_EQ(out.rfind("removed provider second", 0), 0u) << out;
  EXPECT_NE(out.find("removed bindings: chat2"), std::string::npos) << out;
  EXPECT_TRUE(PsEntry("chat2").is_null());
  EXPECT_FALSE(PsEntry("chat").is_null());
}

TEST_F(CliE2eTest, RegistryPrintsTheSnapshot) {
  std::string text = Ok("registry");
  EXPECT_EQ(text.rfind("registry version ", 0), 0u) << text;
  EXPECT_NE(text.find("\nPROVIDERS\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nMODELS\n"), std::string::npos) << text;
  for (const char* alias : {"chat", "embed", "rerank"}) {
    EXPECT_NE(Row(text, alias).find("local"), std::string::npos) << text;
  }
  Json snapshot = Json::parse(Ok("registry --json"), nullptr, false);
  ASSERT_TRUE(snapshot.is_object());
  std::vector<std::string> aliases;
  for (const Json& b : snapshot["bindings"]) aliases.push_back(b.value("alias", ""));
  std::sort(aliases.begin(), aliases.end());
  EXPECT_EQ(aliases, (std::vector<std::string>{"chat", "embed", "rerank"}));
}

TEST_F(CliE2eTest, ConfigReloadAppliesTheEditedFile) {
  Json config = E2eConfig();
  config["models"].push_back({{"alias", "embed2"},
                              {"task", "embed"},
                              {"provider", "local"},
                              {"model", TestModel(llama::TestModelKind::kBertEmbed)},
                              {"options", {{"ctx", 256}}}});
  WriteConfig(config);
  std::string out = Ok("config-reload");
  EXPECT_NE(out.find("added: embed2"), std::string::npos) << out;
  EXPECT_EQ(PsEntry("embed2")["state"], "unloaded");
  EXPECT_NE(Ok("load embed2").find("embed2: loaded"), std::string::npos);
}

}  // namespace
}  // namespace modelrt::testing
