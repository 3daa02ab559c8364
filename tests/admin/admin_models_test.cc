// /admin/models on a real server with real models: listing, register + call + remove, load,
// unload, reload (generations and X-Model-Generation), a failed reload, version history, pool
// statistics, and bad input on each route.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "admin_test_util.h"
#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/lifecycle.h"

namespace modelrt::testing {
namespace {

using ::testing::HasSubstr;

TEST(AdminModelsTest, ListsEveryAliasWithStateAndGeneration) {
  AdminServer server;
  const int port = server.port();
  ASSERT_EQ(Embed(port, "embed").status, 200);  // loads embed

  HttpResult r = AdminCall(port, "GET", "/admin/models");
  ASSERT_EQ(r.status, 200) << r.body;
  Json list = r.json();
  EXPECT_EQ(list["object"], "list");
  EXPECT_EQ(list["data"].size(), server.runtime().List().size());
  Json embed = FindModel(list, "embed");
  ASSERT_FALSE(embed.is_null()) << r.body;
  EXPECT_EQ(embed["task"], "embed");
  EXPECT_EQ(embed["provider"], "local");
  EXPECT_EQ(embed["model"], TestModel(llama::TestModelKind::kBertEmbed));
  EXPECT_EQ(embed["state"], "loaded");
  EXPECT_EQ(embed["generation"], 1);
  EXPECT_EQ(embed["in_flight"], 0);
  EXPECT_GT(embed["memory_bytes"].get<int64_t>(), 0);
  EXPECT_TRUE(embed["last_used"].is_string());
  EXPECT_THAT(embed["last_used"].get<std::string>(), ::testing::EndsWith("Z"));
  EXPECT_EQ(embed["last_error"], "");
  EXPECT_EQ(embed["required"], false);
  EXPECT_EQ(embed["pinned"], false);
  EXPECT_EQ(embed["device"], "cpu");
  Json chat = FindModel(list, "chat");
  EXPECT_EQ(chat["state"], "unloaded");
  EXPECT_EQ(chat["generation"], 0);
  EXPECT_TRUE(chat["last_used"].is_null());
  EXPECT_EQ(chat["memory_bytes"], 0);

  HttpResult one = AdminCall(port, "GET", "/admin/models/rerank");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.json()["alias"], "rerank");
  EXPECT_EQ(one.json()["task"], "rerank");
  HttpResult missing = AdminCall(port, "GET", "/admin/models/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"]["code"], "not_found");
}

TEST(AdminModelsTest, RegisterCallAndRemoveAnAlias) {
  AdminServer server;
  const int port = server.port();
  EXPECT_EQ(Embed(port, "fresh").status, 404);

  HttpResult created = AdminJson(port, "POST", "/admin/models", EmbedSpecJson("fresh", 7));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["alias"], "fresh");
  EXPECT_EQ(created.json()["state"], "unloaded");
  EXPECT_EQ(server.control().registry().Current()->bindings.count("fresh"), 1u);

  HttpResult call = Embed(port, "fresh");
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(call.Header("X-Model-Generation"), "1");
  // Listed by the OpenAI endpoint too.
  EXPECT_THAT(HttpCall(port, "GET", "/v1/models").body, HasSubstr("\"fresh\""));

  HttpResult duplicate = AdminJson(port, "POST", "/admin/models", EmbedSpecJson("fresh"));
  EXPECT_EQ(duplicate.status, 409) << duplicate.body;

  HttpResult removed = AdminCall(port, "DELETE", "/admin/models/fresh");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(removed.json()["alias"], "fresh");
  EXPECT_EQ(removed.json()["removed"], true);
  EXPECT_EQ(removed.json()["version"], server.control().registry().version());
  EXPECT_EQ(Embed(port, "fresh").status, 404);
  EXPECT_EQ(AdminCall(port, "DELETE", "/admin/models/fresh").status, 404);
}

TEST(AdminModelsTest, ProviderIsTheDefaultWhenLeftOut) {
  AdminServer server;
  Json spec = EmbedSpecJson("implied");
  spec.erase("provider");
  HttpResult created = AdminJson(server.port(), "POST", "/admin/models", spec);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["provider"], "local");
}

