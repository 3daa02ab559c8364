// LoadConfigFile on real files in a temporary directory: format by extension, path resolution,
// and file-level errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "modelrt/catalog.h"

namespace modelrt {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "modelrt-catalog-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  fs::path dir_;
};

TEST_F(ConfigFileTest, LoadsYamlAndJsonAlike) {
  std::string yaml =
      Write("cat.yaml",
            "models:\n"
            "  - {alias: chat, task: generate, model: /m/chat.gguf, timeout_s: 1.5}\n");
  std::string json = Write("cat.json",
                           R"({"models": [{"alias": "chat", "task": "generate",
                                "model": "/m/chat.gguf", "timeout_s": 1.5}]})");
  Result<Config> from_yaml = LoadConfigFile(yaml);
  Result<Config> from_json = LoadConfigFile(json);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().ToString();
  ASSERT_TRUE(from_json.ok()) << from_json.error().ToString();
  EXPECT_EQ(from_yaml->source, yaml);
  EXPECT_EQ(from_json->source, json);
  ASSERT_EQ(from_yaml->models.size(), 1u);
  ASSERT_EQ(from_json->models.size(), 1u);
  EXPECT_EQ(from_yaml->models[0].model, "/m/chat.gguf");
  EXPECT_EQ(from_json->models[0].model, "/m/chat.gguf");
  EXPECT_EQ(from_yaml->models[0].timeout, from_json->models[0].timeout);
  EXPECT_EQ(from_yaml->models[0].origin, yaml + ": models[0]");
}

TEST_F(ConfigFileTest, ResolvesLocalModelPathsAgainstTheFilesDirectory) {
  std::string path = Write("conf/cat.yml",
                           "providers:\n"
                           "  - {id: local, type: llama}\n"
                           "  - {id: remote, type: openai, base_url: 'http://localhost:1'}\n"
                           "models:\n"
                           "  - {alias: a, task: embed, provider: local, model: models/e.gguf}\n"
                           "  - {alias: b, task: embed, provider: local, model: ../up/r.gguf}\n"
                           "  - {alias: c, task: embed, provider: local, model: /abs/x.gguf}\n"
                           "  - {alias: d, task: generate, provider: remote, model: gpt-4o}\n"
                           "  - {alias: e, task: generate, provider: remote, model: org/m}\n"
                           "  - {alias: f, task: embed, provider: local, model: 'hf://o/r'}\n");
  Result<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ASSERT_EQ(config->models.size(), 6u);
  EXPECT_EQ(config->models[0].model, (dir_ / "conf/models/e.gguf").string());
  EXPECT_EQ(config->models[1].model, (dir_ / "up/r.gguf").string());
  EXPECT_EQ(config->models[2].model, "/abs/x.gguf");
  // Remote models are names, not paths.
  EXPECT_EQ(config->models[3].model, "gpt-4o");
  EXPECT_EQ(config->models[4].model, "org/m");
  EXPECT_EQ(config->models[5].model, "hf://o/r");
}

TEST_F(ConfigFileTest, ResolvesBareArrayPathsAndFindsTheRealFile) {
  Write("models/tiny.gguf", "not really a model");
  std::string path = Write("bare.yaml", "- {alias: t, task: generate, model: models/tiny.gguf}\n");
  Result<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ASSERT_EQ(config->models.size(), 1u);
  EXPECT_TRUE(fs::path(config->models[0].model).is_absolute());
  EXPECT_TRUE(fs::exists(config->models[0].model)) << config->models[0].model;
}

TEST_F(ConfigFileTest, RelativeConfigPathResolvesFromTheWorkingDirectory) {
  Write("sub/cat.yaml", "- {alias: t, task: embed, model: e.gguf}\n");
  fs::path old_cwd = fs::current_path();
  fs::current_path(dir_);
  Result<Config> config = LoadConfigFile("sub/cat.yaml");
  fs::current_path(old_cwd);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->source, "sub/cat.yaml");
  EXPECT_EQ(config->models[0].model, (dir_ / "sub/e.gguf").string());
}

TEST_F(ConfigFileTest, UnknownExtensionDetectsTheFormat) {
  std::string json = Write("modelrt.conf", R"([{"alias": "a", "task": "embed", "model": "/a"}])");
  std::string yaml = Write("modelrt", "- {alias: a, task: embed, model: /a}\n");
  for (const std::string& path : {json, yaml}) {
    Result<Config> config = LoadConfigFile(path);
    ASSERT_TRUE(config.ok()) << path << ": " << config.error().ToString();
    EXPECT_EQ(config->models.size(), 1u);
  }
}

TEST_F(ConfigFileTest, ExtensionForcesTheFormat) {
  // YAML text in a .json file is a JSON error, naming the position.
  std::string path = Write("cat.json", "models:\n  - {alias: a}\n");
  Result<Config> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(config.error().message(),
              StartsWith(path + ": invalid JSON: parse error at line 1, column 1"));
}

TEST_F(ConfigFileTest, MalformedFilesNameThePosition) {
  std::string json = Write("bad.json", "{\n  \"models\": [1,,]\n}\n");
  Result<Config> from_json = LoadConfigFile(json);
  ASSERT_FALSE(from_json.ok());
  EXPECT_EQ(from_json.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(from_json.error().message(),
              StartsWith(json + ": invalid JSON: parse error at line 2"));
  std::string yaml = Write("bad.yaml", "models:\n  - [a, b\n  - c\n");
  Result<Config> from_yaml = LoadConfigFile(yaml);
  ASSERT_FALSE(from_yaml.ok());
  EXPECT_EQ(from_yaml.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(from_yaml.error().message(), StartsWith(yaml + ": invalid YAML at line "));
  EXPECT_THAT(from_yaml.error().message(), HasSubstr(", column "));
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  std::string path = (dir_ / "nope.yaml").string();
  Result<Config> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(config.error().message(), HasSubstr(path));
  EXPECT_THAT(config.error().message(), HasSubstr("not found"));
}

TEST_F(ConfigFileTest, EmptyFileIsAClearError) {
  std::string path = Write("empty.yaml", "");
  Result<Config> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.error().message(), path + ": the config is empty");
}

TEST_F(ConfigFileTest, DirectoryIsRejected) {
  Result<Config> config = LoadConfigFile(dir_.string());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(config.error().message(), HasSubstr("is a directory"));
}

TEST_F(ConfigFileTest, UnreadableFileIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  std::string path = Write("secret.yaml", "models: []\n");
  fs::permissions(path, fs::perms::none);
  Result<Config> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(config.error().message(), HasSubstr(path));
}

TEST_F(ConfigFileTest, ValidationErrorsNameTheFileAsGiven) {
  std::string path = Write("cat.yaml", "- {alias: a, task: embed, model: m, warmup: soon}\n");
  Result<Config> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message(),
            path + ": models[0].warmup: must be one of lazy, eager, background (got 'soon')");
}

}  // namespace
}  // namespace modelrt
