// An alias whose model is store://: resolved in the store, pulled from the hub on first load
// with `pull: true`, refused with the pull to run without it. The real llama provider loads the
// real stories260K that came down from the local hub.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/runtime_test_util.h"
#include "support/hub_server.h"

namespace modelrt::runtime_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class StoreAliasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("modelrt-store-alias-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    std::ifstream in(StoriesPath(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    hub_.AddRepo("tiny/stories", "feedface", {{"stories260K.gguf", bytes.str()}, {"README.md", "hi"}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<std::unique_ptr<ModelRuntime>> Build(bool pull) {
    Config config;
    config.providers.push_back({.id = "local", .type = "llama", .origin = "t.yaml: providers[0]"});
    config.store.dir = dir_.string();
    config.store.hf_endpoint = hub_.url();
    ModelSpec spec = ChatSpec("chat");
    spec.model = "store://tiny/stories@main/stories260K.gguf";
    spec.pull = pull;
    config.models.push_back(spec);
    return ModelRuntime::Builder().SetConfig(config).Build();
  }

  fs::path dir_;
  testing::HubServer hub_;
};

TEST_F(StoreAliasTest, PullTrueFetchesOnFirstLoadAndServes) {
  auto runtime = Build(/*pull=*/true);
  ASSERT_TRUE(runtime.ok()) << runtime.error().ToString();
  auto out = (*runtime)->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_FALSE(out->text.empty());
  EXPECT_TRUE(fs::exists(dir_ / "tiny--stories" / "main" / "manifest.json"));
  EXPECT_FALSE(fs::exists(dir_ / "tiny--stories" / "main" / "files" / "README.md"));  // only the file named
}

TEST_F(StoreAliasTest, WithoutPullAMissingBundleNamesThePull) {
  auto runtime = Build(/*pull=*/false);
  ASSERT_TRUE(runtime.ok()) << runtime.error().ToString();
  auto out = (*runtime)->Generator("chat")->Generate(ShortRequest(4));
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.error().message(), HasSubstr("modelrt pull hf://tiny/stories@main/stories260K.gguf"));
  EXPECT_TRUE(hub_.hub_requests().empty());  // nothing fetched behind the user's back
}

}  // namespace
}  // namespace modelrt::runtime_test
