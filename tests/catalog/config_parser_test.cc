// Valid configs: JSON and YAML give the same Config, defaults, conversions, shapes, and the
// embedded default catalog.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/catalog.h"

namespace modelrt {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kFullJson = R"({
  "server": {"host": "0.0.0.0", "port": 9090, "api_keys_env": "MY_KEYS",
             "api_keys_file": "/etc/keys", "admin_key_env": "MY_ADMIN",
             "admin_key_file": "/etc/admin", "threads": 4, "max_body_bytes": 1048576,
             "max_batch_inputs": 64, "max_rerank_documents": 50, "max_tokens_limit": 1024,
             "queue_capacity": 16, "drain_grace_s": 5, "data_dir": "/var/lib/modelrt"},
  "pool": {"memory_budget_mb": 2048, "max_loaded": 3, "idle_ttl_s": 120,
           "health_check_interval_s": 10},
  "providers": [
    {"id": "local", "type": "llama", "options": {"threads": 2}},
    {"id": "openai", "type": "openai", "base_url": "https://api.openai.com/v1",
     "api_key_env": "OPENAI_API_KEY"}
  ],
  "models": [
    {"alias": "embed-small", "task": "embed", "provider": "local", "model": "models/embed.gguf",
     "warmup": "eager", "required": true, "timeout_s": 2.5, "load_timeout_s": 30,
     "retry": {"max_attempts": 3, "initial_backoff_ms": 50, "max_backoff_ms": 400},
     "options": {"pooling": "mean", "normalize": true, "ctx": 512}, "pinned": true,
     "keep_alive_s": -1},
    {"alias": "org/gpt:mini", "task": "generate", "provider": "openai", "model": "gpt-4o-mini",
     "warmup": "background", "keep_alive_s": 0},
    {"alias": "rr", "task": "rerank", "provider": "local", "model": "/abs/rerank.gguf"}
  ],
  "profiles": [
    {"name": "terse", "model": "org/gpt:mini", "system": "Be brief.",
     "params": {"temperature": 0.2, "max_tokens": 64}}
  ]
})";

// The same catalog in idiomatic YAML: flow and block styles, comments, plain scalars.
constexpr std::string_view kFullYaml = R"(
# modelrt test catalog
server:
  host: 0.0.0.0
  port: 9090
  api_keys_env: MY_KEYS
  api_keys_file: /etc/keys
  admin_key_env: MY_ADMIN
  admin_key_file: /etc/admin
  threads: 4
  max_body_bytes: 1048576
  max_batch_inputs: 64
  max_rerank_documents: 50
  max_tokens_limit: 1024
  queue_capacity: 16
  queue_max_tokens: 4096
  max_queue_wait_ms: 2500
  inline_body_bytes: 4096
  executor_idle_timeout_s: 7
  drain_grace_s: 5
  data_dir: /var/lib/modelrt
pool: { memory_budget_mb: 2048, max_loaded: 3, idle_ttl_s: 120, health_check_interval_s: 10 }
providers:
  - { id: local, type: llama, options: { threads: 2 } }
  - id: openai
    type: openai
    base_url: "https://api.openai.com/v1"
    api_key_env: OPENAI_API_KEY
models:
  - alias: embed-small
    task: embed
    provider: local
    model: models/embed.gguf
    warmup: eager
    required: true
    timeout_s: 2.5
    load_timeout_s: 30
    retry: { max_attempts: 3, initial_backoff_ms: 50, max_backoff_ms: 400 }
    options: { pooling: mean, normalize: true, ctx: 512 }
    pinned: true
    keep_alive_s: -1
  - alias: org/gpt:mini
    task: generate
    provider: openai
    model: gpt-4o-mini
    warmup: background
    keep_alive_s: 0
  - { alias: rr, task: rerank, provider: local, model: /abs/rerank.gguf }
profiles:
  - name: terse
    model: org/gpt:mini
    system: Be brief.
    params: { temperature: 0.2, max_tokens: 64 }
)";

Config MustParse(std::string_view text, std::string_view source,
                 ConfigFormat format = ConfigFormat::kAuto) {
  Result<Config> config = ParseConfig(text, source, format);
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  return config.ok() ? *config : Config();
}

