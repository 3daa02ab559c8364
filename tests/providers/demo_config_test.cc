// DemoConfig (modelrt/catalog.h): the demo catalog the CLI runs without a config file, its model
// files written into the data directory on first use and found there afterwards.
#include <filesystem>

#include <gtest/gtest.h>

#include "modelrt/catalog.h"
#include "support/llama_test_models.h"

namespace modelrt {
namespace {

TEST(DemoConfigTest, WritesTheDemoModelsIntoTheDataDirOnce) {
  ServerConfig server;
  server.data_dir = testing::TestTempDir() + "/demo-data";
  Result<Config> config = DemoConfig(server);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ASSERT_EQ(config->models.size(), 3u);
  for (const ModelSpec& spec : config->models) {
    EXPECT_EQ(spec.model.rfind(server.data_dir + "/models/", 0), 0u) << spec.model;
    EXPECT_TRUE(std::filesystem::exists(spec.model)) << spec.model;
  }
  const auto written = std::filesystem::last_write_time(config->models[1].model);
  Result<Config> again = DemoConfig(server);  // finds the files: nothing is rewritten
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(std::filesystem::last_write_time(again->models[1].model), written);
}

}  // namespace
}  // namespace modelrt
