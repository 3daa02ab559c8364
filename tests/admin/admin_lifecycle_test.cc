// Run-time changes across a restart, config re-reads through POST /admin/config/reload (the SIGHUP
// path, in process), the config file watch, and the pool and reload series on GET /metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "admin_test_util.h"
#include "core/json.h"
#include "modelrt/lifecycle.h"

namespace modelrt::testing {
namespace {

using ::testing::HasSubstr;

// A config file for the server tests' catalog (absolute model paths), in `dir`.
std::string WriteConfig(const std::string& dir, const Json& models, const Json& profiles,
                        const Json& extra = Json::object()) {
  Json file = {{"server",
                {{"host", "127.0.0.1"},
                 {"port", 0},
                 {"threads", 2},
                 {"api_keys_env", "MODELRT_SERVER_TEST_UNSET_KEYS"},
                 {"admin_key_env", "MODELRT_ADMIN_TEST_UNSET_KEY"}}},
               {"providers", {{{"id", "local"}, {"type", "llama"}, {"options", {{"threads", 1}}}}}},
               {"models", models},
               {"profiles", profiles}};
  file.update(extra);
  std::string path = dir + "/modelrt.json";
  std::string tmp = path + ".tmp";
  std::ofstream(tmp) << file.dump(2);
  std::filesystem::rename(tmp, path);  // as editors do: the watcher sees a new file
  return path;
}

Json ChatJson(const std::string& alias) {
  return {{"alias", alias},
          {"task", "generate"},
          {"model", StoriesPath()},
          {"options", {{"ctx", 256}, {"parallel", 2}}}};
}

// A server over a config file, with its admin key in a file.
struct FileServer {
  std::string dir = FreshDir("file-server");
  std::string config_path;
  Config config;

