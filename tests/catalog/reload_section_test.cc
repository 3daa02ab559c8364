// The `reload` section (watching, history and log sizes) and ParseProviderConfig, the run-time
// provider parser behind PUT /admin/providers/{id}.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/catalog.h"

namespace modelrt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(ReloadSectionTest, DefaultsWhenAbsent) {
  Result<Config> config = ParseConfig("models: []\n", "d.yaml");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ReloadConfig defaults;
  EXPECT_FALSE(config->reload.watch_models);
  EXPECT_FALSE(config->reload.watch_config);
  EXPECT_EQ(config->reload.history_size, defaults.history_size);
  EXPECT_EQ(config->reload.log_size, defaults.log_size);
  EXPECT_EQ(config->reload.debounce_ms, defaults.debounce_ms);
}

TEST(ReloadSectionTest, YamlAndJsonReadEveryField) {
  Result<Config> yaml = ParseConfig(
      "reload:\n  watch_models: true\n  watch_config: true\n  history_size: 4\n"
      "  log_size: 9\n  debounce_ms: 50\n",
      "r.yaml");
  Result<Config> json = ParseConfig(
      R"({"reload": {"watch_models": true, "watch_config": true, "history_size": 4,
                     "log_size": 9, "debounce_ms": 50}})",
      "r.json");
  for (const Result<Config>* config : {&yaml, &json}) {
    ASSERT_TRUE(config->ok()) << config->error().ToString();
    const ReloadConfig& reload = (*config)->reload;
    EXPECT_TRUE(reload.watch_models);
    EXPECT_TRUE(reload.watch_config);
    EXPECT_EQ(reload.history_size, 4);
    EXPECT_EQ(reload.log_size, 9);
    EXPECT_EQ(reload.debounce_ms, 50);
  }
}

TEST(ReloadSectionTest, EmptySectionMeansDefaults) {
  Result<Config> config = ParseConfig("reload:\nmodels: []\n", "e.yaml");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_FALSE(config->reload.watch_config);
}

TEST(ReloadSectionTest, ErrorsNameTheKey) {
  struct Case {
    std::string text, message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"reload: {watch_model: true}\n",
            "r.yaml: reload: unknown key 'watch_model' (did you mean 'watch_models'?)"},
           {"reload: {watch_config: yes please}\n", "r.yaml: reload.watch_config: must be"},
           {"reload: {history_size: 0}\n", "r.yaml: reload.history_size: must be"},
           {"reload: {log_size: -3}\n", "r.yaml: reload.log_size: must be"},
           {"reload: {debounce_ms: 1.5}\n", "r.yaml: reload.debounce_ms: must be"},
           {"reload: [1, 2]\n", "r.yaml: reload: must be"},
       }) {
    Result<Config> config = ParseConfig(c.text, "r.yaml");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(config.error().message(), StartsWith(c.message)) << c.text;
  }
}

TEST(ParseProviderConfigTest, ReadsEveryField) {
  Json json = {{"id", "remote"},
               {"type", "llama"},
               {"base_url", "http://x"},
               {"api_key_env", "REMOTE_KEY"},
               {"options", {{"threads", 2}}}};
  Result<ProviderConfig> provider = ParseProviderConfig(json.dump(), "PUT /admin/providers/remote");
  ASSERT_TRUE(provider.ok()) << provider.error().ToString();
  EXPECT_EQ(provider->id, "remote");
  EXPECT_EQ(provider->type, "llama");
  EXPECT_EQ(provider->base_url, "http://x");
  EXPECT_EQ(provider->api_key_env, "REMOTE_KEY");
  EXPECT_EQ(OptionsJson(provider->options), Json({{"threads", 2}}));
  EXPECT_EQ(provider->origin, "PUT /admin/providers/remote");
}

TEST(ParseProviderConfigTest, RejectsBadFieldsWithoutEchoingSecrets) {
  const std::string origin = "PUT /admin/providers/p";
  struct Case {
    Json json;
    std::string message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {{{"id", "p"}}, origin + ": type: is required"},
           {{{"type", "llama"}}, origin + ": id: is required"},
           {{{"id", "bad id"}, {"type", "llama"}}, origin + ": id: must be"},
           {{{"id", "p"}, {"type", "llama"}, {"opts", {}}}, origin + ": unknown key 'opts'"},
           {{{"id", "p"}, {"type", "llama"}, {"options", 3}}, origin + ": options: must be"},
           {{{"id", "p"}, {"type", "llama"}, {"api_key", "sk-live-99"}}, origin + ": api_key:"},
           {{{"id", "p"}, {"type", "llama"}, {"api_key_env", "sk-live-99"}},
            origin + ": api_key_env: must be the name"},
           {{{"id", "p"}, {"type", "llama"}, {"options", {{"token", "sk-live-99"}}}},
            origin + ": options.token:"},
           {Json::array(), origin + ": must be"},
       }) {
    Result<ProviderConfig> provider = ParseProviderConfig(c.json.dump(), origin);
    ASSERT_FALSE(provider.ok()) << c.json.dump();
    EXPECT_EQ(provider.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(provider.error().message(), StartsWith(c.message)) << c.json.dump();
    EXPECT_THAT(provider.error().message(), Not(HasSubstr("sk-live-99")));
  }
}

}  // namespace
}  // namespace modelrt
