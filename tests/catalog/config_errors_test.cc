// Invalid configs: each case checks the status code and that the message names the source, the
// key path and the reason ("<source>: <path>: <reason>").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modelrt/catalog.h"

namespace modelrt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct BadConfig {
  std::string name;    // test name suffix
  std::string source;  // .json or .yaml picks the format, as LoadConfigFile would
  std::string text;
  std::string path;    // expected key path ("" for whole-file errors)
  std::string reason;  // expected text after "<source>: <path>: "
};

std::ostream& operator<<(std::ostream& os, const BadConfig& c) { return os << c.name; }

// A valid model entry to pad lists with.
const std::string kOk = R"({"alias": "ok", "task": "embed", "model": "m.gguf"})";

std::vector<BadConfig> Cases() {
  return {
      {"UnknownTopLevelKey", "cat.yaml", "modles: []\n", "",
       "unknown top-level key 'modles' (did you mean 'models'?)"},
      {"UnknownTopLevelKeyFarFromAny", "cat.yaml", "listen: 1\n", "",
       "unknown top-level key 'listen' (expected one of server, pool, reload, jobs, store, "
       "registry, providers, models, profiles)"},
      {"UnknownModelKey", "cat.json", R"([{"alias": "a", "task": "embed", "modle": "m.gguf"}])",
       "models[0]", "unknown key 'modle' (did you mean 'model'?)"},
      {"UnknownServerKey", "cat.yaml", "server: {port: 1, prot: 2}\n", "server",
       "unknown key 'prot' (did you mean 'port'?)"},
      {"UnknownRetryKey", "cat.yaml", "- {alias: a, task: embed, model: m, retry: {attempts: 3}}\n",
       "models[0].retry", "unknown key 'attempts'"},
      {"UnknownPoolKey", "cat.json", R"({"pool": {"max_models": 2}})", "pool",
       "unknown key 'max_models'"},
      {"MissingAlias", "cat.yaml", "models:\n  - {task: embed, model: m.gguf}\n", "models[0].alias",
       "is required"},
      {"MissingTask", "cat.json", "[" + kOk + R"(, {"alias": "b", "model": "m.gguf"}])",
       "models[1].task", "is required"},
      {"MissingModel", "cat.yaml", "- {alias: a, task: embed}\n", "models[0].model", "is required"},
      {"EmptyModel", "cat.yaml", "- {alias: a, task: embed, model: ''}\n", "models[0].model",
       "must not be empty"},
      {"BadTask", "cat.yaml", "- {alias: a, task: chat, model: m}\n", "models[0].task",
       "must be one of embed, rerank, generate (got 'chat')"},
      {"BadWarmup", "cat.yaml",
       "models:\n  - {alias: a, task: embed, model: m}\n"
       "  - {alias: b, task: embed, model: m, warmup: soon}\n",
       "models[1].warmup", "must be one of lazy, eager, background (got 'soon')"},
      {"WarmupNotAString", "cat.json",
       R"([{"alias": "a", "task": "embed", "model": "m", "warmup": true}])", "models[0].warmup",
       "must be one of lazy, eager, background (got true)"},
      {"StringForNumber", "cat.yaml", "- {alias: a, task: embed, model: m, timeout_s: '30'}\n",
       "models[0].timeout_s", "must be a number (got string)"},
      {"NumberForBool", "cat.json",
       R"([{"alias": "a", "task": "embed", "model": "m", "required": 1}])", "models[0].required",
       "must be true or false (got number)"},
      {"ObjectForString", "cat.yaml", "- {alias: a, task: embed, model: {path: m}}\n",
       "models[0].model", "must be a string (got object)"},
      {"NumberForAlias", "cat.yaml", "- {alias: 12, task: embed, model: m}\n", "models[0].alias",
       "must be a string (got number)"},
      {"FloatForInteger", "cat.yaml", "server: {threads: 1.5}\n", "server.threads",
       "must be an integer (got 1.5)"},
      {"StringForInteger", "cat.json", R"({"server": {"port": "80"}})", "server.port",
       "must be an integer (got string)"},
      {"DuplicateAlias", "cat.yaml",
       "- {alias: x, task: embed, model: m}\n- {alias: y, task: embed, model: m}\n"
       "- {alias: x, task: rerank, model: m}\n",
       "models[2].alias", "duplicate alias 'x' (first at models[0])"},
      {"DuplicateProviderId", "cat.yaml",
       "providers: [{id: local, type: llama}, {id: local, type: openai}]\n", "providers[1].id",
       "duplicate provider id 'local' (first at providers[0])"},
      {"DuplicateProfileName", "cat.yaml",
       "models: [{alias: c, task: generate, model: m}]\n"
       "profiles: [{name: p, model: c}, {name: p, model: c}]\n",
       "profiles[1].name", "duplicate profile name 'p' (first at profiles[0])"},
      {"UnknownProviderReference", "cat.yaml",
       "- {alias: a, task: embed, model: m, provider: remote}\n", "models[0].provider",
       "unknown provider 'remote' (declared: local)"},
      {"ProviderRequiredWithSeveral", "cat.yaml",
       "providers: [{id: a, type: llama}, {id: b, type: openai}]\n"
       "models: [{alias: x, task: embed, model: m}]\n",
       "models[0].provider", "is required when the file declares 2 providers (a, b)"},
      {"NegativeTimeout", "cat.json",
       R"([{"alias": "a", "task": "embed", "model": "m", "timeout_s": -1}])", "models[0].timeout_s",
       "must be >= 0 (got -1)"},
      {"InfiniteTimeout", "cat.yaml", "- {alias: a, task: embed, model: m, timeout_s: .inf}\n",
       "models[0].timeout_s", "must be a finite number"},
      {"ZeroLoadTimeout", "cat.yaml", "- {alias: a, task: embed, model: m, load_timeout_s: 0}\n",
       "models[0].load_timeout_s", "must be > 0 (got 0)"},
      {"RetryAttemptsZero", "cat.yaml",
       "- {alias: a, task: embed, model: m, retry: {max_attempts: 0}}\n",
       "models[0].retry.max_attempts", "must be between 1 and 100 (got 0)"},
      {"MaxBackoffBelowInitial", "cat.json",
       R"([{"alias": "a", "task": "embed", "model": "m",
            "retry": {"initial_backoff_ms": 500, "max_backoff_ms": 100}}])",
       "models[0].retry.max_backoff_ms", "must be >= initial_backoff_ms (500) (got 100)"},
      {"NegativeBackoff", "cat.yaml",
       "- {alias: a, task: embed, model: m, retry: {initial_backoff_ms: -5}}\n",
       "models[0].retry.initial_backoff_ms", "must be between 0 and 86400000 (got -5)"},
      {"KeepAliveBelowMinusOne", "cat.yaml",
       "- {alias: a, task: embed, model: m, keep_alive_s: -2}\n", "models[0].keep_alive_s",
       "must be >= -1 (got -2)"},
      {"BadAliasCharset", "cat.yaml", "- {alias: my model, task: embed, model: m}\n",
       "models[0].alias", "must be 1-128 characters from A-Z a-z 0-9 . _ : / - (got 'my model')"},
      {"AliasTooLong", "cat.yaml",
       "- {alias: " + std::string(129, 'a') + ", task: embed, model: m}\n", "models[0].alias",
       "must be 1-128 characters"},
      {"BadProviderIdCharset", "cat.yaml", "providers: [{id: 'a/b', type: llama}]\n",
       "providers[0].id", "must be 1-128 characters from A-Z a-z 0-9 . _ - (got 'a/b')"},
      {"ProfileUnknownModel", "cat.yaml",
       "models: [{alias: chat, task: generate, model: m}]\n"
       "profiles: [{name: p, model: nope}]\n",
       "profiles[0].model", "unknown model alias 'nope'"},
      {"ProfileNameClash", "cat.yaml",
       "models: [{alias: chat, task: generate, model: m}]\n"
       "profiles: [{name: chat, model: chat}]\n",
       "profiles[0].name", "'chat' is already a model alias (models[0])"},
      {"ProfileOnEmbedModel", "cat.yaml",
       "models: [{alias: e, task: embed, model: m}]\n"
       "profiles: [{name: p, model: e}]\n",
       "profiles[0].model", "'e' is a embed model; a profile needs a generate model"},
      {"ProfileMissingName", "cat.json",
       R"({"models": [{"alias": "c", "task": "generate", "model": "m"}],
           "profiles": [{"model": "c"}]})",
       "profiles[0].name", "is required"},
      {"ProfileParamsNotObject", "cat.yaml",
       "models: [{alias: c, task: generate, model: m}]\n"
       "profiles: [{name: p, model: c, params: [1]}]\n",
       "profiles[0].params", "must be an object (got list)"},
      {"InlineApiKey", "cat.yaml",
       "providers:\n  - {id: local, type: llama}\n"
       "  - {id: openai, type: openai, api_key: sk-live-123456}\n",
       "providers[1].api_key", "secrets are not accepted inline; use api_key_env"},
      {"InlineTokenInProviderOptions", "cat.json",
       R"({"providers": [{"id": "r", "type": "openai", "options": {"Token": "abc"}}]})",
       "providers[0].options.Token", "secrets are not accepted inline; use api_key_env"},
      {"InlinePasswordInModelOptions", "cat.yaml",
       "- {alias: a, task: embed, model: m, options: {password: hunter2}}\n",
       "models[0].options.password", "secrets are not accepted inline; use api_key_env"},
      {"InlineServerApiKeys", "cat.yaml", "server: {api_keys: 'k1,k2'}\n", "server.api_keys",
       "secrets are not accepted inline; use api_keys_env"},
      {"SecretInsteadOfEnvName", "cat.yaml",
       "providers: [{id: o, type: openai, api_key_env: sk-live-123456}]\n",
       "providers[0].api_key_env",
       "must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*), not the secret "
       "itself"},
      {"MalformedJson", "cat.json", "{\n  \"models\": [\n    {\"alias\": \"a\",}\n  ]\n}\n", "",
       "invalid JSON: parse error at line 3, column 19: syntax error"},
      {"MalformedYaml", "cat.yaml", "models:\n  - alias: a\n   task: embed\n", "",
       "invalid YAML at line 3, column 4: end of sequence not found"},
      {"UnclosedYamlFlow", "cat.yaml", "models: [{alias: a, task: embed\n", "",
       "invalid YAML at line "},
      {"DuplicateKeyJson", "cat.json",
       R"([{"alias": "a", "task": "embed", "model": "m", "alias": "b"}])", "models[0]",
       "duplicate key 'alias'"},
      {"DuplicateKeyYaml", "cat.yaml", "server: {port: 1}\nserver: {port: 2}\n", "",
       "duplicate key 'server' (line 2, column 1)"},
      {"DuplicateKeyInBareYamlList", "cat.yaml", "- {alias: a, task: embed, alias: b}\n",
       "models[0]", "duplicate key 'alias' (line 1, column 27)"},
      {"EmptyYaml", "cat.yaml", "", "", "the config is empty"},
      {"BlankJson", "cat.json", " \n\t\n", "", "the config is empty"},
      {"CommentsOnlyYaml", "cat.yaml", "# nothing yet\n", "", "the config is empty"},
      {"TopLevelScalar", "cat.yaml", "hello\n", "",
       "must be an object of sections or a list of model specs (got string)"},
      {"OptionsNotObject", "cat.yaml", "- {alias: a, task: embed, model: m, options: [ctx]}\n",
       "models[0].options", "must be an object (got list)"},
      {"ProviderOptionsNotObject", "cat.yaml", "providers: [{id: l, type: llama, options: fast}]\n",
       "providers[0].options", "must be an object (got string)"},
      {"PortOutOfRange", "cat.yaml", "server: {port: 70000}\n", "server.port",
       "must be between 0 and 65535 (got 70000)"},
      {"NegativePort", "cat.json", R"({"server": {"port": -1}})", "server.port",
       "must be between 0 and 65535 (got -1)"},
      {"ZeroQueueCapacity", "cat.yaml", "server: {queue_capacity: 0}\n", "server.queue_capacity",
       "must be > 0 (got 0)"},
      {"ZeroQueueMaxTokens", "cat.yaml", "server: {queue_max_tokens: 0}\n",
       "server.queue_max_tokens", "must be > 0 (got 0)"},
      {"NegativeMaxQueueWait", "cat.yaml", "server: {max_queue_wait_ms: -1}\n",
       "server.max_queue_wait_ms", "must be >= 0 (got -1)"},
      {"ZeroExecutorIdleTimeout", "cat.yaml", "server: {executor_idle_timeout_s: 0}\n",
       "server.executor_idle_timeout_s", "must be between 1 and 86400 (got 0)"},
      {"EmptyHost", "cat.yaml", "server: {host: ''}\n", "server.host", "must not be empty"},
      {"ZeroMaxLoaded", "cat.yaml", "pool: {max_loaded: 0}\n", "pool.max_loaded",
       "must be > 0 (got 0)"},
      {"ProviderMissingType", "cat.yaml", "providers: [{id: local}]\n", "providers[0].type",
       "is required"},
      {"ProviderMissingId", "cat.json", R"({"providers": [{"type": "llama"}]})", "providers[0].id",
       "is required"},
      {"ModelsNotAList", "cat.yaml", "models: {alias: a}\n", "models",
       "must be a list (got object)"},
      {"ProvidersNotAList", "cat.json", R"({"providers": "local"})", "providers",
       "must be a list (got string)"},
      {"ProfilesNotAList", "cat.yaml", "profiles: 3\n", "profiles", "must be a list (got number)"},
      {"ServerNotAnObject", "cat.yaml", "server: [1]\n", "server", "must be an object (got list)"},
      {"ModelEntryNotAnObject", "cat.yaml", "models: [chat]\n", "models[0]",
       "must be an object (got string)"},
  };
}

class ConfigErrorTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrorTest, NamesSourcePathAndReason) {
  const BadConfig& c = GetParam();
  ConfigFormat format = c.source.ends_with(".json") ? ConfigFormat::kJson : ConfigFormat::kYaml;
  Result<Config> config = ParseConfig(c.text, c.source, format);
  ASSERT_FALSE(config.ok()) << "accepted:\n" << c.text;
  EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument);
  std::string prefix = c.source + ": " + (c.path.empty() ? "" : c.path + ": ");
  EXPECT_THAT(config.error().message(), StartsWith(prefix + c.reason));
  // Auto-detection reaches the same verdict for files whose first character decides it.
  Result<Config> auto_config = ParseConfig(c.text, c.source, ConfigFormat::kAuto);
  ASSERT_FALSE(auto_config.ok());
  EXPECT_EQ(auto_config.error().code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Catalog, ConfigErrorTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(ConfigErrorTest, SecretsNeverAppearInMessages) {
  for (std::string text : {
           "providers: [{id: o, type: openai, api_key: sk-live-123456}]\n",
           "providers: [{id: o, type: openai, api_key_env: sk-live-123456}]\n",
           "providers: [{id: o, type: openai, options: {token: sk-live-123456}}]\n",
           "server: {admin_key: sk-live-123456}\n",
       }) {
    Result<Config> config = ParseConfig(text, "s.yaml");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.error().message(), Not(HasSubstr("sk-live-123456")));
  }
}

TEST(ConfigErrorTest, LongValuesAreShortenedInMessages) {
  std::string value(500, 'z');
  Result<Config> config = ParseConfig("- {alias: a, task: " + value + ", model: m}\n", "l.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message(), HasSubstr("(got '" + std::string(60, 'z') + "...')"));
  EXPECT_LT(config.error().message().size(), 200u);
}

}  // namespace
}  // namespace modelrt
