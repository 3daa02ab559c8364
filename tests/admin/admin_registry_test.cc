// /admin/registry and /admin/providers on a real server: the snapshot, provider PUT (create and
// replace, with loaded aliases reloaded on the new provider), removal preview, DELETE with the
// block and cascade policies, and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "admin_test_util.h"
#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/lifecycle.h"

namespace modelrt::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

Json Names(const Json& list, const char* key) {
  Json names = Json::array();
  for (const Json& item : list) names.push_back(item[key]);
  return names;
}

TEST(AdminRegistryTest, SnapshotFollowsChanges) {
  AdminServer server;
  const int port = server.port();
  HttpResult r = AdminCall(port, "GET", "/admin/registry");
  ASSERT_EQ(r.status, 200) << r.body;
  Json snapshot = r.json();
  const uint64_t version = snapshot["version"];
  EXPECT_EQ(version, server.control().registry().version());
  EXPECT_EQ(Names(snapshot["providers"], "id"), Json({"local"}));
  EXPECT_EQ(snapshot["providers"][0]["type"], "llama");
  EXPECT_EQ(snapshot["providers"][0]["options"], Json({{"threads", 1}}));
  EXPECT_EQ(Names(snapshot["bindings"], "alias"), Json({"chat", "chat1", "embed", "rerank"}));
  EXPECT_EQ(snapshot["bindings"][2]["task"], "embed");
  EXPECT_EQ(Names(snapshot["profiles"], "name"), Json({"storyteller"}));
  EXPECT_EQ(snapshot["profiles"][0]["model"], "chat");

  ASSERT_EQ(AdminJson(port, "POST", "/admin/models", EmbedSpecJson("more")).status, 201);
  Json after = AdminCall(port, "GET", "/admin/registry").json();
  EXPECT_EQ(after["version"], version + 1);
  EXPECT_EQ(after["bindings"].size(), 5u);

  HttpResult providers = AdminCall(port, "GET", "/admin/providers");
  ASSERT_EQ(providers.status, 200);
  EXPECT_EQ(providers.json()["version"], version + 1);
  EXPECT_EQ(Names(providers.json()["data"], "id"), Json({"local"}));
}

