// Shared fixtures for the registry tests: a small config (two providers, three bindings, two
// profiles), value builders and a temporary data directory.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/registry.h"
#include "registry/registry_json.h"

namespace modelrt::testing_registry {

inline ProviderConfig Provider(const std::string& id, const std::string& type = "openai") {
  ProviderConfig provider;
  provider.id = id;
  provider.type = type;
  if (type != "llama") {
    provider.base_url = "https://" + id + ".example/v1";
    provider.api_key_env = "KEY_" + std::to_string(id.size());
  }
  provider.options = MakeOptions({{"threads", 2}});
  return provider;
}

inline ModelSpec Binding(const std::string& alias, const std::string& provider,
                         Task task = Task::kGenerate) {
  ModelSpec spec;
  spec.alias = alias;
  spec.provider = provider;
  spec.task = task;
  spec.model = "upstream-" + alias;
  spec.options = MakeOptions({{"ctx", 512}});
  return spec;
}

inline ProfileSpec Profile(const std::string& name, const std::string& model) {
  ProfileSpec profile;
  profile.name = name;
  profile.model = model;
  profile.system = "You are " + name + ".";
  profile.params = MakeOptions({{"temperature", 0.5}});
  return profile;
}

// providers: local (llama), remote (openai)
// bindings:  chat → local (generate), embed → local (embed), gpt → remote (generate)
// profiles:  storyteller → chat
inline Config BaseConfig() {
  Config config;
  config.source = "test.yaml";
  config.providers = {Provider("local", "llama"), Provider("remote")};
  config.models = {Binding("chat", "local"), Binding("embed", "local", Task::kEmbed),
                   Binding("gpt", "remote")};
  config.profiles = {Profile("storyteller", "chat")};
  return config;
}

inline std::unique_ptr<Registry> MustCreate(const Config& config, Registry::Options options = {}) {
  auto registry = Registry::Create(config, std::move(options));
  EXPECT_TRUE(registry.ok()) << registry.error().ToString();
  return registry.ok() ? std::move(registry).value() : nullptr;
}

// A fresh folder under the test temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("modelrt_registry_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Snapshot content without the version, for "same state" comparisons.
inline Json Content(const RegistrySnapshot& snapshot) {
  Json json = SnapshotToJson(snapshot);
  json.erase("version");
  return json;
}

}  // namespace modelrt::testing_registry
