// Text rendered from admin API answers shaped as in the contract (README "Admin API"), and
// robustness against answers that lack fields or carry the wrong types.
#include "cli/admin_views.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/json.h"

namespace modelrt::cli {
namespace {

constexpr int64_t kNow = 1795647662;  // 2026-11-25T23:01:02Z

Json Model(std::string alias, std::string state, int generation, int64_t memory, Json last_used,
           std::string last_error = "") {
  return {{"alias", alias},           {"task", "generate"},     {"provider", "local"},
          {"model", "/m.gguf"},       {"state", state},         {"generation", generation},
          {"in_flight", 0},           {"memory_bytes", memory}, {"last_used", last_used},
          {"last_error", last_error}, {"required", false},      {"pinned", false},
          {"device", "cpu"}};
}

TEST(AdminViewsTest, PsTableHasTheColumnsMemoryInMibAndAges) {
  Json answer = {{"object", "list"},
                 {"data",
                  {Model("chat", "loaded", 3, 5 << 20, "2026-11-25T23:00:50Z"),
                   Model("embed", "unloaded", 0, 0, nullptr)}}};
  answer["data"][0]["in_flight"] = 2;
  answer["data"][1]["task"] = "embed";
  EXPECT_EQ(RenderModels(answer, kNow).value(),
            "ALIAS  TASK      STATE     GEN  IN-FLIGHT   MEMORY  LAST-USED\n"
            "chat   generate  loaded      3          2  5.0 MiB  12s ago\n"
            "embed  embed     unloaded    0          0        -  -\n");
}

TEST(AdminViewsTest, PsShowsPinnedAndTheLastErrorOfFailedModels) {
  Json failed = Model("bad", "failed", 1, 0, nullptr, "cannot open /x.gguf");
  Json pinned = Model("hot", "loaded", 2, 1 << 20, "2026-11-25T21:01:02Z");
  pinned["pinned"] = true;
  std::string text = RenderModels({{"data", {failed, pinned}}}, kNow).value();
  EXPECT_NE(text.find("loaded (pinned)"), std::string::npos) << text;
  EXPECT_NE(text.find("2h ago"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbad: last error: cannot open /x.gguf\n"), std::string::npos) << text;
}

TEST(AdminViewsTest, MistypedOrMissingFieldsShowAsDashNeverThrow) {
  Json odd = {{"alias", 42},
              {"state", nullptr},
              {"generation", "three"},
              {"memory_bytes", "lots"},
              {"last_used", "not a time"}};
  Json answer = {{"data", {odd, "a string", Json::object(), Json::array()}}};
  std::string text;
  ASSERT_NO_THROW(text = RenderModels(answer, kNow).value());
  EXPECT_NE(text.find("42"), std::string::npos);
  EXPECT_NE(text.find("not a time"), std::string::npos);  // unparsable times shown as given
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
}

TEST(AdminViewsTest, AnswersWithoutTheirListAreErrors) {
  for (const Json& bad : {Json(nullptr), Json("x"), Json::object(), Json{{"data", "x"}}}) {
    Result<std::string> r = RenderModels(bad, kNow);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("no 'data' list"), std::string::npos);
    EXPECT_FALSE(RenderProviders(bad).ok());
    EXPECT_FALSE(RenderRegistry(bad).ok());
    EXPECT_FALSE(RenderReloads(bad, kNow).ok());
  }
}

TEST(AdminViewsTest, ModelStateLine) {
  EXPECT_EQ(RenderModelState(Model("chat", "loaded", 2, 3 << 20, nullptr)),
            "chat: loaded (generation 2, 3.0 MiB)\n");
  EXPECT_EQ(RenderModelState(Model("chat", "unloaded", 2, 0, nullptr)),
            "chat: unloaded (generation 2)\n");
}

TEST(AdminViewsTest, ReloadRecordSucceededAndFailed) {
  Json ok = {{"alias", "chat"},
             {"old_generation", 1},
             {"new_generation", 2},
             {"outcome", "succeeded"},
             {"error", ""},
             {"trigger", "api"},
             {"started_at", "2026-11-25T23:01:00Z"},
             {"duration_ms", 340}};
  EXPECT_EQ(RenderReload(ok), "chat: reloaded, generation 1 -> 2 (340 ms)\n");
  Json failed = ok;
  failed["outcome"] = "failed";
  failed["error"] = "bad magic";
  EXPECT_EQ(RenderReload(failed), "chat: reload failed after 340 ms: bad magic\n");

  Json log = {{"global_generation", 7}, {"reloads", {ok, failed}}, {"versions", Json::array()}};
  std::string text = RenderReloads(log, kNow).value();
  EXPECT_EQ(text.rfind("global generation 7\n\nSTARTED", 0), 0u) << text;
  EXPECT_NE(text.find("2s ago   chat"), std::string::npos) << text;
  EXPECT_NE(text.find("succeeded"), std::string::npos);
  EXPECT_NE(text.find("bad magic"), std::string::npos);
  EXPECT_EQ(RenderReloads({{"global_generation", 0}, {"reloads", Json::array()}}, kNow).value(),
            "global generation 0\n\nno reloads yet\n");
}

Json Registry() {
  return {{"version", 4},
          {"providers",
           {{{"id", "local"}, {"type", "llama"}, {"options", {{"threads", 1}}}},
            {{"id", "oai"},
             {"type", "openai"},
             {"base_url", "http://up"},
             {"api_key_env", "OAI_KEY"},
             {"options", Json::object()}}}},
          {"bindings",
           {{{"alias", "chat"}, {"task", "generate"}, {"provider", "local"}, {"model", "/s.gguf"}},
            {{"alias", "embed"}, {"task", "embed"}, {"provider", "local"}, {"model", "/e.gguf"}}}},
          {"profiles", {{{"name", "storyteller"}, {"model", "chat"}, {"system", "Tell"}}}}};
}

TEST(AdminViewsTest, RegistryHasProvidersModelsAndProfiles) {
  std::string text = RenderRegistry(Registry()).value();
  EXPECT_EQ(text.rfind(
                "registry version 4\n\nPROVIDERS\nID     TYPE    BASE-URL   KEY-ENV  OPTIONS\n", 0),
            0u)
      << text;
  EXPECT_NE(text.find("oai    openai  http://up  OAI_KEY  {}"), std::string::npos) << text;
  EXPECT_NE(text.find("\nMODELS\nALIAS  TASK      PROVIDER  MODEL"), std::string::npos) << text;
  EXPECT_NE(text.find("\nPROFILES\nNAME         MODEL  SYSTEM\nstoryteller  chat   Tell\n"),
            std::string::npos)
      << text;
}

TEST(AdminViewsTest, ProvidersListAndShow) {
  Json list = {{"version", 4}, {"data", Registry()["providers"]}};
  std::string text = RenderProviders(list).value();
  EXPECT_EQ(text,
            "registry version 4\n\n"
            "ID     TYPE    BASE-URL   KEY-ENV  OPTIONS\n"
            "local  llama   -          -        {\"threads\":1}\n"
            "oai    openai  http://up  OAI_KEY  {}\n");
  std::string shown = RenderProvider(Registry()["providers"][0], Registry()["bindings"]);
  EXPECT_EQ(shown,
            "id:        local\n"
            "type:      llama\n"
            "options:   {\"threads\":1}\n"
            "used by:   chat, embed\n");
  EXPECT_NE(RenderProvider(Registry()["providers"][1], Json::array()).find("used by:   -"),
            std::string::npos);
}

TEST(AdminViewsTest, RemovalPreviewRemovalAndPut) {
  Json preview = {{"provider", "local"},
                  {"version", 4},
                  {"bindings", {"chat", "embed"}},
                  {"profiles", {{{"name", "storyteller"}}}},
                  {"allowed", {{"block", false}, {"cascade", true}}},
                  {"reasons", {{"block", "used by chat, embed"}, {"cascade", ""}}}};
  EXPECT_EQ(RenderRemovalPreview(preview),
            "provider local (registry version 4)\n"
            "bindings:  chat, embed\n"
            "profiles:  storyteller\n"
            "block:     refused - used by chat, embed\n"
            "cascade:   allowed\n");
  EXPECT_EQ(RenderProviderRemoval(
                {{"id", "local"}, {"version", 5}, {"removed_bindings", {"chat", "embed"}}}),
            "removed provider local (registry version 5); removed bindings: chat, embed\n");
  EXPECT_EQ(
      RenderProviderRemoval({{"id", "x"}, {"version", 6}, {"removed_bindings", Json::array()}}),
      "removed provider x (registry version 6); removed bindings: -\n");
  EXPECT_EQ(RenderProviderPut({{"id", "x"}, {"version", 7}, {"created", true}}),
            "created provider x (registry version 7)\n");
  EXPECT_EQ(RenderProviderPut({{"id", "x"}, {"version", 8}, {"created", false}}),
            "replaced provider x (registry version 8)\n");
  Json replaced = {{"id", "x"},
                   {"version", 9},
                   {"created", false},
                   {"reloaded", {"chat", "embed"}},
                   {"failed", {{{"alias", "rerank"}, {"error", "Unavailable: no room"}}}}};
  EXPECT_EQ(RenderProviderPut(replaced),
            "replaced provider x (registry version 9)\nreloaded: chat, embed\n"
            "failed: rerank: Unavailable: no room\n");
  EXPECT_EQ(FailedCount(replaced), 1u);
  EXPECT_EQ(FailedCount({{"failed", Json::array()}}), 0u);
  EXPECT_EQ(FailedCount(Json::object()), 0u);
}

TEST(AdminViewsTest, ConfigReloadListsWhatChanged) {
  EXPECT_EQ(RenderConfigReload({{"added", Json::array()},
                                {"removed", Json::array()},
                                {"changed", Json::array()},
                                {"reloaded", Json::array()},
                                {"notes", Json::array()}}),
            "configuration reloaded: no changes\n");
  EXPECT_EQ(RenderConfigReload({{"added", {"a", "b"}},
                                {"removed", Json::array()},
                                {"changed", {"c"}},
                                {"reloaded", {"c"}},
                                {"notes", {"server.port changes need a restart"}}}),
            "configuration reloaded\nadded: a, b\nchanged: c\nreloaded: c\n"
            "note: server.port changes need a restart\n");
  EXPECT_EQ(RenderConfigReload(
                {{"version", 9},
                 {"added", Json::array()},
                 {"failed", {{{"alias", "chat"}, {"error", "bad magic"}}}},
                 {"providers",
                  {{"added", {"remote"}}, {"replaced", Json::array()}, {"removed", {"old"}}}},
                 {"pool_limits_changed", true}}),
            "configuration reloaded\nproviders added: remote\nproviders removed: old\n"
            "pool limits changed\nfailed: chat: bad magic\n");
}

TEST(AdminViewsTest, StringFieldNeverThrows) {
  EXPECT_EQ(StringField({{"id", "x"}}, "id"), "x");
  EXPECT_EQ(StringField({{"id", 3}}, "id"), "");
  EXPECT_EQ(StringField(Json::array(), "id"), "");
  EXPECT_EQ(StringField(Json(nullptr), "id"), "");
}

}  // namespace
}  // namespace modelrt::cli