TEST(AdminRegistryTest, PutCreatesThenReplacesAProvider) {
  AdminServer server;
  const int port = server.port();
  HttpResult created = AdminJson(port, "PUT", "/admin/providers/second",
                                 {{"type", "llama"}, {"options", {{"threads", 1}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["id"], "second");
  EXPECT_EQ(created.json()["created"], true);
  const uint64_t v1 = created.json()["version"];
  EXPECT_TRUE(server.runtime().lifecycle().HasProvider("second"));
  HttpResult shown = AdminCall(port, "GET", "/admin/providers/second");
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.json()["id"], "second");
  EXPECT_EQ(shown.json()["type"], "llama");
  EXPECT_EQ(shown.json()["options"], Json({{"threads", 1}}));
  EXPECT_EQ(shown.json()["version"], v1);
  EXPECT_EQ(AdminCall(port, "GET", "/admin/providers/nobody").status, 404);

  Json spec = EmbedSpecJson("on-second");
  spec["provider"] = "second";
  ASSERT_EQ(AdminJson(port, "POST", "/admin/models", spec).status, 201);
  HttpResult call = Embed(port, "on-second");
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(call.Header("X-Model-Generation"), "1");

  // Replaced: the loaded alias is reloaded on the new provider.
  HttpResult replaced = AdminJson(port, "PUT", "/admin/providers/second",
                                  {{"id", "second"}, {"type", "llama"},
                                   {"options", {{"threads", 2}}}});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(replaced.json()["created"], false);
  EXPECT_GT(replaced.json()["version"].get<uint64_t>(), v1);
  EXPECT_EQ(replaced.json()["reloaded"], Json({"on-second"}));
  EXPECT_EQ(Embed(port, "on-second").Header("X-Model-Generation"), "2");
  EXPECT_EQ(OptionsJson(server.control().registry().Current()->providers.at("second").options),
            Json({{"threads", 2}}));

  // The same again: nothing to do, no reload.
  HttpResult same = AdminJson(port, "PUT", "/admin/providers/second",
                              {{"type", "llama"}, {"options", {{"threads", 2}}}});
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(same.json()["version"], replaced.json()["version"]);
  EXPECT_EQ(Embed(port, "on-second").Header("X-Model-Generation"), "2");
}

TEST(AdminRegistryTest, PutRejectsBadProviders) {
  AdminServer server;
  const int port = server.port();
  auto expect = [&](const HttpResult& r, int status, const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_THAT(r.json()["error"]["message"].get<std::string>(), HasSubstr(text)) << r.body;
  };
  expect(AdminCall(port, "PUT", "/admin/providers/p", "{nope"), 400, "not valid JSON");
  expect(AdminJson(port, "PUT", "/admin/providers/p", {{"id", "q"}, {"type", "llama"}}), 400,
         "must match the path");
  expect(AdminJson(port, "PUT", "/admin/providers/p", {{"options", Json::object()}}), 400,
         "type");
  expect(AdminJson(port, "PUT", "/admin/providers/p", {{"type", "no-such-type"}}), 400,
         "no-such-type");
  expect(AdminJson(port, "PUT", "/admin/providers/p",
                   {{"type", "llama"}, {"options", {{"bogus", 1}}}}),
         400, "bogus");
  HttpResult secret = AdminJson(port, "PUT", "/admin/providers/p",
                                {{"type", "llama"}, {"api_key", "sk-live-secret-1"}});
  EXPECT_EQ(secret.status, 400);
  EXPECT_THAT(secret.body, Not(HasSubstr("sk-live-secret-1")));
  expect(AdminJson(port, "PUT", "/admin/providers/bad%20id", {{"type", "llama"}}), 400, "id");
  // Remote types: the key variable must be set, the URL must be one, options known.
  unsetenv("MODELRT_TEST_UNSET_KEY");
  expect(AdminJson(port, "PUT", "/admin/providers/p",
                   {{"type", "openai"}, {"api_key_env", "MODELRT_TEST_UNSET_KEY"}}),
         400, "api_key_env: variable MODELRT_TEST_UNSET_KEY is not set");
  expect(AdminJson(port, "PUT", "/admin/providers/p",
                   {{"type", "openai"}, {"base_url", "ftp://example.com/v1"}}),
         400, "base_url");
  expect(AdminJson(port, "PUT", "/admin/providers/p",
                   {{"type", "openai"}, {"options", {{"timeout", 3}}}}),
         400, "timeout");
  EXPECT_FALSE(server.runtime().lifecycle().HasProvider("p"));
  EXPECT_EQ(server.control().registry().Current()->providers.size(), 1u);
}

TEST(AdminRegistryTest, ARemoteProviderShowsItsBreakers) {
  AdminServer server;
  const int port = server.port();
  ASSERT_EQ(AdminJson(port, "PUT", "/admin/providers/up",
                      {{"type", "openai"}, {"base_url", "http://127.0.0.1:9/v1"}})
                .status,
            201);
  HttpResult shown = AdminCall(port, "GET", "/admin/providers/up", "");
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.json()["type"], "openai");
  EXPECT_EQ(shown.json()["state"]["breakers"], Json::object());  // no upstream model called yet
}

TEST(AdminRegistryTest, RemovalPreviewAndPolicies) {
  AdminServer server;
  const int port = server.port();
  ASSERT_EQ(AdminJson(port, "PUT", "/admin/providers/extra", {{"type", "llama"}}).status, 201);
  Json spec = EmbedSpecJson("e1");
  spec["provider"] = "extra";
  ASSERT_EQ(AdminJson(port, "POST", "/admin/models", spec).status, 201);
  ASSERT_EQ(Embed(port, "e1").status, 200);

  HttpResult preview = AdminCall(port, "GET", "/admin/providers/extra/removal-preview");
  ASSERT_EQ(preview.status, 200) << preview.body;
  Json p = preview.json();
  EXPECT_EQ(p["provider"], "extra");
  EXPECT_EQ(p["version"], server.control().registry().version());
  EXPECT_EQ(p["bindings"], Json({"e1"}));
  EXPECT_EQ(p["profiles"], Json::array());
  EXPECT_EQ(p["allowed"]["block"], false);
  EXPECT_EQ(p["allowed"]["cascade"], true);
  EXPECT_THAT(p["reasons"]["block"].get<std::string>(), HasSubstr("e1"));
  EXPECT_EQ(p["reasons"]["cascade"], "");

  HttpResult blocked = AdminCall(port, "DELETE", "/admin/providers/extra");
  EXPECT_EQ(blocked.status, 409) << blocked.body;
  EXPECT_THAT(blocked.json()["error"]["message"].get<std::string>(), HasSubstr("'e1'"));
  EXPECT_EQ(AdminCall(port, "DELETE", "/admin/providers/extra?policy=block").status, 409);
  HttpResult bad_policy = AdminCall(port, "DELETE", "/admin/providers/extra?policy=nuke");
  EXPECT_EQ(bad_policy.status, 400) << bad_policy.body;
  EXPECT_THAT(bad_policy.json()["error"]["message"].get<std::string>(), HasSubstr("nuke"));
  EXPECT_EQ(Embed(port, "e1").status, 200) << "refused removals change nothing";

  HttpResult cascaded = AdminCall(port, "DELETE", "/admin/providers/extra?policy=cascade");
  ASSERT_EQ(cascaded.status, 200) << cascaded.body;
  EXPECT_EQ(cascaded.json()["id"], "extra");
  EXPECT_EQ(cascaded.json()["removed_bindings"], Json({"e1"}));
  EXPECT_EQ(cascaded.json()["version"], server.control().registry().version());
  EXPECT_EQ(Embed(port, "e1").status, 404);
  EXPECT_FALSE(server.runtime().Contains("e1"));
  EXPECT_FALSE(server.runtime().lifecycle().HasProvider("extra"));
  EXPECT_EQ(AdminCall(port, "GET", "/admin/providers/extra/removal-preview").status, 404);
  EXPECT_EQ(AdminCall(port, "DELETE", "/admin/providers/extra").status, 404);

  // A provider no binding uses goes with the default policy.
  ASSERT_EQ(AdminJson(port, "PUT", "/admin/providers/idle", {{"type", "llama"}}).status, 201);
  HttpResult idle = AdminCall(port, "DELETE", "/admin/providers/idle");
  ASSERT_EQ(idle.status, 200) << idle.body;
  EXPECT_EQ(idle.json()["removed_bindings"], Json::array());
}

TEST(AdminRegistryTest, CascadeRefusedWhileAProfileNeedsABinding) {
  AdminServer server;
  const int port = server.port();
  HttpResult preview = AdminCall(port, "GET", "/admin/providers/local/removal-preview");
  ASSERT_EQ(preview.status, 200);
  EXPECT_EQ(preview.json()["profiles"], Json({"storyteller"}));
  EXPECT_EQ(preview.json()["allowed"]["cascade"], false);
  HttpResult refused = AdminCall(port, "DELETE", "/admin/providers/local?policy=cascade");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_THAT(refused.json()["error"]["message"].get<std::string>(), HasSubstr("storyteller"));
  EXPECT_TRUE(server.runtime().Contains("chat"));
  // The profile still resolves through the registry.
  HttpResult chat = PostJson(port, "/v1/chat/completions",
                             {{"model", "storyteller"},
                              {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                              {"max_tokens", 2}});
  EXPECT_EQ(chat.status, 200) << chat.body;
}

}  // namespace
}  // namespace modelrt::testing
