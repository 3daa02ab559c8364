// GET /admin/store, GET and DELETE /admin/store/{owner}/{repo}: the bundles of the server's store,
// admin key required, errors in the admin shape.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "admin_test_util.h"
#include "store/model_store.h"

namespace modelrt::testing {
namespace {

TEST(AdminStoreTest, ListsDescribesAndRemovesBundles) {
  AdminServerOptions options;
  options.config.store.dir = FreshDir("store");
  const std::string source = FreshDir("source");
  std::ofstream(source + "/model.gguf") << "weights";
  std::ofstream(source + "/tokenizer.json") << "{}";
  auto model_store = store::ModelStore::Open({.root = options.config.store.dir});
  ASSERT_TRUE(model_store.ok());
  store::PullRequest pull;
  pull.source = source;
  pull.name = "me/tiny";
  ASSERT_TRUE((*model_store)->Pull(pull, nullptr, nullptr).ok());
  AdminServer server(options);

  HttpResult list = AdminCall(server.port(), "GET", "/admin/store");
  ASSERT_EQ(list.status, 200) << list.body;
  Json listed = Json::parse(list.body);
  ASSERT_EQ(listed["data"].size(), 1u);
  EXPECT_EQ(listed["data"][0]["name"], "me/tiny");
  EXPECT_EQ(listed["data"][0]["files"].size(), 2u);

  HttpResult one = AdminCall(server.port(), "GET", "/admin/store/me/tiny?revision=main");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Json::parse(one.body)["files"][0]["role"], "weights");
  EXPECT_EQ(AdminCall(server.port(), "GET", "/admin/store/me/tiny", "", "").status, 403);  // admin_key_required

  HttpResult removed = AdminCall(server.port(), "DELETE", "/admin/store/me/tiny");
  ASSERT_EQ(removed.status, 200) << removed.body;
  HttpResult gone = AdminCall(server.port(), "GET", "/admin/store/me/tiny");
  EXPECT_EQ(gone.status, 404);
  EXPECT_THAT(Json::parse(gone.body)["error"]["message"].get<std::string>(),
              ::testing::HasSubstr("no bundle me/tiny@main"));
  EXPECT_EQ(AdminCall(server.port(), "GET", "/admin/store/me/tiny?revision=..").status, 400);
}

}  // namespace
}  // namespace modelrt::testing
