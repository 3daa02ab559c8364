// The admin key: /admin answers 403 without it, with a wrong one, with an API key instead, and on
// every route when no admin key is configured.
#include <gtest/gtest.h>

#include <cstdlib>

#include "admin_test_util.h"
#include "core/json.h"
#include "modelrt/lifecycle.h"

namespace modelrt::testing {
namespace {

void ExpectForbidden(const HttpResult& r, const std::string& code) {
  EXPECT_EQ(r.status, 403) << r.body;
  Json body = r.json();
  ASSERT_TRUE(body.contains("error")) << r.body;
  EXPECT_EQ(body["error"]["type"], "permission_error");
  EXPECT_EQ(body["error"]["code"], code);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
}

TEST(AdminAuthTest, KeyRequiredAndChecked) {
  AdminServer server;
  const int port = server.port();
  ExpectForbidden(AdminCall(port, "GET", "/admin/models", "", ""), "admin_key_required");
  ExpectForbidden(AdminCall(port, "GET", "/admin/models", "", "wrong-key"), "admin_key_required");
  // Almost the key: a prefix must not pass either.
  ExpectForbidden(AdminCall(port, "GET", "/admin/models", "", std::string(kAdminKey).substr(0, 8)),
                  "admin_key_required");
  ExpectForbidden(HttpCall(port, "GET", "/admin/models", "", {{"Authorization", kAdminKey}}),
                  "admin_key_required");
  HttpResult denied = AdminCall(port, "POST", "/admin/models/embed/load", "", "nope");
  ExpectForbidden(denied, "admin_key_required");
  EXPECT_EQ(server.runtime().Describe("embed")->state, ModelState::kUnloaded)
      << "a refused call does nothing";
  EXPECT_EQ(denied.body.find(kAdminKey), std::string::npos);

  HttpResult ok = AdminCall(port, "GET", "/admin/models");
  EXPECT_EQ(ok.status, 200) << ok.body;
  // Lower-case scheme, as some clients send it.
  EXPECT_EQ(HttpCall(port, "GET", "/admin/pool", "",
                     {{"Authorization", std::string("bearer ") + kAdminKey}})
                .status,
            200);
}

TEST(AdminAuthTest, ApiKeysDoNotOpenAdmin) {
  Config config = AdminConfig();
  config.server.api_keys_env = "MODELRT_ADMIN_TEST_API_KEYS";
  ::setenv("MODELRT_ADMIN_TEST_API_KEYS", "api-key-1,api-key-2", 1);
  AdminServer server({.config = config});
  const int port = server.port();
  ExpectForbidden(AdminCall(port, "GET", "/admin/models", "", "api-key-1"), "admin_key_required");
  // The API key still opens the API, and the admin key opens /admin without being an API key.
  EXPECT_EQ(HttpCall(port, "GET", "/v1/models", "", Bearer("api-key-1")).status, 200);
  EXPECT_EQ(HttpCall(port, "GET", "/v1/models").status, 401);
  EXPECT_EQ(AdminCall(port, "GET", "/admin/models").status, 200);
  ::unsetenv("MODELRT_ADMIN_TEST_API_KEYS");
}

TEST(AdminAuthTest, DisabledWithoutAnAdminKey) {
  AdminServer server({.config = AdminConfig(/*key=*/"")});
  const int port = server.port();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/admin/models"},
           {"GET", "/admin/models/embed"},
           {"POST", "/admin/models"},
           {"POST", "/admin/models/embed/load"},
           {"POST", "/admin/models/embed/reload"},
           {"GET", "/admin/pool"},
           {"GET", "/admin/reloads"},
           {"POST", "/admin/config/reload"},
           {"GET", "/admin/registry"},
           {"GET", "/admin/providers"},
           {"PUT", "/admin/providers/x"},
           {"DELETE", "/admin/providers/local"},
       }) {
    SCOPED_TRACE(method + " " + path);
    HttpResult r = AdminCall(port, method, path, "{}", "any-key");
    ExpectForbidden(r, "admin_disabled");
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("MODELRT_ADMIN_TEST_UNSET_KEY"),
              std::string::npos);
  }
  EXPECT_TRUE(server.runtime().lifecycle().HasProvider("local"));
}

TEST(AdminAuthTest, KeyFromTheEnvironmentVariable) {
  Config config = AdminConfig("");
  config.server.admin_key_env = "MODELRT_ADMIN_TEST_ENV_KEY";
  ::setenv("MODELRT_ADMIN_TEST_ENV_KEY", "from-env", 1);
  AdminServer server({.config = config});
  EXPECT_EQ(AdminCall(server.port(), "GET", "/admin/models", "", "from-env").status, 200);
  ExpectForbidden(AdminCall(server.port(), "GET", "/admin/models", "", kAdminKey),
                  "admin_key_required");
  ::unsetenv("MODELRT_ADMIN_TEST_ENV_KEY");
}

TEST(AdminAuthTest, UnreadableKeyFileRefusesToStart) {
  Config config = AdminConfig("");
  config.server.admin_key_file = FreshDir("missing") + "/no-such.key";
  auto control = control::ControlPlane::Create({.config = config});
  ASSERT_TRUE(control.ok()) << control.error().ToString();
  auto server = server::HttpServer::Create(**control, config);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(server.error().message().find("admin_key_file"), std::string::npos);
}

}  // namespace
}  // namespace modelrt::testing