TEST(AdminModelsTest, ARequiredEagerModelThatFailsToLoadIsKeptFailedAndUnready) {
  AdminServer server;
  Json spec = EmbedSpecJson("doomed");
  spec["model"] = FreshDir("junk") + "/missing.gguf";
  spec["warmup"] = "eager";
  spec["required"] = true;
  const uint64_t version = server.control().registry().version();
  // Published (the spec is valid), then the load failed: that is the model's state, not undone.
  HttpResult r = AdminJson(server.port(), "POST", "/admin/models", spec);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["state"], "failed");
  EXPECT_THAT(r.json()["last_error"].get<std::string>(), HasSubstr("missing.gguf"));
  EXPECT_TRUE(r.json()["failed_at"].is_string());
  auto snapshot = server.control().registry().Current();
  EXPECT_EQ(snapshot->bindings.count("doomed"), 1u);
  EXPECT_EQ(snapshot->version, version + 1);

  HttpResult listed = AdminCall(server.port(), "GET", "/admin/models/doomed");
  EXPECT_EQ(listed.json()["state"], "failed");
  HttpResult ready = AdminCall(server.port(), "GET", "/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.json()["models"]["doomed"]["state"], "failed");
  EXPECT_TRUE(ready.json()["models"]["doomed"]["failed_at"].is_string());

  // Removing it is an ordinary write, and the server is ready again.
  EXPECT_EQ(AdminCall(server.port(), "DELETE", "/admin/models/doomed").status, 200);
  EXPECT_FALSE(server.runtime().Contains("doomed"));
  EXPECT_EQ(AdminCall(server.port(), "GET", "/ready").status, 200);
}

TEST(AdminModelsTest, ASpecTheProviderRejectsIsNeverPublished) {
  AdminServer server;
  Json spec = EmbedSpecJson("odd");
  spec["options"] = {{"no_such_option", 1}};
  const uint64_t version = server.control().registry().version();
  HttpResult r = AdminJson(server.port(), "POST", "/admin/models", spec);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(server.control().registry().version(), version);
  EXPECT_FALSE(server.runtime().Contains("odd"));
}

TEST(AdminModelsTest, LoadUnloadAndReloadMoveTheGeneration) {
  AdminServer server;
  const int port = server.port();
  HttpResult loaded = AdminCall(port, "POST", "/admin/models/embed/load");
  ASSERT_EQ(loaded.status, 200) << loaded.body;
  EXPECT_EQ(loaded.json()["state"], "loaded");
  EXPECT_EQ(loaded.json()["generation"], 1);
  EXPECT_EQ(Embed(port, "embed").Header("X-Model-Generation"), "1");

  HttpResult reloaded = AdminCall(port, "POST", "/admin/models/embed/reload");
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  Json record = reloaded.json();
  EXPECT_EQ(record["alias"], "embed");
  EXPECT_EQ(record["old_generation"], 1);
  EXPECT_EQ(record["new_generation"], 2);
  EXPECT_EQ(record["outcome"], "succeeded");
  EXPECT_EQ(record["error"], "");
  EXPECT_EQ(record["trigger"], "api");
  EXPECT_TRUE(record["started_at"].is_string());
  EXPECT_GE(record["duration_ms"].get<int64_t>(), 0);
  EXPECT_EQ(Embed(port, "embed").Header("X-Model-Generation"), "2");

  // A new file through the body: generation 3, saved in the registry.
  const std::string v2 = TestModel(llama::TestModelKind::kBertEmbed, -1, 7);
  HttpResult swapped = AdminJson(port, "POST", "/admin/models/embed/reload",
                                 {{"model", v2}, {"options", {{"parallel", 1}}}});
  ASSERT_EQ(swapped.status, 200) << swapped.body;
  EXPECT_EQ(swapped.json()["new_generation"], 3);
  EXPECT_EQ(swapped.json()["new_source"], v2);
  EXPECT_EQ(Embed(port, "embed").Header("X-Model-Generation"), "3");
  const ModelSpec& saved = server.control().registry().Current()->bindings.at("embed");
  EXPECT_EQ(saved.model, v2);
  EXPECT_EQ(OptionsJson(saved.options), Json({{"ctx", 256}, {"parallel", 1}}))
      << "options are merged";

  HttpResult unloaded = AdminCall(port, "POST", "/admin/models/embed/unload");
  ASSERT_EQ(unloaded.status, 200) << unloaded.body;
  EXPECT_EQ(unloaded.json()["state"], "unloaded");
  EXPECT_EQ(unloaded.json()["generation"], 3);
  HttpResult again = Embed(port, "embed");  // loads a new engine
  EXPECT_EQ(again.Header("X-Model-Generation"), "4");

  HttpResult versions = AdminCall(port, "GET", "/admin/models/embed/versions");
  ASSERT_EQ(versions.status, 200) << versions.body;
  Json data = versions.json()["data"];
  ASSERT_EQ(data.size(), 4u);
  EXPECT_EQ(data[0]["generation"], 1);
  EXPECT_EQ(data[3]["generation"], 4);
  EXPECT_EQ(data[3]["source"], v2);
  EXPECT_TRUE(data[0].contains("global_generation"));
  EXPECT_TRUE(data[0]["loaded_at"].is_string());
}