// Field by field, so a new field without a comparison here shows up in review, and a mismatch
// names the field.
void ExpectSameConfig(const Config& a, const Config& b) {
  EXPECT_EQ(a.server.host, b.server.host);
  EXPECT_EQ(a.server.port, b.server.port);
  EXPECT_EQ(a.server.api_keys_env, b.server.api_keys_env);
  EXPECT_EQ(a.server.api_keys_file, b.server.api_keys_file);
  EXPECT_EQ(a.server.admin_key_env, b.server.admin_key_env);
  EXPECT_EQ(a.server.admin_key_file, b.server.admin_key_file);
  EXPECT_EQ(a.server.threads, b.server.threads);
  EXPECT_EQ(a.server.max_body_bytes, b.server.max_body_bytes);
  EXPECT_EQ(a.server.max_batch_inputs, b.server.max_batch_inputs);
  EXPECT_EQ(a.server.max_rerank_documents, b.server.max_rerank_documents);
  EXPECT_EQ(a.server.max_tokens_limit, b.server.max_tokens_limit);
  EXPECT_EQ(a.server.queue_capacity, b.server.queue_capacity);
  EXPECT_EQ(a.server.drain_grace_s, b.server.drain_grace_s);
  EXPECT_EQ(a.server.data_dir, b.server.data_dir);
  EXPECT_EQ(a.pool.memory_budget_mb, b.pool.memory_budget_mb);
  EXPECT_EQ(a.pool.max_loaded, b.pool.max_loaded);
  EXPECT_EQ(a.pool.idle_ttl_s, b.pool.idle_ttl_s);
  EXPECT_EQ(a.pool.health_check_interval_s, b.pool.health_check_interval_s);
  ASSERT_EQ(a.providers.size(), b.providers.size());
  for (size_t i = 0; i < a.providers.size(); ++i) {
    SCOPED_TRACE("providers[" + std::to_string(i) + "]");
    EXPECT_EQ(a.providers[i].id, b.providers[i].id);
    EXPECT_EQ(a.providers[i].type, b.providers[i].type);
    EXPECT_EQ(a.providers[i].base_url, b.providers[i].base_url);
    EXPECT_EQ(a.providers[i].api_key_env, b.providers[i].api_key_env);
    EXPECT_EQ(a.providers[i].options, b.providers[i].options);
  }
  ASSERT_EQ(a.models.size(), b.models.size());
  for (size_t i = 0; i < a.models.size(); ++i) {
    SCOPED_TRACE("models[" + std::to_string(i) + "]");
    const ModelSpec& x = a.models[i];
    const ModelSpec& y = b.models[i];
    EXPECT_EQ(x.alias, y.alias);
    EXPECT_EQ(x.task, y.task);
    EXPECT_EQ(x.provider, y.provider);
    EXPECT_EQ(x.model, y.model);
    EXPECT_EQ(x.options, y.options);
    EXPECT_EQ(x.warmup, y.warmup);
    EXPECT_EQ(x.required, y.required);
    EXPECT_EQ(x.timeout, y.timeout);
    EXPECT_EQ(x.load_timeout, y.load_timeout);
    EXPECT_EQ(x.retry.max_attempts, y.retry.max_attempts);
    EXPECT_EQ(x.retry.initial_backoff, y.retry.initial_backoff);
    EXPECT_EQ(x.retry.max_backoff, y.retry.max_backoff);
    EXPECT_EQ(x.pinned, y.pinned);
    EXPECT_EQ(x.keep_alive_s, y.keep_alive_s);
  }
  ASSERT_EQ(a.profiles.size(), b.profiles.size());
  for (size_t i = 0; i < a.profiles.size(); ++i) {
    SCOPED_TRACE("profiles[" + std::to_string(i) + "]");
    EXPECT_EQ(a.profiles[i].name, b.profiles[i].name);
    EXPECT_EQ(a.profiles[i].model, b.profiles[i].model);
    EXPECT_EQ(a.profiles[i].system, b.profiles[i].system);
    EXPECT_EQ(a.profiles[i].params, b.profiles[i].params);
  }
}

TEST(ConfigParserTest, JsonAndYamlGiveTheSameConfig) {
  Config from_json = MustParse(kFullJson, "cat.json");
  Config from_yaml = MustParse(kFullYaml, "cat.yaml");
  ExpectSameConfig(from_json, from_yaml);
  // kAuto picked the right parser; forcing the format agrees (JSON is also valid YAML).
  ExpectSameConfig(from_json, MustParse(kFullJson, "cat.json", ConfigFormat::kJson));
  ExpectSameConfig(from_json, MustParse(kFullJson, "cat.json", ConfigFormat::kYaml));
  ExpectSameConfig(from_json, MustParse(kFullYaml, "cat.yaml", ConfigFormat::kYaml));
}

