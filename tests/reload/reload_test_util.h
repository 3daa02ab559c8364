// Shared set-up for the hot-reload tests: real llama engines (stories260K and generated BERT
// embedders with different seeds), runtimes with reload options, and a generation held open in
// its first piece (a call in flight during a reload).
//
//   auto runtime = BuildReloadRuntime(MakeLlama(), {ChatSpec(), EmbedderSpec()});
//   HeldGeneration held(*runtime->Generator("chat"));
//   ASSERT_TRUE(held.Started());
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "modelrt/runtime.h"
#include "runtime/runtime_test_util.h"
#include "support/llama_test_models.h"

namespace modelrt::reload_test {

using namespace std::chrono_literals;
using runtime_test::ChatSpec;
using runtime_test::CounterValue;
using runtime_test::MakeFaultyLlama;
using runtime_test::MakeLlama;
using runtime_test::HeldGeneration;
using runtime_test::ShortRequest;
using runtime_test::StateOf;
using runtime_test::WaitFor;

// A generated BERT embedder; another seed gives other weights (a "new version" of the file).
inline ModelSpec EmbedderSpec(const std::string& alias = "embed", uint32_t seed = 42) {
  ModelSpec spec = runtime_test::EmbedSpec(alias);
  spec.model = testing::TestModel(llama::TestModelKind::kBertEmbed, -1, seed);
  return spec;
}

inline std::unique_ptr<ModelRuntime> BuildReloadRuntime(
    std::shared_ptr<Provider> provider, std::vector<ModelSpec> specs, ReloadOptions reload = {},
    std::optional<PoolOptions> pool = {}) {
  ModelRuntime::Builder builder;
  builder.AddProvider(std::move(provider)).SetReloadOptions(reload);
  if (pool) builder.SetPoolOptions(*pool);
  for (auto& spec : specs) builder.AddModel(std::move(spec));
  auto runtime = builder.Build();
  EXPECT_TRUE(runtime.ok()) << runtime.error().ToString();
  return runtime.ok() ? *std::move(runtime) : nullptr;
}

inline Result<EmbedResult> EmbedOne(ModelRuntime& runtime, const std::string& alias,
                                    const std::string& text = "hello world") {
  MODELRT_ASSIGN_OR_RETURN(EmbeddingHandle handle, runtime.Embedding(alias));
  EmbedRequest request;
  request.inputs = {{.text = text}};
  return handle.Embed(request);
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}


}  // namespace modelrt::reload_test