TEST(AdminModelsTest, AFailedReloadKeepsTheOldEngineAndIsLogged) {
  AdminServer server;
  const int port = server.port();
  ASSERT_EQ(AdminCall(port, "POST", "/admin/models/embed/load").status, 200);
  const std::string bad = FreshDir("bad") + "/nope.gguf";
  HttpResult failed = AdminJson(port, "POST", "/admin/models/embed/reload", {{"model", bad}});
  EXPECT_GE(failed.status, 400) << failed.body;
  EXPECT_FALSE(failed.json()["error"]["message"].get<std::string>().empty());

  HttpResult call = Embed(port, "embed");
  ASSERT_EQ(call.status, 200);
  EXPECT_EQ(call.Header("X-Model-Generation"), "1") << "the old engine still serves";
  EXPECT_NE(server.control().registry().Current()->bindings.at("embed").model, bad)
      << "a failed reload saves nothing";

  HttpResult log = AdminCall(port, "GET", "/admin/reloads");
  ASSERT_EQ(log.status, 200) << log.body;
  Json reloads = log.json()["reloads"];
  ASSERT_EQ(reloads.size(), 1u);
  EXPECT_EQ(reloads[0]["alias"], "embed");
  EXPECT_EQ(reloads[0]["outcome"], "failed");
  EXPECT_EQ(reloads[0]["old_generation"], 1);
  EXPECT_EQ(reloads[0]["new_generation"], 0);
  EXPECT_FALSE(reloads[0]["error"].get<std::string>().empty());
  EXPECT_EQ(log.json()["global_generation"], server.runtime().lifecycle().GlobalGeneration());
  ASSERT_GE(log.json()["versions"].size(), 1u);
}

