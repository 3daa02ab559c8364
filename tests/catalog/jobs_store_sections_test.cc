// The `jobs` section (the job runner) and the `store` section (the model store), and an alias's
// `pull` flag.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "modelrt/catalog.h"

namespace modelrt {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

TEST(JobsStoreSectionsTest, DefaultsWhenAbsent) {
  Result<Config> config = ParseConfig("models: []\n", "d.yaml");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->jobs, JobsConfig{});
  EXPECT_EQ(config->store, StoreConfig{});
  EXPECT_EQ(config->jobs.workers, 2);
  EXPECT_TRUE(config->jobs.allowed_programs.empty());
  EXPECT_EQ(config->store.stall_timeout_s, 30);
}

TEST(JobsStoreSectionsTest, YamlReadsEveryField) {
  Result<Config> config = ParseConfig(
      "jobs:\n  store: sqlite\n  workers: 3\n  keep_finished: 10\n  keep_days: 2\n"
      "  allowed_programs: [/usr/bin/env, /bin/sleep]\n  env_allowlist: [CUDA_VISIBLE_DEVICES]\n"
      "  max_log_bytes: 4096\n  command_timeout_s: 60\n  batch_max_file_bytes: 1000\n"
      "  batch_max_lines: 20\n  batch_in_flight: 4\n"
      "store:\n  dir: /srv/models\n  hf_endpoint: http://127.0.0.1:9000\n"
      "  parallel_threshold_mb: 8\n  parallel_parts: 6\n  stall_timeout_s: 5\n  max_attempts: 3\n"
      "models:\n  - {alias: m, task: embed, model: store://o/r@main/m.gguf, pull: true}\n",
      "j.yaml");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  const JobsConfig& jobs = config->jobs;
  EXPECT_EQ(jobs.workers, 3);
  EXPECT_EQ(jobs.keep_finished, 10);
  EXPECT_EQ(jobs.keep_days, 2);
  EXPECT_THAT(jobs.allowed_programs, ElementsAre("/usr/bin/env", "/bin/sleep"));
  EXPECT_THAT(jobs.env_allowlist, ElementsAre("CUDA_VISIBLE_DEVICES"));
  EXPECT_EQ(jobs.max_log_bytes, 4096);
  EXPECT_EQ(jobs.command_timeout_s, 60);
  EXPECT_EQ(jobs.batch_max_file_bytes, 1000);
  EXPECT_EQ(jobs.batch_max_lines, 20);
  EXPECT_EQ(jobs.batch_in_flight, 4);
  const StoreConfig& store = config->store;
  EXPECT_EQ(store.dir, "/srv/models");
  EXPECT_EQ(store.hf_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(store.parallel_threshold_mb, 8);
  EXPECT_EQ(store.parallel_parts, 6);
  EXPECT_EQ(store.stall_timeout_s, 5);
  EXPECT_EQ(store.max_attempts, 3);
  ASSERT_EQ(config->models.size(), 1u);
  EXPECT_TRUE(config->models[0].pull);
}

TEST(JobsStoreSectionsTest, SharedStoresOnPostgresql) {
  Result<Config> config = ParseConfig(
      "jobs: {store: \"postgresql://modelrt@db:5432/jobs\", shared_dir: /mnt/jobs, lease_s: 5}\n"
      "registry: {store_env: MODELRT_REGISTRY_URL}\n",
      "p.yaml");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->jobs.store, "postgresql://modelrt@db:5432/jobs");
  EXPECT_EQ(config->jobs.shared_dir, "/mnt/jobs");
  EXPECT_EQ(config->jobs.lease_s, 5);
  EXPECT_EQ(config->registry.store, "");
  EXPECT_EQ(config->registry.store_env, "MODELRT_REGISTRY_URL");
  // "sqlite" is the default by name.
  Result<Config> local = ParseConfig("jobs: {store: sqlite}\n", "l.yaml");
  ASSERT_TRUE(local.ok()) << local.error().ToString();
  EXPECT_EQ(local->jobs.store, "");
}

TEST(JobsStoreSectionsTest, APasswordNeverReachesTheMessage) {
  Result<Config> config = ParseConfig("jobs: {store: \"mysql://u:hunter2@db\"}\n", "s.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message(), ::testing::Not(::testing::HasSubstr("hunter2")));
  EXPECT_THAT(config.error().message(), ::testing::HasSubstr("mysql://u:***@db"));
}

TEST(JobsStoreSectionsTest, ErrorsNameTheKey) {
  struct Case {
    std::string text, message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"jobs: {worker: 2}\n", "s.yaml: jobs: unknown key 'worker' (did you mean 'workers'?)"},
           {"jobs: {workers: 0}\n", "s.yaml: jobs.workers: must be"},
           {"jobs: {store: \"mysql://x\"}\n", "s.yaml: jobs.store: must be \"sqlite\" or a postgresql"},
           {"jobs: {store: \"postgresql://u:hunter2@db/x\"}\n",
            "s.yaml: jobs.store: must not carry a password"},
           {"jobs: {store: \"postgres://db/x?password=hunter2\"}\n",
            "s.yaml: jobs.store: must not carry a password"},
           {"jobs: {store: \"postgresql://db/x\", store_env: DB_URL}\n",
            "s.yaml: jobs.store: set store or store_env"},
           {"jobs: {lease_s: 0}\n", "s.yaml: jobs.lease_s: must be"},
           {"registry: {store: \"postgresql://u:pw@db\"}\n",
            "s.yaml: registry.store: must not carry a password"},
           {"registry: {store_env: \"postgresql://x\"}\n",
            "s.yaml: registry.store_env: must be an environment variable name"},
           {"registry: {journal: x}\n", "s.yaml: registry: unknown key 'journal'"},
           {"jobs: {allowed_programs: [sh]}\n", "s.yaml: jobs.allowed_programs: must be absolute"},
           {"jobs: {allowed_programs: /bin/sh}\n", "s.yaml: jobs.allowed_programs: must be a list"},
           {"jobs: {env_allowlist: [\"A B\"]}\n", "s.yaml: jobs.env_allowlist: must be environment"},
           {"jobs: {keep_days: -1}\n", "s.yaml: jobs.keep_days: must be"},
           {"store: {hf_endpoint: ftp://x}\n", "s.yaml: store.hf_endpoint: must be an http"},
           {"store: {parallel_parts: 0}\n", "s.yaml: store.parallel_parts: must be"},
           {"store: {max_attempts: 1000}\n", "s.yaml: store.max_attempts: must be"},
           {"store: [1]\n", "s.yaml: store: must be"},
           {"models: [{alias: a, task: embed, model: m, pull: maybe}]\n",
            "s.yaml: models[0].pull: must be"},
       }) {
    Result<Config> config = ParseConfig(c.text, "s.yaml");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(config.error().message(), StartsWith(c.message)) << c.text;
  }
}

}  // namespace
}  // namespace modelrt