TEST(ConfigParserTest, ReadsEveryField) {
  Config config = MustParse(kFullYaml, "cat.yaml");
  EXPECT_EQ(config.source, "cat.yaml");
  EXPECT_EQ(config.server.host, "0.0.0.0");
  EXPECT_EQ(config.server.port, 9090);
  EXPECT_EQ(config.server.api_keys_env, "MY_KEYS");
  EXPECT_EQ(config.server.api_keys_file, "/etc/keys");
  EXPECT_EQ(config.server.admin_key_env, "MY_ADMIN");
  EXPECT_EQ(config.server.admin_key_file, "/etc/admin");
  EXPECT_EQ(config.server.threads, 4);
  EXPECT_EQ(config.server.max_body_bytes, 1048576);
  EXPECT_EQ(config.server.max_batch_inputs, 64);
  EXPECT_EQ(config.server.max_rerank_documents, 50);
  EXPECT_EQ(config.server.max_tokens_limit, 1024);
  EXPECT_EQ(config.server.queue_capacity, 16);
  EXPECT_EQ(config.server.queue_max_tokens, 4096);
  EXPECT_EQ(config.server.max_queue_wait_ms, 2500);
  EXPECT_EQ(config.server.inline_body_bytes, 4096);
  EXPECT_EQ(config.server.executor_idle_timeout_s, 7);
  EXPECT_EQ(config.server.drain_grace_s, 5);
  EXPECT_EQ(config.server.data_dir, "/var/lib/modelrt");
  EXPECT_EQ(config.pool.memory_budget_mb, 2048);
  EXPECT_EQ(config.pool.max_loaded, 3);
  EXPECT_EQ(config.pool.idle_ttl_s, 120);
  EXPECT_EQ(config.pool.health_check_interval_s, 10);

  ASSERT_EQ(config.providers.size(), 2u);
  EXPECT_EQ(config.providers[0].id, "local");
  EXPECT_EQ(config.providers[0].type, "llama");
  EXPECT_EQ(OptionsJson(config.providers[0].options), Json::parse(R"({"threads": 2})"));
  EXPECT_EQ(config.providers[0].origin, "cat.yaml: providers[0]");
  EXPECT_EQ(config.providers[1].base_url, "https://api.openai.com/v1");
  EXPECT_EQ(config.providers[1].api_key_env, "OPENAI_API_KEY");

  ASSERT_EQ(config.models.size(), 3u);
  const ModelSpec& embed = config.models[0];
  EXPECT_EQ(embed.alias, "embed-small");
  EXPECT_EQ(embed.task, Task::kEmbed);
  EXPECT_EQ(embed.provider, "local");
  EXPECT_EQ(embed.model, "models/embed.gguf");  // relative paths stay as written here
  EXPECT_EQ(embed.warmup, WarmupPolicy::kEager);
  EXPECT_TRUE(embed.required);
  EXPECT_EQ(embed.timeout, milliseconds(2500));  // fractional seconds to milliseconds
  EXPECT_EQ(embed.load_timeout, milliseconds(30000));
  EXPECT_EQ(embed.retry.max_attempts, 3);
  EXPECT_EQ(embed.retry.initial_backoff, milliseconds(50));
  EXPECT_EQ(embed.retry.max_backoff, milliseconds(400));
  EXPECT_EQ(OptionsJson(embed.options),
            Json::parse(R"({"pooling": "mean", "normalize": true, "ctx": 512})"));
  EXPECT_TRUE(embed.pinned);
  EXPECT_EQ(embed.keep_alive_s, -1);
  EXPECT_EQ(embed.origin, "cat.yaml: models[0]");
  EXPECT_EQ(config.models[1].alias, "org/gpt:mini");
  EXPECT_EQ(config.models[1].task, Task::kGenerate);
  EXPECT_EQ(config.models[1].warmup, WarmupPolicy::kBackground);
  EXPECT_EQ(config.models[1].keep_alive_s, 0);
  EXPECT_EQ(config.models[2].task, Task::kRerank);
  EXPECT_EQ(config.models[2].origin, "cat.yaml: models[2]");

  ASSERT_EQ(config.profiles.size(), 1u);
  EXPECT_EQ(config.profiles[0].name, "terse");
  EXPECT_EQ(config.profiles[0].model, "org/gpt:mini");
  EXPECT_EQ(config.profiles[0].system, "Be brief.");
  EXPECT_EQ(OptionsJson(config.profiles[0].params),
            Json::parse(R"({"temperature": 0.2, "max_tokens": 64})"));
  EXPECT_EQ(config.profiles[0].origin, "cat.yaml: profiles[0]");
}