TEST(AdminModelsTest, PoolStatistics) {
  AdminServer server;
  const int port = server.port();
  ASSERT_EQ(Embed(port, "embed").status, 200);
  ASSERT_EQ(Embed(port, "embed").status, 200);
  ASSERT_EQ(AdminCall(port, "POST", "/admin/models/rerank/load").status, 200);
  HttpResult r = AdminCall(port, "GET", "/admin/pool");
  ASSERT_EQ(r.status, 200) << r.body;
  Json pool = r.json();
  EXPECT_EQ(pool["loaded"], 2);
  EXPECT_GT(pool["bytes_in_use"].get<int64_t>(), 0);
  EXPECT_EQ(pool["memory_budget_bytes"], server.runtime().PoolStatus().budget_bytes);
  EXPECT_EQ(pool["max_loaded"], server.runtime().PoolStatus().max_loaded);
  EXPECT_GE(pool["hits"].get<int64_t>(), 1);
  EXPECT_GE(pool["misses"].get<int64_t>(), 1);
  EXPECT_EQ(pool["loads"], 2);
  EXPECT_EQ(pool["load_failures"], 0);
  for (const char* reason : {"lru", "ttl", "health", "manual"}) {
    EXPECT_EQ(pool["evictions"][reason], 0) << reason;
  }
  ASSERT_EQ(pool["engines"].size(), 2u);
  EXPECT_EQ(pool["engines"][0]["alias"], "embed");
  EXPECT_EQ(pool["engines"][0]["generation"], 1);
  EXPECT_GT(pool["engines"][0]["memory_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(pool["engines"][0]["in_flight"], 0);
  EXPECT_EQ(pool["engines"][0]["pinned"], false);
  EXPECT_TRUE(pool["engines"][0]["last_used"].is_string());

  ASSERT_EQ(AdminCall(port, "POST", "/admin/models/rerank/unload").status, 200);
  Json after = AdminCall(port, "GET", "/admin/pool").json();
  EXPECT_EQ(after["loaded"], 1);
  EXPECT_EQ(after["evictions"]["manual"], 1);
}

TEST(AdminModelsTest, BadInputOnEachRoute) {
  AdminServer server;
  const int port = server.port();
  auto expect = [&](const HttpResult& r, int status, const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_THAT(r.json()["error"]["message"].get<std::string>(), HasSubstr(text)) << r.body;
  };
  expect(AdminCall(port, "POST", "/admin/models", "{not json"), 400, "not valid JSON");
  expect(AdminCall(port, "POST", "/admin/models", "[1]"), 400, "JSON object");
  expect(AdminCall(port, "POST", "/admin/models", ""), 400, "empty");
  Json no_task = EmbedSpecJson("x");
  no_task.erase("task");
  expect(AdminJson(port, "POST", "/admin/models", no_task), 400, "task");
  Json bad_task = EmbedSpecJson("x");
  bad_task["task"] = "chat";
  expect(AdminJson(port, "POST", "/admin/models", bad_task), 400, "task");
  Json typo = EmbedSpecJson("x");
  typo["modle"] = "x";
  expect(AdminJson(port, "POST", "/admin/models", typo), 400, "modle");
  Json bad_option = EmbedSpecJson("x");
  bad_option["options"] = {{"no_such_option", 1}};
  expect(AdminJson(port, "POST", "/admin/models", bad_option), 400, "no_such_option");
  Json orphan = EmbedSpecJson("x");
  orphan["provider"] = "nowhere";
  expect(AdminJson(port, "POST", "/admin/models", orphan), 404, "nowhere");
  expect(AdminJson(port, "POST", "/admin/models", EmbedSpecJson("storyteller")), 409,
         "profile");
  EXPECT_FALSE(server.runtime().Contains("x"));

  // A profile uses chat: it cannot go.
  expect(AdminCall(port, "DELETE", "/admin/models/chat"), 409, "storyteller");
  expect(AdminCall(port, "DELETE", "/admin/models/nope"), 404, "nope");
  expect(AdminCall(port, "POST", "/admin/models/nope/load"), 404, "nope");
  expect(AdminCall(port, "POST", "/admin/models/nope/unload"), 404, "nope");
  expect(AdminCall(port, "POST", "/admin/models/nope/reload"), 404, "nope");
  expect(AdminCall(port, "GET", "/admin/models/nope/versions"), 404, "nope");
  expect(AdminCall(port, "POST", "/admin/models/embed/reload", "{oops"), 400, "not valid JSON");
  expect(AdminJson(port, "POST", "/admin/models/embed/reload", {{"task", "rerank"}}), 400,
         "task");
  expect(AdminJson(port, "POST", "/admin/models/embed/reload", {{"model", 5}}), 400, "model");
  expect(AdminJson(port, "POST", "/admin/models/embed/reload", {{"options", "x"}}), 400,
         "options");
  expect(AdminJson(port, "POST", "/admin/models/embed/reload",
                   {{"options", {{"no_such_option", 1}}}}),
         400, "no_such_option");
  EXPECT_EQ(AdminCall(port, "PATCH", "/admin/models/embed").status, 405);
}

}  // namespace
}  // namespace modelrt::testing