  Result<Config> Load() {
    Result<Config> loaded = LoadConfigFile(config_path);
    if (!loaded) return loaded;
    loaded->server.admin_key_file = AdminConfig().server.admin_key_file;
    return loaded;
  }
};

TEST(AdminLifecycleTest, RunTimeChangesSurviveARestart) {
  const std::string state = FreshDir("persist") + "/registry.jsonl";
  {
    AdminServer server({.state_path = state});
    const int port = server.port();
    ASSERT_EQ(AdminJson(port, "PUT", "/admin/providers/extra",
                        {{"type", "llama"}, {"options", {{"threads", 1}}}})
                  .status,
              201);
    Json spec = EmbedSpecJson("kept", 7);
    spec["provider"] = "extra";
    ASSERT_EQ(AdminJson(port, "POST", "/admin/models", spec).status, 201);
    ASSERT_EQ(AdminCall(port, "DELETE", "/admin/models/rerank").status, 200);
    server.Stop();
  }
  AdminServer again({.state_path = state});
  const int port = again.port();
  EXPECT_TRUE(again.runtime().lifecycle().HasProvider("extra"));
  EXPECT_FALSE(again.runtime().Contains("rerank"));
  Json models = AdminCall(port, "GET", "/admin/models").json();
  Json kept = FindModel(models, "kept");
  ASSERT_FALSE(kept.is_null()) << models.dump();
  EXPECT_EQ(kept["provider"], "extra");
  EXPECT_TRUE(FindModel(models, "rerank").is_null());
  HttpResult call = Embed(port, "kept");
  EXPECT_EQ(call.status, 200) << call.body;
  Json providers = AdminCall(port, "GET", "/admin/providers").json();
  EXPECT_EQ(providers["data"].size(), 2u);
}

TEST(AdminLifecycleTest, ConfigReloadAppliesTheFileUnderRunTimeChanges) {
  const std::string dir = FreshDir("reload");
  const std::string embed = TestModel(llama::TestModelKind::kBertEmbed);
  Json embed_json = {{"alias", "embed"}, {"task", "embed"}, {"model", embed}};
  std::string path = WriteConfig(dir, {embed_json, ChatJson("chat")}, Json::array());
  Result<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  config->server.admin_key_file = AdminConfig().server.admin_key_file;
  AdminServer server({.config = *config, .config_path = path});
  const int port = server.port();
  ASSERT_EQ(Embed(port, "embed").status, 200);
  // A run-time alias: it must survive the re-read.
  ASSERT_EQ(AdminJson(port, "POST", "/admin/models", EmbedSpecJson("mine")).status, 201);

  // The file: chat goes, story and a profile come, embed gets new options (loaded: reloaded).
  Json embed_v2 = embed_json;
  embed_v2["options"] = {{"normalize", false}};
  WriteConfig(dir, {embed_v2, ChatJson("story")},
              {{{"name", "teller"}, {"model", "story"}, {"system", "Be brief."}}});
  HttpResult r = AdminCall(port, "POST", "/admin/config/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  Json summary = r.json();
  EXPECT_EQ(summary["added"], Json({"story"}));
  EXPECT_EQ(summary["removed"], Json({"chat"}));
  EXPECT_EQ(summary["reloaded"], Json({"embed"}));
  EXPECT_EQ(summary["changed"], Json({"embed"}));
  EXPECT_TRUE(summary["notes"].is_array());
  EXPECT_EQ(summary["version"], server.control().registry().version());

  EXPECT_FALSE(server.runtime().Contains("chat"));
  EXPECT_TRUE(server.runtime().Contains("mine"));
  EXPECT_EQ(Embed(port, "embed").Header("X-Model-Generation"), "2");
  // The new profile resolves (profiles follow the registry).
  HttpResult chat = PostJson(port, "/v1/chat/completions",
                             {{"model", "teller"},
                              {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                              {"max_tokens", 2}});
  EXPECT_EQ(chat.status, 200) << chat.body;
  EXPECT_THAT(HttpCall(port, "GET", "/v1/models").body, HasSubstr("\"teller\""));

  // An invalid file: 400, nothing applied.
  std::ofstream(path) << "{\"models\": [{\"alias\": \"x\"}]}";
  const uint64_t version = server.control().registry().version();
  HttpResult bad = AdminCall(port, "POST", "/admin/config/reload");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.json()["error"]["message"].get<std::string>(), HasSubstr("nothing applied"));
  EXPECT_EQ(server.control().registry().version(), version);
  EXPECT_TRUE(server.runtime().Contains("story"));
}

TEST(AdminLifecycleTest, EmbeddedCatalogHasNothingToReload) {
  AdminServer server;  // no config path: like `modelrt serve` without --config
  HttpResult r = AdminCall(server.port(), "POST", "/admin/config/reload");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_THAT(r.json()["error"]["message"].get<std::string>(), HasSubstr("embedded"));
}

TEST(AdminLifecycleTest, WatchedConfigFileIsReappliedWhenItChanges) {
  const std::string dir = FreshDir("watch");
  Json embed = {{"alias", "embed"}, {"task", "embed"},
                {"model", TestModel(llama::TestModelKind::kBertEmbed)}};
  Json reload = {{"reload", {{"watch_config", true}, {"debounce_ms", 50}}}};
  std::string path = WriteConfig(dir, Json::array({embed}), Json::array(), reload);
  Result<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  config->server.admin_key_file = AdminConfig().server.admin_key_file;
  AdminServer server({.config = *config, .config_path = path});
  ASSERT_TRUE(server.control().watching_config());
  WriteConfig(dir, {embed, ChatJson("added")}, Json::array(), reload);
  bool seen = false;
  for (int i = 0; i < 300 && !seen; ++i) {  // bounded wait: 30 s
    seen = server.runtime().Contains("added");
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen) << "the watch did not re-apply the file";
}

double MetricValue(const std::string& text, const std::string& series) {
  size_t pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + series.size() + 2));
}

TEST(AdminLifecycleTest, PoolAndReloadSeriesOnMetrics) {
  AdminServer server;
  const int port = server.port();
  ASSERT_EQ(Embed(port, "embed").status, 200);
  ASSERT_EQ(AdminCall(port, "POST", "/admin/models/embed/reload").status, 200);
  HttpResult r = HttpCall(port, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  const std::string& text = r.body;
  EXPECT_THAT(text, HasSubstr("# TYPE modelrt_pool_bytes_in_use gauge"));
  // What the pool says and what /metrics says agree.
  PoolStats stats = server.runtime().PoolStatus();
  EXPECT_EQ(MetricValue(text, "modelrt_pool_bytes_in_use"), static_cast<double>(stats.bytes_in_use));
  EXPECT_GT(MetricValue(text, "modelrt_pool_bytes_in_use"), 0);
  EXPECT_THAT(text, HasSubstr("modelrt_pool_engines"));
  EXPECT_THAT(text, HasSubstr("modelrt_reloads_total{alias=\"embed\",trigger=\"api\","
                              "outcome=\"success\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelrt_reload_seconds_count{alias=\"embed\"} 1"));
}

}  // namespace
}  // namespace modelrt::testing