TEST(ConfigParserTest, AppliesDefaults) {
  Config config = MustParse("models:\n  - {alias: e, task: embed, model: e.gguf}\n", "d.yaml");
  ServerConfig server_defaults;
  PoolConfig pool_defaults;
  EXPECT_EQ(config.server.host, server_defaults.host);
  EXPECT_EQ(config.server.port, server_defaults.port);
  EXPECT_EQ(config.server.api_keys_env, "MODELRT_API_KEYS");
  EXPECT_EQ(config.server.queue_capacity, server_defaults.queue_capacity);
  EXPECT_EQ(config.pool.memory_budget_mb, pool_defaults.memory_budget_mb);
  EXPECT_EQ(config.pool.idle_ttl_s, pool_defaults.idle_ttl_s);
  // No providers section: the local llama provider is implied and models use it.
  ASSERT_EQ(config.providers.size(), 1u);
  EXPECT_EQ(config.providers[0].id, "local");
  EXPECT_EQ(config.providers[0].type, "llama");
  ASSERT_EQ(config.models.size(), 1u);
  const ModelSpec& spec = config.models[0];
  EXPECT_EQ(spec.provider, "local");
  EXPECT_EQ(OptionsJson(spec.options), Json::object());
  EXPECT_EQ(spec.warmup, WarmupPolicy::kLazy);
  EXPECT_FALSE(spec.required);
  EXPECT_EQ(spec.timeout, milliseconds(0));
  EXPECT_EQ(spec.load_timeout, milliseconds(600000));
  EXPECT_EQ(spec.retry.max_attempts, 1);
  EXPECT_EQ(spec.retry.initial_backoff, milliseconds(100));
  EXPECT_EQ(spec.retry.max_backoff, milliseconds(2000));
  EXPECT_FALSE(spec.pinned);
  EXPECT_FALSE(spec.keep_alive_s.has_value());
  EXPECT_TRUE(config.profiles.empty());
}

TEST(ConfigParserTest, ConvertsDurations) {
  Config config = MustParse(R"([
      {"alias": "a", "task": "embed", "model": "a", "timeout_s": 0.25, "load_timeout_s": 1.5},
      {"alias": "b", "task": "embed", "model": "b", "timeout_s": 0, "load_timeout_s": 0.0001},
      {"alias": "c", "task": "embed", "model": "c", "timeout_s": 3}])",
                            "d.json");
  ASSERT_EQ(config.models.size(), 3u);
  EXPECT_EQ(config.models[0].timeout, milliseconds(250));
  EXPECT_EQ(config.models[0].load_timeout, milliseconds(1500));
  EXPECT_EQ(config.models[1].timeout, milliseconds(0));
  EXPECT_EQ(config.models[1].load_timeout, milliseconds(1));  // positive never rounds to 0
  EXPECT_EQ(config.models[2].timeout, milliseconds(3000));
}

TEST(ConfigParserTest, RetryCeilingRisesToAnExplicitStart) {
  Config config = MustParse(
      "- {alias: a, task: embed, model: a, retry: {max_attempts: 2, initial_backoff_ms: 5000}}\n",
      "r.yaml");
  ASSERT_EQ(config.models.size(), 1u);
  EXPECT_EQ(config.models[0].retry.initial_backoff, milliseconds(5000));
  EXPECT_EQ(config.models[0].retry.max_backoff, milliseconds(5000));
}

TEST(ConfigParserTest, BareArrayIsTheModelList) {
  Config yaml = MustParse(
      "- alias: chat\n  task: generate\n  model: stories.gguf\n"
      "- alias: emb\n  task: embed\n  model: e.gguf\n  warmup: eager\n",
      "bare.yaml");
  Config json = MustParse(
      R"([{"alias": "chat", "task": "generate", "model": "stories.gguf"},
          {"alias": "emb", "task": "embed", "model": "e.gguf", "warmup": "eager"}])",
      "bare.json");
  ExpectSameConfig(yaml, json);
  ASSERT_EQ(yaml.models.size(), 2u);
  EXPECT_EQ(yaml.models[1].warmup, WarmupPolicy::kEager);
  EXPECT_EQ(yaml.models[1].origin, "bare.yaml: models[1]");
  ASSERT_EQ(yaml.providers.size(), 1u);
  EXPECT_EQ(yaml.providers[0].type, "llama");
  EXPECT_EQ(yaml.models[0].provider, "local");
}

TEST(ConfigParserTest, SingleDeclaredProviderIsTheDefault) {
  Config config = MustParse(
      "providers: [{id: remote, type: openai, base_url: 'http://x'}]\n"
      "models: [{alias: m, task: generate, model: gpt}]\n",
      "p.yaml");
  ASSERT_EQ(config.models.size(), 1u);
  EXPECT_EQ(config.models[0].provider, "remote");
}

