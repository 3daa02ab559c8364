#include "cli/commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "catalog/options_json.h"
#include "cli/cli_runtime.h"
#include "modelrt/model_names.h"

namespace modelrt::cli {
namespace {

using nlohmann::json;

void PrintJson(const json& j) { std::cout << j.dump() << "\n"; }

std::string FormatVector(const std::vector<float>& v) {
  std::string out = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s%.6g", i ? ", " : "", v[i]);
    out += buf;
  }
  return out + "]";
}

}  // namespace

Status RunModels(const CommonArgs& common) {
  MODELRT_ASSIGN_OR_RETURN(Config config, LoadCliConfig(common.config_path));
  if (common.json) {
    json out = json::array();
    for (const ModelSpec& m : config.models) {
      out.push_back({{"alias", m.alias},
                     {"task", ToString(m.task)},
                     {"provider", m.provider},
                     {"model", m.model},
                     {"warmup", ToString(m.warmup)},
                     {"required", m.required},
                     {"options", OptionsJson(m.options)}});
    }
    for (const ProfileSpec& p : config.profiles)
      out.push_back({{"alias", p.name}, {"task", "profile"}, {"model", p.model}});
    PrintJson(out);
    return OkStatus();
  }
  size_t w = 5;
  for (const ModelSpec& m : config.models) w = std::max(w, m.alias.size());
  std::printf("%-*s  %-8s  %-10s  %s\n", int(w), "ALIAS", "TASK", "PROVIDER", "MODEL");
  for (const ModelSpec& m : config.models) {
    std::printf("%-*s  %-8s  %-10s  %s\n", int(w), m.alias.c_str(),
                std::string(ToString(m.task)).c_str(), m.provider.c_str(), m.model.c_str());
  }
  for (const ProfileSpec& p : config.profiles)
    std::printf("%-*s  %-8s  %-10s  -> %s\n", int(w), p.name.c_str(), "profile", "", p.model.c_str());
  return OkStatus();
}

Status RunEmbed(const CommonArgs& common, const EmbedArgs& args) {
  MODELRT_ASSIGN_OR_RETURN(Config config, LoadCliConfig(common.config_path));
  MODELRT_ASSIGN_OR_RETURN(auto runtime, BuildLazyRuntime(std::move(config)));
  MODELRT_ASSIGN_OR_RETURN(EmbeddingHandle handle, runtime->Embedding(args.alias));
  EmbedRequest request;
  for (const std::string& t : args.texts) request.inputs.push_back({.text = t});
  if (args.no_normalize) request.normalize = false;
  MODELRT_ASSIGN_OR_RETURN(EmbedResult result, handle.Embed(request));
  if (common.json) {
    json data = json::array();
    for (size_t i = 0; i < result.embeddings.size(); ++i)
      data.push_back({{"index", i}, {"embedding", result.embeddings[i]}});
    PrintJson({{"model", args.alias}, {"data", data},
               {"usage", {{"prompt_tokens", result.prompt_tokens}}}});
    return OkStatus();
  }
  for (const auto& v : result.embeddings) std::printf("%s\n", FormatVector(v).c_str());
  return OkStatus();
}

Status RunRerank(const CommonArgs& common, const RerankArgs& args) {
  MODELRT_ASSIGN_OR_RETURN(Config config, LoadCliConfig(common.config_path));
  MODELRT_ASSIGN_OR_RETURN(auto runtime, BuildLazyRuntime(std::move(config)));
  MODELRT_ASSIGN_OR_RETURN(RerankerHandle handle, runtime->Reranker(args.alias));
  RerankRequest request{.query = args.query, .documents = args.documents};
  if (args.top_n != 0) request.top_n = args.top_n;  // 0 = every document
  request.return_documents = true;                 // both outputs print the text
  MODELRT_ASSIGN_OR_RETURN(RerankResult result, handle.Rerank(request));
  if (common.json) {
    json results = json::array();
    for (const RankedDocument& r : result.ranked)
      results.push_back({{"index", r.index}, {"relevance_score", r.score},
                         {"document", r.document}});
    PrintJson({{"model", args.alias}, {"results", results},
               {"usage", {{"prompt_tokens", result.prompt_tokens}}}});
    return OkStatus();
  }
  for (const RankedDocument& r : result.ranked)
    std::printf("%.6f\t%zu\t%s\n", r.score, r.index, r.document.c_str());
  return OkStatus();
}

Status RunGenerate(const CommonArgs& common, const GenerateArgs& args) {
  MODELRT_ASSIGN_OR_RETURN(Config config, LoadCliConfig(common.config_path));
  std::vector<ProfileSpec> profiles = config.profiles;
  MODELRT_ASSIGN_OR_RETURN(auto runtime, BuildLazyRuntime(std::move(config)));
  // A profile name works here as in the API: its alias, with its system prompt in front.
  ModelNames names(*runtime, std::move(profiles));
  MODELRT_ASSIGN_OR_RETURN(ResolvedModel model,
                           names.Resolve(args.alias, Task::kGenerate, "generate"));
  MODELRT_ASSIGN_OR_RETURN(GeneratorHandle handle, runtime->Generator(model.alias));
  GenerateRequest request;
  if (args.chat || !args.system.empty()) {
    if (!args.system.empty()) request.messages.push_back({"system", args.system});
    request.messages.push_back({"user", args.prompt});
  } else {
    request.prompt = args.prompt;
  }
  model.ApplyTo(request);
  request.max_tokens = args.max_tokens;
  if (args.temperature) request.sampling.temperature = *args.temperature;
  request.sampling.seed = args.seed;
  request.stop = args.stop;
  TokenCallback stream;
  if (!common.json) {
    stream = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  MODELRT_ASSIGN_OR_RETURN(GenerateResult result, handle.Generate(request, stream));
  if (common.json) {
    PrintJson({{"model", args.alias}, {"text", result.text},
               {"finish_reason", ToString(result.finish_reason)},
               {"usage", {{"prompt_tokens", result.prompt_tokens},
                          {"completion_tokens", result.completion_tokens}}}});
  } else {
    std::printf("\n");
  }
  return OkStatus();
}

}  // namespace modelrt::cli
