// Loading helpers for the onnx tests: a model of either provider (onnx or llama) from a path,
// with options, as the runtime would load it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "catalog/options_json.h"
#include "core/json.h"
#include "modelrt/provider.h"
#include "support/llama_test_models.h"
#include "support/onnx_test_models.h"

namespace modelrt::testing {

template <typename M>
Result<std::shared_ptr<M>> LoadAs(const std::string& type, Task task, const std::string& path,
                                  Json options = Json::object()) {
  MODELRT_ASSIGN_OR_RETURN(
      auto provider, CreateProvider({.id = type, .type = type, .options = MakeOptions({{"threads", 1}})}));
  ModelSpec spec;
  spec.alias = "test-" + type;
  spec.task = task;
  spec.model = path;
  spec.options = MakeOptions(std::move(options));
  MODELRT_ASSIGN_OR_RETURN(auto model, provider->Load(spec, CallContext::WithTimeout(std::chrono::seconds(120))));
  auto typed = std::dynamic_pointer_cast<M>(model);
  if (!typed) return InternalError("loaded model has another task");
  return typed;
}

inline std::shared_ptr<EmbeddingModel> MustLoadEmbedder(const std::string& type, const std::string& path,
                                                        Json options = Json::object()) {
  auto model = LoadAs<EmbeddingModel>(type, Task::kEmbed, path, std::move(options));
  EXPECT_TRUE(model.ok()) << model.error().ToString();
  return model.ok() ? *model : nullptr;
}

inline std::shared_ptr<RerankerModel> MustLoadReranker(const std::string& type, const std::string& path,
                                                       Json options = Json::object()) {
  auto model = LoadAs<RerankerModel>(type, Task::kRerank, path, std::move(options));
  EXPECT_TRUE(model.ok()) << model.error().ToString();
  return model.ok() ? *model : nullptr;
}

inline EmbedRequest TextsRequest(const std::vector<std::string>& texts) {
  EmbedRequest request;
  for (const auto& t : texts) request.inputs.push_back({.text = t});
  return request;
}

}  // namespace modelrt::testing