TEST(ConfigParserTest, EmptySectionsMeanDefaults) {
  Config config = MustParse("server:\npool:\nmodels:\n", "e.yaml");
  EXPECT_EQ(config.server.port, 8080);
  EXPECT_TRUE(config.models.empty());
  EXPECT_EQ(config.providers.size(), 1u);
  Config object_only = MustParse("{}", "e.json");
  EXPECT_TRUE(object_only.models.empty());
}

TEST(ConfigParserTest, QuotedYamlScalarsStayStrings) {
  // A quoted number is a string: a model named "1234" on a remote provider, an alias "7".
  Config config = MustParse(
      "providers: [{id: r, type: openai}]\n"
      "models: [{alias: '7', task: generate, model: \"1234\", options: {seed: '42', n: 42}}]\n",
      "q.yaml");
  ASSERT_EQ(config.models.size(), 1u);
  EXPECT_EQ(config.models[0].alias, "7");
  EXPECT_EQ(config.models[0].model, "1234");
  EXPECT_EQ(OptionsJson(config.models[0].options).at("seed"), Json("42"));
  EXPECT_EQ(OptionsJson(config.models[0].options).at("n"), Json(42));
}

TEST(ConfigParserTest, AutoDetectionSkipsLeadingSpaceAndBom) {
  Config json = MustParse(
      "\xEF\xBB\xBF  \n [{\"alias\": \"a\", \"task\": \"embed\", \"model\": \"m\"}]", "x");
  ASSERT_EQ(json.models.size(), 1u);
  Config yaml = MustParse("\xEF\xBB\xBF# comment\n- {alias: a, task: embed, model: m}\n", "x");
  ASSERT_EQ(yaml.models.size(), 1u);
}

TEST(ConfigParserTest, WarmupPolicyNames) {
  EXPECT_EQ(ToString(WarmupPolicy::kLazy), "lazy");
  EXPECT_EQ(ToString(WarmupPolicy::kEager), "eager");
  EXPECT_EQ(ToString(WarmupPolicy::kBackground), "background");
}

TEST(DefaultConfigTest, ParsesWithThreeModelsAndOneProfile) {
  Config config = DefaultConfig("/opt/models");
  EXPECT_EQ(config.source, "<embedded>");
  ASSERT_EQ(config.providers.size(), 1u);
  EXPECT_EQ(config.providers[0].id, "local");
  EXPECT_EQ(config.providers[0].type, "llama");
  ASSERT_EQ(config.models.size(), 3u);
  const ModelSpec& chat = config.models[0];
  EXPECT_EQ(chat.alias, "chat");
  EXPECT_EQ(chat.task, Task::kGenerate);
  EXPECT_EQ(chat.provider, "local");
  EXPECT_EQ(chat.model, "/opt/models/stories260K.gguf");
  EXPECT_EQ(OptionsJson(chat.options), Json::parse(R"({"ctx": 512, "parallel": 8})"));
  EXPECT_EQ(chat.origin, "<embedded>: models[0]");
  EXPECT_EQ(config.models[1].alias, "embed");
  EXPECT_EQ(config.models[1].task, Task::kEmbed);
  EXPECT_EQ(config.models[1].model, "/opt/models/demo-embed.gguf");
  EXPECT_EQ(OptionsJson(config.models[1].options), Json::parse(R"({"normalize": true})"));
  EXPECT_EQ(config.models[2].alias, "rerank");
  EXPECT_EQ(config.models[2].task, Task::kRerank);
  EXPECT_EQ(config.models[2].model, "/opt/models/demo-rerank.gguf");
  EXPECT_EQ(OptionsJson(config.models[2].options), Json::object());
  ASSERT_EQ(config.profiles.size(), 1u);
  EXPECT_EQ(config.profiles[0].name, "storyteller");
  EXPECT_EQ(config.profiles[0].model, "chat");
  EXPECT_EQ(config.profiles[0].system, "You tell short, happy stories.");
  EXPECT_EQ(OptionsJson(config.profiles[0].params), Json::parse(R"({"temperature": 0.8})"));
}

TEST(DefaultConfigTest, AnyDirectoryNameSurvivesSubstitution) {
  // Characters that mean something in YAML or JSON must come through unchanged.
  const std::string dir = "/tmp/a \"quoted\" dir: #1\\x/{b}";
  Config config = DefaultConfig(dir);
  ASSERT_EQ(config.models.size(), 3u);
  EXPECT_EQ(config.models[0].model, dir + "/stories260K.gguf");
  EXPECT_EQ(config.models[2].model, dir + "/demo-rerank.gguf");
  EXPECT_EQ(DefaultConfig("models").models[1].model, "models/demo-embed.gguf");
}

}  // namespace
}  // namespace modelrt
