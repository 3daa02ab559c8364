// Local engines share the machine's cores (ComputePools over CpuBudget): an idle engine starts
// no compute threads, and engines busy at the same time give the same results as alone.
#include "providers/llama/compute_pools.h"

#include <fstream>
#include <future>
#include <string>

#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/provider.h"
#include "support/llama_test_models.h"

namespace modelrt {
namespace {

using llama::TestModelKind;
using testing::TestModel;

constexpr char kStories[] = MODELRT_SOURCE_DIR "/models/stories260K.gguf";

int ThreadsInProcess() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

class ComputePoolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As many compute threads as the machine has cores: every decode needs all of them, so
    // engines must take turns (on a 1-core machine, trivially).
    cores_ = CpuBudget::MachineCores();
    auto provider = CreateProvider(
        {.id = "local", .type = "llama", .options = MakeOptions({{"threads", cores_}})});
    ASSERT_TRUE(provider.ok()) << provider.error().ToString();
    provider_ = *provider;
  }

  template <typename M>
  std::shared_ptr<M> Load(Task task, const std::string& path, Json options) {
    ModelSpec spec{.alias = "m",
                   .task = task,
                   .provider = "local",
                   .model = path,
                   .options = MakeOptions(std::move(options))};
    auto model = provider_->Load(spec, CallContext{});
    EXPECT_TRUE(model.ok()) << model.error().ToString();
    return model.ok() ? std::dynamic_pointer_cast<M>(*model) : nullptr;
  }

  static GenerateRequest Greedy() {
    GenerateRequest request;
    request.prompt = "Once upon a time";
    request.max_tokens = 48;
    request.sampling.temperature = 0;
    request.sampling.seed = 1;  // a seed asks for batch-invariant text (alone or batched)
    request.ignore_eos = true;
    return request;
  }

  static EmbedRequest Texts() {
    EmbedRequest request;
    for (int i = 0; i < 8; ++i) request.inputs.push_back({.text = "the cat sat on mat " + std::to_string(i)});
    return request;
  }

  int cores_ = 1;
  std::shared_ptr<Provider> provider_;
};

TEST_F(ComputePoolsTest, AnIdleSecondEngineStartsNoComputeThreads) {
  auto chat = Load<GeneratorModel>(Task::kGenerate, kStories, {{"parallel", 2}, {"ctx", 128}});
  ASSERT_TRUE(chat);
  ASSERT_TRUE(chat->Generate(Greedy(), {}, CallContext{}).ok());  // the pool exists now
  const int before = ThreadsInProcess();
  auto embed = Load<EmbeddingModel>(Task::kEmbed, TestModel(TestModelKind::kBertEmbed),
                                    {{"parallel", 4}, {"ctx", 64}});
  ASSERT_TRUE(embed);
  ASSERT_TRUE(embed->Embed(Texts(), CallContext{}).ok());
  ASSERT_TRUE(chat->Generate(Greedy(), {}, CallContext{}).ok());
  // The embedding engine added its own batching thread and nothing else: its decodes ran on
  // the pool the generator's had made (an OpenMP team per context added cores - 1 more).
  EXPECT_EQ(ThreadsInProcess(), before + 1);
  EXPECT_EQ(llama::ComputePools::Shared()->pools_created(), 1);
}

TEST_F(ComputePoolsTest, EnginesBusyTogetherGiveWhatTheyGiveAlone) {
  auto chat = Load<GeneratorModel>(Task::kGenerate, kStories, {{"parallel", 2}, {"ctx", 128}});
  auto embed = Load<EmbeddingModel>(Task::kEmbed, TestModel(TestModelKind::kBertEmbed),
                                    {{"parallel", 4}, {"ctx", 64}});
  ASSERT_TRUE(chat && embed);
  auto text_alone = chat->Generate(Greedy(), {}, CallContext{});
  auto vectors_alone = embed->Embed(Texts(), CallContext{});
  ASSERT_TRUE(text_alone.ok() && vectors_alone.ok());

  const int64_t leases_before = CpuBudget::Shared()->stats().leases;
  std::vector<std::future<Result<GenerateResult>>> texts;
  std::vector<std::future<Result<EmbedResult>>> vectors;
  for (int i = 0; i < 3; ++i) {
    texts.push_back(std::async(std::launch::async,
                               [&] { return chat->Generate(Greedy(), {}, CallContext{}); }));
    vectors.push_back(std::async(std::launch::async,
                                 [&] { return embed->Embed(Texts(), CallContext{}); }));
  }
  for (auto& f : texts) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->text, text_alone->text);
  }
  for (auto& f : vectors) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->embeddings, vectors_alone->embeddings);
  }
  // Every decode of both engines went through the budget.
  EXPECT_GE(CpuBudget::Shared()->stats().leases - leases_before, 3 * 48 / 2);
  EXPECT_EQ(CpuBudget::Shared()->stats().in_use, 0);
}

}  // namespace
}  // namespace modelrt
